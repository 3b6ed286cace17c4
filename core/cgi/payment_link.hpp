#pragma once

#include "billing/store.hpp"
#include "cgi/cgi_request.hpp"
#include "cgi/pages.hpp"

#include <functional>

namespace rk {

// The id a customer's link names, `?elid=ID&…` by GET or POST (other
// methods get 405 from parse_cgi_request), a malformed id 400. The first
// check of every payment page.
PaymentId linked_payment_id(const CgiRequest& request);

// The payment a customer's link names: `?elid=ID&key=KEY` (GET or POST).
// A malformed id gets 400, a missing or wrong key 403 (checked before
// the lookup, so a wrong key says nothing about which ids exist), an
// unknown id 404. `store` is called only once the link is well formed, so
// a malformed one costs no SQLite. Shared by every module's payment CGI.
Payment linked_payment(const CgiRequest& request, const StoreAccess& store);

// The invoice as the customer sees it: number, amount, description.
std::string payment_details_html(Language language, const Payment& payment);

// The page for a link whose payment can no longer be paid: 200 "already
// paid" for a paid or refunded one, 409 "cannot be paid" otherwise.
Reply closed_payment_reply(Language language, const Payment& payment);

} // namespace rk
