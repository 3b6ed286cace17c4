#pragma once

#include <map>
#include <string>
#include <string_view>

namespace rk::stripe {

// A Stripe payment method's credentials, as the admin pastes them from the
// dashboard: API keys and the webhook endpoint's signing secret.
struct StripeKeys {
    std::string secret_key;      // sk_live_… / sk_test_…
    std::string publishable_key; // pk_live_… / pk_test_…, same mode
    std::string webhook_secret;  // whsec_…
};

// The method form's fields by name, as pmvalidate receives them.
using KeyFields = std::map<std::string, std::string>;

// Checks the rules of docs/stripe.md in form order (secret_key,
// publishable_key, webhook_secret); throws bad_input naming the first bad
// field. Messages describe the rule and never echo the value.
StripeKeys parse_stripe_keys(const KeyFields& fields);

// True for sk_live_… (the mode of the whole method).
bool is_live(const StripeKeys& keys);

// "sk_test_…wxyz": the prefix and the last four characters, for output an
// admin may paste into a ticket. Never the whole secret.
std::string mask_key(std::string_view key);

// `text` with every token that looks like a Stripe secret (sk_/rk_ keys,
// whsec_ secrets) masked, for text from elsewhere (an API error message)
// that is about to reach a log.
std::string scrub_secrets(std::string_view text);

} // namespace rk::stripe
