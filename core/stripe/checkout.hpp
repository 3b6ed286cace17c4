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

// stpayment (CONTRACT §6): GET ?elid=ID&key=KEY creates a Checkout Session
// through Stripe's API and answers 303 to its URL; status 1 becomes 2. A
// paid payment gets a page saying so; another module's payment 404.
Reply handle_checkout(const CgiInput& input, CgiContext& context);

} // namespace rk::stripe
