#pragma once

#include "billing/money.hpp"

#include <string>
#include <string_view>

namespace rk {

// Checks a Robokassa Receipt (54-FZ fiscal data):
//   {"sno": …?, "items": [{"name", "quantity", "sum", "tax",
//                          "payment_method"?, "payment_object"?}, …]}
// names ≤ 128 characters, sums in kopecks adding up to `amount`, tax and
// payment_method from Robokassa's lists. Returns it minified, the form that
// is URL-encoded into the payment form and its signature. Throws bad_input
// naming `field` and the item.
std::string normalise_receipt(std::string_view json_text, Kopecks amount, std::string_view field);

} // namespace rk
