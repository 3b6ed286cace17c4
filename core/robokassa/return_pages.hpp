#pragma once

#include "cgi/cgi_runner.hpp"

namespace rk {

// rksuccess: Robokassa's SuccessURL. Checks the Password #1 signature, then
// sends the customer to the panel (302) or shows "received, awaiting
// confirmation". Never changes a payment: only rkresult credits.
Reply handle_success(const CgiInput& input, CgiContext& context);

// rkfail: Robokassa's FailURL. Unsigned, so it changes nothing and only
// sends the customer back.
Reply handle_fail(const CgiInput& input, CgiContext& context);

} // namespace rk
