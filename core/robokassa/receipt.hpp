#pragma once

#include "billing/money.hpp"
#include "billing/store.hpp"
#include "robokassa/method_settings.hpp"

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

// The method's receipt settings: each empty or one of Robokassa's codes,
// and sno or payment_object only with tax (a receipt needs the VAT rate of
// its items). Throws bad_input naming the first bad field.
void check_receipt_settings(const std::string& sno, const std::string& tax,
                            const std::string& payment_object);

// The receipt for a payment that brings none of its own: one line with the
// payment's description (or "Payment N") and its whole amount, the method's
// tax, payment object and taxation system. Minified as normalise_receipt
// returns it; empty when the method has no tax set.
std::string receipt_from_settings(const Payment& payment, const MethodSettings& settings);

} // namespace rk
