// Standalone administration: methods and payments in the store.
#include "billing/money.hpp"
#include "billing/store.hpp"
#include "commands.hpp"
#include "robokassa/method_settings.hpp"
#include "robokassa/method_store.hpp"
#include "robokassa/receipt.hpp"
#include "robokassa/robokassa_api.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <boost/program_options/variables_map.hpp>
#include <ctime>
#include <iterator>
#include <ostream>

namespace rk::module {

namespace {

using cli::option;
using cli::required_option;

Method require_method(Store& store, const std::string& text) {
    MethodId id = parse_payment_id(text, "--method");
    auto method = find_method(store, id);
    if (!method) {
        throw Error(ErrorKind::not_found, "--method", "no payment method " + text);
    }
    return *method;
}

} // namespace

void command_method_add(Context& ctx) {
    const std::string& name = cli::method_name_option(ctx);
    const cli::OptionFields mapping = {{"shop-id", "shop_id"},
                                       {"password1", "password1"},
                                       {"password2", "password2"},
                                       {"password3", "password3"},
                                       {"test-password1", "test_password1"},
                                       {"test-password2", "test_password2"},
                                       {"hash-algorithm", "hash_algorithm"},
                                       {"inc-curr-label", "inc_curr_label"},
                                       {"gateway-url", "gateway_url"},
                                       {"payment-lifetime", "payment_lifetime"},
                                       {"sno", "sno"},
                                       {"tax", "tax"},
                                       {"payment-object", "payment_object"}};
    MethodFields fields = cli::fields_from_options(ctx, mapping);
    // The two switches are flags on the command line, checkboxes in the form.
    fields["test_mode"] = cli::flag(ctx, "test-mode") ? "on" : "off";
    fields["recurring"] = cli::flag(ctx, "recurring") ? "on" : "off";
    MethodSettings settings = cli::validate_options(fields, mapping, parse_method_settings);
    // Asked before the store is opened: a refused method leaves no trace.
    std::string note = cli::validate_options(fields, mapping, [&](const MethodFields&) {
        return verify_credentials(ctx.config, settings);
    });
    Store store = cli::open_store(ctx);
    MethodId id = add_method(store, name, settings);
    log::info("method " + std::to_string(id) + " added for shop " + settings.shop_id);
    ctx.out << id << "\n";
    if (!note.empty()) {
        ctx.out << "credentials not checked: " << note << "\n";
    }
}

void command_method_list(Context& ctx) {
    Store store = cli::open_store(ctx);
    ctx.out << "id\tname\tshop_id\thash_algorithm\ttest_mode\n";
    for (const Method& m : list_methods(store)) {
        ctx.out << m.id << "\t" << m.name << "\t" << m.settings.shop_id << "\t"
                << to_string(m.settings.hash_algorithm) << "\t"
                << (m.settings.test_mode ? "on" : "off") << "\n";
    }
}

void command_method_show(Context& ctx) {
    Store store = cli::open_store(ctx);
    Method m = require_method(store, required_option(ctx, "method"));
    const MethodSettings& s = m.settings;
    const std::string base = cli::callback_origin(ctx.config);
    std::string algorithm(to_string(s.hash_algorithm));
    for (char& c : algorithm) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    ctx.out << "id:             " << m.id << "\n"
            << "name:           " << m.name << "\n"
            << "shop_id:        " << s.shop_id << "\n"
            << "password1:      ********\n"
            << "password2:      ********\n"
            << "password3:      " << (s.password3.empty() ? "(not set)" : "********") << "\n"
            << "test_password1: " << (s.test_password1.empty() ? "(not set)" : "********") << "\n"
            << "test_password2: " << (s.test_password2.empty() ? "(not set)" : "********") << "\n"
            << "payment_lifetime: "
            << (s.payment_lifetime_hours == 0 ? std::string("(none)")
                                              : std::to_string(s.payment_lifetime_hours) + " h")
            << "\n"
            << "hash_algorithm: " << to_string(s.hash_algorithm) << "\n"
            << "test_mode:      " << (s.test_mode ? "on" : "off") << "\n"
            << "recurring:      " << (s.recurring ? "on" : "off") << "\n"
            << "inc_curr_label: " << s.inc_curr_label << "\n"
            << "gateway_url:    " << effective_gateway_url(s) << "\n"
            << "receipt:        "
            << (s.receipt_tax.empty()
                    ? std::string("(none)")
                    : "tax " + s.receipt_tax + ", sno " +
                          (s.receipt_sno.empty() ? "(cabinet's)" : s.receipt_sno) +
                          ", payment_object " +
                          (s.receipt_payment_object.empty() ? "(not set)"
                                                            : s.receipt_payment_object))
            << "\n"
            << "\n"
            << "Paste into Robokassa's cabinet (My shops -> Technical settings):\n"
            << "  Hash algorithm: " << algorithm << "\n"
            << "  Result URL:     " << base << "/mancgi/rkresult   (method POST)\n"
            << "  Success URL:    " << base << "/mancgi/rksuccess  (method POST)\n"
            << "  Fail URL:       " << base << "/mancgi/rkfail     (method POST)\n"
            << "  Password #1 and #2: the ones stored with this method"
            << (uses_test_pair(s) ? " (the test pair, since test mode is on)" : "") << "\n";
    if (!ctx.config.manager_url) {
        ctx.out << "Set manager_url in etc/pmrobokassa.conf to see the real host.\n";
    }
}

void command_payment_add(Context& ctx) {
    NewPayment p = cli::read_new_payment(ctx);
    if (const std::string* path = option(ctx, "receipt")) {
        const std::string text = cli::read_file_limited(*path, "--receipt");
        p.receipt = normalise_receipt(text, p.amount, "--receipt");
    }
    Store store = cli::open_store(ctx);
    p.method_id = require_method(store, required_option(ctx, "method")).id;
    PaymentId id = cli::add_payment(store, p);
    log::info("payment " + std::to_string(id) + " added: " + format_amount(p.amount) + " " +
              p.currency + " by method " + std::to_string(p.method_id));
    ctx.out << id << "\n"
            << "/mancgi/rkpayment?elid=" << id
            << "&key=" << payment_link_key(store.link_secret(), id) << "\n";
}

void command_payment_list(Context& ctx) {
    std::optional<PaymentStatus> status;
    if (const std::string* text = option(ctx, "status")) {
        static const int known[] = {1, 2, 4, 6, 7, 9};
        int code = -1;
        for (int k : known) {
            if (*text == std::to_string(k)) {
                code = k;
            }
        }
        if (code < 0) {
            throw bad_input("--status", "must be one of 1, 2, 4, 6, 7, 9");
        }
        status = static_cast<PaymentStatus>(code);
    }
    Store store = cli::open_store(ctx);
    ctx.out << "id\tstatus\tamount\tcurrency\tmethod\tdescription\n";
    for (const Payment& p : store.list_payments(status)) {
        ctx.out << p.id << "\t" << static_cast<int>(p.status) << "\t" << format_amount(p.amount)
                << "\t" << p.currency << "\t" << p.method_id << "\t" << p.description << "\n";
    }
}

} // namespace rk::module
