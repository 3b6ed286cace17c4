// core/store.hpp under contention: many processes, one SQLite file.
//
// Robokassa retries ResultURL and checkpay runs beside it, so several
// processes may try to credit the same payment at the same moment. The
// store's answer must be: each payment credited exactly once, and no
// process ever sees SQLITE_BUSY while another holds the lock briefly.
#include "billing/store.hpp"
#include "robokassa/method_store.hpp"
#include "unit_support.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <gtest/gtest.h>
#include <numeric>
#include <random>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

using rk::PaymentId;
using rk::PaymentStatus;
using rk::sql::OpenMode;

namespace {

constexpr int k_processes = 32;
constexpr int k_payments = 50;
constexpr int k_busy_timeout_ms = 10000;

// What a child writes to its pipe when it is done.
struct ChildReport {
    int applied = 0;
    int already = 0;
    int refused = 0;
    int errors = 0;
    char first_error[200] = {};
};

bool write_all(int fd, const void* data, std::size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

bool read_all(int fd, void* data, std::size_t size) {
    char* p = static_cast<char*>(data);
    while (size > 0) {
        ssize_t n = ::read(fd, p, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// What one child of race() sent back, and how it ended.
template <typename Report>
struct Raced {
    Report report{};
    bool got = false;    // the whole report arrived
    bool reaped = false; // waitpid found the child
    int status = 0;
};

// Forks k_processes children that run body(index, wait_for_start) at once:
// each prepares, calls wait_for_start(), and is released together with
// the others when the parent closes the start pipe. body returns the
// (trivially copyable) Report sent back and the child's exit code.
template <typename Report, typename Body>
std::vector<Raced<Report>> race(Body body) {
    int start[2];
    if (::pipe(start) != 0) {
        throw std::runtime_error("pipe failed");
    }
    std::vector<pid_t> pids;
    std::vector<int> reports;
    std::fflush(nullptr);
    for (int i = 0; i < k_processes; ++i) {
        int report[2];
        if (::pipe(report) != 0) {
            throw std::runtime_error("pipe failed");
        }
        pid_t pid = ::fork();
        if (pid < 0) {
            throw std::runtime_error("fork failed");
        }
        if (pid == 0) {
            ::close(start[1]);
            ::close(report[0]);
            auto wait_for_start = [&] {
                char go = 0;
                // Blocks until the parent closes its end.
                (void)::read(start[0], &go, 1);
            };
            auto [result, code] = body(i, wait_for_start);
            bool sent = write_all(report[1], &result, sizeof result);
            ::_exit(sent ? code : 2);
        }
        ::close(report[1]);
        pids.push_back(pid);
        reports.push_back(report[0]);
    }
    ::close(start[0]);
    ::close(start[1]); // go

    std::vector<Raced<Report>> raced(k_processes);
    for (int i = 0; i < k_processes; ++i) {
        raced[i].got = read_all(reports[i], &raced[i].report, sizeof(Report));
        ::close(reports[i]);
        raced[i].reaped = ::waitpid(pids[i], &raced[i].status, 0) == pids[i];
    }
    return raced;
}

// One racer: open its own Store, try to mark every payment paid in its own
// order, one transaction each.
std::pair<ChildReport, int> credit_all(int index, const std::string& path,
                                       const std::vector<PaymentId>& ids,
                                       const std::function<void()>& wait_for_start) {
    ChildReport report;
    std::vector<PaymentId> order = ids;
    std::mt19937 rng(static_cast<std::mt19937::result_type>(index) * 7919u + 1u);
    std::shuffle(order.begin(), order.end(), rng);
    if (index % 2 == 1) {
        std::reverse(order.begin(), order.end());
    }
    wait_for_start();
    try {
        rk::Store store = rk::Store::open(path, OpenMode::existing, k_busy_timeout_ms);
        for (PaymentId id : order) {
            try {
                rk::sql::Transaction tx(store.db());
                rk::Transition t =
                    store.mark_paid(tx, id, "op-" + std::to_string(index), "concurrency");
                tx.commit();
                report.applied += t == rk::Transition::applied ? 1 : 0;
                report.already += t == rk::Transition::already ? 1 : 0;
                report.refused += t == rk::Transition::refused ? 1 : 0;
            } catch (const std::exception& e) {
                if (report.errors++ == 0) {
                    std::strncpy(report.first_error, e.what(), sizeof report.first_error - 1);
                }
            }
        }
    } catch (const std::exception& e) {
        if (report.errors++ == 0) {
            std::strncpy(report.first_error, e.what(), sizeof report.first_error - 1);
        }
    }
    return {report, report.errors == 0 ? 0 : 1};
}

} // namespace

TEST(StoreConcurrency, ProcessesRacingToMarkPaidCreditEachPaymentOnce) {
    rk::test::TempDir dir;
    const std::string path = dir / "store.db";
    std::vector<PaymentId> ids;
    {
        rk::Store store = rk::Store::open(path, OpenMode::create_if_missing, k_busy_timeout_ms);
        rk::MethodSettings settings;
        settings.shop_id = "demo";
        settings.password1 = "Passw0rdOne";
        settings.password2 = "Passw0rdTwo";
        rk::NewPayment p;
        p.method_id = add_method(store, "Robokassa", settings);
        p.amount = 99000;
        for (int i = 0; i < k_payments; ++i) {
            ids.push_back(store.add_payment(p));
        }
        // Half start in status 2, as after rkpayment; half in status 1.
        for (int i = 0; i < k_payments; i += 2) {
            rk::sql::Transaction tx(store.db());
            store.mark_in_pay(tx, ids[i], "test");
            tx.commit();
        }
    } // closed: no connection crosses the fork

    auto raced = race<ChildReport>([&](int i, const std::function<void()>& wait_for_start) {
        return credit_all(i, path, ids, wait_for_start);
    });

    int total_applied = 0;
    int total_already = 0;
    for (int i = 0; i < k_processes; ++i) {
        const ChildReport& report = raced[i].report;
        int status = raced[i].status;
        ASSERT_TRUE(raced[i].reaped) << "child " << i;
        ASSERT_TRUE(raced[i].got) << "child " << i << " sent no report";
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << i;
        EXPECT_EQ(report.errors, 0) << "child " << i << ": " << report.first_error;
        EXPECT_EQ(report.refused, 0) << "child " << i;
        EXPECT_EQ(report.applied + report.already + report.errors, k_payments) << "child " << i;
        total_applied += report.applied;
        total_already += report.already;
    }
    EXPECT_EQ(total_applied, k_payments);
    EXPECT_EQ(total_already, k_payments * (k_processes - 1));

    rk::Store store = rk::Store::open(path, OpenMode::existing, k_busy_timeout_ms);
    for (PaymentId id : ids) {
        EXPECT_EQ(store.find_payment(id)->status, PaymentStatus::paid) << id;
        EXPECT_EQ(store.count_transitions_to(id, PaymentStatus::paid), 1) << id;
    }
    auto st = store.db().prepare("SELECT count(*) FROM status_history WHERE to_status = 4");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_int(0), k_payments);
}

// A fresh installation where the first requests arrive together: every
// process creates-or-opens the same new file and runs the migration.
TEST(StoreConcurrency, ProcessesOpeningAFreshStoreMigrateItOnce) {
    rk::test::TempDir dir;
    const std::string path = dir / "fresh.db";
    struct SecretReport {
        char hex[65] = {}; // the link secret, or the error
    };
    auto raced = race<SecretReport>([&](int, const std::function<void()>& wait_for_start) {
        wait_for_start();
        SecretReport report;
        int code = 0;
        try {
            rk::Store store = rk::Store::open(path, OpenMode::create_if_missing, k_busy_timeout_ms);
            std::string hex = rk::to_hex(store.link_secret());
            std::strncpy(report.hex, hex.c_str(), sizeof report.hex - 1);
        } catch (const std::exception& e) {
            std::strncpy(report.hex, e.what(), sizeof report.hex - 1);
            code = 1;
        }
        return std::make_pair(report, code);
    });

    std::vector<std::string> secrets;
    for (int i = 0; i < k_processes; ++i) {
        int status = raced[i].status;
        ASSERT_TRUE(raced[i].reaped) << "child " << i;
        ASSERT_TRUE(raced[i].got) << "child " << i << " sent no report";
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << "child " << i << ": " << raced[i].report.hex;
        secrets.emplace_back(raced[i].report.hex);
    }
    // One migration, one secret: every process saw the same one.
    for (const std::string& secret : secrets) {
        EXPECT_EQ(secret, secrets.front());
    }
    rk::Store store = rk::Store::open(path, OpenMode::existing, k_busy_timeout_ms);
    EXPECT_EQ(rk::to_hex(store.link_secret()), secrets.front());
    auto st = store.db().prepare("SELECT count(*) FROM settings WHERE key = 'link_secret'");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_int(0), 1);
}
