#include "cgi_fixture.hpp"

#include "billing/store.hpp"
#include "fuzz_check.hpp"
#include "robokassa/method_store.hpp"
#include "robokassa/signature.hpp"
#include "util/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <strings.h>
#include <sys/stat.h>
#include <vector>

namespace rkfuzz {

namespace {

const char* const k_manager_url = "https://billing.example.com/billmgr";
const std::vector<std::string> k_passwords = {"Passw0rd1md5",  "Passw0rd2md5", "Secret1sha256",
                                              "Secret2sha256", "Key1sha512x",  "Key2sha512x",
                                              "Key3sha512x"};

std::string g_root;
std::string g_database;
std::optional<rk::Store> g_store; // the fixture's own connection
std::int64_t g_history_mark = 0;

// CONTENT_LENGTH as rk::read_cgi_input reads it: digits only, at most 18.
std::optional<std::size_t> content_length(const rk::CgiInput& input) {
    const std::string* text = input.var("CONTENT_LENGTH");
    if (text == nullptr || text->empty() || text->size() > 18 ||
        text->find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    return std::stoull(*text);
}

// Replaces the first `name=*` parameter of form-encoded `text` with
// `name=value`; true when there was one.
bool replace_placeholder(std::string& text, const std::string& name, const std::string& value) {
    const std::string token = name + "=*";
    for (std::size_t at = text.find(token); at != std::string::npos;
         at = text.find(token, at + 1)) {
        std::size_t end = at + token.size();
        if ((at == 0 || text[at - 1] == '&') && (end == text.size() || text[end] == '&')) {
            text.replace(at + name.size() + 1, 1, value);
            return true;
        }
    }
    return false;
}

// The value a `*` placeholder stands for in this request, if any.
std::optional<std::string> placeholder_value(const std::string& program,
                                             const rk::CgiRequest& request) {
    try {
        if (program == "rkpayment") {
            const std::string* elid = request.find("elid");
            if (elid == nullptr) {
                return std::nullopt;
            }
            return rk::payment_link_key(g_store->link_secret(),
                                        rk::parse_payment_id(*elid, "elid"));
        }
        const std::string* out_sum = request.find("OutSum");
        const std::string* inv_id = request.find("InvId");
        if (out_sum == nullptr || inv_id == nullptr) {
            return std::nullopt;
        }
        auto payment = g_store->find_payment(rk::parse_payment_id(*inv_id, "InvId"));
        auto method = payment ? find_method(*g_store, payment->method_id) : std::nullopt;
        if (!method) {
            return std::nullopt;
        }
        const rk::MethodSettings& s = method->settings;
        rk::ShpParams shp = rk::collect_shp(request.params);
        std::string base = program == "rkresult"
                               ? rk::result_signature_base(*out_sum, *inv_id, s.password2, shp)
                               : rk::success_signature_base(*out_sum, *inv_id, s.password1, shp);
        return rk::sign(s.hash_algorithm, base);
    } catch (const rk::Error&) {
        return std::nullopt;
    }
}

void fill_placeholders(const std::string& program, rk::CgiInput& input) {
    const std::string name = program == "rkpayment" ? "key" : "SignatureValue";
    rk::CgiRequest request;
    try {
        request = rk::parse_cgi_request(input);
    } catch (const rk::Error&) {
        return; // refused before any signature is looked at
    }
    const std::string* given = request.find(name.c_str());
    if (given == nullptr || *given != "*") {
        return;
    }
    auto value = placeholder_value(program, request);
    if (!value) {
        return;
    }
    std::size_t old_size = input.body.size();
    if (auto query = input.env.find("QUERY_STRING");
        query != input.env.end() && replace_placeholder(query->second, name, *value)) {
        return;
    }
    if (replace_placeholder(input.body, name, *value) && content_length(input) == old_size) {
        input.env["CONTENT_LENGTH"] = std::to_string(input.body.size());
    }
}

void exec(const char* sql) {
    g_store->db().exec(sql);
}

void remove_root() {
    g_store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(g_root, ignored);
}

struct PaymentRow {
    std::int64_t id, status, original_status, history_rows;
};

// Payments whose status or refunds differ from the fixture's.
std::vector<PaymentRow> changed_payments() {
    auto st = g_store->db().prepare(
        "SELECT p.id, p.status, o.status, "
        "(SELECT count(*) FROM status_history h WHERE h.payment_id = p.id AND h.id > ?) "
        "FROM payments p JOIN fuzz_original o USING (id) "
        "WHERE p.status != o.status OR p.refunded != o.refunded OR "
        "EXISTS (SELECT 1 FROM status_history h WHERE h.payment_id = p.id AND h.id > ?)");
    st.bind(1, g_history_mark).bind(2, g_history_mark);
    std::vector<PaymentRow> out;
    while (st.step()) {
        out.push_back(
            {st.column_int64(0), st.column_int64(1), st.column_int64(2), st.column_int64(3)});
    }
    return out;
}

const std::string* header(const rk::Reply& reply, const char* name) {
    for (const auto& [key, value] : reply.headers) {
        if (strcasecmp(key.c_str(), name) == 0) {
            return &value;
        }
    }
    return nullptr;
}

bool is_digits(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

bool sent(const rk::CgiInput& input, const std::string& text) {
    if (input.body.find(text) != std::string::npos) {
        return true;
    }
    for (const auto& [name, value] : input.env) {
        if (name.find(text) != std::string::npos || value.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// No query string, no body: what rkresult refuses without journaling.
bool carries_nothing(const rk::CgiInput& input) {
    auto query = input.env.find("QUERY_STRING");
    return (query == input.env.end() || query->second.empty()) && input.body.empty() &&
           !input.body_too_large;
}

void check(const std::string& program, const rk::CgiInput& input, const rk::Reply& reply) {
    // The reply is well-formed: no header split, a status the contract
    // names, and never a 5xx while the store is healthy.
    std::string wire = rk::serialize(reply);
    const int s = reply.status;
    FUZZ_CHECK(s == 200 || s == 302 || s == 400 || s == 403 || s == 404 || s == 405 || s == 409 ||
               s == 413);
    const std::string* cache = header(reply, "Cache-Control");
    const std::string* nosniff = header(reply, "X-Content-Type-Options");
    FUZZ_CHECK(cache != nullptr && *cache == "no-store");
    FUZZ_CHECK(nosniff != nullptr && *nosniff == "nosniff");
    if (reply.content_type.rfind("text/html", 0) == 0) {
        FUZZ_CHECK(header(reply, "Content-Security-Policy") != nullptr);
    }
    if (s == 302) {
        const std::string* location = header(reply, "Location");
        FUZZ_CHECK(location != nullptr);
        std::string prefix = std::string(k_manager_url) + "?func=payment." +
                             (program == "rksuccess" ? "success" : "fail") + "&elid=";
        FUZZ_CHECK(program == "rksuccess" || program == "rkfail");
        FUZZ_CHECK(location->rfind(prefix, 0) == 0 && is_digits(location->substr(prefix.size())));
    }
    for (const std::string& password : k_passwords) {
        // Unless the caller sent it (an error may quote a parameter name).
        FUZZ_CHECK(wire.find(password) == std::string::npos || sent(input, password));
    }

    // The store changed only as the reply says.
    const bool ok = reply.body.rfind("OK", 0) == 0;
    FUZZ_CHECK(!ok || (program == "rkresult" && s == 200));
    std::vector<PaymentRow> changed = changed_payments();
    std::int64_t journal_rows = 0;
    {
        auto st = g_store->db().prepare(
            "SELECT count(*), max(reply_status), max(reply_body) FROM notifications");
        st.step();
        journal_rows = st.column_int64(0);
        if (program == "rkresult" && carries_nothing(input)) {
            // Not a notification: refused without opening the store.
            FUZZ_CHECK(journal_rows == 0 && s >= 400 && s < 500);
        } else if (program == "rkresult") {
            // Every notification is journaled with the reply it got.
            FUZZ_CHECK(journal_rows == 1);
            FUZZ_CHECK(st.column_int64(1) == s && st.column_text(2) == reply.body);
        }
    }
    if (program != "rkresult") {
        FUZZ_CHECK(journal_rows == 0);
    }
    if (program == "rkresult") {
        if (s == 200) {
            FUZZ_CHECK(ok && is_digits(reply.body.substr(2)));
            auto payment = g_store->find_payment(std::stoll(reply.body.substr(2)));
            FUZZ_CHECK(payment && !rk::is_payable(payment->status));
        }
        FUZZ_CHECK(changed.size() <= 1);
        for (const PaymentRow& p : changed) {
            FUZZ_CHECK(s == 200 && reply.body == "OK" + std::to_string(p.id));
            FUZZ_CHECK(p.status == 4 && (p.original_status == 1 || p.original_status == 2));
            FUZZ_CHECK(p.history_rows == 1);
        }
    } else if (program == "rkpayment") {
        FUZZ_CHECK(changed.size() <= 1);
        for (const PaymentRow& p : changed) {
            FUZZ_CHECK(s == 200 && p.status == 2 && p.original_status == 1 && p.history_rows == 1);
        }
    } else {
        FUZZ_CHECK(changed.empty());
    }
}

void reset() {
    exec("BEGIN IMMEDIATE");
    exec("DELETE FROM notifications");
    g_store->db().prepare("DELETE FROM status_history WHERE id > ?").bind(1, g_history_mark).run();
    exec("UPDATE payments SET (status, updated_at, paid_at, external_id, refunded) = "
         "(SELECT status, updated_at, paid_at, external_id, refunded FROM fuzz_original o "
         "WHERE o.id = payments.id)");
    exec("COMMIT");
}

rk::MethodSettings settings(const char* shop, std::size_t first_password,
                            rk::HashAlgorithm algorithm, bool test_mode) {
    rk::MethodSettings s;
    s.shop_id = shop;
    s.password1 = k_passwords[first_password];
    s.password2 = k_passwords[first_password + 1];
    s.hash_algorithm = algorithm;
    s.test_mode = test_mode;
    return s;
}

rk::PaymentId add_payment(rk::MethodId method, rk::Kopecks amount,
                          std::optional<rk::PaymentId> id = std::nullopt) {
    rk::NewPayment p;
    p.id = id;
    p.method_id = method;
    p.amount = amount;
    p.description = "Hosting <b>\"&'</b> " + std::to_string(amount);
    p.email = "client@example.com";
    return g_store->add_payment(p);
}

} // namespace

rk::CgiInput decode_input(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::size_t split = text.find("\n\n");
    std::string_view head = text.substr(0, split);
    std::string_view rest = split == std::string_view::npos ? "" : text.substr(split + 2);
    rk::CgiInput input;
    while (!head.empty()) {
        std::size_t end = head.find('\n');
        std::string_view line = head.substr(0, end);
        std::size_t eq = line.find('=');
        input.env[std::string(line.substr(0, eq))] =
            eq == std::string_view::npos ? "" : std::string(line.substr(eq + 1));
        head = end == std::string_view::npos ? "" : head.substr(end + 1);
    }
    if (auto it = input.env.find("CONTENT_LENGTH"); it != input.env.end() && it->second == "*") {
        it->second = std::to_string(rest.size());
    }
    auto length = content_length(input);
    if (length && *length > rk::k_max_body_bytes) {
        input.body_too_large = true;
    } else if (length) {
        input.body = std::string(rest.substr(0, *length));
    }
    return input;
}

Installation& Installation::get() {
    static Installation installation;
    return installation;
}

Installation::Installation() {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string pattern = std::string(base) + "/rkfuzz-XXXXXX";
    FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr);
    g_root = pattern;
    FUZZ_CHECK(::mkdir((g_root + "/var").c_str(), 0750) == 0);
    ::setenv("MGR5_ROOT", g_root.c_str(), 1);
    g_database = g_root + "/var/pmrobokassa.db";
    g_store.emplace(rk::Store::open(g_database, rk::sql::OpenMode::create_if_missing, 1000));
    std::atexit(remove_root);

    rk::MethodId md5 =
        add_method(*g_store, "md5 test", settings("shop_md5", 0, rk::HashAlgorithm::md5, true));
    rk::MethodId sha256 = add_method(*g_store, "sha256 live",
                                     settings("shop_sha256", 2, rk::HashAlgorithm::sha256, false));
    rk::MethodSettings s = settings("shop_sha512", 4, rk::HashAlgorithm::sha512, false);
    s.password3 = k_passwords[6];
    s.gateway_url = "https://pay.example.com/Merchant/Index.aspx";
    s.inc_curr_label = "BankCard";
    s.recurring = true;
    rk::MethodId sha512 = add_method(*g_store, "sha512 recurring", s);

    add_payment(md5, 99000);                                       // 1: new
    rk::PaymentId in_pay = add_payment(md5, 150050);               // 2: in pay
    add_payment(sha256, 1);                                        // 3: new, 0.01
    rk::PaymentId paid = add_payment(sha256, 99000);               // 4: paid
    rk::PaymentId cancelled = add_payment(sha512, 99000);          // 5: cancelled
    rk::PaymentId fraud = add_payment(sha512, 500000);             // 6: fraud
    add_payment(sha512, 100);                                      // 7: new
    rk::PaymentId refunded = add_payment(md5, 99000);              // 8: refunded
    add_payment(sha256, 9223372036854775807, 9223372036854775807); // the largest id and amount
    {
        rk::sql::Transaction tx(g_store->db());
        g_store->mark_in_pay(tx, in_pay, "fuzz");
        g_store->mark_paid(tx, paid, "", "fixture");
        g_store->mark_cancelled(tx, cancelled, "fixture");
        g_store->mark_fraud(tx, fraud, "fixture");
        g_store->mark_paid(tx, refunded, "", "fixture");
        g_store->add_refund(tx, refunded, 99000, "fixture");
        tx.commit();
    }
    exec("CREATE TABLE fuzz_original AS "
         "SELECT id, status, updated_at, paid_at, external_id, refunded FROM payments");
    auto st = g_store->db().prepare("SELECT max(id) FROM status_history");
    st.step();
    g_history_mark = st.column_int64(0);
}

rk::Reply Installation::serve(const char* program, rk::CgiInput input, rk::Handler handler,
                              rk::ErrorStyle style) {
    rk::log::init(program, 2);
    fill_placeholders(program, input);
    rk::Config config;
    config.manager_url = k_manager_url;
    config.busy_timeout_ms = 1000;
    rk::Reply reply;
    {
        rk::CgiContext context(program, config, g_database);
        reply = rk::serve(input, context, handler, style);
    }
    if (std::getenv("RKFUZZ_VERBOSE") != nullptr) {
        // For checking seeds: what each input was answered.
        std::fprintf(stderr, "%s %d %.60s\n", program, reply.status,
                     reply.body.substr(0, reply.body.find('\n')).c_str());
    }
    check(program, input, reply);
    reset();
    return reply;
}

} // namespace rkfuzz
