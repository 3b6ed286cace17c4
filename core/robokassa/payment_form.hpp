#pragma once

#include "cgi/cgi_runner.hpp"

#include <ctime>
#include <string>

namespace rk {

// rkpayment: the customer's payment link (?elid=ID&key=KEY). Answers a page
// whose form posts the signed invoice to the gateway and moves the payment
// from 1 (new) to 2 (in pay). docs/interface.md §4.
Reply handle_payment(const CgiInput& input, CgiContext& context);

// Robokassa's ExpirationDate for a link payable `lifetime_hours` from `now`:
// UTC, YYYY-MM-DDThh:mm.
std::string expiration_date(std::time_t now, int lifetime_hours);

} // namespace rk
