#pragma once

#include "billing/store.hpp"
#include "cgi/cgi_runner.hpp"
#include "robokassa/payment_book.hpp"
#include "util/mgrctl.hpp"

#include <boost/property_tree/ptree_fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace rk {

struct Config;

// BILLmanager's auto-payment series as payment.recurring.info gives it.
struct RecurringSeries {
    std::int64_t id = 0;
    // bill_util.php's codes: 0 being set up, 1 active, 2 closed.
    int status = 0;
    // Ours: the InvId of the series' first payment, once it is saved.
    std::string token;
    // The panel payment the series starts with, when the answer names one.
    std::optional<PaymentId> first_payment;
};

inline constexpr int k_series_being_set_up = 0;
inline constexpr int k_series_active = 1;

// payment.recurring.info's answer; throws upstream when it is unusable.
// Exposed for the tests.
RecurringSeries parse_recurring_info(const boost::property_tree::ptree& doc, std::int64_t id);

// payment.recurring.info elid=ID as the module; throws not_found naming
// `field` when the panel has no such series, upstream when it fails.
RecurringSeries read_recurring_series(const Mgrctl& mgrctl, std::int64_t id, const char* field);
// Throws conflict naming `field` unless the payment's method has the
// recurring switch on.
void require_recurring_method(const BookedPayment& booked, const char* field);

// rkrecurring (panel mode): BILLmanager's recurring_script. The customer,
// signed in to the panel, opens ?elid=SERIES; the series' first payment
// gets the payment form with Recurring=true. Its token is saved in the
// panel when that payment is credited (rkresult). docs/panel-mode.md.
Reply handle_recurring(const CgiInput& input, CgiContext& context);

// What `rcpay --payment ID` did in panel mode.
enum class RecurringCharge { charged, declined, already_charged };
struct RecurringChargeResult {
    RecurringCharge outcome = RecurringCharge::charged;
    std::string reason; // Robokassa's, when declined
};

// Charges a payment the panel created for an auto-payment series through
// Robokassa's recurring interface, at most once per payment (recorded in
// the store under its write lock before the call). A declined charge
// cancels the payment in the panel with the reason; no answer throws
// upstream and leaves it in pay for checkpay.
RecurringChargeResult charge_panel_payment(const Config& config, Store& store, PaymentId id);

} // namespace rk
