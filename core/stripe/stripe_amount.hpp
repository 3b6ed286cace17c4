#pragma once

#include "billing/money.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace rk::stripe {

// Stripe counts money in the currency's smallest unit: cents for USD and
// RUB, whole yen for JPY (zero-decimal), 1/1000 for KWD (three-decimal).
// The store counts hundredths of every currency. These convert both ways;
// nullopt when the amount has no exact form on the other side (kopecks of
// a zero-decimal currency, an unknown or malformed currency code, overflow).
std::optional<std::int64_t> to_stripe_amount(Kopecks amount, std::string_view currency);
std::optional<Kopecks> from_stripe_amount(std::int64_t amount, std::string_view currency);

} // namespace rk::stripe
