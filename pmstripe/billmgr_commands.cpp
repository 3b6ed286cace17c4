// The commands BILLmanager itself runs: config and pmvalidate.
#include "commands.hpp"
#include "stripe/stripe_keys.hpp"

#include <ostream>

namespace rk::stripe::module {

void command_config(Context& ctx) {
    ctx.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<doc>"
               "<feature>"
               "<redirect>on</redirect>"
               "<notneedprofile>on</notneedprofile>"
               "<pmvalidate>on</pmvalidate>"
               "</feature>"
               "<param><payment_script>/mancgi/stpayment</payment_script></param>"
               "</doc>\n";
}

void command_pmvalidate(Context& ctx) {
    cli::run_pmvalidate(ctx, {"secret_key", "publishable_key", "webhook_secret"},
                        [&ctx](const KeyFields& fields) {
                            parse_stripe_keys(fields);
                            require_manager_url(ctx.config);
                        });
}

} // namespace rk::stripe::module
