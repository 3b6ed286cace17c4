#pragma once

#include "cgi/cgi_runner.hpp"

#include <cstdint>

namespace rk::stripe {

// stwebhook (docs/stripe.md): a POSTed Stripe event, signed in the
// Stripe-Signature header with the webhook secret of a Stripe method.
//
// The signature is checked first, against each Stripe method's webhook
// secret, with nothing else read and the store's write lock not taken; a
// request that fails it gets 400 at once, and its journal entry keeps the
// reason and at most 1 KiB of the body (written only if the lock is free).
// A signed event is then parsed, and decided under the lock: the payment it
// names (client_reference_id or metadata.elid) must be of the signing
// method. checkout.session.completed (payment_status paid),
// checkout.session.async_payment_succeeded and invoice.payment_succeeded
// settle the payment through settle_paid (credited once, amount and currency
// must match); a completed session not yet paid is pending; another payment
// intent completing for a paid payment is recorded as paid_twice and logged
// at error level for a refund; checkout.session.async_payment_failed and
// invoice.payment_failed are recorded; other events get 200 and change
// nothing; a repeated event id gets 200 and changes nothing. Bad or missing
// signature, t more than 300 s from `now`, malformed JSON, an unknown
// payment: 400. The reply to a signed event is returned only after its
// journal entry, the event row and any transition have committed together.
Reply handle_webhook_at(const CgiInput& input, CgiContext& context, std::int64_t now);

// handle_webhook_at with the clock's time: the CGI's handler.
Reply handle_webhook(const CgiInput& input, CgiContext& context);

} // namespace rk::stripe
