// Standalone administration: Stripe methods and their payments in the
// shared store.
#include "commands.hpp"
#include "error.hpp"
#include "log.hpp"
#include "money.hpp"
#include "store.hpp"
#include "stripe_amount.hpp"
#include "stripe_keys.hpp"
#include "stripe_store.hpp"
#include "text.hpp"

#include <boost/program_options/variables_map.hpp>
#include <ctime>
#include <ostream>

namespace rk::stripe::module {

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

StripeMethod require_method(Store& store, const std::string& text) {
    MethodId id = parse_payment_id(text, "--method");
    auto method = find_stripe_method(store, id);
    if (!method) {
        throw Error(ErrorKind::not_found, "--method", "no Stripe payment method " + text);
    }
    return *method;
}

// Where Stripe must send events: the origin of manager_url, or a
// placeholder the admin can recognise when manager_url is not set yet.
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
    const std::pair<const char*, const char*> mapping[] = {{"secret-key", "secret_key"},
                                                           {"publishable-key", "publishable_key"},
                                                           {"webhook-secret", "webhook_secret"}};
    KeyFields fields;
    for (const auto& [opt, field] : mapping) {
        if (const std::string* value = option(ctx, opt)) {
            fields[field] = *value;
        }
    }
    StripeKeys keys;
    try {
        keys = parse_stripe_keys(fields);
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
    MethodId id = add_stripe_method(store, name, keys);
    log::info("Stripe method " + std::to_string(id) + " added (" +
              (is_live(keys) ? "live" : "test") + " mode)");
    ctx.out << id << "\n";
}

void command_method_list(Context& ctx) {
    Store store = open_store(ctx);
    ctx.out << "id\tname\tmode\tpublishable_key\n";
    for (const StripeMethod& m : list_stripe_methods(store)) {
        ctx.out << m.id << "\t" << m.name << "\t" << (is_live(m.keys) ? "live" : "test") << "\t"
                << mask_key(m.keys.publishable_key) << "\n";
    }
}

void command_method_show(Context& ctx) {
    Store store = open_store(ctx);
    StripeMethod m = require_method(store, required_option(ctx, "method"));
    ctx.out << "id:              " << m.id << "\n"
            << "name:            " << m.name << "\n"
            << "mode:            " << (is_live(m.keys) ? "live" : "test") << "\n"
            << "secret_key:      " << mask_key(m.keys.secret_key) << "\n"
            << "publishable_key: " << mask_key(m.keys.publishable_key) << "\n"
            << "webhook_secret:  " << mask_key(m.keys.webhook_secret) << "\n"
            << "\n"
            << "In Stripe's dashboard (Developers -> Webhooks -> Add endpoint):\n"
            << "  Endpoint URL: " << callback_base(ctx.config) << "/mancgi/stwebhook\n"
            << "  Events:       checkout.session.completed, invoice.payment_succeeded, "
               "invoice.payment_failed\n"
            << "  Then store the endpoint's signing secret (whsec_...) with this method.\n";
    if (!ctx.config.manager_url) {
        ctx.out << "Set manager_url in etc/pmrobokassa.conf: Checkout needs it for its "
                   "success and cancel URLs.\n";
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
            throw bad_input("--currency", "must be three capital letters, e.g. USD");
        }
        p.currency = *currency;
    }
    if (!to_stripe_amount(p.amount, p.currency)) {
        throw bad_input("--amount", "has no exact amount in Stripe's units of " + p.currency +
                                        " (a zero-decimal currency takes whole units)");
    }
    if (const std::string* description = option(ctx, "description")) {
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
    Store store = open_store(ctx);
    p.method_id = require_method(store, required_option(ctx, "method")).id;
    PaymentId id = store.add_payment(p);
    log::info("payment " + std::to_string(id) + " added: " + format_amount(p.amount) + " " +
              p.currency + " by Stripe method " + std::to_string(p.method_id));
    ctx.out << id << "\n"
            << "/mancgi/stpayment?elid=" << id
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
            << "<module>" << escape_markup(store.method_module(p->method_id).value_or(""))
            << "</module>"
            << "<description>" << escape_markup(xml_safe(p->description)) << "</description>"
            << "<email>" << escape_markup(p->email) << "</email>"
            << "<external_id>" << escape_markup(xml_safe(p->external_id)) << "</external_id>"
            << "<credits>" << store.count_transitions_to(p->id, PaymentStatus::paid) << "</credits>"
            << "<created>" << iso_time(p->created_at) << "</created>"
            << "<updated>" << iso_time(p->updated_at) << "</updated>";
    if (p->paid_at) {
        ctx.out << "<paid>" << iso_time(*p->paid_at) << "</paid>";
    }
    ctx.out << "</payment></doc>\n";
}

} // namespace rk::stripe::module
