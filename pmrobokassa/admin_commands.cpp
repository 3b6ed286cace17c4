// Standalone administration: methods and payments in the store.
#include "commands.hpp"
#include "error.hpp"
#include "log.hpp"
#include "method_settings.hpp"
#include "money.hpp"
#include "receipt.hpp"
#include "store.hpp"
#include "text.hpp"

#include <boost/program_options/variables_map.hpp>
#include <ctime>
#include <fstream>
#include <iterator>
#include <ostream>

namespace rk::module {

namespace {

const std::string* option(const Context& ctx, const char* name) {
    auto it = ctx.options.find(name);
    return it == ctx.options.end() ? nullptr : &it->second.as<std::string>();
}

const std::string& required_option(const Context& ctx, const char* name) {
    const std::string* value = option(ctx, name);
    if (value == nullptr) {
        throw bad_input(std::string("--") + name, "is required");
    }
    return *value;
}

bool flag(const Context& ctx, const char* name) {
    auto it = ctx.options.find(name);
    return it != ctx.options.end() && it->second.as<bool>();
}

Store open_store(const Context& ctx) {
    return Store::open_default(sql::OpenMode::create_if_missing, ctx.config.busy_timeout_ms);
}

std::string iso_time(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

Method require_method(Store& store, const std::string& text) {
    MethodId id = parse_payment_id(text, "--method");
    auto method = store.find_method(id);
    if (!method) {
        throw Error(ErrorKind::not_found, "--method", "no payment method " + text);
    }
    return *method;
}

// Where Robokassa must call us: the origin of manager_url, or a placeholder
// the admin can recognise when manager_url is not configured yet.
std::string callback_base(const Config& config) {
    if (config.manager_url) {
        return url_origin(*config.manager_url);
    }
    return "https://<billing host>";
}

} // namespace

void command_method_add(Context& ctx) {
    const std::string& name = required_option(ctx, "name");
    if (name.empty() || name.size() > 128 || !is_valid_utf8(name) || has_control_chars(name)) {
        throw bad_input("--name",
                        "must be 1 to 128 bytes of UTF-8 text without control characters");
    }
    MethodFields fields;
    const std::pair<const char*, const char*> mapping[] = {{"shop-id", "shop_id"},
                                                           {"password1", "password1"},
                                                           {"password2", "password2"},
                                                           {"password3", "password3"},
                                                           {"hash-algorithm", "hash_algorithm"},
                                                           {"inc-curr-label", "inc_curr_label"},
                                                           {"gateway-url", "gateway_url"}};
    for (const auto& [opt, field] : mapping) {
        if (const std::string* value = option(ctx, opt)) {
            fields[field] = *value;
        }
    }
    fields["test_mode"] = flag(ctx, "test-mode") ? "on" : "off";
    fields["recurring"] = flag(ctx, "recurring") ? "on" : "off";
    MethodSettings settings;
    try {
        settings = parse_method_settings(fields);
    } catch (const Error& e) {
        // Name the option the admin typed, not the form field behind it.
        std::string field = e.field();
        for (const auto& [opt, f] : mapping) {
            if (field == f) {
                field = std::string("--") + opt;
            }
        }
        throw Error(e.kind(), field, e.what());
    }
    Store store = open_store(ctx);
    MethodId id = store.add_method(name, settings);
    log::info("method " + std::to_string(id) + " added for shop " + settings.shop_id);
    ctx.out << id << "\n";
}

void command_method_list(Context& ctx) {
    Store store = open_store(ctx);
    ctx.out << "id\tname\tshop_id\thash_algorithm\ttest_mode\n";
    for (const Method& m : store.list_methods()) {
        ctx.out << m.id << "\t" << m.name << "\t" << m.settings.shop_id << "\t"
                << to_string(m.settings.hash_algorithm) << "\t"
                << (m.settings.test_mode ? "on" : "off") << "\n";
    }
}

void command_method_show(Context& ctx) {
    Store store = open_store(ctx);
    Method m = require_method(store, required_option(ctx, "method"));
    const MethodSettings& s = m.settings;
    const std::string base = callback_base(ctx.config);
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
            << "hash_algorithm: " << to_string(s.hash_algorithm) << "\n"
            << "test_mode:      " << (s.test_mode ? "on" : "off") << "\n"
            << "recurring:      " << (s.recurring ? "on" : "off") << "\n"
            << "inc_curr_label: " << s.inc_curr_label << "\n"
            << "gateway_url:    " << effective_gateway_url(s) << "\n"
            << "\n"
            << "Paste into Robokassa's cabinet (My shops -> Technical settings):\n"
            << "  Hash algorithm: " << algorithm << "\n"
            << "  Result URL:     " << base << "/mancgi/rkresult   (method POST)\n"
            << "  Success URL:    " << base << "/mancgi/rksuccess  (method POST)\n"
            << "  Fail URL:       " << base << "/mancgi/rkfail     (method POST)\n"
            << "  Password #1 and #2: the ones stored with this method"
            << (s.test_mode ? " (the test pair, since test mode is on)" : "") << "\n";
    if (!ctx.config.manager_url) {
        ctx.out << "Set manager_url in etc/pmrobokassa.conf to see the real host.\n";
    }
}

void command_payment_add(Context& ctx) {
    NewPayment p;
    p.amount = parse_amount(required_option(ctx, "amount"), "--amount");
    if (p.amount == 0) {
        throw bad_input("--amount", "must be greater than zero");
    }
    if (const std::string* currency = option(ctx, "currency")) {
        bool ok = currency->size() == 3;
        for (char c : *currency) {
            ok = ok && c >= 'A' && c <= 'Z';
        }
        if (!ok) {
            throw bad_input("--currency", "must be three capital letters, e.g. RUB");
        }
        p.currency = *currency;
    }
    if (const std::string* description = option(ctx, "description")) {
        // Robokassa takes up to 100 characters.
        if (!is_valid_utf8(*description) || has_control_chars(*description) ||
            utf8_length(*description) > 100) {
            throw bad_input("--description",
                            "must be at most 100 characters of UTF-8 text without control "
                            "characters");
        }
        p.description = *description;
    }
    if (const std::string* email = option(ctx, "email")) {
        std::size_t at = email->find('@');
        bool ok = email->size() <= 254 && at != std::string::npos && at > 0 &&
                  at + 1 < email->size() && email->find('@', at + 1) == std::string::npos;
        for (char c : *email) {
            ok = ok && c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"';
        }
        if (!ok) {
            throw bad_input("--email", "must be an e-mail address such as user@example.com");
        }
        p.email = *email;
    }
    if (const std::string* id = option(ctx, "id")) {
        p.id = parse_payment_id(*id, "--id");
    }
    if (const std::string* path = option(ctx, "receipt")) {
        std::ifstream in(*path, std::ios::binary);
        if (!in) {
            throw bad_input("--receipt", "cannot read " + *path);
        }
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        p.receipt = normalise_receipt(text, p.amount, "--receipt");
    }
    Store store = open_store(ctx);
    p.method_id = require_method(store, required_option(ctx, "method")).id;
    PaymentId id = store.add_payment(p);
    log::info("payment " + std::to_string(id) + " added: " + format_amount(p.amount) + " " +
              p.currency + " by method " + std::to_string(p.method_id));
    ctx.out << id << "\n"
            << "/mancgi/rkpayment?elid=" << id
            << "&key=" << payment_link_key(store.link_secret(), id) << "\n";
}

void command_payment_show(Context& ctx) {
    Store store = open_store(ctx);
    const std::string& text = required_option(ctx, "payment");
    PaymentId id = parse_payment_id(text, "--payment");
    auto p = store.find_payment(id);
    if (!p) {
        throw Error(ErrorKind::not_found, "--payment", "no payment " + text);
    }
    ctx.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<doc><payment>"
            << "<id>" << p->id << "</id>"
            << "<status>" << static_cast<int>(p->status) << "</status>"
            << "<amount>" << format_amount(p->amount) << "</amount>"
            << "<currency>" << escape_markup(p->currency) << "</currency>"
            << "<method>" << p->method_id << "</method>"
            << "<description>" << escape_markup(xml_safe(p->description)) << "</description>"
            << "<email>" << escape_markup(p->email) << "</email>"
            << "<external_id>" << escape_markup(xml_safe(p->external_id)) << "</external_id>"
            << "<refunded>" << format_amount(p->refunded) << "</refunded>"
            << "<credits>" << store.count_transitions_to(p->id, PaymentStatus::paid) << "</credits>"
            << "<created>" << iso_time(p->created_at) << "</created>"
            << "<updated>" << iso_time(p->updated_at) << "</updated>";
    if (p->paid_at) {
        ctx.out << "<paid>" << iso_time(*p->paid_at) << "</paid>";
    }
    if (p->parent_id) {
        ctx.out << "<parent>" << *p->parent_id << "</parent>";
    }
    ctx.out << "</payment></doc>\n";
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
    Store store = open_store(ctx);
    ctx.out << "id\tstatus\tamount\tcurrency\tmethod\tdescription\n";
    for (const Payment& p : store.list_payments(status)) {
        ctx.out << p.id << "\t" << static_cast<int>(p.status) << "\t" << format_amount(p.amount)
                << "\t" << p.currency << "\t" << p.method_id << "\t" << p.description << "\n";
    }
}

} // namespace rk::module
