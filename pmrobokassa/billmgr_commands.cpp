// The commands BILLmanager itself runs: config, pmvalidate, checkpay.
#include "commands.hpp"
#include "method_settings.hpp"

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
    if (!panel) {
        // Refunds and recurring charges work on the store's own payments.
        ctx.out << "<refund>on</refund><recurring>on</recurring>";
    } else {
        // BILLmanager's own refund: rfset.
        ctx.out << "<refund>on</refund><rfset>on</rfset>";
    }
    ctx.out << "</feature>"
               "<param><payment_script>/mancgi/rkpayment</payment_script></param>"
               "</doc>\n";
}

void require_standalone(const Context& ctx, const char* command) {
    if (ctx.config.billing == Config::Billing::panel) {
        throw Error(ErrorKind::conflict, "billing",
                    std::string(command) +
                        " works on this module's own store; the configuration says panel mode");
    }
}

void command_pmvalidate(Context& ctx) {
    cli::run_pmvalidate(ctx, {std::begin(k_method_fields), std::end(k_method_fields)},
                        [](const MethodFields& fields) { parse_method_settings(fields); });
}

} // namespace rk::module
