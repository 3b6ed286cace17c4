#include "stripe/checkout.hpp"

#include "cgi/payment_link.hpp"
#include "stripe/stripe_amount.hpp"
#include "stripe/stripe_event.hpp"
#include "stripe/stripe_keys.hpp"
#include "stripe/stripe_store.hpp"
#include "util/config.hpp"
#include "util/digest.hpp"
#include "util/form.hpp"
#include "util/http_client.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/url.hpp"

#include <ctime>

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

HttpResponse stripe_post(const Config& config, const StripeMethod& method, const std::string& path,
                         const std::string& form, const std::string& idempotency_key = "") {
    HttpRequest request;
    request.method = "POST";
    request.url = config.stripe_api_url + path;
    request.headers = {{"Authorization", "Bearer " + method.keys.secret_key},
                       {"Content-Type", "application/x-www-form-urlencoded"}};
    if (!idempotency_key.empty()) {
        request.headers.emplace_back("Idempotency-Key", idempotency_key);
    }
    request.body = form;
    request.timeout_seconds = config.http_timeout;
    return http_request(request);
}

// The key Stripe deduplicates the n-th session of a payment by: two visits
// at once that both find no usable session get one session, not two. It
// covers the form too, since Stripe refuses a key sent again with other
// parameters (another language) for a day. Keyed by the installation's
// secret so that another store (payment ids start at 1 again) never gets
// this one's session; it reveals nothing of the secret.
std::string session_idempotency_key(Store& store, PaymentId id, int n, const std::string& form) {
    return "pmstripe-" +
           hmac_sha256_hex(store.link_secret(), "checkout-session:" + std::to_string(id) + ":" +
                                                    std::to_string(n) + ":" + form)
               .substr(0, 40);
}

// POST /v1/checkout/sessions.
CheckoutSession create_session(const Config& config, const StripeMethod& method,
                               const std::string& form, PaymentId id,
                               const std::string& idempotency_key) {
    HttpResponse response =
        stripe_post(config, method, "/v1/checkout/sessions", form, idempotency_key);
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
    if (url == nullptr || session == nullptr || !is_https_or_loopback_url(*url) ||
        session->empty() || session->size() > 255) {
        throw Error(ErrorKind::upstream, "",
                    "Checkout Session for payment " + std::to_string(id) +
                        ": the answer has no usable id and https url");
    }
    CheckoutSession out;
    out.id = *session;
    out.url = *url;
    // Stripe's default lifetime when the answer does not say.
    out.expires_at =
        integer_at(root, {"expires_at"})
            .value_or(static_cast<std::int64_t>(std::time(nullptr)) + std::int64_t{24} * 3600);
    log::info("payment " + std::to_string(id) + ": Checkout Session " + session->substr(0, 80) +
              " created");
    return out;
}

// POST /v1/checkout/sessions/{id}/expire: after it, the session cannot be
// paid. False when Stripe refuses (the session is no longer open).
bool expire_session(const Config& config, const StripeMethod& method,
                    const CheckoutSession& session, PaymentId id) {
    HttpResponse response = stripe_post(
        config, method, "/v1/checkout/sessions/" + percent_encode(session.id) + "/expire", "");
    if (response.status == 200) {
        log::info("payment " + std::to_string(id) + ": Checkout Session " +
                  session.id.substr(0, 80) + " expired before opening another");
        return true;
    }
    log::warning("payment " + std::to_string(id) + ": Stripe did not expire Checkout Session " +
                 session.id.substr(0, 80) + ": " + describe_failure(response));
    return false;
}

// How long before its expiry a session is still handed to a customer: time
// enough to fill in a card.
constexpr std::int64_t k_reuse_margin_seconds = std::int64_t{15} * 60;

const char* unavailable_text(Language language) {
    return language == Language::ru
               ? "Этот способ оплаты сейчас недоступен. Выберите другой способ оплаты или "
                 "обратитесь в поддержку."
               : "This payment method is not available. Please choose another payment method "
                 "or contact support.";
}

const char* processing_text(Language language) {
    return language == Language::ru
               ? "Платёж принят Stripe и ожидает подтверждения. Счёт будет оплачен, как только "
                 "Stripe подтвердит платёж."
               : "Stripe has accepted the payment and is waiting for its confirmation. The "
                 "invoice will be paid as soon as Stripe confirms it.";
}

Reply text_page(int status, Language language, const char* title, const char* body) {
    Page page;
    page.language = language;
    page.title = title;
    page.body_html = std::string("<p>") + body + "</p>\n";
    return html_reply(status, page);
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
    add(form, "line_items[0][price_data][currency]", ascii_lower(payment.currency));
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
    CgiRequest request = parse_cgi_request(input);
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
        // The admin's to fix (pmstripe method.add and method.show say so);
        // the customer learns only that this way to pay is closed.
        log::error("payment " + std::to_string(id) +
                   ": manager_url is not configured; Stripe Checkout needs it for its success "
                   "and cancel URLs. Answered 503");
        return text_page(503, language, text(language, Text::error_title),
                         unavailable_text(language));
    }

    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    // A session expired, or whose delayed payment failed, is done with: the
    // customer may pay through a new one.
    if (auto current = latest_session(store, id);
        current && (current->state == "open" || current->state == "complete")) {
        if (current->state == "complete") {
            // Completed with a delayed payment method: the money is on its
            // way, and another session could only take it twice.
            return text_page(200, language, text(language, Text::payment_title),
                             processing_text(language));
        }
        if (current->expires_at - now > k_reuse_margin_seconds) {
            log::info("payment " + std::to_string(id) + ": Checkout Session " +
                      current->id.substr(0, 80) + " reused");
            Reply reply = plain_reply(303, "");
            reply.header("Location", current->url);
            return reply;
        }
        // About to expire: close it at Stripe first, so that the customer
        // cannot pay both it and its successor. Past its expiry Stripe has
        // closed it already and refuses to; before that, a refusal means it
        // was completed meanwhile, and the webhook will tell.
        if (!expire_session(config, *method, *current, id) && now < current->expires_at) {
            throw Error(ErrorKind::upstream, "",
                        "payment " + std::to_string(id) + ": Checkout Session " +
                            current->id.substr(0, 80) + " could not be expired");
        }
        sql::Transaction tx(store.db());
        set_session_state(store, tx, current->id, "expired");
        tx.commit();
    }

    const std::string form = checkout_session_form(*payment, *config.manager_url, language);
    const CheckoutSession session =
        create_session(config, *method, form, id,
                       session_idempotency_key(store, id, session_count(store, id), form));
    record_session(store, id, session);

    if (payment->status == PaymentStatus::created) {
        sql::Transaction tx(store.db());
        if (store.mark_in_pay(tx, id, "stpayment") == Transition::applied) {
            log::info("payment " + std::to_string(id) + " in pay");
        }
        tx.commit();
    }
    Reply reply = plain_reply(303, "");
    reply.header("Location", session.url);
    return reply;
}

} // namespace rk::stripe
