#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rk::stripe {

// Stripe's webhook signature header: `t=1700000000,v1=<hex>[,v1=<hex>…]`,
// possibly with other schemes (v0) that are not ours to check.
struct SignatureHeader {
    std::int64_t timestamp = 0;
    std::vector<std::string> v1; // as received; several while a secret is being rolled
};

// How far `t` may be from now, either way (docs/stripe.md).
inline constexpr std::int64_t k_signature_tolerance_seconds = 300;

// Parses the header strictly: comma-separated `key=value` items without
// spaces, `t` exactly once as a decimal number, at least one `v1`, at
// most 16 items, at most 4 KiB. Throws bad_input naming Stripe-Signature.
SignatureHeader parse_signature_header(std::string_view header);

// hex HMAC-SHA256(secret, "<t>." + payload): what Stripe puts in v1.
std::string expected_signature(std::string_view secret, std::int64_t timestamp,
                               std::string_view payload);

// True when some v1 equals expected_signature(), compared in constant time.
bool signature_matches(const SignatureHeader& header, std::string_view secret,
                       std::string_view payload);

// True when |now - t| <= tolerance.
bool timestamp_fresh(const SignatureHeader& header, std::int64_t now,
                     std::int64_t tolerance = k_signature_tolerance_seconds);

} // namespace rk::stripe
