#include "billing/settlement.hpp"

namespace rk {

Settlement settle_paid(Store& store, sql::Transaction& tx, const Payment& payment, Kopecks received,
                       const std::string& external_id, const std::string& source) {
    if (received != payment.amount) {
        return Settlement::amount_mismatch;
    }
    switch (store.mark_paid(tx, payment.id, external_id, source)) {
    case Transition::applied:
        return Settlement::credited;
    case Transition::already:
        return Settlement::duplicate;
    case Transition::refused:
        break;
    }
    // Refunded or flagged after it was paid: a late repeat of the same
    // notification is still a duplicate, not new money.
    if (store.count_transitions_to(payment.id, PaymentStatus::paid) > 0) {
        return Settlement::duplicate;
    }
    return Settlement::not_payable;
}

const char* to_string(Settlement settlement) {
    switch (settlement) {
    case Settlement::credited:
        return "credited";
    case Settlement::duplicate:
        return "duplicate";
    case Settlement::amount_mismatch:
        return "amount_mismatch";
    case Settlement::not_payable:
        return "not_payable";
    }
    return "unknown";
}

} // namespace rk
