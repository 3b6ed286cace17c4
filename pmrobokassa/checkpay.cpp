// checkpay: asks Robokassa's OpStateExt about payments stuck in status 2 and
// settles them through the same path as a ResultURL notification. This is
// what saves a payment whose ResultURL never arrived.
#include "billing/store.hpp"
#include "commands.hpp"
#include "robokassa/payment_book.hpp"
#include "robokassa/robokassa_api.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <ctime>
#include <optional>
#include <ostream>

namespace rk::module {

namespace {

// Robokassa's operation states (OpStateExt State/Code).
constexpr int k_state_cancelled = 10;
constexpr int k_state_returned = 60;
constexpr int k_state_paid = 100;
// OpStateExt Result/Code 3: Robokassa has no such invoice, i.e. the customer
// never reached the payment page. An answer, not a failure.
constexpr int k_result_no_invoice = 3;

// Applies one answer inside the store's write lock; returns the verdict
// written to the journal.
std::string apply(Store& store, PaymentBook& book, bool panel, PaymentId id,
                  const OpState& answer) {
    const std::string id_text = std::to_string(id);
    Notification note;
    note.source = "checkpay";
    note.payment_id = id;
    note.params = "State=" + std::to_string(answer.state.value_or(0)) +
                  "&OutSum=" + answer.out_sum + "&OpKey=" + answer.op_key;
    note.reply_status = 200;

    sql::Transaction tx(store.db());
    // Read again under the lock: a ResultURL may have settled it meanwhile.
    Payment payment = book.find(id, "--payment").payment;
    int state = answer.state.value_or(0);
    if (state == k_state_paid || state == k_state_returned) {
        require_rouble_payment(payment, "checkpay");
        Kopecks received = parse_amount(answer.out_sum, "OutSum");
        Settlement settlement =
            book.settle_paid(tx, payment, received, answer.op_key, note.params, "checkpay");
        note.verdict = to_string(settlement);
        if (settlement == Settlement::amount_mismatch || settlement == Settlement::not_payable) {
            log::error("checkpay: payment " + id_text + " is paid at Robokassa (" + answer.out_sum +
                       ") but was not credited: " + note.verdict);
        } else if (state == k_state_returned && panel) {
            log::error("checkpay: payment " + id_text +
                       " was returned at Robokassa; record the refund in the panel");
            note.verdict = "returned";
        } else if (state == k_state_returned) {
            Kopecks remaining = payment.amount - payment.refunded;
            store.add_refund(tx, payment.id, remaining, "checkpay");
            note.verdict = "refunded";
        }
    } else if (state == k_state_cancelled) {
        Transition t = book.mark_cancelled(tx, payment, "checkpay");
        note.verdict = t == Transition::refused ? "refused" : "cancelled";
    } else {
        note.verdict = "pending";
    }
    note.reason = "OpStateExt state " + std::to_string(state);
    store.record_notification(tx, note);
    tx.commit();
    log::info("checkpay: payment " + id_text + " state " + std::to_string(state) + ": " +
              note.verdict);
    return note.verdict;
}

// The payments to ask about: in status 2 for checkpay_min_age seconds, in
// our store or, in panel mode, every payment of a Robokassa method the
// panel lists in status 2 (however it got there) and those rkpayment sent
// to Robokassa and nothing settled since. A listed payment's age counts
// from the run that first saw it: the panel's list gives no time it went
// in pay. A panel that cannot list is logged and counted as a failure;
// the payments already known are still asked about.
std::vector<PaymentId> candidates(const Config& config, Store& store, bool panel, int& failures,
                                  std::string& report) {
    const int min_age = config.checkpay_min_age;
    if (panel) {
        try {
            std::vector<PaymentId> listed = panel_payments_in_pay(config);
            sql::Transaction tx(store.db());
            for (PaymentId id : listed) {
                store.remember_panel_in_pay(tx, id);
            }
            tx.commit();
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::upstream) {
                throw;
            }
            ++failures;
            log::error("checkpay: cannot list the panel's payments in pay: " + e.describe());
            report += "<list error=\"" + escape_markup(xml_safe(e.describe())) + "\"/>";
        }
        return store.panel_in_pay(min_age);
    }
    std::vector<PaymentId> ids;
    for (const Payment& payment : store.stale_in_pay(min_age)) {
        ids.push_back(payment.id);
    }
    return ids;
}

// Journal entries past journal_retention_days go; payments and their
// history never do.
void prune_journal(Store& store, int retention_days) {
    const std::int64_t before =
        static_cast<std::int64_t>(std::time(nullptr)) - std::int64_t{retention_days} * 86400;
    sql::Transaction tx(store.db());
    int pruned = store.prune_journal(tx, before);
    tx.commit();
    if (pruned > 0) {
        log::info("checkpay: pruned " + std::to_string(pruned) + " journal entries older than " +
                  std::to_string(retention_days) + " days");
    }
}

// The payment and its method; in panel mode, a listed payment that is not
// of this module after all (the panel's list filter is only a pre-selection)
// is dropped from the list, logged, and not counted as a failure.
std::optional<BookedPayment> find_for_checkpay(Store& store, PaymentBook& book, bool panel,
                                               PaymentId id) {
    try {
        return book.find(id, "--payment");
    } catch (const Error& e) {
        if (!panel || e.kind() != ErrorKind::not_found) {
            throw;
        }
        log::warning("checkpay: payment " + std::to_string(id) +
                     " is not a Robokassa payment of this panel; not asked about: " + e.describe());
        sql::Transaction tx(store.db());
        store.forget_panel_in_pay(tx, id);
        tx.commit();
        return std::nullopt;
    }
}

} // namespace

void command_checkpay(Context& ctx) {
    Store store = cli::open_store(ctx);
    prune_journal(store, ctx.config.journal_retention_days);
    const bool panel = ctx.config.billing == Config::Billing::panel;
    std::unique_ptr<PaymentBook> book =
        open_book(ctx.config, [&store]() -> Store& { return store; });
    int failures = 0;
    std::string report;
    for (PaymentId id : candidates(ctx.config, store, panel, failures, report)) {
        const std::string id_text = std::to_string(id);
        try {
            std::optional<BookedPayment> found = find_for_checkpay(store, *book, panel, id);
            if (!found) {
                report += "<payment id=\"" + id_text + "\" result=\"not_robokassa\"/>";
                continue;
            }
            BookedPayment& booked = *found;
            std::string verdict;
            if (!is_payable(booked.payment.status)) {
                // Settled in the panel by other means: nothing to ask.
                sql::Transaction tx(store.db());
                store.forget_panel_in_pay(tx, id);
                tx.commit();
                verdict = "settled_elsewhere";
            } else {
                // Asked outside the write lock: a slow Robokassa must not
                // hold up the notifications.
                OpState answer = query_op_state(ctx.config, booked.settings, id);
                if (answer.result_code == 0) {
                    verdict = apply(store, *book, panel, id, answer);
                } else if (answer.result_code == k_result_no_invoice) {
                    verdict = "unknown_at_robokassa";
                } else {
                    throw Error(ErrorKind::upstream, "",
                                "OpStateExt result " + std::to_string(answer.result_code) + " " +
                                    answer.result_description);
                }
            }
            report += "<payment id=\"" + id_text + "\" result=\"" + escape_markup(verdict) + "\"/>";
        } catch (const Error& e) {
            // One payment's failure leaves it as it was and stops no other.
            ++failures;
            log::error("checkpay: payment " + id_text + ": " + e.describe());
            report += "<payment id=\"" + id_text + "\" error=\"" +
                      escape_markup(xml_safe(e.describe())) + "\"/>";
        }
    }
    follow_up_refunds(ctx, store, report, failures);
    ctx.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<doc>" << report << "</doc>\n";
    if (failures > 0) {
        throw Error(ErrorKind::upstream, "",
                    std::to_string(failures) + " payment(s) could not be checked");
    }
}

} // namespace rk::module
