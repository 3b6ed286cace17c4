#pragma once

#include "billing/store.hpp"
#include "stripe/stripe_keys.hpp"

#include <optional>
#include <string>
#include <vector>

namespace rk::stripe {

// The module name on the store's methods rows (methods.module).
inline constexpr const char* k_module = "pmstripe";

struct StripeMethod {
    MethodId id = 0;
    std::string name;
    StripeKeys keys;
};

// Stripe methods live in the shared store: a methods row for module
// "pmstripe" (payments reference it as any other) plus a stripe_methods row
// with the keys, written in one transaction.
MethodId add_stripe_method(Store& store, const std::string& name, const StripeKeys& keys);
// nullopt for an unknown id and for another module's method.
std::optional<StripeMethod> find_stripe_method(Store& store, MethodId id);
std::vector<StripeMethod> list_stripe_methods(Store& store);

// One processed webhook event: its row commits with the event's effect, so
// a repeated event id is recognised and changes nothing.
struct ProcessedEvent {
    std::string event_id;
    std::string type;
    std::optional<MethodId> method_id;
    std::optional<PaymentId> payment_id;
    std::string verdict;
};

bool event_seen(Store& store, sql::Transaction& tx, const std::string& event_id);
void record_event(Store& store, sql::Transaction& tx, const ProcessedEvent& event);

} // namespace rk::stripe
