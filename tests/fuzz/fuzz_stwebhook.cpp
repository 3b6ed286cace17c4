// stwebhook as a whole request through rk::serve(): CGI variables and body
// from the fuzz input (the format of cgi_fixture.hpp), a real store on a
// temporary file with two Stripe methods and payments in every interesting
// status, the reply and the store checked after every input.
//
// `HTTP_STRIPE_SIGNATURE=*` is replaced by a valid header for the body
// under the first method's secret (and the current time), so the fuzzer
// also reaches what lies behind the signature check. Any other header is a
// forgery: it must be refused, change nothing and journal at most a bounded
// prefix of the body.
#include "billing/store.hpp"
#include "cgi_fixture.hpp"
#include "fuzz_check.hpp"
#include "stripe/stripe_signature.hpp"
#include "stripe/stripe_store.hpp"
#include "stripe/webhook.hpp"
#include "util/log.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

const char* const k_secret = "whsec_fuzzfuzzfuzzfuzzfuzz1";
const char* const k_other_secret = "whsec_fuzzfuzzfuzzfuzzfuzz2";
const char* const k_secret_key = "sk_test_fuzzfuzzfuzzfuzzfuzz";

std::string g_root;
std::string g_database;
std::optional<rk::Store> g_store;
std::int64_t g_history_mark = 0;

void remove_root() {
    g_store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(g_root, ignored);
}

std::int64_t count(const char* sql) {
    auto st = g_store->db().prepare(sql);
    st.step();
    return st.column_int64(0);
}

void set_up() {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string pattern = std::string(base) + "/stfuzz-XXXXXX";
    FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr);
    g_root = pattern;
    FUZZ_CHECK(::mkdir((g_root + "/var").c_str(), 0750) == 0);
    ::setenv("MGR5_ROOT", g_root.c_str(), 1);
    g_database = g_root + "/var/pmrobokassa.db";
    g_store.emplace(rk::Store::open(g_database, rk::sql::OpenMode::create_if_missing, 1000));
    std::atexit(remove_root);

    rk::MethodId first = rk::stripe::add_stripe_method(
        *g_store, "first", {k_secret_key, "pk_test_fuzzfuzzfuzzfuzzfuzz", k_secret});
    rk::MethodId second = rk::stripe::add_stripe_method(
        *g_store, "second",
        {"sk_live_fuzzfuzzfuzzfuzzfuzz", "pk_live_fuzzfuzzfuzzfuzzfuzz", k_other_secret});
    auto add = [](rk::MethodId method, rk::Kopecks amount, const char* currency) {
        rk::NewPayment p;
        p.method_id = method;
        p.amount = amount;
        p.currency = currency;
        return g_store->add_payment(p);
    };
    add(first, 99000, "RUB");                           // 1: new
    rk::PaymentId in_pay = add(first, 150050, "RUB");   // 2: in pay
    rk::PaymentId paid = add(first, 99000, "RUB");      // 3: paid
    rk::PaymentId cancelled = add(first, 99000, "RUB"); // 4: cancelled
    add(first, 150000, "JPY");                          // 5: new, zero-decimal
    add(second, 99000, "RUB");                          // 6: the other method's
    {
        rk::sql::Transaction tx(g_store->db());
        g_store->mark_in_pay(tx, in_pay, "fuzz");
        g_store->mark_paid(tx, paid, "pi_fixture", "fixture");
        g_store->mark_cancelled(tx, cancelled, "fixture");
        tx.commit();
    }
    g_store->db().exec("CREATE TABLE fuzz_original AS "
                       "SELECT id, status, updated_at, paid_at, external_id FROM payments");
    g_history_mark = count("SELECT max(id) FROM status_history");
}

void reset() {
    g_store->db().prepare("DELETE FROM status_history WHERE id > ?").bind(1, g_history_mark).run();
    g_store->db().exec("BEGIN IMMEDIATE; DELETE FROM notifications; DELETE FROM stripe_events; "
                       "DELETE FROM stripe_sessions; "
                       "UPDATE payments SET (status, updated_at, paid_at, external_id) = "
                       "(SELECT status, updated_at, paid_at, external_id FROM fuzz_original o "
                       "WHERE o.id = payments.id); COMMIT");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (!g_store) {
        set_up();
    }
    rk::log::init("stwebhook", 2);
    rk::CgiInput input = rkfuzz::decode_input(data, size);
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    bool signed_here = false;
    if (auto it = input.env.find("HTTP_STRIPE_SIGNATURE");
        it != input.env.end() && it->second == "*") {
        it->second = "t=" + std::to_string(now) +
                     ",v1=" + rk::stripe::expected_signature(k_secret, now, input.body);
        signed_here = true;
    }
    rk::Config config;
    config.manager_url = "https://billing.example.com/billmgr";
    config.busy_timeout_ms = 1000;
    rk::Reply reply;
    {
        rk::CgiContext context("stwebhook", config, g_database);
        reply = rk::serve(input, context, rk::stripe::handle_webhook, rk::ErrorStyle::plain);
    }

    if (std::getenv("RKFUZZ_VERBOSE") != nullptr) {
        // For checking seeds: what each input was answered.
        std::fprintf(stderr, "stwebhook %d %.60s\n", reply.status,
                     reply.body.substr(0, reply.body.find('\n')).c_str());
    }
    const int s = reply.status;
    FUZZ_CHECK(s == 200 || s == 400 || s == 405 || s == 409 || s == 413);
    const std::string wire = rk::serialize(reply);
    for (const char* secret : {k_secret, k_other_secret, k_secret_key}) {
        FUZZ_CHECK(wire.find(secret) == std::string::npos ||
                   input.body.find(secret) != std::string::npos);
    }
    // Every request is journaled once, with the reply it got.
    FUZZ_CHECK(count("SELECT count(*) FROM notifications") == 1);
    FUZZ_CHECK(count("SELECT max(reply_status) FROM notifications") == s);
    const std::int64_t changed =
        count("SELECT count(*) FROM payments p JOIN fuzz_original o USING (id) "
              "WHERE p.status != o.status OR p.external_id != o.external_id");
    if (!signed_here) {
        // A forgery: refused, nothing but a bounded journal entry written.
        FUZZ_CHECK(s != 200 && s != 409);
        FUZZ_CHECK(changed == 0);
        FUZZ_CHECK(count("SELECT count(*) FROM stripe_events") == 0);
        FUZZ_CHECK(count("SELECT max(length(CAST(params AS BLOB))) FROM notifications") <=
                   1024 + 32);
        FUZZ_CHECK(count("SELECT count(*) FROM notifications WHERE payment_id IS NOT NULL") == 0);
    }
    // At most one payment credited, from a payable status, by a 200.
    FUZZ_CHECK(changed <= 1);
    if (changed == 1) {
        FUZZ_CHECK(s == 200 && reply.body == "OK credited\n");
        FUZZ_CHECK(count("SELECT count(*) FROM payments p JOIN fuzz_original o USING (id) "
                         "WHERE p.status != o.status AND p.status = 4 AND o.status IN (1, 2) "
                         "AND p.method_id = 1") == 1);
    }
    if (s != 200) {
        FUZZ_CHECK(count("SELECT count(*) FROM stripe_events") == 0);
    }
    reset();
    return 0;
}
