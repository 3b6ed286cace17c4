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

#include <algorithm>
#include <ctime>
#include <sqlite3.h>

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
    return ascii_lower(type) == "application/json";
}

// What the event asks of a payment and how it ended, filled in by decide().
struct Outcome {
    ProcessedEvent event;
    std::string reason;
};

// A refused request that has not proved it comes from Stripe keeps this
// much of its body in the journal: enough to recognise it, too little for a
// flood of them to fill the disk.
constexpr std::size_t k_unsigned_params_bytes = 1024;

std::string bounded_prefix(std::string_view body) {
    std::string out = xml_safe(body.substr(0, k_unsigned_params_bytes));
    if (out.size() > k_unsigned_params_bytes) {
        out.resize(k_unsigned_params_bytes);
    }
    // Never end inside a UTF-8 sequence: drop its continuation bytes and lead.
    std::size_t end = out.size();
    while (end > 0 && (static_cast<unsigned char>(out[end - 1]) & 0xC0) == 0x80) {
        --end;
    }
    if (end > 0 && static_cast<unsigned char>(out[end - 1]) >= 0xC0) {
        std::size_t lead = end - 1;
        auto b = static_cast<unsigned char>(out[lead]);
        std::size_t length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
        if (out.size() - lead < length) {
            out.resize(lead);
        }
    }
    if (body.size() > out.size()) {
        out += "... (" + std::to_string(body.size()) + " bytes)";
    }
    return out;
}

// While it lives, the store's lock is tried once instead of waited for:
// a request that has not proved it comes from Stripe does not queue behind
// genuine ones. The busy handler a CGI's store runs with comes back after.
class LockTriedOnce {
public:
    LockTriedOnce(sql::Database& db, int busy_timeout_ms)
        : m_db(db), m_busy_timeout_ms(busy_timeout_ms) {
        sqlite3_busy_handler(m_db.handle(), nullptr, nullptr);
    }
    LockTriedOnce(const LockTriedOnce&) = delete;
    LockTriedOnce& operator=(const LockTriedOnce&) = delete;
    ~LockTriedOnce() { m_db.tune_for_one_request(m_busy_timeout_ms); }

private:
    sql::Database& m_db;
    int m_busy_timeout_ms;
};

// The Stripe methods whose webhook secret signed the request. Nothing is
// parsed and no payment is looked up before this: each Stripe method's
// secret is tried in turn (an installation has a few), so which method
// signed follows from the signature alone, and the answer to a forgery is
// the same whether or not the payment it names exists. Throws bad_input
// (400), or method_not_allowed / too_large, for a request refused here.
std::vector<MethodId> authenticate(const CgiInput& input, CgiContext& context, std::int64_t now) {
    const std::string* method = input.var("REQUEST_METHOD");
    if (method == nullptr || *method != "POST") {
        throw Error(ErrorKind::method_not_allowed, "REQUEST_METHOD", "must be POST");
    }
    if (input.body_too_large) {
        throw Error(ErrorKind::too_large, "body", "over 64 KiB");
    }
    const std::string* header = input.var("HTTP_STRIPE_SIGNATURE");
    if (header == nullptr) {
        throw bad_input("Stripe-Signature", "is missing");
    }
    SignatureHeader signature = parse_signature_header(*header);
    if (!is_json_media_type(input.var("CONTENT_TYPE"))) {
        throw bad_input("CONTENT_TYPE", "must be application/json");
    }
    // Every secret is tried: two methods may share one endpoint's secret.
    std::vector<MethodId> signers;
    for (const WebhookSecret& candidate : list_webhook_secrets(context.store())) {
        if (signature_matches(signature, candidate.secret, input.body)) {
            signers.push_back(candidate.method_id);
        }
    }
    if (signers.empty()) {
        throw bad_input("Stripe-Signature", "matches no Stripe method's webhook secret");
    }
    if (!timestamp_fresh(signature, now)) {
        throw bad_input("Stripe-Signature", "t is more than 300 s from now (a stale or replayed "
                                            "event)");
    }
    return signers;
}

// A request refused before it proved to be Stripe's: journaled with a
// bounded prefix of its body and the reason, if the store's lock is free
// at once; otherwise only logged.
Reply refuse_unauthenticated(const CgiInput& input, CgiContext& context, const Error& e) {
    const int status = error_status(e.kind());
    Reply reply = refusal(status, e);
    if (status == 405) {
        reply.header("Allow", "POST");
    }
    Notification note;
    note.source = k_source;
    note.params =
        input.body_too_large ? "(body over 64 KiB, not read)" : bounded_prefix(input.body);
    note.verdict = "refused";
    note.reason = e.describe();
    note.reply_status = reply.status;
    note.reply_body = reply.body;
    log::warning("webhook refused (" + std::to_string(status) + "): " + note.reason);
    try {
        Store& store = context.store();
        LockTriedOnce once(store.db(), context.config().busy_timeout_ms);
        sql::Transaction tx(store.db());
        store.record_notification(tx, note);
        tx.commit();
    } catch (const Error& journal) {
        log::warning("the refusal was not journaled: " + journal.describe());
    }
    return reply;
}

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
    const std::string ours = ascii_lower(payment.currency);
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
    case Settlement::duplicate: {
        // Another PaymentIntent than the one credited: the customer paid a
        // second time (two sessions, each paid). Stripe holds that money; a
        // person must refund it.
        const std::string& intent = outcome.event.payment_intent;
        if (!intent.empty() && payment.external_id.rfind("pi_", 0) == 0 &&
            payment.external_id != intent) {
            outcome.event.verdict = "paid_twice";
            outcome.reason = "payment intent " + intent + " after " + payment.external_id;
            log::error("payment " + id + " was paid twice at Stripe: payment intent " + intent +
                       " (" + format_amount(*received) + " " + payment.currency + ", " +
                       outcome.event.type + " " + outcome.event.event_id + ") completed after " +
                       payment.external_id +
                       " had paid it; not credited, refund it in Stripe's dashboard");
            return plain_reply(200, "OK recorded a second payment\n");
        }
        log::info("payment " + id + " was already paid; " + outcome.event.type + " acknowledged");
        return plain_reply(200, "OK already paid\n");
    }
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

bool is_checkout_event(const std::string& type) {
    return type == "checkout.session.completed" ||
           type == "checkout.session.async_payment_succeeded" ||
           type == "checkout.session.async_payment_failed";
}

// Decides one authentic event inside `tx`, under the store's write lock.
// Client errors propagate as Error and become journaled refusals in
// handle_webhook_at; so do store errors (503).
Reply decide(Store& store, sql::Transaction& tx, const std::vector<MethodId>& signers,
             const WebhookEvent& event, Notification& note, Outcome& outcome) {
    outcome.event.event_id = event.id;
    outcome.event.type = event.type;
    MethodId signer = signers.front();
    if (const std::string* intent = string_at(*event.object, {"payment_intent"})) {
        outcome.event.payment_intent = intent->substr(0, 255);
    }
    auto reference = payment_reference(*event.object);
    std::optional<Payment> payment;
    if (reference) {
        note.payment_id = reference->id;
        payment = store.find_payment(reference->id);
        if (!payment) {
            throw bad_input(reference->field, "names no payment");
        }
        if (std::find(signers.begin(), signers.end(), payment->method_id) == signers.end()) {
            throw bad_input(reference->field,
                            "names a payment of another method than the one whose secret "
                            "signed the event");
        }
        signer = payment->method_id;
        outcome.event.payment_id = reference->id;
    }
    outcome.event.method_id = signer;
    auto method = find_stripe_method(store, signer);
    if (!method) {
        throw Error(ErrorKind::internal, "", "the signing method is gone");
    }
    if (event.livemode && *event.livemode != is_live(method->keys)) {
        throw bad_input("livemode", *event.livemode ? "a live event for a test-mode method"
                                                    : "a test event for a live method");
    }

    if (event_seen(store, tx, event.id)) {
        note.verdict = "duplicate_event";
        log::info("event " + event.id + " (" + event.type + ") seen before; acknowledged");
        return plain_reply(200, "OK duplicate event\n");
    }
    Reply reply;
    const bool checkout = is_checkout_event(event.type);
    if (checkout || event.type == "invoice.payment_succeeded") {
        // Each names the payment its own way (the two agree when both are there).
        bool named = checkout ? string_at(*event.object, {"client_reference_id"}) != nullptr
                              : string_at(*event.object, {"metadata", "elid"}) != nullptr;
        if (!named) {
            throw bad_input(checkout ? "data.object.client_reference_id"
                                     : "data.object.metadata.elid",
                            "is required");
        }
    }
    const std::string* session_id = checkout ? string_at(*event.object, {"id"}) : nullptr;
    const std::string* status = string_at(*event.object, {"payment_status"});
    if (event.type == "checkout.session.async_payment_failed") {
        outcome.event.verdict = "payment_failed";
        log::warning("event " + event.id + ": the delayed payment of payment " +
                     std::to_string(payment->id) + " failed");
        if (session_id != nullptr) {
            // The customer may try again: stpayment opens a new session.
            set_session_state(store, tx, *session_id, "failed");
        }
        reply = plain_reply(200, "OK recorded\n");
    } else if (checkout || event.type == "invoice.payment_succeeded") {
        if (session_id != nullptr) {
            set_session_state(store, tx, *session_id, "complete");
        }
        if (checkout && status != nullptr && *status != "paid") {
            // A delayed payment method: the money is not there yet; its
            // checkout.session.async_payment_succeeded will credit it.
            outcome.event.verdict = "pending";
            outcome.reason = "payment_status " + status->substr(0, 32);
            reply = plain_reply(200, "OK not paid yet\n");
        } else {
            reply = settle(store, tx, *payment, *event.object,
                           checkout ? "amount_total" : "amount_paid", outcome);
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
    std::vector<MethodId> signers;
    try {
        signers = authenticate(input, context, now);
    } catch (const Error& e) {
        if (!is_client_error(e)) {
            throw;
        }
        return refuse_unauthenticated(input, context, e);
    }

    // Signed by Stripe from here on: the whole request is journaled.
    Notification note;
    note.source = k_source;
    note.params = xml_safe(input.body);
    Outcome outcome;
    Reply reply;
    auto refuse = [&](const Error& e) {
        note.verdict = outcome.event.verdict.empty() ? "refused" : outcome.event.verdict;
        note.reason =
            (outcome.event.event_id.empty() ? "" : outcome.event.event_id + ": ") + e.describe();
        reply = refusal(error_status(e.kind()), e);
    };

    // Parsed before the lock is taken, so that it is held only for the
    // store's reads and writes.
    json::Value root;
    std::optional<WebhookEvent> event;
    try {
        root = json::parse(input.body, "body", json::Limits{k_max_body_bytes, 32});
        event = read_event(root);
    } catch (const Error& e) {
        if (!is_client_error(e)) {
            throw;
        }
        refuse(e);
    }

    Store& store = context.store();
    sql::Transaction tx(store.db());
    if (event) {
        try {
            reply = decide(store, tx, signers, *event, note, outcome);
        } catch (const Error& e) {
            if (!is_client_error(e)) {
                throw;
            }
            refuse(e);
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
