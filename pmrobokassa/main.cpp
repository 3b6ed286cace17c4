// pmrobokassa: BILLmanager's payment module for Robokassa.
//   pmrobokassa --command NAME [options]
#include "commands.hpp"
#include "error.hpp"
#include "log.hpp"
#include "paths.hpp"

#include <boost/program_options.hpp>
#include <iostream>
#include <map>

namespace po = boost::program_options;

namespace {

using Command = void (*)(rk::module::Context&);

const std::map<std::string, Command>& commands() {
    static const std::map<std::string, Command> table = {
        {"config", rk::module::command_config},
        {"pmvalidate", rk::module::command_pmvalidate},
        {"checkpay", rk::module::command_checkpay},
        {"method.add", rk::module::command_method_add},
        {"method.list", rk::module::command_method_list},
        {"method.show", rk::module::command_method_show},
        {"payment.add", rk::module::command_payment_add},
        {"payment.show", rk::module::command_payment_show},
        {"payment.list", rk::module::command_payment_list},
        {"refund", rk::module::command_refund},
        {"rcpay", rk::module::command_rcpay},
    };
    return table;
}

po::options_description describe_options() {
    po::options_description options("pmrobokassa --command NAME [options]");
    // clang-format off
    options.add_options()
        ("help,h", "print this help")
        ("command", po::value<std::string>(), "config, pmvalidate, checkpay, method.add, method.list, "
                                              "method.show, payment.add, payment.show, payment.list, refund, rcpay")
        ("name", po::value<std::string>(), "method.add: the method's name")
        ("shop-id", po::value<std::string>(), "method.add: Robokassa's shop id (MerchantLogin)")
        ("password1", po::value<std::string>(), "method.add: Password #1")
        ("password2", po::value<std::string>(), "method.add: Password #2")
        ("password3", po::value<std::string>(), "method.add: Password #3 (refunds)")
        ("hash-algorithm", po::value<std::string>(), "method.add: md5 (default), ripemd160, sha1, sha256, sha384, sha512")
        ("test-mode", po::bool_switch(), "method.add: Robokassa's test mode")
        ("recurring", po::bool_switch(), "method.add: first payments start a recurring series")
        ("inc-curr-label", po::value<std::string>(), "method.add: suggested payment method")
        ("gateway-url", po::value<std::string>(), "method.add: the payment page the form posts to")
        ("method", po::value<std::string>(), "method id")
        ("amount", po::value<std::string>(), "payment.add, refund: amount, e.g. 990.00")
        ("currency", po::value<std::string>(), "payment.add: currency (RUB)")
        ("description", po::value<std::string>(), "payment.add: description shown to the customer")
        ("email", po::value<std::string>(), "payment.add: the customer's e-mail")
        ("id", po::value<std::string>(), "payment.add: an explicit payment id")
        ("receipt", po::value<std::string>(), "payment.add: a file with Robokassa's Receipt JSON")
        ("payment", po::value<std::string>(), "payment id")
        ("parent", po::value<std::string>(), "rcpay: the paid first payment of the series")
        ("status", po::value<std::string>(), "payment.list: only this status");
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
        std::cerr << "pmrobokassa: " << e.what() << "\n" << options << "\n";
        return 2;
    }
    if (vm.count("help") != 0) {
        std::cout << options << "\n";
        return 0;
    }
    if (vm.count("command") == 0) {
        std::cerr << "pmrobokassa: --command is required\n" << options << "\n";
        return 2;
    }
    const std::string name = vm["command"].as<std::string>();
    auto command = commands().find(name);
    if (command == commands().end()) {
        std::cerr << "pmrobokassa: unknown command '" << name << "'\n" << options << "\n";
        return 2;
    }

    rk::log::init("pmrobokassa", 6);
    try {
        const rk::Config config = rk::load_config();
        rk::log::set_level(config.log_level);
        rk::module::Context ctx{vm, config, std::cin, std::cout};
        command->second(ctx);
        std::cout.flush();
        return std::cout ? 0 : 1;
    } catch (const rk::Error& e) {
        rk::log::error(name + ": " + e.describe());
        std::cerr << "pmrobokassa: " << e.describe() << "\n";
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
        std::cerr << "pmrobokassa: " << e.what() << "\n";
        return 1;
    }
}
