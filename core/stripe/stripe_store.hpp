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

// Each Stripe method's id and webhook secret, and nothing else: what
// stwebhook reads before a request has proved it comes from Stripe.
struct WebhookSecret {
    MethodId method_id = 0;
    std::string secret;
};
std::vector<WebhookSecret> list_webhook_secrets(Store& store);

// One processed webhook event: its row commits with the event's effect, so
// a repeated event id is recognised and changes nothing.
struct ProcessedEvent {
    std::string event_id;
    std::string type;
    std::optional<MethodId> method_id;
    std::optional<PaymentId> payment_id;
    std::string verdict;
    std::string payment_intent; // the event's, when it names one
};

bool event_seen(Store& store, sql::Transaction& tx, const std::string& event_id);
void record_event(Store& store, sql::Transaction& tx, const ProcessedEvent& event);

// A Checkout Session opened for a payment. `state` is ours: "open" until
// its completion event arrives ("complete") or we expire it, or learn that
// Stripe did ("expired").
struct CheckoutSession {
    std::string id;
    std::string url;
    std::int64_t expires_at = 0;
    std::string state = "open";
};

// The payment's newest session, if any.
std::optional<CheckoutSession> latest_session(Store& store, PaymentId payment);
// How many sessions the payment has had: numbers the next one.
int session_count(Store& store, PaymentId payment);
// Idempotent: two requests that got the same session from Stripe store one row.
void record_session(Store& store, PaymentId payment, const CheckoutSession& session);
// Sets the state of a session we know; an unknown id changes nothing.
void set_session_state(Store& store, sql::Transaction& tx, const std::string& session_id,
                       const char* state);

} // namespace rk::stripe
