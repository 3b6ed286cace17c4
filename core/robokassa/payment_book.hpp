#pragma once

#include "billing/settlement.hpp"
#include "billing/store.hpp"
#include "cgi/cgi_request.hpp"
#include "robokassa/method_settings.hpp"
#include "util/mgrctl.hpp"

#include <boost/property_tree/ptree_fwd.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rk {

struct Config;

// A payment with the settings of the Robokassa method it is paid by.
struct BookedPayment {
    Payment payment;
    MethodSettings settings;
    // The panel's own public URL as payment.info gives it (panel mode); the
    // return pages send the customer there.
    std::optional<std::string> manager_url;
    // The panel's auto-payment series the payment belongs to (payment.info's
    // `recurring`), when it names one.
    std::optional<std::int64_t> recurring_id;
};

// Robokassa's payment interface takes OutSum in roubles and documents no
// field that would name another currency, so a payment in any other
// currency cannot be charged through it.
bool robokassa_can_charge(const Payment& payment);
// Throws conflict naming the currency (and logs it for the admin at error
// level) when robokassa_can_charge is false; `who` names the program.
void require_rouble_payment(const Payment& payment, const std::string& who);

// Where the CGIs read payments and record what happened to them: our own
// SQLite store (standalone) or BILLmanager itself through mgrctl (panel
// mode, `billing = panel`). Writes take a transaction on the local store
// either way: standalone it is the write itself; in panel mode it holds the
// store's write lock across "read the status, then change it", so two
// notifications for one payment on this host cannot both see it unpaid,
// and it carries the journal entry of the same request.
class PaymentBook {
public:
    virtual ~PaymentBook() = default;

    // The payment `id` names; throws not_found naming `field` when there is
    // none or it is not paid through Robokassa.
    virtual BookedPayment find(PaymentId id, const char* field) = 0;
    // The payment a customer's link names, after the link's own check
    // (standalone: the HMAC key; panel: the customer's panel session,
    // checked with whoami before the payment is read as the module).
    virtual BookedPayment find_linked(const CgiRequest& request) = 0;

    // 1 -> 2, when the form goes to the gateway.
    virtual Transition mark_in_pay(sql::Transaction& tx, const Payment& payment,
                                   const std::string& source) = 0;
    // Money confirmed: the one path that credits. `info` is the confirmation
    // as received (no secrets), kept with the payment where the book can.
    virtual Settlement settle_paid(sql::Transaction& tx, const Payment& payment, Kopecks received,
                                   const std::string& external_id, const std::string& info,
                                   const std::string& source) = 0;
    // 1, 2 -> 9.
    virtual Transition mark_cancelled(sql::Transaction& tx, const Payment& payment,
                                      const std::string& source) = 0;
};

// Standalone: the payments and methods in our SQLite store.
std::unique_ptr<PaymentBook> store_book(StoreAccess store);
// Panel mode: BILLmanager's payments through `mgrctl`. The calls it makes
// are listed in docs/panel-mode.md. The store keeps the list of payments
// in pay that checkpay asks about.
std::unique_ptr<PaymentBook> panel_book(const Config& config, StoreAccess store);
// The book the configuration chooses (`billing`).
std::unique_ptr<PaymentBook> open_book(const Config& config, StoreAccess store);

// payment.info's answer as a BookedPayment; throws not_found naming `field`
// for another module's payment and upstream when the answer is unusable.
// Exposed for the tests.
BookedPayment parse_payment_info(const boost::property_tree::ptree& doc, PaymentId id,
                                 const char* field);

// Panel mode: the customer's panel session (`auth`, else the billmgrses5
// cookie) must be signed in, as whoami says; throws forbidden otherwise,
// upstream when the panel fails. The one call that carries the session.
void require_panel_session(const Config& config, const CgiRequest& request);

// The panel's mgrctl as the configuration names it.
Mgrctl panel_mgrctl(const Config& config);

// Whether whoami's answer names a signed-in user (`<user id="N">`).
bool whoami_names_a_user(const boost::property_tree::ptree& doc);

// The ids of BILLmanager's payment methods whose module is pmrobokassa,
// from the answer of the `paymethod` list function.
std::vector<std::int64_t> robokassa_method_ids(const boost::property_tree::ptree& doc);
// The payment ids of a `payment` list answer.
std::vector<PaymentId> listed_payment_ids(const boost::property_tree::ptree& doc);

// Panel mode: every payment in status 2 of a Robokassa method, as the
// panel lists them (`paymethod`, then `payment filter=on status=2
// paymethod=ID`). Throws upstream when the panel does not answer.
std::vector<PaymentId> panel_payments_in_pay(const Config& config);

} // namespace rk
