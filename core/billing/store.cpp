#include "billing/store.hpp"

#include "util/digest.hpp"
#include "util/error.hpp"
#include "util/paths.hpp"

#include <algorithm>
#include <ctime>
#include <limits>
#include <sqlite3.h>

namespace rk {

namespace {

// Each entry migrates the schema from version i to i+1. Never edit a
// shipped entry: add a new one.
const char* const k_migrations[] = {
    R"sql(
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE methods (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    shop_id        TEXT NOT NULL,
    password1      TEXT NOT NULL,
    password2      TEXT NOT NULL,
    password3      TEXT NOT NULL DEFAULT '',
    hash_algorithm TEXT NOT NULL,
    test_mode      INTEGER NOT NULL CHECK (test_mode IN (0, 1)),
    inc_curr_label TEXT NOT NULL DEFAULT '',
    gateway_url    TEXT NOT NULL DEFAULT '',
    recurring      INTEGER NOT NULL DEFAULT 0 CHECK (recurring IN (0, 1)),
    created_at     INTEGER NOT NULL
);
CREATE TABLE payments (
    id          INTEGER PRIMARY KEY CHECK (id > 0),
    method_id   INTEGER NOT NULL REFERENCES methods (id),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    currency    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    status      INTEGER NOT NULL CHECK (status BETWEEN 1 AND 9),
    external_id TEXT NOT NULL DEFAULT '',
    receipt     TEXT NOT NULL DEFAULT '',
    parent_id   INTEGER REFERENCES payments (id),
    refunded    INTEGER NOT NULL DEFAULT 0 CHECK (refunded BETWEEN 0 AND amount),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    paid_at     INTEGER
);
CREATE INDEX payments_by_status ON payments (status, updated_at);
CREATE TABLE status_history (
    id          INTEGER PRIMARY KEY,
    payment_id  INTEGER NOT NULL REFERENCES payments (id),
    from_status INTEGER NOT NULL,
    to_status   INTEGER NOT NULL,
    amount      INTEGER NOT NULL DEFAULT 0,
    source      TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX status_history_by_payment ON status_history (payment_id);
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    source       TEXT NOT NULL,
    payment_id   INTEGER,
    params       TEXT NOT NULL,
    verdict      TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    reply_status INTEGER NOT NULL,
    reply_body   TEXT NOT NULL
);
CREATE INDEX notifications_by_payment ON notifications (payment_id);
)sql",
    // 2: methods of other modules (pmstripe) in the same store. A method
    // row names its module; Robokassa's columns stay empty for the others,
    // whose settings live in their own side table. stripe_events makes a
    // webhook idempotent: its row commits with the event's effect.
    R"sql(
ALTER TABLE methods ADD COLUMN module TEXT NOT NULL DEFAULT 'pmrobokassa';
CREATE TABLE stripe_methods (
    method_id       INTEGER PRIMARY KEY REFERENCES methods (id),
    secret_key      TEXT NOT NULL,
    publishable_key TEXT NOT NULL,
    webhook_secret  TEXT NOT NULL
);
CREATE TABLE stripe_events (
    event_id    TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    method_id   INTEGER REFERENCES methods (id),
    payment_id  INTEGER REFERENCES payments (id),
    verdict     TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
)sql",
    // 3: panel mode (billing = panel). BILLmanager keeps the payments; this
    // is only the list of those rkpayment sent to Robokassa and no answer
    // has settled yet, for checkpay to ask about.
    R"sql(
CREATE TABLE panel_in_pay (
    payment_id INTEGER PRIMARY KEY,
    since      INTEGER NOT NULL
);
)sql",
    // 4: Stripe Checkout Sessions by payment, so that stpayment sends a
    // returning customer to the session already open instead of opening a
    // second one that could be paid too; and the payment intent of each
    // processed event, to tell a second payment of a paid payment from a
    // repeat of the first.
    R"sql(
CREATE TABLE stripe_sessions (
    session_id TEXT PRIMARY KEY,
    payment_id INTEGER NOT NULL REFERENCES payments (id),
    url        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    state      TEXT NOT NULL DEFAULT 'open'
               CHECK (state IN ('open', 'complete', 'failed', 'expired')),
    created_at INTEGER NOT NULL
);
CREATE INDEX stripe_sessions_by_payment ON stripe_sessions (payment_id, created_at);
ALTER TABLE stripe_events ADD COLUMN payment_intent TEXT NOT NULL DEFAULT '';
)sql",
    // 5: Robokassa's settings move to a side table of their own, as
    // Stripe's live in stripe_methods: `methods` keeps what every gateway
    // shares, and other modules' rows no longer carry empty passwords. The
    // test password pair and the payment lifetime are new here.
    R"sql(
CREATE TABLE robokassa_methods (
    method_id        INTEGER PRIMARY KEY REFERENCES methods (id),
    shop_id          TEXT NOT NULL,
    password1        TEXT NOT NULL,
    password2        TEXT NOT NULL,
    password3        TEXT NOT NULL DEFAULT '',
    test_password1   TEXT NOT NULL DEFAULT '',
    test_password2   TEXT NOT NULL DEFAULT '',
    hash_algorithm   TEXT NOT NULL,
    test_mode        INTEGER NOT NULL CHECK (test_mode IN (0, 1)),
    inc_curr_label   TEXT NOT NULL DEFAULT '',
    gateway_url      TEXT NOT NULL DEFAULT '',
    recurring        INTEGER NOT NULL DEFAULT 0 CHECK (recurring IN (0, 1)),
    payment_lifetime INTEGER NOT NULL DEFAULT 0 CHECK (payment_lifetime BETWEEN 0 AND 720)
);
INSERT INTO robokassa_methods (method_id, shop_id, password1, password2, password3,
                               hash_algorithm, test_mode, inc_curr_label, gateway_url, recurring)
    SELECT id, shop_id, password1, password2, password3, hash_algorithm, test_mode,
           inc_curr_label, gateway_url, recurring
    FROM methods WHERE module = 'pmrobokassa';
ALTER TABLE methods DROP COLUMN shop_id;
ALTER TABLE methods DROP COLUMN password1;
ALTER TABLE methods DROP COLUMN password2;
ALTER TABLE methods DROP COLUMN password3;
ALTER TABLE methods DROP COLUMN hash_algorithm;
ALTER TABLE methods DROP COLUMN test_mode;
ALTER TABLE methods DROP COLUMN inc_curr_label;
ALTER TABLE methods DROP COLUMN gateway_url;
ALTER TABLE methods DROP COLUMN recurring;
CREATE INDEX notifications_by_received ON notifications (received_at);
)sql",
    // 6: refunds asked of Robokassa. A row is written, in the same
    // transaction that checks what remains, before the call leaves the
    // machine, so two refunds at once cannot both spend the same remainder.
    // payment_id has no foreign key: in panel mode BILLmanager keeps the
    // payments. state: reserved (the call is under way), processing
    // (Robokassa has it, not done yet), done, cancelled.
    R"sql(
CREATE TABLE refunds (
    id         INTEGER PRIMARY KEY,
    payment_id INTEGER NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount > 0),
    state      TEXT NOT NULL CHECK (state IN ('reserved', 'processing', 'done', 'cancelled')),
    request_id TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);
)sql",
    // 7: the method's receipt settings (taxation system, VAT rate, payment
    // object), from which rkpayment builds a receipt for a payment that
    // brings none (every payment in panel mode). Empty: no receipt.
    R"sql(
ALTER TABLE robokassa_methods ADD COLUMN receipt_sno TEXT NOT NULL DEFAULT '';
ALTER TABLE robokassa_methods ADD COLUMN receipt_tax TEXT NOT NULL DEFAULT '';
ALTER TABLE robokassa_methods ADD COLUMN receipt_payment_object TEXT NOT NULL DEFAULT '';
)sql",
    // 8: panel-mode auto-payments. The first payment of each series whose
    // token (its InvId) rkresult saves in the panel once it is credited; and
    // every charge rcpay asked Robokassa for, recorded before the call so
    // that a repeated rcpay never charges a payment twice.
    R"sql(
CREATE TABLE recurring_setups (
    payment_id   INTEGER PRIMARY KEY,
    recurring_id INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    saved_at     INTEGER
);
CREATE TABLE recurring_charges (
    payment_id   INTEGER PRIMARY KEY,
    parent_id    INTEGER NOT NULL,
    outcome      TEXT NOT NULL DEFAULT 'requested'
                 CHECK (outcome IN ('requested', 'accepted', 'declined')),
    requested_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
)sql",
};

constexpr int k_schema_version = sizeof(k_migrations) / sizeof(k_migrations[0]);

std::int64_t now() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

const char* const k_payment_columns =
    "SELECT id, method_id, amount, currency, description, email, status, external_id, receipt, "
    "parent_id, refunded, created_at, updated_at, paid_at FROM payments ";

Payment read_payment(const sql::Statement& st) {
    Payment p;
    p.id = st.column_int64(0);
    p.method_id = st.column_int64(1);
    p.amount = st.column_int64(2);
    p.currency = st.column_text(3);
    p.description = st.column_text(4);
    p.email = st.column_text(5);
    p.status = static_cast<PaymentStatus>(st.column_int(6));
    p.external_id = st.column_text(7);
    p.receipt = st.column_text(8);
    p.parent_id = st.column_optional_int64(9);
    p.refunded = st.column_int64(10);
    p.created_at = st.column_int64(11);
    p.updated_at = st.column_int64(12);
    p.paid_at = st.column_optional_int64(13);
    return p;
}

} // namespace

bool is_payable(PaymentStatus status) {
    return status == PaymentStatus::created || status == PaymentStatus::in_pay;
}

namespace {

// A store the CGIs may use: a file this program made (our tables, a schema
// version). An empty file (a failed restore, a full disk) or another
// program's database is refused before anything is written to it, so
// it is neither turned into a fresh ledger nor changed.
void require_our_schema(sql::Database& db, const std::string& path) {
    bool ours = false;
    try {
        auto version = db.prepare("PRAGMA user_version");
        version.step();
        auto tables = db.prepare(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'payments'");
        tables.step();
        ours = version.column_int(0) > 0 && tables.column_int(0) == 1;
    } catch (const sql::SqliteError& e) {
        if ((e.code() & 0xff) != SQLITE_NOTADB) {
            throw;
        }
    }
    if (!ours) {
        throw Error(ErrorKind::store_unavailable, "",
                    path + " is not a pmrobokassa store (empty, or not our schema); left as it is");
    }
}

} // namespace

Store Store::open(const std::string& path, sql::OpenMode mode, int busy_timeout_ms) {
    Store store(sql::Database::open(path, mode, busy_timeout_ms));
    sql::Database& db = store.m_db;
    if (mode == sql::OpenMode::existing) {
        require_our_schema(db, path);
    }
    // WAL lets readers run beside the one writer; FULL makes a commit
    // durable before we answer OK to Robokassa.
    std::string journal_mode;
    {
        auto st = db.prepare("PRAGMA journal_mode");
        st.step();
        journal_mode = st.column_text(0);
    }
    // Switching to WAL takes an exclusive lock, and when two processes open
    // a fresh store at once SQLite answers SQLITE_BUSY at once, without the
    // busy handler: retry within the busy timeout like any other lock.
    for (int waited_ms = 0; journal_mode != "wal"; waited_ms += 10) {
        try {
            db.exec("PRAGMA journal_mode=WAL");
            break;
        } catch (const sql::SqliteError& e) {
            if ((e.code() & 0xff) != SQLITE_BUSY || waited_ms >= busy_timeout_ms) {
                throw;
            }
            sqlite3_sleep(10);
        }
    }
    db.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
    store.migrate();
    return store;
}

Store Store::open_default(sql::OpenMode mode, int busy_timeout_ms) {
    if (mode == sql::OpenMode::create_if_missing) {
        ensure_var_dir();
    }
    return open(database_path(), mode, busy_timeout_ms);
}

void Store::migrate() {
    auto version_of = [this] {
        auto st = m_db.prepare("PRAGMA user_version");
        st.step();
        return st.column_int(0);
    };
    if (version_of() == k_schema_version) {
        return;
    }
    sql::Transaction tx(m_db);
    int version = version_of(); // another process may have migrated meanwhile
    if (version > k_schema_version) {
        throw Error(ErrorKind::internal, "",
                    "the store has schema version " + std::to_string(version) +
                        ", newer than this program's " + std::to_string(k_schema_version));
    }
    migrate_schema(m_db, version, k_schema_version);
    tx.commit();
}

int schema_version() {
    return k_schema_version;
}

void migrate_schema(sql::Database& db, int from, int to) {
    for (int version = from; version < to; ++version) {
        db.exec(k_migrations[version]);
        if (version == 0) {
            db.prepare("INSERT INTO settings (key, value) VALUES ('link_secret', ?)")
                .bind_blob(1, random_bytes(32))
                .run();
        }
    }
    db.exec(("PRAGMA user_version = " + std::to_string(to)).c_str());
}

std::optional<std::string> Store::method_module(MethodId id) {
    auto st = m_db.prepare("SELECT module FROM methods WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) {
        return std::nullopt;
    }
    return st.column_text(0);
}

MethodId Store::add_module_method(sql::Transaction& tx, const std::string& name,
                                  const std::string& module) {
    require(tx);
    m_db.prepare("INSERT INTO methods (name, created_at, module) VALUES (?, ?, ?)")
        .bind(1, name)
        .bind(2, now())
        .bind(3, module)
        .run();
    return m_db.last_insert_rowid();
}

PaymentId Store::add_payment(const NewPayment& p) {
    sql::Transaction tx(m_db);
    if (!method_module(p.method_id)) {
        throw Error(ErrorKind::not_found, "method",
                    "no payment method " + std::to_string(p.method_id));
    }
    if (p.id && find_payment(*p.id)) {
        throw Error(ErrorKind::conflict, "id", "payment " + std::to_string(*p.id) + " exists");
    }
    if (!p.id) {
        // Robokassa refuses an InvId past 2^63-1; so does SQLite's rowid.
        auto st = m_db.prepare("SELECT max(id) FROM payments");
        st.step();
        if (st.column_int64(0) == std::numeric_limits<std::int64_t>::max()) {
            throw Error(ErrorKind::conflict, "id", "no payment id is left");
        }
    }
    std::int64_t t = now();
    auto st = m_db.prepare(
        "INSERT INTO payments (id, method_id, amount, currency, description, email, status, "
        "receipt, parent_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)");
    if (p.id) {
        st.bind(1, *p.id);
    } else {
        st.bind_null(1);
    }
    st.bind(2, p.method_id)
        .bind(3, p.amount)
        .bind(4, p.currency)
        .bind(5, p.description)
        .bind(6, p.email)
        .bind(7, p.receipt);
    if (p.parent_id) {
        st.bind(8, *p.parent_id);
    } else {
        st.bind_null(8);
    }
    st.bind(9, t).bind(10, t).run();
    PaymentId id = m_db.last_insert_rowid();
    m_db.prepare("INSERT INTO status_history (payment_id, from_status, to_status, amount, "
                 "source, at) VALUES (?, 0, 1, ?, 'payment.add', ?)")
        .bind(1, id)
        .bind(2, p.amount)
        .bind(3, t)
        .run();
    tx.commit();
    return id;
}

std::optional<Payment> Store::find_payment(PaymentId id) {
    auto st = m_db.prepare(std::string(k_payment_columns) + "WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) {
        return std::nullopt;
    }
    return read_payment(st);
}

std::vector<Payment> Store::list_payments(std::optional<PaymentStatus> status) {
    auto st = m_db.prepare(std::string(k_payment_columns) +
                           (status ? "WHERE status = ? ORDER BY id" : "ORDER BY id"));
    if (status) {
        st.bind(1, static_cast<int>(*status));
    }
    std::vector<Payment> out;
    while (st.step()) {
        out.push_back(read_payment(st));
    }
    return out;
}

std::vector<Payment> Store::stale_in_pay(std::int64_t min_age_seconds) {
    auto st = m_db.prepare(std::string(k_payment_columns) +
                           "WHERE status = 2 AND updated_at <= ? AND method_id IN "
                           "(SELECT id FROM methods WHERE module = 'pmrobokassa') ORDER BY id");
    st.bind(1, now() - min_age_seconds);
    std::vector<Payment> out;
    while (st.step()) {
        out.push_back(read_payment(st));
    }
    return out;
}

void Store::remember_panel_in_pay(sql::Transaction& tx, PaymentId id) {
    require(tx);
    m_db.prepare("INSERT OR IGNORE INTO panel_in_pay (payment_id, since) VALUES (?, ?)")
        .bind(1, id)
        .bind(2, now())
        .run();
}

void Store::forget_panel_in_pay(sql::Transaction& tx, PaymentId id) {
    require(tx);
    m_db.prepare("DELETE FROM panel_in_pay WHERE payment_id = ?").bind(1, id).run();
}

void Store::remember_recurring_setup(sql::Transaction&, PaymentId first,
                                     std::int64_t recurring_id) {
    // A customer who opens the set-up again starts it over for that series.
    m_db.prepare("INSERT INTO recurring_setups (payment_id, recurring_id, created_at) "
                 "VALUES (?, ?, ?) ON CONFLICT (payment_id) DO UPDATE SET "
                 "recurring_id = excluded.recurring_id WHERE saved_at IS NULL")
        .bind(1, first)
        .bind(2, recurring_id)
        .bind(3, now())
        .run();
}

std::optional<std::int64_t> Store::unsaved_recurring_setup(sql::Transaction&, PaymentId first) {
    auto st = m_db.prepare(
        "SELECT recurring_id FROM recurring_setups WHERE payment_id = ? AND saved_at IS NULL");
    st.bind(1, first);
    if (!st.step()) {
        return std::nullopt;
    }
    return st.column_int64(0);
}

void Store::mark_recurring_saved(sql::Transaction&, PaymentId first) {
    m_db.prepare("UPDATE recurring_setups SET saved_at = ? WHERE payment_id = ?")
        .bind(1, now())
        .bind(2, first)
        .run();
}

bool Store::claim_recurring_charge(sql::Transaction&, PaymentId payment, PaymentId parent) {
    std::int64_t t = now();
    m_db.prepare("INSERT OR IGNORE INTO recurring_charges (payment_id, parent_id, requested_at, "
                 "updated_at) VALUES (?, ?, ?, ?)")
        .bind(1, payment)
        .bind(2, parent)
        .bind(3, t)
        .bind(4, t)
        .run();
    return m_db.changes() == 1;
}

bool Store::has_recurring_charge(PaymentId payment) {
    auto st = m_db.prepare("SELECT 1 FROM recurring_charges WHERE payment_id = ?");
    st.bind(1, payment);
    return st.step();
}

void Store::set_recurring_charge_outcome(sql::Transaction&, PaymentId payment,
                                         const std::string& outcome) {
    m_db.prepare("UPDATE recurring_charges SET outcome = ?, updated_at = ? WHERE payment_id = ?")
        .bind(1, outcome)
        .bind(2, now())
        .bind(3, payment)
        .run();
}

std::vector<PaymentId> Store::panel_in_pay(std::int64_t min_age_seconds) {
    auto st =
        m_db.prepare("SELECT payment_id FROM panel_in_pay WHERE since <= ? ORDER BY payment_id");
    st.bind(1, now() - min_age_seconds);
    std::vector<PaymentId> out;
    while (st.step()) {
        out.push_back(st.column_int64(0));
    }
    return out;
}

Transition Store::transition(sql::Transaction& tx, PaymentId id,
                             std::initializer_list<PaymentStatus> from, PaymentStatus to,
                             const std::string& source, const std::string* external_id) {
    require(tx);
    auto current = find_payment(id);
    if (!current) {
        throw Error(ErrorKind::not_found, "InvId", "no payment " + std::to_string(id));
    }
    if (current->status == to) {
        return Transition::already;
    }
    bool allowed = false;
    for (PaymentStatus s : from) {
        allowed = allowed || s == current->status;
    }
    if (!allowed) {
        return Transition::refused;
    }
    std::int64_t t = now();
    // Conditional on the status we read: under BEGIN IMMEDIATE nothing can
    // change it in between, and if that guarantee were ever lost this still
    // credits at most once.
    auto st = m_db.prepare("UPDATE payments SET status = ?, updated_at = ?, "
                           "paid_at = CASE WHEN ? = 4 THEN ? ELSE paid_at END, "
                           "external_id = CASE WHEN ? IS NULL THEN external_id ELSE ? END "
                           "WHERE id = ? AND status = ?");
    st.bind(1, static_cast<int>(to)).bind(2, t).bind(3, static_cast<int>(to)).bind(4, t);
    if (external_id != nullptr) {
        st.bind(5, *external_id).bind(6, *external_id);
    } else {
        st.bind_null(5).bind_null(6);
    }
    st.bind(7, id).bind(8, static_cast<int>(current->status)).run();
    if (m_db.changes() != 1) {
        return Transition::refused;
    }
    m_db.prepare("INSERT INTO status_history (payment_id, from_status, to_status, amount, "
                 "source, at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(1, id)
        .bind(2, static_cast<int>(current->status))
        .bind(3, static_cast<int>(to))
        .bind(4, to == PaymentStatus::paid ? current->amount : 0)
        .bind(5, source)
        .bind(6, t)
        .run();
    return Transition::applied;
}

Transition Store::mark_in_pay(sql::Transaction& tx, PaymentId id, const std::string& source) {
    require(tx);
    return transition(tx, id, {PaymentStatus::created}, PaymentStatus::in_pay, source, nullptr);
}

Transition Store::mark_paid(sql::Transaction& tx, PaymentId id, const std::string& external_id,
                            const std::string& source) {
    require(tx);
    return transition(tx, id, {PaymentStatus::created, PaymentStatus::in_pay}, PaymentStatus::paid,
                      source, &external_id);
}

Transition Store::mark_cancelled(sql::Transaction& tx, PaymentId id, const std::string& source) {
    require(tx);
    return transition(tx, id, {PaymentStatus::created, PaymentStatus::in_pay},
                      PaymentStatus::cancelled, source, nullptr);
}

Transition Store::mark_fraud(sql::Transaction& tx, PaymentId id, const std::string& source) {
    require(tx);
    return transition(tx, id, {PaymentStatus::created, PaymentStatus::in_pay, PaymentStatus::paid},
                      PaymentStatus::fraud, source, nullptr);
}

Transition Store::add_refund(sql::Transaction& tx, PaymentId id, Kopecks amount,
                             const std::string& source) {
    require(tx);
    auto current = find_payment(id);
    if (!current) {
        throw Error(ErrorKind::not_found, "payment", "no payment " + std::to_string(id));
    }
    if (current->status != PaymentStatus::paid) {
        return current->status == PaymentStatus::refunded ? Transition::already
                                                          : Transition::refused;
    }
    if (amount <= 0 || amount > current->amount - current->refunded) {
        throw Error(ErrorKind::conflict, "amount",
                    "exceeds what remains to refund (" +
                        format_amount(current->amount - current->refunded) + ")");
    }
    std::int64_t t = now();
    m_db.prepare("UPDATE payments SET refunded = refunded + ?, updated_at = ? WHERE id = ?")
        .bind(1, amount)
        .bind(2, t)
        .bind(3, id)
        .run();
    m_db.prepare("INSERT INTO status_history (payment_id, from_status, to_status, amount, "
                 "source, at) VALUES (?, 4, 4, ?, ?, ?)")
        .bind(1, id)
        .bind(2, -amount)
        .bind(3, source)
        .bind(4, t)
        .run();
    if (current->refunded + amount == current->amount) {
        return transition(tx, id, {PaymentStatus::paid}, PaymentStatus::refunded, source, nullptr);
    }
    return Transition::applied;
}

const char* to_string(RefundState state) {
    switch (state) {
    case RefundState::reserved:
        return "reserved";
    case RefundState::processing:
        return "processing";
    case RefundState::done:
        return "done";
    case RefundState::cancelled:
        return "cancelled";
    }
    return "reserved";
}

Kopecks Store::refund_remaining(PaymentId id, Kopecks paid) {
    auto st = m_db.prepare(
        "SELECT coalesce(sum(amount), 0), coalesce(sum(CASE state WHEN 'done' THEN amount END), 0) "
        "FROM refunds WHERE payment_id = ? AND state != 'cancelled'");
    st.bind(1, id);
    st.step();
    Kopecks taken = st.column_int64(0);
    // A refund recorded on the payment without a row here (checkpay seeing
    // it returned at Robokassa) counts through `refunded`.
    if (auto payment = find_payment(id)) {
        taken += std::max<Kopecks>(0, payment->refunded - st.column_int64(1));
    }
    return paid > taken ? paid - taken : 0;
}

RefundId Store::reserve_refund(sql::Transaction& tx, PaymentId id, Kopecks paid, Kopecks amount,
                               const std::string& source, const std::string& field) {
    require(tx);
    const Kopecks remaining = refund_remaining(id, paid);
    if (amount <= 0 || amount > remaining) {
        throw Error(ErrorKind::conflict, field,
                    "exceeds what remains to refund (" + format_amount(remaining) + ")");
    }
    std::int64_t t = now();
    m_db.prepare("INSERT INTO refunds (payment_id, amount, state, source, created_at, updated_at) "
                 "VALUES (?, ?, 'reserved', ?, ?, ?)")
        .bind(1, id)
        .bind(2, amount)
        .bind(3, source)
        .bind(4, t)
        .bind(5, t)
        .run();
    return m_db.last_insert_rowid();
}

void Store::settle_refund(sql::Transaction& tx, RefundId refund, RefundState state,
                          const std::string& request_id) {
    require(tx);
    m_db.prepare("UPDATE refunds SET state = ?, request_id = ?, updated_at = ? WHERE id = ?")
        .bind(1, to_string(state))
        .bind(2, request_id)
        .bind(3, now())
        .bind(4, refund)
        .run();
}

void Store::release_refund(sql::Transaction& tx, RefundId refund) {
    require(tx);
    m_db.prepare("DELETE FROM refunds WHERE id = ? AND state = 'reserved'").bind(1, refund).run();
}

std::vector<Refund> Store::list_refunds(std::optional<RefundState> state) {
    auto st = m_db.prepare(
        std::string("SELECT id, payment_id, amount, state, request_id, source, updated_at "
                    "FROM refunds ") +
        (state ? "WHERE state = ? ORDER BY id" : "ORDER BY id"));
    if (state) {
        st.bind(1, to_string(*state));
    }
    std::vector<Refund> out;
    while (st.step()) {
        Refund r;
        r.id = st.column_int64(0);
        r.payment_id = st.column_int64(1);
        r.amount = st.column_int64(2);
        const std::string text = st.column_text(3);
        for (RefundState candidate : {RefundState::reserved, RefundState::processing,
                                      RefundState::done, RefundState::cancelled}) {
            if (text == to_string(candidate)) {
                r.state = candidate;
            }
        }
        r.request_id = st.column_text(4);
        r.source = st.column_text(5);
        r.updated_at = st.column_int64(6);
        out.push_back(std::move(r));
    }
    return out;
}

Transition Store::start_recurring(sql::Transaction& tx, PaymentId id, PaymentId parent_id) {
    require(tx);
    m_db.prepare("UPDATE payments SET parent_id = ? WHERE id = ? AND status = 1")
        .bind(1, parent_id)
        .bind(2, id)
        .run();
    return transition(tx, id, {PaymentStatus::created}, PaymentStatus::in_pay, "rcpay", nullptr);
}

void Store::set_external_id(sql::Transaction& tx, PaymentId id, const std::string& external_id) {
    require(tx);
    m_db.prepare("UPDATE payments SET external_id = ? WHERE id = ?")
        .bind(1, external_id)
        .bind(2, id)
        .run();
}

void Store::record_notification(sql::Transaction& tx, const Notification& n) {
    require(tx);
    auto st = m_db.prepare("INSERT INTO notifications (received_at, source, payment_id, params, "
                           "verdict, reason, reply_status, reply_body) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    st.bind(1, now()).bind(2, n.source);
    if (n.payment_id) {
        st.bind(3, *n.payment_id);
    } else {
        st.bind_null(3);
    }
    st.bind(4, n.params)
        .bind(5, n.verdict)
        .bind(6, n.reason)
        .bind(7, n.reply_status)
        .bind(8, n.reply_body)
        .run();
}

namespace {

const char* const k_journal_columns =
    "SELECT id, received_at, source, payment_id, params, verdict, reason, reply_status, "
    "reply_body FROM notifications ";

JournalEntry read_journal_entry(const sql::Statement& st) {
    JournalEntry e;
    e.id = st.column_int64(0);
    e.received_at = st.column_int64(1);
    e.notification.source = st.column_text(2);
    e.notification.payment_id = st.column_optional_int64(3);
    e.notification.params = st.column_text(4);
    e.notification.verdict = st.column_text(5);
    e.notification.reason = st.column_text(6);
    e.notification.reply_status = st.column_int(7);
    e.notification.reply_body = st.column_text(8);
    return e;
}

} // namespace

std::vector<JournalEntry> Store::journal(std::optional<PaymentId> payment_id) {
    auto st = m_db.prepare(std::string(k_journal_columns) +
                           (payment_id ? "WHERE payment_id = ? ORDER BY id" : "ORDER BY id"));
    if (payment_id) {
        st.bind(1, *payment_id);
    }
    std::vector<JournalEntry> out;
    while (st.step()) {
        out.push_back(read_journal_entry(st));
    }
    return out;
}

std::vector<JournalEntry> Store::journal(const JournalFilter& filter) {
    // Each condition is off when its parameter is NULL, so one statement
    // serves every combination of filters.
    auto st = m_db.prepare(std::string(k_journal_columns) +
                           "WHERE (?1 IS NULL OR payment_id = ?1) AND (?2 IS NULL OR verdict = ?2) "
                           "AND (?3 IS NULL OR received_at >= ?3) ORDER BY id DESC");
    if (filter.payment_id) {
        st.bind(1, *filter.payment_id);
    } else {
        st.bind_null(1);
    }
    if (filter.verdict) {
        st.bind(2, *filter.verdict);
    } else {
        st.bind_null(2);
    }
    if (filter.since) {
        st.bind(3, *filter.since);
    } else {
        st.bind_null(3);
    }
    std::vector<JournalEntry> out;
    while (st.step()) {
        out.push_back(read_journal_entry(st));
    }
    return out;
}

std::optional<JournalEntry> Store::journal_entry(std::int64_t id) {
    auto st = m_db.prepare(std::string(k_journal_columns) + "WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) {
        return std::nullopt;
    }
    return read_journal_entry(st);
}

bool Store::journal_has(sql::Transaction& tx, PaymentId id, const std::string& verdict) {
    require(tx);
    auto st = m_db.prepare("SELECT 1 FROM notifications WHERE payment_id = ? AND verdict = ?");
    st.bind(1, id).bind(2, verdict);
    return st.step();
}

int Store::prune_journal(sql::Transaction& tx, std::int64_t before) {
    require(tx);
    m_db.prepare("DELETE FROM notifications WHERE received_at < ?").bind(1, before).run();
    return m_db.changes();
}

std::string Store::link_secret() {
    auto st = m_db.prepare("SELECT value FROM settings WHERE key = 'link_secret'");
    if (!st.step()) {
        throw Error(ErrorKind::internal, "", "the store has no link secret");
    }
    return st.column_text(0);
}

int Store::count_transitions_to(PaymentId id, PaymentStatus status) {
    auto st =
        m_db.prepare("SELECT count(*) FROM status_history WHERE payment_id = ? AND to_status = ? "
                     "AND from_status != to_status");
    st.bind(1, id).bind(2, static_cast<int>(status));
    st.step();
    return st.column_int(0);
}

std::string journal_prefix(const std::string& params) {
    if (params.size() <= k_unproven_params_bytes) {
        return params;
    }
    return params.substr(0, k_unproven_params_bytes) + "...(" + std::to_string(params.size()) +
           " bytes, cut before authentication)";
}

std::string payment_link_key(const std::string& link_secret, PaymentId id) {
    return hmac_sha256_hex(link_secret, "rkpayment:" + std::to_string(id))
        .substr(0, k_payment_link_key_chars);
}

bool payment_link_key_matches(const std::string& link_secret, PaymentId id,
                              const std::string& key) {
    return hex_equal_constant_time(payment_link_key(link_secret, id), key);
}

PaymentId parse_payment_id(std::string_view text, std::string_view field) {
    const std::string name(field);
    if (text.empty() || text.size() > 19 || text[0] == '0') {
        throw bad_input(name, "must be a payment id from 1 to 9223372036854775807");
    }
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            throw bad_input(name, "must be a payment id from 1 to 9223372036854775807");
        }
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw bad_input(name, "must be a payment id from 1 to 9223372036854775807");
    }
    return static_cast<PaymentId>(value);
}

} // namespace rk
