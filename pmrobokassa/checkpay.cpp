// checkpay: asks Robokassa's OpStateExt about payments stuck in status 2 and
// settles them through the same path as a ResultURL notification. This is
// what saves a payment whose ResultURL never arrived.
#include "commands.hpp"
#include "error.hpp"
#include "log.hpp"
#include "robokassa_api.hpp"
#include "settlement.hpp"
#include "store.hpp"
#include "text.hpp"

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

// Applies one answer; returns the verdict written to the journal.
std::string apply(Store& store, const Payment& payment, const OpState& answer) {
    const std::string id = std::to_string(payment.id);
    Notification note;
    note.source = "checkpay";
    note.payment_id = payment.id;
    note.params = "State=" + std::to_string(answer.state.value_or(0)) +
                  "&OutSum=" + answer.out_sum + "&OpKey=" + answer.op_key;
    note.reply_status = 200;

    sql::Transaction tx(store.db());
    int state = answer.state.value_or(0);
    if (state == k_state_paid || state == k_state_returned) {
        Kopecks received = parse_amount(answer.out_sum, "OutSum");
        Settlement settlement =
            settle_paid(store, tx, payment, received, answer.op_key, "checkpay");
        note.verdict = to_string(settlement);
        if (settlement == Settlement::amount_mismatch || settlement == Settlement::not_payable) {
            log::error("checkpay: payment " + id + " is paid at Robokassa (" + answer.out_sum +
                       ") but was not credited: " + note.verdict);
        } else if (state == k_state_returned) {
            Kopecks remaining = payment.amount - payment.refunded;
            store.add_refund(tx, payment.id, remaining, "checkpay");
            note.verdict = "refunded";
        }
    } else if (state == k_state_cancelled) {
        Transition t = store.mark_cancelled(tx, payment.id, "checkpay");
        note.verdict = t == Transition::refused ? "refused" : "cancelled";
    } else {
        note.verdict = "pending";
    }
    note.reason = "OpStateExt state " + std::to_string(state);
    store.record_notification(tx, note);
    tx.commit();
    log::info("checkpay: payment " + id + " state " + std::to_string(state) + ": " + note.verdict);
    return note.verdict;
}

} // namespace

void command_checkpay(Context& ctx) {
    require_standalone(ctx, "checkpay");
    Store store = cli::open_store(ctx);
    int failures = 0;
    std::string report;
    for (const Payment& payment : store.stale_in_pay(ctx.config.checkpay_min_age)) {
        const std::string id = std::to_string(payment.id);
        try {
            auto method = store.find_method(payment.method_id);
            if (!method) {
                throw Error(ErrorKind::internal, "", "payment " + id + " has no method");
            }
            OpState answer = query_op_state(ctx.config, method->settings, payment.id);
            std::string verdict;
            if (answer.result_code == 0) {
                verdict = apply(store, payment, answer);
            } else if (answer.result_code == k_result_no_invoice) {
                verdict = "unknown_at_robokassa";
            } else {
                throw Error(ErrorKind::upstream, "",
                            "OpStateExt result " + std::to_string(answer.result_code) + " " +
                                answer.result_description);
            }
            report += "<payment id=\"" + id + "\" result=\"" + escape_markup(verdict) + "\"/>";
        } catch (const Error& e) {
            // One payment's failure leaves it as it was and stops no other.
            ++failures;
            log::error("checkpay: payment " + id + ": " + e.describe());
            report += "<payment id=\"" + id + "\" error=\"" +
                      escape_markup(xml_safe(e.describe())) + "\"/>";
        }
    }
    ctx.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<doc>" << report << "</doc>\n";
    if (failures > 0) {
        throw Error(ErrorKind::upstream, "",
                    std::to_string(failures) + " payment(s) could not be checked");
    }
}

} // namespace rk::module
