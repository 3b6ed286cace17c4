#pragma once

#include "billing/store.hpp"
#include "robokassa/method_settings.hpp"

#include <optional>
#include <string>
#include <vector>

namespace rk {

// The module name on the store's methods rows (methods.module).
inline constexpr const char* k_robokassa_module = "pmrobokassa";

struct Method {
    MethodId id = 0;
    std::string name;
    MethodSettings settings;
};

// Robokassa's methods in the shared store: a methods row for module
// "pmrobokassa" (payments reference it as any other) plus a
// robokassa_methods row with the settings, written in one transaction.
MethodId add_method(Store& store, const std::string& name, const MethodSettings& settings);
// nullopt for an unknown id and for another module's method.
std::optional<Method> find_method(Store& store, MethodId id);
std::vector<Method> list_methods(Store& store);

} // namespace rk
