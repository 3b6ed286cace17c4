// stwebhook: see docs/stripe.md. Verify, decide, store and reply live in rkstripe.
#include "stripe/webhook.hpp"

int main() {
    return rk::run_cgi("stwebhook", rk::stripe::handle_webhook, rk::ErrorStyle::plain);
}
