#include "stripe/stripe_store.hpp"

#include <ctime>

namespace rk::stripe {

namespace {

const char* const k_columns =
    "SELECT m.id, m.name, s.secret_key, s.publishable_key, s.webhook_secret FROM methods m "
    "JOIN stripe_methods s ON s.method_id = m.id WHERE m.module = 'pmstripe' ";

StripeMethod read_method(const sql::Statement& st) {
    StripeMethod m;
    m.id = st.column_int64(0);
    m.name = st.column_text(1);
    m.keys.secret_key = st.column_text(2);
    m.keys.publishable_key = st.column_text(3);
    m.keys.webhook_secret = st.column_text(4);
    return m;
}

} // namespace

MethodId add_stripe_method(Store& store, const std::string& name, const StripeKeys& keys) {
    sql::Transaction tx(store.db());
    MethodId id = store.add_module_method(tx, name, k_module);
    store.db()
        .prepare("INSERT INTO stripe_methods (method_id, secret_key, publishable_key, "
                 "webhook_secret) VALUES (?, ?, ?, ?)")
        .bind(1, id)
        .bind(2, keys.secret_key)
        .bind(3, keys.publishable_key)
        .bind(4, keys.webhook_secret)
        .run();
    tx.commit();
    return id;
}

std::optional<StripeMethod> find_stripe_method(Store& store, MethodId id) {
    auto st = store.db().prepare(std::string(k_columns) + "AND m.id = ?");
    st.bind(1, id);
    if (!st.step()) {
        return std::nullopt;
    }
    return read_method(st);
}

std::vector<StripeMethod> list_stripe_methods(Store& store) {
    auto st = store.db().prepare(std::string(k_columns) + "ORDER BY m.id");
    std::vector<StripeMethod> out;
    while (st.step()) {
        out.push_back(read_method(st));
    }
    return out;
}

std::vector<WebhookSecret> list_webhook_secrets(Store& store) {
    auto st = store.db().prepare("SELECT s.method_id, s.webhook_secret FROM stripe_methods s "
                                 "JOIN methods m ON m.id = s.method_id "
                                 "WHERE m.module = 'pmstripe' ORDER BY s.method_id");
    std::vector<WebhookSecret> out;
    while (st.step()) {
        out.push_back({st.column_int64(0), st.column_text(1)});
    }
    return out;
}

bool event_seen(Store& store, sql::Transaction&, const std::string& event_id) {
    auto st = store.db().prepare("SELECT 1 FROM stripe_events WHERE event_id = ?");
    st.bind(1, event_id);
    return st.step();
}

void record_event(Store& store, sql::Transaction&, const ProcessedEvent& e) {
    auto st = store.db().prepare(
        "INSERT INTO stripe_events (event_id, type, method_id, payment_id, verdict, received_at, "
        "payment_intent) VALUES (?, ?, ?, ?, ?, ?, ?)");
    st.bind(1, e.event_id).bind(2, e.type);
    if (e.method_id) {
        st.bind(3, *e.method_id);
    } else {
        st.bind_null(3);
    }
    if (e.payment_id) {
        st.bind(4, *e.payment_id);
    } else {
        st.bind_null(4);
    }
    st.bind(5, e.verdict)
        .bind(6, static_cast<std::int64_t>(std::time(nullptr)))
        .bind(7, e.payment_intent)
        .run();
}

std::optional<CheckoutSession> latest_session(Store& store, PaymentId payment) {
    auto st = store.db().prepare("SELECT session_id, url, expires_at, state FROM stripe_sessions "
                                 "WHERE payment_id = ? ORDER BY created_at DESC, rowid DESC "
                                 "LIMIT 1");
    st.bind(1, payment);
    if (!st.step()) {
        return std::nullopt;
    }
    CheckoutSession s;
    s.id = st.column_text(0);
    s.url = st.column_text(1);
    s.expires_at = st.column_int64(2);
    s.state = st.column_text(3);
    return s;
}

int session_count(Store& store, PaymentId payment) {
    auto st = store.db().prepare("SELECT count(*) FROM stripe_sessions WHERE payment_id = ?");
    st.bind(1, payment);
    st.step();
    return st.column_int(0);
}

void record_session(Store& store, PaymentId payment, const CheckoutSession& session) {
    sql::Transaction tx(store.db());
    store.db()
        .prepare("INSERT OR IGNORE INTO stripe_sessions (session_id, payment_id, url, expires_at, "
                 "state, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(1, session.id)
        .bind(2, payment)
        .bind(3, session.url)
        .bind(4, session.expires_at)
        .bind(5, session.state)
        .bind(6, static_cast<std::int64_t>(std::time(nullptr)))
        .run();
    tx.commit();
}

void set_session_state(Store& store, sql::Transaction&, const std::string& session_id,
                       const char* state) {
    store.db()
        .prepare("UPDATE stripe_sessions SET state = ? WHERE session_id = ?")
        .bind(1, state)
        .bind(2, session_id)
        .run();
}

} // namespace rk::stripe
