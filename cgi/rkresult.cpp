// rkresult: see docs/interface.md §4. Parse, decide, store and reply live in the core.
#include "robokassa/result_notification.hpp"

int main() {
    return rk::run_cgi("rkresult", rk::handle_result, rk::ErrorStyle::plain);
}
