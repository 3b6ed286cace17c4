// rkfail: see docs/interface.md §4. Parse, decide, store and reply live in the core.
#include "robokassa/return_pages.hpp"

int main() {
    return rk::run_cgi("rkfail", rk::handle_fail, rk::ErrorStyle::html);
}
