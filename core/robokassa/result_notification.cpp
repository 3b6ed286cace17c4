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

// A client error as Robokassa reads it; a 405 names the methods the
// request parser accepts (RFC 9110).
Reply refusal(const Error& e) {
    const int status = error_status(e.kind());
    Reply reply = plain_reply(status, "ERROR " + e.describe() + "\n");
    if (const auto* not_allowed = dynamic_cast<const MethodNotAllowed*>(&e)) {
        reply.header("Allow", not_allowed->allow());
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

// What a notification proved before any lock: the payment it names, read
// without the write lock, and that its signature is Password #2's.
struct Signed {
    PaymentId id = 0;
    std::string inv_id;
    std::string out_sum;
};

// Reads the payment and checks the signature, outside the write lock: in
// panel mode the read is a mgrctl call, and a forged notification must not
// hold the lock while it runs. Fills the journal entry's payment id.
Signed authenticate(PaymentBook& book, const CgiRequest& request, Notification& note) {
    Signed out;
    out.out_sum = request.require("OutSum");
    out.inv_id = request.require("InvId");
    const std::string& given_signature = request.require("SignatureValue");
    out.id = parse_payment_id(out.inv_id, "InvId");
    note.payment_id = out.id;

    const MethodSettings settings = book.find(out.id, "InvId").settings;
    ShpParams shp = collect_shp(request.params);
    warm_up_digests();
    bool signed_ok = verify_signature(
        settings.hash_algorithm, given_signature, shp, [&](const ShpParams& order) {
            return result_signature_base(out.out_sum, out.inv_id, signing_password2(settings),
                                         order);
        });
    if (!signed_ok) {
        throw Error(ErrorKind::forbidden, "SignatureValue", "does not match (Password #2)");
    }
    return out;
}

// Settles a signed notification inside `tx`: the payment is read again
// under the write lock (another notification may have settled it since),
// then credited at most once. Fills the journal entry's verdict and
// returns the reply. Client errors are thrown for the caller to journal.
Reply settle(PaymentBook& book, Store& store, sql::Transaction& tx, const CgiRequest& request,
             const Signed& notification, Notification& note) {
    const std::string& inv_id = notification.inv_id;
    const std::string& out_sum = notification.out_sum;
    BookedPayment booked = book.find(notification.id, "InvId");
    const Payment& payment = booked.payment;
    const MethodSettings& settings = booked.settings;
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
        // Refunded since: a repeat of the notification that credited it is
        // no new money; without a credit of ours (the panel marked it paid
        // by other means, then refunded it) the money is Robokassa's alone.
        if (payment.status != PaymentStatus::paid &&
            !store.journal_has(tx, payment.id, to_string(Settlement::credited))) {
            return record_uncredited(store, tx, payment, inv_id, note);
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
        reply = refusal(bad_input("", reason));
    } catch (const Error& e) {
        if (!is_client_error(e)) {
            throw;
        }
        reason = e.describe();
        reply = refusal(e);
    }
    log::warning("request refused (" + std::to_string(reply.status) +
                 "), not journaled: " + reason);
    return reply;
}

// Turns what `step` throws into the reply and the journal entry: a client
// error is refused, a panel that did not answer is 502 (Robokassa
// retries); anything else (the store) propagates, to a 503.
template <typename Step>
bool journaled_step(Notification& note, Reply& reply, Step step) {
    try {
        step();
        return true;
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::upstream) {
            log::error("notification not settled: " + e.describe());
            note.verdict = "failed";
            note.reason = e.describe();
            reply = plain_reply(502, "ERROR the billing panel did not answer, retry later\n");
        } else if (is_client_error(e)) {
            note.verdict = note.verdict.empty() ? "refused" : note.verdict;
            note.reason = e.describe();
            reply = refusal(e);
        } else {
            throw;
        }
    }
    return false;
}

} // namespace

Reply handle_result(const CgiInput& input, CgiContext& context) {
    Notification note;
    note.source = "rkresult";
    const std::string params = raw_params(input);
    if (params.empty()) {
        return refuse_empty_request(input);
    }
    // Until the signature is proven, the journal keeps a bounded prefix:
    // unsigned junk must not fill the disk.
    note.params = journal_prefix(params);

    std::optional<CgiRequest> request;
    Reply reply;
    std::optional<Signed> signed_notification;
    std::unique_ptr<PaymentBook> book = open_book(context.config(), context.store_access());
    if (journaled_step(note, reply, [&] { request = parse_cgi_request(input); })) {
        journaled_step(note, reply,
                       [&] { signed_notification = authenticate(*book, *request, note); });
    }

    Store& store = context.store();
    // The write lock only now: for a signed notification, to settle it;
    // for any other, only for its journal entry.
    sql::Transaction tx(store.db());
    if (signed_notification) {
        note.params = params;
        journaled_step(note, reply, [&] {
            reply = settle(*book, store, tx, *request, *signed_notification, note);
        });
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
