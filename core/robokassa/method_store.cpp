#include "robokassa/method_store.hpp"

#include "util/error.hpp"

namespace rk {

namespace {

const char* const k_method_columns =
    "SELECT m.id, m.name, r.shop_id, r.password1, r.password2, r.password3, r.hash_algorithm, "
    "r.test_mode, r.inc_curr_label, r.gateway_url, r.recurring, r.test_password1, "
    "r.test_password2, r.payment_lifetime, r.receipt_sno, r.receipt_tax, "
    "r.receipt_payment_object FROM methods m "
    "JOIN robokassa_methods r ON r.method_id = m.id WHERE m.module = 'pmrobokassa' ";

Method read_method(const sql::Statement& st) {
    Method m;
    m.id = st.column_int64(0);
    m.name = st.column_text(1);
    m.settings.shop_id = st.column_text(2);
    m.settings.password1 = st.column_text(3);
    m.settings.password2 = st.column_text(4);
    m.settings.password3 = st.column_text(5);
    auto algorithm = parse_hash_algorithm(st.column_text(6));
    if (!algorithm) {
        throw Error(ErrorKind::internal, "hash_algorithm",
                    "method " + std::to_string(m.id) + " has an unknown hash algorithm");
    }
    m.settings.hash_algorithm = *algorithm;
    m.settings.test_mode = st.column_int(7) != 0;
    m.settings.inc_curr_label = st.column_text(8);
    m.settings.gateway_url = st.column_text(9);
    m.settings.recurring = st.column_int(10) != 0;
    m.settings.test_password1 = st.column_text(11);
    m.settings.test_password2 = st.column_text(12);
    m.settings.payment_lifetime_hours = st.column_int(13);
    m.settings.receipt_sno = st.column_text(14);
    m.settings.receipt_tax = st.column_text(15);
    m.settings.receipt_payment_object = st.column_text(16);
    return m;
}

} // namespace

MethodId add_method(Store& store, const std::string& name, const MethodSettings& s) {
    sql::Transaction tx(store.db());
    MethodId id = store.add_module_method(tx, name, k_robokassa_module);
    store.db()
        .prepare("INSERT INTO robokassa_methods (method_id, shop_id, password1, password2, "
                 "password3, test_password1, test_password2, hash_algorithm, test_mode, "
                 "inc_curr_label, gateway_url, recurring, payment_lifetime, receipt_sno, "
                 "receipt_tax, receipt_payment_object) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, id)
        .bind(2, s.shop_id)
        .bind(3, s.password1)
        .bind(4, s.password2)
        .bind(5, s.password3)
        .bind(6, s.test_password1)
        .bind(7, s.test_password2)
        .bind(8, to_string(s.hash_algorithm))
        .bind(9, s.test_mode ? 1 : 0)
        .bind(10, s.inc_curr_label)
        .bind(11, s.gateway_url)
        .bind(12, s.recurring ? 1 : 0)
        .bind(13, s.payment_lifetime_hours)
        .bind(14, s.receipt_sno)
        .bind(15, s.receipt_tax)
        .bind(16, s.receipt_payment_object)
        .run();
    tx.commit();
    return id;
}

std::optional<Method> find_method(Store& store, MethodId id) {
    auto st = store.db().prepare(std::string(k_method_columns) + "AND m.id = ?");
    st.bind(1, id);
    if (!st.step()) {
        return std::nullopt;
    }
    return read_method(st);
}

std::vector<Method> list_methods(Store& store) {
    auto st = store.db().prepare(std::string(k_method_columns) + "ORDER BY m.id");
    std::vector<Method> out;
    while (st.step()) {
        out.push_back(read_method(st));
    }
    return out;
}

} // namespace rk
