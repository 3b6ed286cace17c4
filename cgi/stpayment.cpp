// stpayment: see docs/stripe.md. The Checkout Session logic lives in rkstripe.
#include "stripe/checkout.hpp"

int main() {
    return rk::run_cgi("stpayment", rk::stripe::handle_checkout, rk::ErrorStyle::html);
}
