#include "stripe/webhook.hpp"

#include "billing/settlement.hpp"
#include "stripe/stripe_amount.hpp"
#include "stripe/stripe_event.hpp"
#include "stripe/stripe_keys.hpp"
#include "stripe/stripe_signature.hpp"
#include "stripe/stripe_store.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <ctime>

namespace rk::stripe {

namespace {

constexpr const char* k_source = "stwebhook";

bool is_client_error(const Error& e) {
    int status = error_status(e.kind());
    return status >= 400 && status < 500;
}

Reply refusal(int status, const Error& e) {
    return plain_reply(status, "ERROR " + e.describe() + "\n");
}

// "application/json", optionally with parameters ("; charset=utf-8").
bool is_json_media_type(const std::string* content_type) {
    if (content_type == nullptr) {
        return false;
    }
    std::string type = content_type->substr(0, content_type->find(';'));
    while (!type.empty() && type.back() == ' ') {
        type.pop_back();
    }
    for (char& c : type) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return type == "application/json";
}

// What the event asks of a payment and how it ended, filled in by decide().
struct Outcome {
    ProcessedEvent event;
    std::string reason;
};

// Settles a payment the event reports as paid: `amount_key` names the
// object's amount (amount_total, amount_paid) in Stripe's units.
Reply settle(Store& store, sql::Transaction& tx, const Payment& payment, const json::Value& object,
             const char* amount_key, Outcome& outcome) {
    const std::string id = std::to_string(payment.id);
    auto amount = integer_at(object, {amount_key});
    if (!amount) {
        throw bad_input(std::string("data.object.") + amount_key, "must be an integer");
    }
    const std::string* currency = string_at(object, {"currency"});
    if (currency == nullptr) {
        throw bad_input("data.object.currency", "is required");
    }
    std::string ours = payment.currency;
    for (char& c : ours) {
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (*currency != ours) {
        throw bad_input("data.object.currency",
                        "is " + currency->substr(0, 16) + ", the payment's is " + ours);
    }
    auto received = from_stripe_amount(*amount, *currency);
    if (!received) {
        throw bad_input(std::string("data.object.") + amount_key, "is not a valid amount");
    }
    // The PaymentIntent when there is one (what the merchant sees in the
    // dashboard), else the session or invoice id.
    const std::string* external = string_at(object, {"payment_intent"});
    if (external == nullptr) {
        external = string_at(object, {"id"});
    }
    Settlement settlement = settle_paid(store, tx, payment, *received,
                                        external ? external->substr(0, 255) : "", k_source);
    outcome.event.verdict = to_string(settlement);
    switch (settlement) {
    case Settlement::credited:
        log::info("payment " + id + " paid: " + format_amount(*received) + " " + payment.currency +
                  " (" + outcome.event.type + " " + outcome.event.event_id + ")");
        return plain_reply(200, "OK credited\n");
    case Settlement::duplicate:
        log::info("payment " + id + " was already paid; " + outcome.event.type + " acknowledged");
        return plain_reply(200, "OK already paid\n");
    case Settlement::amount_mismatch:
        throw bad_input(std::string("data.object.") + amount_key,
                        "is " + format_amount(*received) + ", the payment is " +
                            format_amount(payment.amount));
    case Settlement::not_payable:
        // Stripe took money for a payment we closed: a person must look.
        log::error("payment " + id + " was paid at Stripe but has status " +
                   std::to_string(static_cast<int>(payment.status)) + "; not credited");
        throw Error(ErrorKind::conflict, "payment",
                    "is in status " + std::to_string(static_cast<int>(payment.status)) +
                        " and cannot be paid");
    }
    throw Error(ErrorKind::internal, "", "unknown settlement");
}

// Decides one request inside `tx`. Client errors propagate as Error and
// become journaled refusals in handle_webhook_at; so do store errors (503).
Reply decide(Store& store, sql::Transaction& tx, const CgiInput& input, std::int64_t now,
             Notification& note, Outcome& outcome) {
    const std::string* header = input.var("HTTP_STRIPE_SIGNATURE");
    if (header == nullptr) {
        throw bad_input("Stripe-Signature", "is missing");
    }
    SignatureHeader signature = parse_signature_header(*header);
    if (!is_json_media_type(input.var("CONTENT_TYPE"))) {
        throw bad_input("CONTENT_TYPE", "must be application/json");
    }
    json::Value root = json::parse(input.body, "body", json::Limits{k_max_body_bytes, 32});
    WebhookEvent event = read_event(root);
    outcome.event.event_id = event.id;
    outcome.event.type = event.type;
    auto reference = payment_reference(*event.object);

    // Which secret signs it: the named payment's method's, else any Stripe
    // method's (an event that names no payment of ours).
    std::optional<Payment> payment;
    std::optional<StripeMethod> method;
    if (reference) {
        note.payment_id = reference->id;
        payment = store.find_payment(reference->id);
        if (!payment) {
            throw bad_input(reference->field, "names no payment");
        }
        method = find_stripe_method(store, payment->method_id);
        if (!method) {
            throw bad_input(reference->field, "names a payment that is not a Stripe payment");
        }
        if (!signature_matches(signature, method->keys.webhook_secret, input.body)) {
            throw bad_input("Stripe-Signature", "does not match the method's webhook secret");
        }
    } else {
        for (StripeMethod& candidate : list_stripe_methods(store)) {
            if (signature_matches(signature, candidate.keys.webhook_secret, input.body)) {
                method = std::move(candidate);
                break;
            }
        }
        if (!method) {
            throw bad_input("Stripe-Signature", "matches no Stripe method's webhook secret");
        }
    }
    if (!timestamp_fresh(signature, now)) {
        throw bad_input("Stripe-Signature", "t is more than 300 s from now (a stale or replayed "
                                            "event)");
    }
    outcome.event.method_id = method->id;
    outcome.event.payment_id = note.payment_id;
    if (event.livemode && *event.livemode != is_live(method->keys)) {
        throw bad_input("livemode", *event.livemode ? "a live event for a test-mode method"
                                                    : "a test event for a live method");
    }

    // Authentic from here on.
    if (event_seen(store, tx, event.id)) {
        note.verdict = "duplicate_event";
        log::info("event " + event.id + " (" + event.type + ") seen before; acknowledged");
        return plain_reply(200, "OK duplicate event\n");
    }
    Reply reply;
    if (event.type == "checkout.session.completed" || event.type == "invoice.payment_succeeded") {
        bool session = event.type == "checkout.session.completed";
        // Each names the payment its own way (the two agree when both are there).
        bool named = session ? string_at(*event.object, {"client_reference_id"}) != nullptr
                             : string_at(*event.object, {"metadata", "elid"}) != nullptr;
        if (!named) {
            throw bad_input(session ? "data.object.client_reference_id"
                                    : "data.object.metadata.elid",
                            "is required");
        }
        const std::string* status = string_at(*event.object, {"payment_status"});
        if (session && status != nullptr && *status != "paid") {
            // An asynchronous payment method: the money is not there yet.
            outcome.event.verdict = "pending";
            outcome.reason = "payment_status " + status->substr(0, 32);
            reply = plain_reply(200, "OK not paid yet\n");
        } else {
            reply = settle(store, tx, *payment, *event.object,
                           session ? "amount_total" : "amount_paid", outcome);
        }
    } else if (event.type == "invoice.payment_failed") {
        outcome.event.verdict = "payment_failed";
        log::warning("event " + event.id + ": invoice payment failed" +
                     (reference ? " for payment " + std::to_string(reference->id) : ""));
        reply = plain_reply(200, "OK recorded\n");
    } else {
        outcome.event.verdict = "ignored";
        reply = plain_reply(200, "OK ignored\n");
    }
    record_event(store, tx, outcome.event);
    note.verdict = outcome.event.verdict;
    return reply;
}

} // namespace

Reply handle_webhook_at(const CgiInput& input, CgiContext& context, std::int64_t now) {
    Notification note;
    note.source = k_source;
    // The body as received, made storable: a forged body may be any bytes.
    note.params = input.body_too_large ? "(body over 64 KiB, not read)" : xml_safe(input.body);
    Outcome outcome;

    Store& store = context.store();
    sql::Transaction tx(store.db());
    Reply reply;
    const std::string* method = input.var("REQUEST_METHOD");
    if (method == nullptr || *method != "POST") {
        reply = plain_reply(405, "ERROR REQUEST_METHOD: must be POST\n");
        reply.header("Allow", "POST");
        note.verdict = "refused";
        note.reason = "REQUEST_METHOD: must be POST";
    } else if (input.body_too_large) {
        reply = plain_reply(413, "ERROR body: over 64 KiB\n");
        note.verdict = "refused";
        note.reason = "body: over 64 KiB";
    } else {
        try {
            reply = decide(store, tx, input, now, note, outcome);
        } catch (const Error& e) {
            if (!is_client_error(e)) {
                throw;
            }
            note.verdict = outcome.event.verdict.empty() ? "refused" : outcome.event.verdict;
            note.reason = (outcome.event.event_id.empty() ? "" : outcome.event.event_id + ": ") +
                          e.describe();
            reply = refusal(error_status(e.kind()), e);
        }
    }
    if (note.reason.empty()) {
        note.reason = outcome.event.type.empty()
                          ? outcome.reason
                          : outcome.event.type + " " + outcome.event.event_id +
                                (outcome.reason.empty() ? "" : ": " + outcome.reason);
    }
    note.reply_status = reply.status;
    note.reply_body = reply.body;
    store.record_notification(tx, note);
    tx.commit();
    if (reply.status != 200) {
        log::warning("webhook refused (" + std::to_string(reply.status) + "): " + note.reason);
    }
    return reply;
}

Reply handle_webhook(const CgiInput& input, CgiContext& context) {
    return handle_webhook_at(input, context, static_cast<std::int64_t>(std::time(nullptr)));
}

} // namespace rk::stripe
