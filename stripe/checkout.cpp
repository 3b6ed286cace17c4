#include "checkout.hpp"

#include "config.hpp"
#include "form.hpp"
#include "http_client.hpp"
#include "json.hpp"
#include "log.hpp"
#include "payment_link.hpp"
#include "stripe_amount.hpp"
#include "stripe_event.hpp"
#include "stripe_keys.hpp"
#include "stripe_store.hpp"
#include "text.hpp"

namespace rk::stripe {

namespace {

void add(std::string& form, std::string_view key, std::string_view value) {
    if (!form.empty()) {
        form += '&';
    }
    form += percent_encode(key);
    form += '=';
    form += percent_encode(value);
}

std::string lower(std::string s) {
    for (char& c : s) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return s;
}

// Stripe's answer to a failed call, for the log: HTTP status, error type
// and code, and the message with anything that looks like a key masked.
std::string describe_failure(const HttpResponse& response) {
    std::string what = "HTTP " + std::to_string(response.status);
    try {
        json::Value root = json::parse(response.body, "Stripe's answer");
        for (const char* key : {"type", "code", "message"}) {
            if (const std::string* v = string_at(root, {"error", key})) {
                what += std::string(" ") + key + "=" + scrub_secrets(v->substr(0, 300));
            }
        }
    } catch (const Error&) {
        what += " (not JSON)";
    }
    return what;
}

// POST /v1/checkout/sessions; returns the session's URL.
std::string create_session(const Config& config, const StripeMethod& method,
                           const std::string& form, PaymentId id) {
    HttpRequest request;
    request.method = "POST";
    request.url = config.stripe_api_url + "/v1/checkout/sessions";
    request.headers = {{"Authorization", "Bearer " + method.keys.secret_key},
                       {"Content-Type", "application/x-www-form-urlencoded"}};
    request.body = form;
    request.timeout_seconds = config.http_timeout;
    HttpResponse response = http_request(request);
    if (response.status != 200) {
        throw Error(ErrorKind::upstream, "",
                    "Stripe refused the Checkout Session for payment " + std::to_string(id) + ": " +
                        describe_failure(response));
    }
    json::Value root;
    try {
        root = json::parse(response.body, "Stripe's answer");
    } catch (const Error& e) {
        throw Error(ErrorKind::upstream, "", "Checkout Session: " + e.describe());
    }
    const std::string* url = string_at(root, {"url"});
    const std::string* session = string_at(root, {"id"});
    if (url == nullptr || session == nullptr || !is_https_or_loopback_url(*url)) {
        throw Error(ErrorKind::upstream, "",
                    "Checkout Session for payment " + std::to_string(id) +
                        ": the answer has no usable id and https url");
    }
    log::info("payment " + std::to_string(id) + ": Checkout Session " + session->substr(0, 80) +
              " created");
    return *url;
}

} // namespace

std::string checkout_session_form(const Payment& payment, const std::string& manager_url,
                                  Language language) {
    auto unit_amount = to_stripe_amount(payment.amount, payment.currency);
    if (!unit_amount || *unit_amount <= 0) {
        throw bad_input("amount", format_amount(payment.amount) + " " + payment.currency +
                                      " has no exact amount in Stripe's units");
    }
    const std::string id = std::to_string(payment.id);
    std::string name = payment.description;
    if (name.empty()) {
        name = std::string(text(language, Text::invoice)) + " " + id;
    }
    std::string form;
    add(form, "mode", "payment");
    add(form, "line_items[0][price_data][currency]", lower(payment.currency));
    add(form, "line_items[0][price_data][unit_amount]", std::to_string(*unit_amount));
    add(form, "line_items[0][price_data][product_data][name]", name);
    add(form, "line_items[0][quantity]", "1");
    add(form, "client_reference_id", id);
    add(form, "metadata[elid]", id);
    add(form, "payment_intent_data[metadata][elid]", id);
    add(form, "success_url", manager_url + "?func=payment.success&elid=" + id);
    add(form, "cancel_url", manager_url + "?func=payment.fail&elid=" + id);
    add(form, "locale", language_code(language));
    if (!payment.email.empty()) {
        add(form, "customer_email", payment.email);
    }
    return form;
}

Reply handle_checkout(const CgiInput& input, CgiContext& context) {
    // A payment link is opened, never posted to.
    CgiRequest request = parse_cgi_request(input, AcceptedMethods::get);
    Language language = choose_language(nullptr, request.cookie_header, request.accept_language);
    std::optional<Payment> payment = linked_payment(request, context.store_access());
    Store& store = context.store();
    const PaymentId id = payment->id;
    auto method = find_stripe_method(store, payment->method_id);
    if (!method) {
        throw Error(ErrorKind::not_found, "elid",
                    "payment " + std::to_string(id) + " is not a Stripe payment");
    }
    switch (payment->status) {
    case PaymentStatus::created:
    case PaymentStatus::in_pay:
        break;
    default:
        return closed_payment_reply(language, *payment);
    }
    const Config& config = context.config();
    if (!config.manager_url) {
        throw Error(ErrorKind::internal, "manager_url",
                    "is not configured: Stripe needs success and cancel URLs");
    }
    const std::string form = checkout_session_form(*payment, *config.manager_url, language);
    const std::string url = create_session(config, *method, form, id);

    if (payment->status == PaymentStatus::created) {
        sql::Transaction tx(store.db());
        if (store.mark_in_pay(tx, id, "stpayment") == Transition::applied) {
            log::info("payment " + std::to_string(id) + " in pay");
        }
        tx.commit();
    }
    Reply reply = plain_reply(303, "");
    reply.header("Location", url);
    return reply;
}

} // namespace rk::stripe
