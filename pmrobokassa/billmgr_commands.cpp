// The commands BILLmanager itself runs: config, pmvalidate, checkpay.
#include "commands.hpp"
#include "robokassa/method_settings.hpp"
#include "robokassa/robokassa_api.hpp"

#include <iterator>
#include <ostream>

namespace rk::module {

void command_config(Context& ctx) {
    bool panel = ctx.config.billing == Config::Billing::panel;
    if (panel) {
        // BILLmanager runs `config` when it starts: the moment to create the
        // local store that carries the CGIs' journal and write lock.
        cli::open_store(ctx);
    }
    ctx.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<doc>"
               "<feature>"
               "<redirect>on</redirect>"
               "<notneedprofile>on</notneedprofile>"
               "<pmvalidate>on</pmvalidate>"
               "<checkpay>on</checkpay>";
    if (panel) {
        // BILLmanager's own refund of its payments (rfset), and auto-payments
        // as it drives them: the customer sets a series up through
        // recurring_script, the panel runs rcpay for each payment.
        // Standalone the store's payments are refunded and charged by the
        // admin (`refund`, `rcpay --parent`): BILLmanager has nothing there
        // to drive, so nothing is offered.
        ctx.out << "<refund>on</refund><rfset>on</rfset><recurring>on</recurring><rcpay>on</rcpay>";
    }
    ctx.out << "</feature><param><payment_script>/mancgi/rkpayment</payment_script>";
    if (panel) {
        ctx.out << "<recurring_script>/mancgi/rkrecurring</recurring_script>";
    }
    ctx.out << "</param></doc>\n";
}

void require_standalone(const Context& ctx, const char* command) {
    if (ctx.config.billing == Config::Billing::panel) {
        throw Error(ErrorKind::conflict, "billing",
                    std::string(command) +
                        " works on this module's own store; the configuration says panel mode");
    }
}

void command_pmvalidate(Context& ctx) {
    // A form that breaks a rule is refused before Robokassa is asked about
    // it; a valid one is asked about (unless check_credentials is off), and
    // the answer says when Robokassa could not be.
    cli::run_pmvalidate_noting(ctx, {std::begin(k_method_fields), std::end(k_method_fields)},
                               [&ctx](const MethodFields& fields) {
                                   return verify_credentials(ctx.config,
                                                             parse_method_settings(fields));
                               });
}

} // namespace rk::module
