#pragma once

#include "billing/store.hpp"
#include "cgi/cgi_runner.hpp"
#include "cgi/pages.hpp"

#include <string>

namespace rk::stripe {

// The form body of POST /v1/checkout/sessions for `payment`: one line item
// of the payment's amount, client_reference_id and metadata[elid] = its id,
// success and cancel URLs on the panel. Throws bad_input when the amount
// has no exact form in the currency's Stripe units.
std::string checkout_session_form(const Payment& payment, const std::string& manager_url,
                                  Language language);

// stpayment (docs/stripe.md): GET ?elid=ID&key=KEY answers 303 to the
// payment's Checkout Session: the one already open when it has more than a
// quarter of an hour left, else a new one created through Stripe's API
// (the old one expired there first, so that only one can be paid); status 1
// becomes 2. A session completed with a delayed payment method gets a page
// saying the payment is being confirmed; a paid payment a page saying so;
// another module's payment 404. Without manager_url: 503 "this payment
// method is not available", logged at error level.
Reply handle_checkout(const CgiInput& input, CgiContext& context);

} // namespace rk::stripe
