#include "robokassa/result_notification.hpp"

#include "billing/settlement.hpp"
#include "robokassa/payment_book.hpp"
#include "robokassa/signature.hpp"
#include "util/digest.hpp"
#include "util/log.hpp"

namespace rk {

namespace {

// The parameters as they arrived, for the journal. They carry no password.
std::string raw_params(const CgiInput& input) {
    const std::string* query = input.var("QUERY_STRING");
    std::string raw = query != nullptr ? *query : "";
    if (input.body_too_large) {
        return raw + (raw.empty() ? "" : "&") + "(body over 64 KiB, not read)";
    }
    if (!input.body.empty()) {
        raw += (raw.empty() ? "" : "&") + input.body;
    }
    return raw;
}

Reply refusal(int status, const std::string& field, const std::string& why) {
    Reply reply = plain_reply(status, "ERROR " + (field.empty() ? why : field + ": " + why) + "\n");
    if (status == 405) {
        reply.header("Allow", "GET, POST"); // RFC 9110: a 405 names the allowed methods
    }
    return reply;
}

const char* status_name(PaymentStatus status) {
    switch (status) {
    case PaymentStatus::refunded:
        return "refunded";
    case PaymentStatus::fraud:
        return "fraud";
    case PaymentStatus::cancelled:
        return "cancelled";
    default:
        return "closed";
    }
}

// Money Robokassa took for a payment we closed (cancelled, refunded,
// flagged): nothing is credited, but a person must learn of it, once; the
// OK stops Robokassa's retries only after that record commits.
Reply record_uncredited(Store& store, sql::Transaction& tx, const Payment& payment,
                        const std::string& inv_id, Notification& note) {
    const std::string status =
        std::to_string(static_cast<int>(payment.status)) + " (" + status_name(payment.status) + ")";
    if (store.journal_has(tx, payment.id, "uncredited")) {
        note.verdict = "duplicate";
        note.reason =
            "repeat of money already journaled as uncredited; payment in status " + status;
        log::warning("payment " + inv_id + ": " + note.reason);
    } else {
        note.verdict = "uncredited";
        note.reason = "money received for a payment in status " + status + "; not credited";
        log::error("payment " + inv_id + ": " + note.reason);
    }
    return plain_reply(200, "OK" + inv_id);
}

// Decides a well-formed notification inside `tx`: fills the journal entry's
// verdict and reason and returns the reply. Client errors come back as
// replies, so they are journaled too; store errors propagate (503).
Reply decide(PaymentBook& book, Store& store, sql::Transaction& tx, const CgiRequest& request,
             Notification& note) {
    const std::string& out_sum = request.require("OutSum");
    const std::string& inv_id = request.require("InvId");
    const std::string& given_signature = request.require("SignatureValue");
    PaymentId id = parse_payment_id(inv_id, "InvId");
    note.payment_id = id;

    BookedPayment booked = book.find(id, "InvId");
    const Payment& payment = booked.payment;
    const MethodSettings& settings = booked.settings;
    ShpParams shp = collect_shp(request.params);
    bool signed_ok = verify_signature(
        settings.hash_algorithm, given_signature, shp, [&](const ShpParams& order) {
            return result_signature_base(out_sum, inv_id, signing_password2(settings), order);
        });
    if (!signed_ok) {
        throw Error(ErrorKind::forbidden, "SignatureValue", "does not match (Password #2)");
    }
    Kopecks received = parse_amount(out_sum, "OutSum");
    const std::string* is_test = request.find("IsTest");
    if (is_test != nullptr && *is_test != "0" && *is_test != "1") {
        throw bad_input("IsTest", "must be 0 or 1");
    }
    if (is_test != nullptr && *is_test == "1" && !settings.test_mode) {
        throw bad_input("IsTest", "a test payment for a method that is not in test mode");
    }

    // Robokassa pays roubles: for a payment in another currency they are
    // not its money (rkpayment sends no form for one).
    require_rouble_payment(payment, "rkresult");

    // ResultURL carries no operation id of Robokassa's own: the InvId is it.
    Settlement settlement = book.settle_paid(tx, payment, received, "", note.params, "rkresult");
    note.verdict = to_string(settlement);
    switch (settlement) {
    case Settlement::credited:
        log::info("payment " + inv_id + " paid: " + format_amount(received));
        return plain_reply(200, "OK" + inv_id);
    case Settlement::duplicate:
        if (payment.status != PaymentStatus::paid) {
            return record_uncredited(store, tx, payment, inv_id, note); // refunded since
        }
        log::info("payment " + inv_id + " was already paid; repeat acknowledged");
        return plain_reply(200, "OK" + inv_id);
    case Settlement::amount_mismatch:
        throw bad_input("OutSum",
                        "is " + out_sum + ", the payment is " + format_amount(payment.amount));
    case Settlement::not_payable:
        return record_uncredited(store, tx, payment, inv_id, note);
    }
    throw Error(ErrorKind::internal, "", "unknown settlement");
}

bool is_client_error(const Error& e) {
    int status = error_status(e.kind());
    return status >= 400 && status < 500;
}

// A request with no parameter at all (a probe, a crawler, a person trying
// the URL) is not a notification: it is refused and logged like one, but
// not journaled, so it never opens the store nor takes its write lock.
Reply refuse_empty_request(const CgiInput& input) {
    Reply reply;
    std::string reason;
    try {
        parse_cgi_request(input);
        reason = "no parameters: not a notification";
        reply = refusal(400, "", reason);
    } catch (const Error& e) {
        if (!is_client_error(e)) {
            throw;
        }
        reason = e.describe();
        reply = refusal(error_status(e.kind()), e.field(), e.what());
    }
    log::warning("request refused (" + std::to_string(reply.status) +
                 "), not journaled: " + reason);
    return reply;
}

} // namespace

Reply handle_result(const CgiInput& input, CgiContext& context) {
    Notification note;
    note.source = "rkresult";
    note.params = raw_params(input);
    if (note.params.empty()) {
        return refuse_empty_request(input);
    }

    std::optional<CgiRequest> request;
    Reply reply;
    try {
        request = parse_cgi_request(input);
    } catch (const Error& e) {
        if (!is_client_error(e)) {
            throw;
        }
        note.verdict = "refused";
        note.reason = e.describe();
        reply = refusal(error_status(e.kind()), e.field(), e.what());
    }

    if (request && request->find("SignatureValue") != nullptr) {
        warm_up_digests(); // before the write lock, not under it
    }
    Store& store = context.store();
    sql::Transaction tx(store.db());
    if (request) {
        try {
            reply = decide(*open_book(context.config(), context.store_access()), store, tx,
                           *request, note);
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::upstream) {
                // The billing panel did not take it (panel mode): journal
                // the failure and answer non-OK, so Robokassa retries.
                log::error("notification not settled: " + e.describe());
                note.verdict = "failed";
                note.reason = e.describe();
                reply = plain_reply(502, "ERROR the billing panel did not answer, retry later\n");
            } else if (is_client_error(e)) {
                note.verdict = note.verdict.empty() ? "refused" : note.verdict;
                note.reason = e.describe();
                reply = refusal(error_status(e.kind()), e.field(), e.what());
            } else {
                throw;
            }
        }
    }
    note.reply_status = reply.status;
    note.reply_body = reply.body;
    store.record_notification(tx, note);
    tx.commit();
    if (reply.status != 200) {
        log::warning("notification refused (" + std::to_string(reply.status) + "): " + note.reason);
    }
    return reply;
}

} // namespace rk
