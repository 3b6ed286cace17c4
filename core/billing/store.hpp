#pragma once

#include "billing/money.hpp"
#include "sql/sqlite.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rk {

using PaymentId = std::int64_t;
using MethodId = std::int64_t;

// BILLmanager's payment status codes (3, 5 and 8 are reserved there).
enum class PaymentStatus {
    created = 1,
    in_pay = 2,
    paid = 4,
    refunded = 6,
    fraud = 7,
    cancelled = 9
};

bool is_payable(PaymentStatus status);

struct NewPayment {
    std::optional<PaymentId> id; // an explicit id (imports); empty: the next free one
    MethodId method_id = 0;
    Kopecks amount = 0;
    std::string currency = "RUB";
    std::string description;
    std::string email;
    std::string receipt;                // Robokassa Receipt JSON, minified; empty when none
    std::optional<PaymentId> parent_id; // recurring parent
};

struct Payment {
    PaymentId id = 0;
    MethodId method_id = 0;
    Kopecks amount = 0;
    std::string currency;
    std::string description;
    std::string email;
    PaymentStatus status = PaymentStatus::created;
    std::string external_id;
    std::string receipt;
    std::optional<PaymentId> parent_id;
    Kopecks refunded = 0;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::optional<std::int64_t> paid_at;
};

// What a transition did: `applied` when this very call changed the status,
// `already` when the payment was in the target status before, `refused`
// when its status does not allow the transition.
enum class Transition { applied, already, refused };

using RefundId = std::int64_t;

enum class RefundState { reserved, processing, done, cancelled };
const char* to_string(RefundState state);

// A refund asked of Robokassa, as the store tracks it.
struct Refund {
    RefundId id = 0;
    PaymentId payment_id = 0;
    Kopecks amount = 0;
    RefundState state = RefundState::reserved;
    std::string request_id; // Robokassa's requestId, once it has one
    std::string source;     // "refund", "rfset"
    std::int64_t updated_at = 0;
};

// A callback or reconciliation answer as the journal keeps it.
struct Notification {
    std::string source;                  // "rkresult", "checkpay", ...
    std::optional<PaymentId> payment_id; // empty when the id was unusable
    std::string params;                  // the parameters as received, form-encoded
    std::string verdict;                 // "credited", "duplicate", "refused", ...
    std::string reason;                  // why, for a person reading the journal
    int reply_status = 0;
    std::string reply_body;
};

// What the journal keeps of a request that proved nothing (no valid
// signature): its first k_unproven_params_bytes, and the size of the rest,
// so junk cannot fill the disk. An authenticated notification is kept whole.
inline constexpr std::size_t k_unproven_params_bytes = 1024;
std::string journal_prefix(const std::string& params);

struct JournalEntry {
    std::int64_t id = 0;
    std::int64_t received_at = 0;
    Notification notification;
};

// Which journal entries an admin asks for; empty members do not filter.
struct JournalFilter {
    std::optional<PaymentId> payment_id;
    std::optional<std::string> verdict;
    std::optional<std::int64_t> since; // received at or after, Unix time
};

// The billing store: methods, payments, the notification journal and the
// status history, in one SQLite file (WAL, synchronous=FULL, foreign keys).
// Reads may run outside a transaction; every write takes a
// sql::Transaction, so a caller can group a decision, its transition and
// its journal entry into one atomic commit.
class Store {
public:
    static Store open(const std::string& path, sql::OpenMode mode, int busy_timeout_ms);
    // The installation's store: $MGR5_ROOT/var/pmrobokassa.db.
    static Store open_default(sql::OpenMode mode, int busy_timeout_ms);

    sql::Database& db() { return m_db; }

    // Methods: every gateway's share is a methods row (which payments
    // reference); each keeps its own settings in a side table of its own
    // (robokassa/method_store.hpp, stripe/stripe_store.hpp).
    // The module a method belongs to ("pmrobokassa", "pmstripe"); nullopt
    // when there is no such method.
    std::optional<std::string> method_module(MethodId id);
    // A method of another module: a methods row (which payments reference)
    // without Robokassa settings. The caller adds the module's own settings
    // in the same transaction.
    MethodId add_module_method(sql::Transaction& tx, const std::string& name,
                               const std::string& module);

    // Payments.
    PaymentId add_payment(const NewPayment& payment);
    std::optional<Payment> find_payment(PaymentId id);
    std::vector<Payment> list_payments(std::optional<PaymentStatus> status);
    // Robokassa payments in status 2 not updated for at least `min_age_seconds`.
    std::vector<Payment> stale_in_pay(std::int64_t min_age_seconds);

    // Panel mode: payments BILLmanager keeps, which rkpayment sent to
    // Robokassa (remember) and no answer has settled yet (forget), in pay
    // for at least `min_age_seconds`.
    void remember_panel_in_pay(sql::Transaction& tx, PaymentId id);
    void forget_panel_in_pay(sql::Transaction& tx, PaymentId id);
    std::vector<PaymentId> panel_in_pay(std::int64_t min_age_seconds);

    // Panel mode, auto-payments. A first payment whose form carried
    // Recurring=true for the panel's series `recurring_id`: once it is
    // credited, its InvId is the series' token to save in the panel.
    void remember_recurring_setup(sql::Transaction& tx, PaymentId first, std::int64_t recurring_id);
    // The series whose token is still to be saved for `first`, if any.
    std::optional<std::int64_t> unsaved_recurring_setup(sql::Transaction& tx, PaymentId first);
    void mark_recurring_saved(sql::Transaction& tx, PaymentId first);
    // The one charge of a panel payment through Robokassa's recurring
    // interface: false when one was recorded already (the payment must not
    // be charged again). Recorded before the call, under the write lock.
    bool claim_recurring_charge(sql::Transaction& tx, PaymentId payment, PaymentId parent);
    bool has_recurring_charge(PaymentId payment);
    // accepted, declined (Robokassa answered no) or requested (no answer).
    void set_recurring_charge_outcome(sql::Transaction& tx, PaymentId payment,
                                      const std::string& outcome);

    // Transitions, one per edge of BILLmanager's state machine. Each takes
    // the caller's transaction and records the change in the history.
    // Throws not_found for an unknown id.
    Transition mark_in_pay(sql::Transaction& tx, PaymentId id, // 1 -> 2
                           const std::string& source);
    Transition mark_paid(sql::Transaction& tx, PaymentId id, // 1,2 -> 4
                         const std::string& external_id, const std::string& source);
    Transition mark_cancelled(sql::Transaction& tx, PaymentId id, // 1,2 -> 9
                              const std::string& source);
    Transition mark_fraud(sql::Transaction& tx, PaymentId id, // 1,2,4 -> 7
                          const std::string& source);
    // Adds `amount` to what was refunded of a paid payment; 4 -> 6 once the
    // whole amount is refunded. Throws conflict past the remainder.
    Transition add_refund(sql::Transaction& tx, PaymentId id, Kopecks amount,
                          const std::string& source);

    // Refunds asked of Robokassa (both modes). reserve_refund runs in the
    // transaction that decides the refund, before the call: it refuses
    // (conflict naming `field`) an amount past `paid` less everything
    // refunded, reserved or processing for the payment, else records a
    // reservation. The caller then calls Robokassa and, in a second
    // transaction, settles the reservation (done, processing, cancelled) or
    // releases it when the call failed.
    RefundId reserve_refund(sql::Transaction& tx, PaymentId id, Kopecks paid, Kopecks amount,
                            const std::string& source, const std::string& field);
    void settle_refund(sql::Transaction& tx, RefundId refund, RefundState state,
                       const std::string& request_id);
    void release_refund(sql::Transaction& tx, RefundId refund);
    // What a new refund of payment `id` (`paid` kopecks) may still take:
    // `paid` less what is refunded, reserved or processing.
    Kopecks refund_remaining(PaymentId id, Kopecks paid);
    std::vector<Refund> list_refunds(std::optional<RefundState> state);

    // A recurring child: records its parent and moves it 1 -> 2, as
    // rkpayment does for a first payment.
    Transition start_recurring(sql::Transaction& tx, PaymentId id, PaymentId parent_id);
    // Robokassa's operation key (OpKey), learned from OpStateExt.
    void set_external_id(sql::Transaction& tx, PaymentId id, const std::string& external_id);

    // The journal.
    void record_notification(sql::Transaction& tx, const Notification& notification);
    std::vector<JournalEntry> journal(std::optional<PaymentId> payment_id);
    // Newest first.
    std::vector<JournalEntry> journal(const JournalFilter& filter);
    std::optional<JournalEntry> journal_entry(std::int64_t id);
    // Whether the journal holds an entry for `id` with `verdict`: a closed
    // invoice's money is recorded once however often Robokassa repeats it.
    bool journal_has(sql::Transaction& tx, PaymentId id, const std::string& verdict);
    // Deletes the entries received before `before` (Unix time); returns
    // how many. Payments and their history stay.
    int prune_journal(sql::Transaction& tx, std::int64_t before);

    // The per-installation secret behind payment links. Never printed.
    std::string link_secret();

    // Count of history rows that moved `id` into `status`: the ledger's
    // own proof that a payment was credited once.
    int count_transitions_to(PaymentId id, PaymentStatus status);

private:
    void require(const sql::Transaction& tx) const { tx.require_open_on(m_db); }
    explicit Store(sql::Database db) : m_db(std::move(db)) {}
    void migrate();
    Transition transition(sql::Transaction& tx, PaymentId id,
                          std::initializer_list<PaymentStatus> from, PaymentStatus to,
                          const std::string& source, const std::string* external_id);
    sql::Database m_db;
};

// The schema version this program writes, and the migrations from one
// version to another on a bare database (the store runs them on open; the
// tests use them to build a store as an older release left it).
int schema_version();
void migrate_schema(sql::Database& db, int from, int to);

// The store, opened on first call: the CGIs open it only when a request
// gets far enough to need it.
using StoreAccess = std::function<Store&()>;

// The key in a customer's payment link: HMAC-SHA256 of the id under the
// installation's link secret, hex, k_payment_link_key_chars characters.
inline constexpr std::size_t k_payment_link_key_chars = 32;
std::string payment_link_key(const std::string& link_secret, PaymentId id);
bool payment_link_key_matches(const std::string& link_secret, PaymentId id, const std::string& key);

// Parses a payment id as docs/interface.md §4 writes it: 1 .. 2^63-1, decimal, no
// sign, leading zeros or spaces. Throws bad_input naming `field`.
PaymentId parse_payment_id(std::string_view text, std::string_view field);

} // namespace rk
