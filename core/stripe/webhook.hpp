#pragma once

#include "cgi/cgi_runner.hpp"

#include <cstdint>

namespace rk::stripe {

// stwebhook (CONTRACT §6): a POSTed Stripe event, signed in the
// Stripe-Signature header with the webhook secret of the method whose
// payment the event names (client_reference_id or metadata.elid; an event
// naming none is checked against every Stripe method's secret).
//
// checkout.session.completed and invoice.payment_succeeded settle the
// payment through settle_paid (credited once, amount and currency must
// match); invoice.payment_failed is recorded; other events get 200 and
// change nothing; a repeated event id gets 200 and changes nothing. Bad or
// missing signature, t more than 300 s from `now`, malformed JSON, an
// unknown payment: 400. Every request is journaled, and the reply is
// returned only after the journal entry, the event row and any transition
// have committed together.
Reply handle_webhook_at(const CgiInput& input, CgiContext& context, std::int64_t now);

// handle_webhook_at with the clock's time: the CGI's handler.
Reply handle_webhook(const CgiInput& input, CgiContext& context);

} // namespace rk::stripe
