// rcpay in panel mode. Apart from recurring.cpp so that rkrecurring does
// not link the HTTP client it never uses.
#include "billing/settlement.hpp"
#include "robokassa/payment_book.hpp"
#include "robokassa/receipt.hpp"
#include "robokassa/recurring.hpp"
#include "robokassa/robokassa_api.hpp"
#include "util/config.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace rk {

RecurringChargeResult charge_panel_payment(const Config& config, Store& store, PaymentId id) {
    RecurringChargeResult result;
    // A repeat learns it before asking the panel or Robokassa anything.
    if (store.has_recurring_charge(id)) {
        result.outcome = RecurringCharge::already_charged;
        return result;
    }
    auto book = panel_book(config, [&store]() -> Store& { return store; });
    BookedPayment booked = book->find(id, "--payment");
    Payment& payment = booked.payment;
    if (!booked.recurring_id) {
        throw Error(ErrorKind::conflict, "--payment",
                    "is not an auto-payment: the panel names no series for it");
    }
    if (!is_payable(payment.status)) {
        throw Error(ErrorKind::conflict, "--payment",
                    "is not new or in pay (status " +
                        std::to_string(static_cast<int>(payment.status)) + ")");
    }
    require_rouble_payment(payment, "rcpay");
    require_recurring_method(booked, "--payment");
    RecurringSeries series =
        read_recurring_series(panel_mgrctl(config), *booked.recurring_id, "--payment");
    if (series.status != k_series_active) {
        throw Error(ErrorKind::conflict, "--payment", "its auto-payment series is not active");
    }
    PaymentId parent = 0;
    try {
        parent = parse_payment_id(series.token, "token");
    } catch (const Error&) {
        throw Error(ErrorKind::upstream, "",
                    "the series' token in the panel is not a Robokassa InvId");
    }
    {
        sql::Transaction tx(store.db());
        if (!store.claim_recurring_charge(tx, id, parent)) {
            result.outcome = RecurringCharge::already_charged;
            return result;
        }
        if (book->mark_in_pay(tx, payment, "rcpay") == Transition::refused) {
            throw Error(ErrorKind::conflict, "--payment", "changed meanwhile");
        }
        tx.commit();
    }
    payment.status = PaymentStatus::in_pay;
    payment.receipt = receipt_from_settings(payment, booked.settings);
    // No lock held: Robokassa may call ResultURL (rkresult, which takes the
    // lock) before it answers. No answer: the payment stays in pay for
    // checkpay and the charge stays recorded.
    RecurringAnswer answer = charge_recurring(config, booked.settings, payment, parent);
    sql::Transaction tx(store.db());
    if (answer.accepted) {
        store.set_recurring_charge_outcome(tx, id, "accepted");
        tx.commit();
        log::info("payment " + std::to_string(id) + ": recurring charge of " +
                  std::to_string(parent) + " taken by Robokassa");
        return result;
    }
    // Declined: no money was taken, so no notification will settle it.
    book->mark_cancelled(tx, payment, "rcpay: Robokassa declined the charge: " + answer.reason);
    store.set_recurring_charge_outcome(tx, id, "declined");
    tx.commit();
    log::warning("payment " + std::to_string(id) +
                 ": Robokassa declined the recurring charge: " + answer.reason);
    result.outcome = RecurringCharge::declined;
    result.reason = answer.reason;
    return result;
}

} // namespace rk
