// pmstripe: BILLmanager's payment module for Stripe, on the same store,
// configuration and conventions as pmrobokassa (CONTRACT §6).
//   pmstripe --command NAME [options]
#include "commands.hpp"
#include "error.hpp"
#include "log.hpp"

#include <boost/program_options.hpp>
#include <iostream>
#include <map>

namespace po = boost::program_options;
namespace cmd = rk::stripe::module;

namespace {

using Command = void (*)(cmd::Context&);

const std::map<std::string, Command>& commands() {
    static const std::map<std::string, Command> table = {
        {"config", cmd::command_config},
        {"pmvalidate", cmd::command_pmvalidate},
        {"method.add", cmd::command_method_add},
        {"method.list", cmd::command_method_list},
        {"method.show", cmd::command_method_show},
        {"payment.add", cmd::command_payment_add},
        {"payment.show", cmd::command_payment_show},
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
    std::ios::sync_with_stdio(false);
    const po::options_description options = describe_options();
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, options), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        // Boost's message names the option, never its value.
        std::cerr << "pmstripe: " << e.what() << "\n" << options << "\n";
        return 2;
    }
    if (vm.count("help") != 0) {
        std::cout << options << "\n";
        return 0;
    }
    if (vm.count("command") == 0) {
        std::cerr << "pmstripe: --command is required\n" << options << "\n";
        return 2;
    }
    const std::string name = vm["command"].as<std::string>();
    auto command = commands().find(name);
    if (command == commands().end()) {
        std::cerr << "pmstripe: unknown command '" << name << "'\n" << options << "\n";
        return 2;
    }

    rk::log::init("pmstripe", 6);
    try {
        const rk::Config config = rk::load_config();
        rk::log::set_level(config.log_level);
        cmd::Context ctx{vm, config, std::cin, std::cout};
        command->second(ctx);
        std::cout.flush();
        return std::cout ? 0 : 1;
    } catch (const rk::Error& e) {
        rk::log::error(name + ": " + e.describe());
        std::cerr << "pmstripe: " << e.describe() << "\n";
        switch (e.kind()) {
        case rk::ErrorKind::bad_input:
        case rk::ErrorKind::forbidden:
        case rk::ErrorKind::not_found:
        case rk::ErrorKind::conflict:
        case rk::ErrorKind::too_large:
            return 2;
        default:
            return 1;
        }
    } catch (const std::exception& e) {
        rk::log::error(name + ": " + e.what());
        std::cerr << "pmstripe: " << e.what() << "\n";
        return 1;
    }
}
