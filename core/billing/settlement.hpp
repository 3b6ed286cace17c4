#pragma once

#include "billing/store.hpp"

#include <string>

namespace rk {

// How a confirmed payment of `received` kopecks was applied.
enum class Settlement {
    credited,        // this call moved the payment to paid
    duplicate,       // the payment was credited before; nothing changed
    amount_mismatch, // the amount differs from the payment's: nothing changed
    not_payable,     // cancelled or otherwise closed without being paid
};

// The one path that marks money received, shared by rkresult and checkpay
// so that a payment settled by either is credited once in total. Runs in
// the caller's transaction.
Settlement settle_paid(Store& store, sql::Transaction& tx, const Payment& payment, Kopecks received,
                       const std::string& external_id, const std::string& source);

const char* to_string(Settlement settlement);

} // namespace rk
