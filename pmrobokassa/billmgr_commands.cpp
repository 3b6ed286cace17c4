// The commands BILLmanager itself runs: config, pmvalidate, checkpay.
#include "commands.hpp"
#include "method_settings.hpp"

#include <iterator>
#include <ostream>

namespace rk::module {

namespace {

const char* const k_method_fields[] = {"shop_id",   "password1",      "password2",
                                       "password3", "hash_algorithm", "test_mode",
                                       "recurring", "inc_curr_label", "gateway_url"};

} // namespace

void command_config(Context& ctx) {
    ctx.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<doc>"
               "<feature>"
               "<redirect>on</redirect>"
               "<notneedprofile>on</notneedprofile>"
               "<pmvalidate>on</pmvalidate>"
               "<checkpay>on</checkpay>"
               "<refund>on</refund>"
               "<recurring>on</recurring>"
               "</feature>"
               "<param><payment_script>/mancgi/rkpayment</payment_script></param>"
               "</doc>\n";
}

void command_pmvalidate(Context& ctx) {
    cli::run_pmvalidate(ctx, {std::begin(k_method_fields), std::end(k_method_fields)},
                        [](const MethodFields& fields) { parse_method_settings(fields); });
}

} // namespace rk::module
