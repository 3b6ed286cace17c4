// Standalone administration: Stripe methods and their payments in the
// shared store.
#include "billing/money.hpp"
#include "billing/store.hpp"
#include "commands.hpp"
#include "stripe/stripe_amount.hpp"
#include "stripe/stripe_keys.hpp"
#include "stripe/stripe_store.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <ostream>

namespace rk::stripe::module {

namespace {

using cli::open_store;
using cli::option;
using cli::required_option;

StripeMethod require_method(Store& store, const std::string& text) {
    MethodId id = parse_payment_id(text, "--method");
    auto method = find_stripe_method(store, id);
    if (!method) {
        throw Error(ErrorKind::not_found, "--method", "no Stripe payment method " + text);
    }
    return *method;
}

} // namespace

void require_manager_url(const Config& config) {
    if (!config.manager_url) {
        throw bad_input("manager_url",
                        "is not set in etc/pmrobokassa.conf: Stripe Checkout needs it for the "
                        "success and cancel URLs that bring the customer back to the panel");
    }
}

void command_method_add(Context& ctx) {
    const std::string& name = cli::method_name_option(ctx);
    const cli::OptionFields mapping = {{"secret-key", "secret_key"},
                                       {"publishable-key", "publishable_key"},
                                       {"webhook-secret", "webhook_secret"}};
    StripeKeys keys =
        cli::validate_options(cli::fields_from_options(ctx, mapping), mapping, parse_stripe_keys);
    require_manager_url(ctx.config);
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
            << "  Endpoint URL: " << cli::callback_origin(ctx.config) << "/mancgi/stwebhook\n"
            << "  Events:       checkout.session.completed, "
               "checkout.session.async_payment_succeeded,\n"
               "                checkout.session.async_payment_failed, "
               "invoice.payment_succeeded, invoice.payment_failed\n"
            << "  Then store the endpoint's signing secret (whsec_...) with this method.\n";
    if (!ctx.config.manager_url) {
        ctx.out << "\nWARNING: manager_url is not set in etc/pmrobokassa.conf: until it is, "
                   "customers get \"this payment method is not available\" (503), as Checkout "
                   "needs it for its success and cancel URLs.\n";
    }
}

void command_payment_add(Context& ctx) {
    NewPayment p = cli::read_new_payment(ctx);
    if (!to_stripe_amount(p.amount, p.currency)) {
        throw bad_input("--amount", "has no exact amount in Stripe's units of " + p.currency +
                                        " (a zero-decimal currency takes whole units)");
    }
    Store store = open_store(ctx);
    p.method_id = require_method(store, required_option(ctx, "method")).id;
    PaymentId id = cli::add_payment(store, p);
    log::info("payment " + std::to_string(id) + " added: " + format_amount(p.amount) + " " +
              p.currency + " by Stripe method " + std::to_string(p.method_id));
    ctx.out << id << "\n"
            << "/mancgi/stpayment?elid=" << id
            << "&key=" << payment_link_key(store.link_secret(), id) << "\n";
}

} // namespace rk::stripe::module
