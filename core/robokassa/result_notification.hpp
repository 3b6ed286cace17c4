#pragma once

#include "cgi/cgi_runner.hpp"

namespace rk {

// rkresult: Robokassa's ResultURL, the only call that marks money received
// (docs/interface.md §4). Verifies the Password #2 signature, the amount and the test
// flag, credits exactly once, journals every notification in the same
// transaction and answers `OK<InvId>` only after the commit.
Reply handle_result(const CgiInput& input, CgiContext& context);

} // namespace rk
