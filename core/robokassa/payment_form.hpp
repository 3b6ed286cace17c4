#pragma once

#include "cgi/cgi_runner.hpp"

namespace rk {

// rkpayment: the customer's payment link (?elid=ID&key=KEY). Answers a page
// whose form posts the signed invoice to the gateway and moves the payment
// from 1 (new) to 2 (in pay). CONTRACT §4.
Reply handle_payment(const CgiInput& input, CgiContext& context);

} // namespace rk
