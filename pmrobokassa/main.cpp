// pmrobokassa: BILLmanager's payment module for Robokassa.
//   pmrobokassa --command NAME [options]
#include "commands.hpp"

#include <boost/program_options.hpp>
#include <map>

namespace po = boost::program_options;

namespace {

const std::map<std::string, rk::cli::Command>& commands() {
    static const std::map<std::string, rk::cli::Command> table = {
        {"config", rk::module::command_config},
        {"pmvalidate", rk::module::command_pmvalidate},
        {"checkpay", rk::module::command_checkpay},
        {"method.add", rk::module::command_method_add},
        {"method.list", rk::module::command_method_list},
        {"method.show", rk::module::command_method_show},
        {"payment.add", rk::module::command_payment_add},
        {"payment.show", rk::cli::command_payment_show},
        {"payment.list", rk::module::command_payment_list},
        {"journal.list", rk::module::command_journal_list},
        {"journal.show", rk::module::command_journal_show},
        {"refund", rk::module::command_refund},
        {"rcpay", rk::module::command_rcpay},
        {"rfset", rk::module::command_rfset},
    };
    return table;
}

po::options_description describe_options() {
    po::options_description options("pmrobokassa --command NAME [options]");
    // clang-format off
    options.add_options()
        ("help,h", "print this help")
        ("command", po::value<std::string>(), "config, pmvalidate, checkpay, method.add, method.list, "
                                              "method.show, payment.add, payment.show, payment.list, journal.list, journal.show, "
                                              "refund, rcpay, rfset")
        ("name", po::value<std::string>(), "method.add: the method's name")
        ("shop-id", po::value<std::string>(), "method.add: Robokassa's shop id (MerchantLogin)")
        ("password1", po::value<std::string>(), "method.add: Password #1")
        ("password2", po::value<std::string>(), "method.add: Password #2")
        ("password3", po::value<std::string>(), "method.add: Password #3 (refunds)")
        ("test-password1", po::value<std::string>(), "method.add: test Password #1 (used in test mode)")
        ("test-password2", po::value<std::string>(), "method.add: test Password #2 (used in test mode)")
        ("payment-lifetime", po::value<std::string>(), "method.add: hours a payment link stays payable (1-720)")
        ("sno", po::value<std::string>(), "method.add: the receipt's taxation system (osn, usn_income, ...)")
        ("tax", po::value<std::string>(), "method.add: the receipt's VAT rate (none, vat20, ...); unset: no receipt")
        ("payment-object", po::value<std::string>(), "method.add: the receipt's payment object (service, ...)")
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
        ("status", po::value<std::string>(), "payment.list: only this status")
        ("verdict", po::value<std::string>(), "journal.list: only this verdict (credited, uncredited, refused, ...)")
        ("since", po::value<std::string>(), "journal.list: only entries received since this UTC date, YYYY-MM-DD[Thh:mm]")
        ("entry", po::value<std::string>(), "journal.show: the journal entry id");
    // clang-format on
    return options;
}

} // namespace

int main(int argc, char** argv) {
    return rk::cli::run_module("pmrobokassa", argc, argv, describe_options(), commands());
}
