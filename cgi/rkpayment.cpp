// rkpayment: see docs/interface.md §4. Parse, decide, store and reply live in the core.
#include "robokassa/payment_form.hpp"

int main() {
    return rk::run_cgi("rkpayment", rk::handle_payment, rk::ErrorStyle::html);
}
