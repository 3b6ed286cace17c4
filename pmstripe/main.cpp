// pmstripe: BILLmanager's payment module for Stripe, on the same store,
// configuration and conventions as pmrobokassa (docs/stripe.md).
//   pmstripe --command NAME [options]
#include "commands.hpp"

#include <boost/program_options.hpp>
#include <map>

namespace po = boost::program_options;
namespace cmd = rk::stripe::module;

namespace {

const std::map<std::string, rk::cli::Command>& commands() {
    static const std::map<std::string, rk::cli::Command> table = {
        {"config", cmd::command_config},
        {"pmvalidate", cmd::command_pmvalidate},
        {"method.add", cmd::command_method_add},
        {"method.list", cmd::command_method_list},
        {"method.show", cmd::command_method_show},
        {"payment.add", cmd::command_payment_add},
        {"payment.show", rk::cli::command_payment_show},
    };
    return table;
}

po::options_description describe_options() {
    po::options_description options("pmstripe --command NAME [options]");
    // clang-format off
    options.add_options()
        ("help,h", "print this help")
        ("command", po::value<std::string>(), "config, pmvalidate, method.add, method.list, "
                                              "method.show, payment.add, payment.show")
        ("name", po::value<std::string>(), "method.add: the method's name")
        ("secret-key", po::value<std::string>(), "method.add: Stripe's secret key (sk_live_/sk_test_)")
        ("publishable-key", po::value<std::string>(), "method.add: the publishable key (pk_live_/pk_test_)")
        ("webhook-secret", po::value<std::string>(), "method.add: the webhook endpoint's signing secret (whsec_)")
        ("method", po::value<std::string>(), "method id")
        ("amount", po::value<std::string>(), "payment.add: amount, e.g. 990.00")
        ("currency", po::value<std::string>(), "payment.add: currency (RUB)")
        ("description", po::value<std::string>(), "payment.add: description shown to the customer")
        ("email", po::value<std::string>(), "payment.add: the customer's e-mail")
        ("id", po::value<std::string>(), "payment.add: an explicit payment id")
        ("payment", po::value<std::string>(), "payment.show: payment id");
    // clang-format on
    return options;
}

} // namespace

int main(int argc, char** argv) {
    return rk::cli::run_module("pmstripe", argc, argv, describe_options(), commands());
}
