// Google Benchmark microbenchmarks: rkresult's parser and
// signature path on its own, and the whole serve(handle_result) in-process
// on a temporary store. The store lives under $RK_BENCH_TMPDIR (default
// /tmp), so the serve benchmarks include that file system's fsync.
#include "billing/money.hpp"
#include "billing/store.hpp"
#include "cgi/cgi_runner.hpp"
#include "robokassa/method_store.hpp"
#include "robokassa/result_notification.hpp"
#include "robokassa/signature.hpp"
#include "util/form.hpp"
#include "util/log.hpp"

#include <benchmark/benchmark.h>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace {

const char* const k_password2 = "Bench2password";
constexpr rk::Kopecks k_amount = 99000;
constexpr int k_payments = 200000;

std::string result_body(std::int64_t id, const char* shp = "") {
    const std::string inv_id = std::to_string(id);
    const std::string out_sum = "990.000000";
    rk::ShpParams params;
    std::string extra;
    if (*shp != '\0') {
        params.push_back({"Shp_item", shp});
        extra = std::string("&Shp_item=") + shp;
    }
    std::string signature = rk::sign(
        rk::HashAlgorithm::md5, rk::result_signature_base(out_sum, inv_id, k_password2, params));
    for (char& c : signature) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return "OutSum=" + out_sum + "&InvId=" + inv_id + "&SignatureValue=" + signature +
           "&Fee=0.0&EMail=buyer%40example.com&PaymentMethod=BankCard&IncCurrLabel=BankCardPSR" +
           extra;
}

// What rkresult does with a body before it touches the store.
void BM_ParseAndVerify(benchmark::State& state) {
    const std::string body = result_body(12345, state.range(0) != 0 ? "basic" : "");
    for (auto _ : state) {
        rk::Form form = rk::parse_form(body);
        const std::string& out_sum = form.require("OutSum");
        const std::string& inv_id = form.require("InvId");
        rk::ShpParams shp = rk::collect_shp(form);
        bool ok = rk::verify_signature(rk::HashAlgorithm::md5, form.require("SignatureValue"), shp,
                                       [&](const rk::ShpParams& order) {
                                           return rk::result_signature_base(out_sum, inv_id,
                                                                            k_password2, order);
                                       });
        rk::Kopecks amount = rk::parse_amount(out_sum, "OutSum");
        if (!ok || amount != k_amount) {
            state.SkipWithError("the signature or the amount did not check out");
            break;
        }
        benchmark::DoNotOptimize(amount);
    }
}
BENCHMARK(BM_ParseAndVerify)->Arg(0)->Arg(1)->ArgName("shp");

void BM_ParseForm(benchmark::State& state) {
    const std::string body = result_body(12345);
    for (auto _ : state) {
        benchmark::DoNotOptimize(rk::parse_form(body));
    }
}
BENCHMARK(BM_ParseForm);

void BM_SignMd5(benchmark::State& state) {
    const std::string base = "990.000000:12345:" + std::string(k_password2);
    for (auto _ : state) {
        benchmark::DoNotOptimize(rk::sign(rk::HashAlgorithm::md5, base));
    }
}
BENCHMARK(BM_SignMd5);

// A temporary MGR5_ROOT with one method and k_payments payments in status 1.
class TempStore {
public:
    TempStore() {
        const char* base = std::getenv("RK_BENCH_TMPDIR");
        std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/rk-micro-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("cannot create " + pattern);
        }
        m_root = pattern;
        ::setenv("MGR5_ROOT", m_root.c_str(), 1);
        std::filesystem::create_directory(m_root + "/var");
        m_database = m_root + "/var/pmrobokassa.db";
        rk::Store store = rk::Store::open(m_database, rk::sql::OpenMode::create_if_missing, 5000);
        rk::MethodSettings settings;
        settings.shop_id = "bench";
        settings.password1 = "Bench1password";
        settings.password2 = k_password2;
        rk::MethodId method = add_method(store, "Robokassa", settings);
        rk::sql::Transaction tx(store.db());
        store.db().exec(("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                         "WHERE i < " +
                         std::to_string(k_payments) +
                         ") INSERT INTO payments (id, method_id, amount, currency, status, "
                         "created_at, updated_at) SELECT i, " +
                         std::to_string(method) + ", " + std::to_string(k_amount) +
                         ", 'RUB', 1, 0, 0 FROM n")
                            .c_str());
        tx.commit();
        rk::log::init("rkresult", 6);
    }
    TempStore(const TempStore&) = delete;
    TempStore& operator=(const TempStore&) = delete;
    ~TempStore() {
        std::error_code ignored;
        std::filesystem::remove_all(m_root, ignored);
    }

    const std::string& database() const { return m_database; }
    // The next payment no notification has credited yet.
    std::int64_t next_payment() { return ++m_used <= k_payments ? m_used : 0; }

private:
    std::string m_root;
    std::string m_database;
    std::int64_t m_used = 0;
};

TempStore& temp_store() {
    static TempStore store;
    return store;
}

rk::CgiInput post(const std::string& body) {
    rk::CgiInput input;
    input.env["REQUEST_METHOD"] = "POST";
    input.env["CONTENT_TYPE"] = "application/x-www-form-urlencoded";
    input.env["CONTENT_LENGTH"] = std::to_string(body.size());
    input.body = body;
    return input;
}

// Serves `input` as rkresult does in one process: a fresh context (the
// store opened as each process opens it). False, with the benchmark marked
// failed, unless it answers `expected`.
bool serve_result(benchmark::State& state, const TempStore& store, const rk::CgiInput& input,
                  int expected) {
    rk::CgiContext context("rkresult", rk::Config{}, store.database());
    rk::Reply reply = rk::serve(input, context, rk::handle_result, rk::ErrorStyle::plain);
    if (reply.status != expected) {
        state.SkipWithError(("serve answered " + std::to_string(reply.status)).c_str());
        return false;
    }
    return true;
}

// One CGI request's work after start-up: a valid notification for a
// payment not yet paid, the journal row, the commit.
void BM_ServeResultCredit(benchmark::State& state) {
    TempStore& store = temp_store();
    for (auto _ : state) {
        state.PauseTiming();
        std::int64_t id = store.next_payment();
        if (id == 0) {
            state.SkipWithError("out of unpaid payments");
            break;
        }
        rk::CgiInput input = post(result_body(id));
        state.ResumeTiming();
        if (!serve_result(state, store, input, 200)) {
            break;
        }
    }
}
BENCHMARK(BM_ServeResultCredit)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The same with a wrong signature: a journaled refusal (403).
void BM_ServeResultRefused(benchmark::State& state) {
    TempStore& store = temp_store();
    std::string body = result_body(1);
    body.replace(body.find("SignatureValue=") + 15, 4, "0000");
    const rk::CgiInput input = post(body);
    for (auto _ : state) {
        if (!serve_result(state, store, input, 403)) {
            break;
        }
    }
}
BENCHMARK(BM_ServeResultRefused)->Unit(benchmark::kMicrosecond)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
