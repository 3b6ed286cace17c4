// core/store.hpp and core/sqlite.hpp: the billing store on real SQLite files.
#include "billing/store.hpp"
#include "robokassa/method_store.hpp"
#include "unit_support.hpp"
#include "util/paths.hpp"

#include <gtest/gtest.h>
#include <limits>
#include <sys/stat.h>

using rk::PaymentId;
using rk::PaymentStatus;
using rk::Transition;
using rk::sql::OpenMode;
using rk::test::error_from;

namespace {

constexpr PaymentId k_max_id = std::numeric_limits<PaymentId>::max();

rk::MethodSettings method_settings() {
    rk::MethodSettings s;
    s.shop_id = "demo";
    s.password1 = "Passw0rdOne";
    s.password2 = "Passw0rdTwo";
    s.password3 = "Passw0rdThree";
    s.hash_algorithm = rk::HashAlgorithm::sha256;
    s.test_mode = true;
    s.inc_curr_label = "BankCard";
    s.gateway_url = "http://127.0.0.1:8080/pay";
    s.recurring = true;
    return s;
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        throw std::runtime_error("cannot stat " + path);
    }
    return st.st_mode & 07777;
}

class StoreTest : public ::testing::Test {
protected:
    StoreTest() : m_store(rk::Store::open(m_dir / "store.db", OpenMode::create_if_missing, 1000)) {
        m_method = add_method(m_store, "Robokassa", method_settings());
    }

    PaymentId add_payment(rk::Kopecks amount = 99000) {
        rk::NewPayment p;
        p.method_id = m_method;
        p.amount = amount;
        return m_store.add_payment(p);
    }

    PaymentStatus status_of(PaymentId id) { return m_store.find_payment(id).value().status; }

    // Runs `f` in its own committed transaction.
    template <typename F>
    Transition committed(F f) {
        rk::sql::Transaction tx(m_store.db());
        Transition result = f(tx);
        tx.commit();
        return result;
    }
    Transition in_pay(PaymentId id) {
        return committed([&](auto& tx) { return m_store.mark_in_pay(tx, id, "test"); });
    }
    Transition paid(PaymentId id, const std::string& external_id = "op-1") {
        return committed([&](auto& tx) { return m_store.mark_paid(tx, id, external_id, "test"); });
    }
    Transition cancelled(PaymentId id) {
        return committed([&](auto& tx) { return m_store.mark_cancelled(tx, id, "test"); });
    }
    Transition fraud(PaymentId id) {
        return committed([&](auto& tx) { return m_store.mark_fraud(tx, id, "test"); });
    }
    Transition refund(PaymentId id, rk::Kopecks amount) {
        return committed([&](auto& tx) { return m_store.add_refund(tx, id, amount, "test"); });
    }

    std::int64_t count_rows(const std::string& table) {
        auto st = m_store.db().prepare("SELECT count(*) FROM " + table);
        st.step();
        return st.column_int64(0);
    }

    rk::test::TempDir m_dir;
    rk::Store m_store;
    rk::MethodId m_method = 0;
};

} // namespace

// ---- Opening --------------------------------------------------------------

class StoreOpen : public rk::test::Mgr5RootTest {};

TEST_F(StoreOpen, CreatesVarAndTheFileWithPrivateModes) {
    const mode_t old_umask = ::umask(022);
    {
        rk::Store store = rk::Store::open_default(OpenMode::create_if_missing, 1000);
        add_method(store, "m", method_settings());
    }
    ::umask(old_umask);
    EXPECT_EQ(rk::database_path(), m_root / "var/pmrobokassa.db");
    EXPECT_EQ(mode_of(m_root / "var"), 0750u);
    EXPECT_EQ(mode_of(m_root / "var/pmrobokassa.db"), 0640u);
}

TEST_F(StoreOpen, UsesWalAndSetsTheSchemaVersion) {
    rk::Store store = rk::Store::open_default(OpenMode::create_if_missing, 1000);
    auto journal_mode = store.db().prepare("PRAGMA journal_mode");
    ASSERT_TRUE(journal_mode.step());
    EXPECT_EQ(journal_mode.column_text(0), "wal");
    auto version = store.db().prepare("PRAGMA user_version");
    ASSERT_TRUE(version.step());
    EXPECT_GT(version.column_int(0), 0);
    auto foreign_keys = store.db().prepare("PRAGMA foreign_keys");
    ASSERT_TRUE(foreign_keys.step());
    EXPECT_EQ(foreign_keys.column_int(0), 1);
}

TEST_F(StoreOpen, ReopeningKeepsTheData) {
    const std::string path = m_root / "store.db";
    PaymentId id = 0;
    std::string secret;
    {
        rk::Store store = rk::Store::open(path, OpenMode::create_if_missing, 1000);
        rk::NewPayment p;
        p.method_id = add_method(store, "Robokassa", method_settings());
        p.amount = 12345;
        p.description = "VPS «Старт»";
        id = store.add_payment(p);
        secret = store.link_secret();
    }
    rk::Store store = rk::Store::open(path, OpenMode::existing, 1000);
    auto payment = store.find_payment(id);
    ASSERT_TRUE(payment);
    EXPECT_EQ(payment->amount, 12345);
    EXPECT_EQ(payment->description, "VPS «Старт»");
    EXPECT_EQ(list_methods(store).size(), 1u);
    EXPECT_EQ(store.link_secret(), secret);
}

TEST_F(StoreOpen, RefusesACorruptFileAndLeavesItAlone) {
    const std::string path = m_root / "store.db";
    std::string garbage;
    for (int i = 0; i < 4096; ++i) {
        garbage += static_cast<char>((i * 37 + 11) & 0xff);
    }
    rk::test::write_file(path, garbage);
    for (OpenMode mode : {OpenMode::create_if_missing, OpenMode::existing}) {
        auto error = error_from([&] { rk::Store::open(path, mode, 1000); });
        ASSERT_TRUE(error);
        EXPECT_NE(error->kind(), rk::ErrorKind::bad_input);
        EXPECT_EQ(rk::test::read_file(path), garbage);
    }
}

TEST_F(StoreOpen, RefusesATextFileAndLeavesItAlone) {
    const std::string path = m_root / "store.db";
    const std::string text = "this is not a database, it is somebody's notes\n";
    rk::test::write_file(path, text);
    EXPECT_TRUE(error_from([&] { rk::Store::open(path, OpenMode::create_if_missing, 1000); }));
    EXPECT_EQ(rk::test::read_file(path), text);
}

TEST_F(StoreOpen, ExistingModeOnAMissingFileFailsAndCreatesNothing) {
    const std::string path = m_root / "missing.db";
    auto error = error_from([&] { rk::Store::open(path, OpenMode::existing, 1000); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), rk::ErrorKind::store_unavailable);
    EXPECT_FALSE(rk::test::exists(path));

    error = error_from([] { rk::Store::open_default(OpenMode::existing, 1000); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), rk::ErrorKind::store_unavailable);
    EXPECT_FALSE(rk::test::exists(m_root / "var"));
}

TEST_F(StoreOpen, AnUnwritableDirectoryIsStoreUnavailable) {
    rk::test::write_file(m_root / "file", "");
    auto error = error_from(
        [&] { rk::Store::open(m_root / "file/store.db", OpenMode::create_if_missing, 1000); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), rk::ErrorKind::store_unavailable);
}

TEST_F(StoreOpen, ExistingModeRefusesAnEmptyFileAndWritesNothing) {
    const std::string path = m_root / "store.db";
    rk::test::write_file(path, "");
    auto error = error_from([&] { rk::Store::open(path, OpenMode::existing, 1000); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), rk::ErrorKind::store_unavailable);
    EXPECT_EQ(rk::test::read_file(path), "");
    EXPECT_FALSE(rk::test::exists(path + "-wal"));
}

TEST_F(StoreOpen, ExistingModeRefusesAnotherProgramsDatabase) {
    const std::string path = m_root / "other.db";
    {
        auto db = rk::sql::Database::open(path, OpenMode::create_if_missing, 1000);
        db.exec("CREATE TABLE notes (text TEXT)");
    }
    const std::string before = rk::test::read_file(path);
    auto error = error_from([&] { rk::Store::open(path, OpenMode::existing, 1000); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), rk::ErrorKind::store_unavailable);
    EXPECT_EQ(rk::test::read_file(path), before);
}

// ---- Methods and payments -------------------------------------------------

TEST_F(StoreTest, MethodRoundTrip) {
    auto method = find_method(m_store, m_method);
    ASSERT_TRUE(method);
    const rk::MethodSettings expected = method_settings();
    EXPECT_EQ(method->name, "Robokassa");
    EXPECT_EQ(method->settings.shop_id, expected.shop_id);
    EXPECT_EQ(method->settings.password1, expected.password1);
    EXPECT_EQ(method->settings.password2, expected.password2);
    EXPECT_EQ(method->settings.password3, expected.password3);
    EXPECT_EQ(method->settings.hash_algorithm, expected.hash_algorithm);
    EXPECT_EQ(method->settings.test_mode, expected.test_mode);
    EXPECT_EQ(method->settings.inc_curr_label, expected.inc_curr_label);
    EXPECT_EQ(method->settings.gateway_url, expected.gateway_url);
    EXPECT_EQ(method->settings.recurring, expected.recurring);
    EXPECT_FALSE(find_method(m_store, m_method + 1));
}

TEST_F(StoreTest, PaymentRoundTrip) {
    rk::NewPayment p;
    p.method_id = m_method;
    p.amount = 150050;
    p.currency = "USD";
    p.description = "Хостинг <VPS> & \"домен\"";
    p.email = "client@example.com";
    p.receipt = R"({"sno":"osn","items":[]})";
    PaymentId id = m_store.add_payment(p);
    auto payment = m_store.find_payment(id);
    ASSERT_TRUE(payment);
    EXPECT_EQ(payment->id, id);
    EXPECT_EQ(payment->method_id, m_method);
    EXPECT_EQ(payment->amount, 150050);
    EXPECT_EQ(payment->currency, "USD");
    EXPECT_EQ(payment->description, p.description);
    EXPECT_EQ(payment->email, p.email);
    EXPECT_EQ(payment->receipt, p.receipt);
    EXPECT_EQ(payment->status, PaymentStatus::created);
    EXPECT_EQ(payment->refunded, 0);
    EXPECT_FALSE(payment->paid_at);
    EXPECT_FALSE(payment->parent_id);
    EXPECT_GT(payment->created_at, 0);
    EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::created), 1);
}

TEST_F(StoreTest, UnknownMethodIsNotFound) {
    rk::NewPayment p;
    p.method_id = m_method + 100;
    p.amount = 100;
    auto error = error_from([&] { m_store.add_payment(p); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), rk::ErrorKind::not_found);
    EXPECT_TRUE(m_store.list_payments(std::nullopt).empty());
}

TEST_F(StoreTest, ExplicitIdIsUsedAndAutoIdsFollowIt) {
    rk::NewPayment p;
    p.id = 1000;
    p.method_id = m_method;
    p.amount = 100;
    EXPECT_EQ(m_store.add_payment(p), 1000);
    EXPECT_EQ(add_payment(), 1001);
}

TEST_F(StoreTest, TakenIdIsAConflictAndChangesNothing) {
    PaymentId id = add_payment(500);
    rk::NewPayment p;
    p.id = id;
    p.method_id = m_method;
    p.amount = 700;
    auto error = error_from([&] { m_store.add_payment(p); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), rk::ErrorKind::conflict);
    EXPECT_EQ(m_store.find_payment(id)->amount, 500);
    EXPECT_EQ(m_store.list_payments(std::nullopt).size(), 1u);
}

TEST_F(StoreTest, LargestIdWorksThenAutoIdIsRefusedCleanly) {
    rk::NewPayment p;
    p.id = k_max_id;
    p.method_id = m_method;
    p.amount = 100;
    EXPECT_EQ(m_store.add_payment(p), k_max_id);
    ASSERT_TRUE(m_store.find_payment(k_max_id));
    EXPECT_EQ(paid(k_max_id), Transition::applied);

    auto error = error_from([&] { add_payment(); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), rk::ErrorKind::conflict);
    EXPECT_EQ(m_store.list_payments(std::nullopt).size(), 1u);
    EXPECT_FALSE(m_store.db().in_transaction());
}

TEST_F(StoreTest, ListsPaymentsByStatus) {
    PaymentId a = add_payment();
    PaymentId b = add_payment();
    PaymentId c = add_payment();
    in_pay(b);
    paid(c);
    EXPECT_EQ(m_store.list_payments(std::nullopt).size(), 3u);
    auto created = m_store.list_payments(PaymentStatus::created);
    ASSERT_EQ(created.size(), 1u);
    EXPECT_EQ(created[0].id, a);
    auto in_pay_list = m_store.list_payments(PaymentStatus::in_pay);
    ASSERT_EQ(in_pay_list.size(), 1u);
    EXPECT_EQ(in_pay_list[0].id, b);
    EXPECT_TRUE(m_store.list_payments(PaymentStatus::cancelled).empty());
}

TEST_F(StoreTest, PanelInPayListIsKeptPerIdAndHonoursTheMinimumAge) {
    // Panel mode's ids are BILLmanager's: no row in our payments table.
    {
        rk::sql::Transaction tx(m_store.db());
        m_store.remember_panel_in_pay(tx, 9001);
        m_store.remember_panel_in_pay(tx, 9002);
        m_store.remember_panel_in_pay(tx, 9001); // a second visit of the link
        tx.commit();
    }
    EXPECT_EQ(m_store.panel_in_pay(0), (std::vector<PaymentId>{9001, 9002}));
    EXPECT_TRUE(m_store.panel_in_pay(3600).empty());
    {
        rk::sql::Transaction tx(m_store.db());
        m_store.forget_panel_in_pay(tx, 9001);
        m_store.forget_panel_in_pay(tx, 9003); // never remembered: nothing to do
        tx.commit();
    }
    EXPECT_EQ(m_store.panel_in_pay(0), (std::vector<PaymentId>{9002}));
    {
        rk::sql::Transaction tx(m_store.db()); // rolled back: nothing half-written
        m_store.forget_panel_in_pay(tx, 9002);
    }
    EXPECT_EQ(m_store.panel_in_pay(0), (std::vector<PaymentId>{9002}));
}

TEST_F(StoreTest, StaleInPayHonoursTheMinimumAge) {
    add_payment();
    PaymentId b = add_payment();
    in_pay(b);
    auto stale = m_store.stale_in_pay(0);
    ASSERT_EQ(stale.size(), 1u);
    EXPECT_EQ(stale[0].id, b);
    EXPECT_TRUE(m_store.stale_in_pay(3600).empty());
}

// ---- Transitions ----------------------------------------------------------

TEST_F(StoreTest, NewToInPayIsApplied) {
    PaymentId id = add_payment();
    EXPECT_EQ(in_pay(id), Transition::applied);
    EXPECT_EQ(status_of(id), PaymentStatus::in_pay);
    EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::in_pay), 1);
}

TEST_F(StoreTest, InPayToInPayIsAlready) {
    PaymentId id = add_payment();
    in_pay(id);
    EXPECT_EQ(in_pay(id), Transition::already);
    EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::in_pay), 1);
}

TEST_F(StoreTest, NewToPaidIsApplied) {
    PaymentId id = add_payment();
    EXPECT_EQ(paid(id, "op-42"), Transition::applied);
    auto payment = m_store.find_payment(id);
    EXPECT_EQ(payment->status, PaymentStatus::paid);
    EXPECT_EQ(payment->external_id, "op-42");
    EXPECT_TRUE(payment->paid_at);
    EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::paid), 1);
}

TEST_F(StoreTest, InPayToPaidIsApplied) {
    PaymentId id = add_payment();
    in_pay(id);
    EXPECT_EQ(paid(id), Transition::applied);
    EXPECT_EQ(status_of(id), PaymentStatus::paid);
}

TEST_F(StoreTest, PaidToPaidCreditsNothing) {
    PaymentId id = add_payment();
    ASSERT_EQ(paid(id, "first"), Transition::applied);
    EXPECT_EQ(paid(id, "second"), Transition::already);
    EXPECT_EQ(paid(id, "second"), Transition::already);
    EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::paid), 1);
    EXPECT_EQ(m_store.find_payment(id)->external_id, "first");
}

TEST_F(StoreTest, CancelledCannotGoBackToInPayOrPaid) {
    PaymentId id = add_payment();
    ASSERT_EQ(cancelled(id), Transition::applied);
    EXPECT_EQ(in_pay(id), Transition::refused);
    EXPECT_EQ(paid(id), Transition::refused);
    EXPECT_EQ(status_of(id), PaymentStatus::cancelled);
    EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::paid), 0);
    EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::in_pay), 0);
}

TEST_F(StoreTest, NewAndInPayCanBeCancelled) {
    PaymentId a = add_payment();
    PaymentId b = add_payment();
    in_pay(b);
    EXPECT_EQ(cancelled(a), Transition::applied);
    EXPECT_EQ(cancelled(b), Transition::applied);
    EXPECT_EQ(cancelled(b), Transition::already);
    EXPECT_EQ(status_of(a), PaymentStatus::cancelled);
    EXPECT_EQ(status_of(b), PaymentStatus::cancelled);
}

TEST_F(StoreTest, PaidCannotBeCancelled) {
    PaymentId id = add_payment();
    paid(id);
    EXPECT_EQ(cancelled(id), Transition::refused);
    EXPECT_EQ(status_of(id), PaymentStatus::paid);
    EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::cancelled), 0);
}

TEST_F(StoreTest, FraudFromNewInPayAndPaid) {
    PaymentId a = add_payment();
    PaymentId b = add_payment();
    PaymentId c = add_payment();
    in_pay(b);
    paid(c);
    for (PaymentId id : {a, b, c}) {
        EXPECT_EQ(fraud(id), Transition::applied) << id;
        EXPECT_EQ(status_of(id), PaymentStatus::fraud);
        EXPECT_EQ(fraud(id), Transition::already);
        EXPECT_EQ(paid(id), Transition::refused);
    }
}

TEST_F(StoreTest, FraudIsRefusedForCancelled) {
    PaymentId id = add_payment();
    cancelled(id);
    EXPECT_EQ(fraud(id), Transition::refused);
    EXPECT_EQ(status_of(id), PaymentStatus::cancelled);
}

TEST_F(StoreTest, PartialThenRemainingRefundEndsRefunded) {
    PaymentId id = add_payment(10000);
    paid(id);
    EXPECT_EQ(refund(id, 3000), Transition::applied);
    EXPECT_EQ(status_of(id), PaymentStatus::paid);
    EXPECT_EQ(m_store.find_payment(id)->refunded, 3000);
    EXPECT_EQ(refund(id, 7000), Transition::applied);
    auto payment = m_store.find_payment(id);
    EXPECT_EQ(payment->status, PaymentStatus::refunded);
    EXPECT_EQ(payment->refunded, 10000);
    EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::refunded), 1);
    EXPECT_EQ(refund(id, 1), Transition::already);
    EXPECT_EQ(m_store.find_payment(id)->refunded, 10000);
}

TEST_F(StoreTest, FullRefundAtOnceEndsRefunded) {
    PaymentId id = add_payment(10000);
    paid(id);
    EXPECT_EQ(refund(id, 10000), Transition::applied);
    EXPECT_EQ(status_of(id), PaymentStatus::refunded);
}

TEST_F(StoreTest, RefundOverTheRemainderIsAConflictAndChangesNothing) {
    PaymentId id = add_payment(10000);
    paid(id);
    refund(id, 6000);
    const std::int64_t history = count_rows("status_history");
    for (rk::Kopecks amount :
         {rk::Kopecks{4001}, rk::Kopecks{10000}, rk::Kopecks{0}, rk::Kopecks{-1}}) {
        auto error = error_from([&] { refund(id, amount); });
        ASSERT_TRUE(error) << amount;
        EXPECT_EQ(error->kind(), rk::ErrorKind::conflict) << amount;
    }
    auto payment = m_store.find_payment(id);
    EXPECT_EQ(payment->refunded, 6000);
    EXPECT_EQ(payment->status, PaymentStatus::paid);
    EXPECT_EQ(count_rows("status_history"), history);
    EXPECT_FALSE(m_store.db().in_transaction());
}

TEST_F(StoreTest, ReservedRefundsCountAgainstTheRemainderUntilReleased) {
    PaymentId id = add_payment(10000);
    paid(id);
    rk::RefundId first = 0;
    {
        rk::sql::Transaction tx(m_store.db());
        first = m_store.reserve_refund(tx, id, 10000, 6000, "refund", "--amount");
        tx.commit();
    }
    EXPECT_EQ(m_store.refund_remaining(id, 10000), 4000);
    {
        rk::sql::Transaction tx(m_store.db());
        auto error =
            error_from([&] { m_store.reserve_refund(tx, id, 10000, 4001, "refund", "--amount"); });
        ASSERT_TRUE(error);
        EXPECT_EQ(error->kind(), rk::ErrorKind::conflict);
        EXPECT_EQ(error->field(), "--amount");
        EXPECT_NE(std::string(error->what()).find("40.00"), std::string::npos);
    }
    {
        rk::sql::Transaction tx(m_store.db());
        m_store.release_refund(tx, first);
        tx.commit();
    }
    EXPECT_EQ(m_store.refund_remaining(id, 10000), 10000);
}

TEST_F(StoreTest, DoneProcessingAndRecordedRefundsCountCancelledOnesDoNot) {
    PaymentId id = add_payment(10000);
    paid(id);
    auto reserve = [&](rk::Kopecks amount, rk::RefundState state) {
        rk::sql::Transaction tx(m_store.db());
        rk::RefundId r = m_store.reserve_refund(tx, id, 10000, amount, "refund", "amount");
        m_store.settle_refund(tx, r, state, "req");
        tx.commit();
    };
    reserve(1000, rk::RefundState::done);
    refund(id, 1000); // the done refund, recorded on the payment
    reserve(2000, rk::RefundState::processing);
    reserve(3000, rk::RefundState::cancelled);
    refund(id, 500); // returned at Robokassa and recorded by checkpay, no row
    EXPECT_EQ(m_store.refund_remaining(id, 10000), 10000 - 1000 - 2000 - 500);
    EXPECT_EQ(m_store.list_refunds(rk::RefundState::processing).size(), 1u);
    EXPECT_EQ(m_store.list_refunds(std::nullopt).size(), 3u);
}

TEST(JournalPrefix, KeepsShortParamsAndCutsLongOnesWithTheirSize) {
    EXPECT_EQ(rk::journal_prefix("InvId=1"), "InvId=1");
    const std::string junk(70000, 'x');
    const std::string kept = rk::journal_prefix(junk);
    EXPECT_LT(kept.size(), rk::k_unproven_params_bytes + 64);
    EXPECT_EQ(kept.substr(0, rk::k_unproven_params_bytes), junk.substr(0, 1024));
    EXPECT_NE(kept.find("70000 bytes"), std::string::npos);
}

TEST_F(StoreTest, RefundOfAnUnpaidPaymentIsRefused) {
    PaymentId a = add_payment(10000);
    PaymentId b = add_payment(10000);
    PaymentId c = add_payment(10000);
    in_pay(b);
    cancelled(c);
    for (PaymentId id : {a, b, c}) {
        EXPECT_EQ(refund(id, 100), Transition::refused) << id;
        EXPECT_EQ(m_store.find_payment(id)->refunded, 0);
        EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::refunded), 0);
    }
}

TEST_F(StoreTest, UnknownIdIsNotFound) {
    const PaymentId unknown = add_payment() + 1;
    const std::int64_t history = count_rows("status_history");
    std::vector<std::optional<rk::Error>> errors = {
        error_from([&] { in_pay(unknown); }), error_from([&] { paid(unknown); }),
        error_from([&] { cancelled(unknown); }), error_from([&] { fraud(unknown); }),
        error_from([&] { refund(unknown, 1); })};
    for (const auto& error : errors) {
        ASSERT_TRUE(error);
        EXPECT_EQ(error->kind(), rk::ErrorKind::not_found);
    }
    EXPECT_EQ(count_rows("status_history"), history);
    EXPECT_FALSE(m_store.find_payment(unknown));
}

TEST_F(StoreTest, AWriteRequiresItsOwnOpenTransaction) {
    PaymentId id = add_payment();
    rk::test::TempDir other_dir;
    rk::Store other =
        rk::Store::open(other_dir / "other.db", rk::sql::OpenMode::create_if_missing, 1000);
    {
        // Another store's transaction does not guard this store's write.
        rk::sql::Transaction foreign(other.db());
        EXPECT_THROW(m_store.mark_paid(foreign, id, "op", "test"), rk::Error);
    }
    {
        // Nor does one already committed.
        rk::sql::Transaction done(m_store.db());
        done.commit();
        EXPECT_THROW(m_store.mark_paid(done, id, "op", "test"), rk::Error);
    }
    EXPECT_EQ(status_of(id), PaymentStatus::created);
}

TEST_F(StoreTest, UncommittedTransactionLeavesNothing) {
    PaymentId id = add_payment();
    const std::int64_t history = count_rows("status_history");
    {
        rk::sql::Transaction tx(m_store.db());
        EXPECT_TRUE(m_store.db().in_transaction());
        EXPECT_EQ(m_store.mark_paid(tx, id, "op", "test"), Transition::applied);
        rk::Notification n;
        n.source = "rkresult";
        n.payment_id = id;
        n.verdict = "credited";
        m_store.record_notification(tx, n);
        EXPECT_EQ(status_of(id), PaymentStatus::paid); // visible inside the transaction
    }
    EXPECT_FALSE(m_store.db().in_transaction());
    EXPECT_EQ(status_of(id), PaymentStatus::created);
    EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::paid), 0);
    EXPECT_EQ(count_rows("status_history"), history);
    EXPECT_TRUE(m_store.journal(std::nullopt).empty());
    // And the payment can still be paid afterwards.
    EXPECT_EQ(paid(id), Transition::applied);
}

TEST_F(StoreTest, TransactionSurvivesAnExceptionBetweenSteps) {
    PaymentId id = add_payment();
    auto error = error_from([&] {
        rk::sql::Transaction tx(m_store.db());
        m_store.mark_in_pay(tx, id, "test");
        m_store.mark_paid(tx, id + 1000, "op", "test"); // unknown: throws
        tx.commit();
    });
    ASSERT_TRUE(error);
    EXPECT_EQ(status_of(id), PaymentStatus::created);
    EXPECT_EQ(m_store.count_transitions_to(id, PaymentStatus::in_pay), 0);
}

// ---- Journal --------------------------------------------------------------

TEST_F(StoreTest, JournalRoundTrip) {
    PaymentId id = add_payment();
    rk::Notification first;
    first.source = "rkresult";
    first.payment_id = id;
    first.params = "OutSum=990.00&InvId=" + std::to_string(id) + "&Shp_x=%D0%98";
    first.verdict = "credited";
    first.reason = "signature and amount match";
    first.reply_status = 200;
    first.reply_body = "OK" + std::to_string(id);
    rk::Notification second;
    second.source = "rkresult";
    second.params = "InvId=abc";
    second.verdict = "refused";
    second.reason = "InvId: must be a payment id";
    second.reply_status = 400;
    second.reply_body = "bad request";
    {
        rk::sql::Transaction tx(m_store.db());
        m_store.record_notification(tx, first);
        m_store.record_notification(tx, second);
        tx.commit();
    }
    auto all = m_store.journal(std::nullopt);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_LT(all[0].id, all[1].id);
    for (std::size_t i = 0; i < 2; ++i) {
        const rk::Notification& expected = i == 0 ? first : second;
        const rk::Notification& got = all[i].notification;
        EXPECT_GT(all[i].received_at, 0);
        EXPECT_EQ(got.source, expected.source);
        EXPECT_EQ(got.payment_id, expected.payment_id);
        EXPECT_EQ(got.params, expected.params);
        EXPECT_EQ(got.verdict, expected.verdict);
        EXPECT_EQ(got.reason, expected.reason);
        EXPECT_EQ(got.reply_status, expected.reply_status);
        EXPECT_EQ(got.reply_body, expected.reply_body);
    }
    auto for_payment = m_store.journal(id);
    ASSERT_EQ(for_payment.size(), 1u);
    EXPECT_EQ(for_payment[0].notification.verdict, "credited");
    EXPECT_TRUE(m_store.journal(id + 1).empty());
}

// ---- Payment links --------------------------------------------------------

TEST_F(StoreTest, LinkKeyIs32HexAndDiffersById) {
    const std::string secret = m_store.link_secret();
    EXPECT_GE(secret.size(), 16u);
    const std::string key1 = rk::payment_link_key(secret, 1);
    const std::string key2 = rk::payment_link_key(secret, 2);
    EXPECT_EQ(key1.size(), 32u);
    EXPECT_EQ(key1.find_first_not_of("0123456789abcdef"), std::string::npos) << key1;
    EXPECT_NE(key1, key2);
    EXPECT_EQ(rk::payment_link_key(secret, 1), key1);
    EXPECT_TRUE(rk::payment_link_key_matches(secret, 1, key1));
    EXPECT_FALSE(rk::payment_link_key_matches(secret, 2, key1));
    EXPECT_FALSE(rk::payment_link_key_matches(secret, 1, key1.substr(0, 31)));
    EXPECT_FALSE(rk::payment_link_key_matches(secret, 1, ""));
    // The key is an HMAC under the secret, not a plain hash of the id.
    EXPECT_EQ(key1, rk::hmac_sha256_hex(secret, "rkpayment:1").substr(0, 32));
}

TEST_F(StoreTest, LinkKeyMatchesCaseInsensitively) {
    const std::string secret = m_store.link_secret();
    std::string key = rk::payment_link_key(secret, k_max_id);
    for (char& c : key) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    EXPECT_TRUE(rk::payment_link_key_matches(secret, k_max_id, key));
}

TEST_F(StoreTest, LinkKeysDifferBetweenInstallations) {
    rk::Store other = rk::Store::open(m_dir / "other.db", OpenMode::create_if_missing, 1000);
    ASSERT_NE(other.link_secret(), m_store.link_secret());
    EXPECT_NE(rk::payment_link_key(other.link_secret(), 1),
              rk::payment_link_key(m_store.link_secret(), 1));
    EXPECT_FALSE(rk::payment_link_key_matches(other.link_secret(), 1,
                                              rk::payment_link_key(m_store.link_secret(), 1)));
}

// ---- Payment ids ----------------------------------------------------------

TEST(PaymentIdParse, AcceptsTheWholeRange) {
    EXPECT_EQ(rk::parse_payment_id("1", "InvId"), 1);
    EXPECT_EQ(rk::parse_payment_id("10", "InvId"), 10);
    EXPECT_EQ(rk::parse_payment_id("9223372036854775807", "InvId"), k_max_id);
}

TEST(PaymentIdParse, RefusesEverythingElseNamingTheField) {
    for (const char* text :
         {"0", "-1", "01", "00", " 1", "1 ", "9223372036854775808", "18446744073709551615",
          "18446744073709551616", "99999999999999999999", "1e3", "", "+1", "1.0", "0x1", "١"}) {
        auto error = error_from([&] { rk::parse_payment_id(text, "elid"); });
        ASSERT_TRUE(error) << "accepted '" << text << "'";
        EXPECT_EQ(error->kind(), rk::ErrorKind::bad_input) << text;
        EXPECT_EQ(error->field(), "elid") << text;
    }
}

// ---- Migrations -----------------------------------------------------------

TEST(StoreMigration, RobokassaSettingsMoveToTheirSideTableAndEverythingElseStays) {
    rk::test::TempDir dir;
    const std::string path = dir / "store.db";
    // A store as the release before the side table left it (schema 3): a
    // Robokassa method with its columns in `methods`, a Stripe method whose
    // row carries empty Robokassa columns, payments and a journal entry.
    {
        auto db = rk::sql::Database::open(path, OpenMode::create_if_missing, 1000);
        rk::sql::Transaction tx(db);
        rk::migrate_schema(db, 0, 3);
        db.exec("INSERT INTO methods (id, name, shop_id, password1, password2, password3, "
                "hash_algorithm, test_mode, inc_curr_label, gateway_url, recurring, created_at, "
                "module) VALUES (1, 'Robokassa', 'demo', 'Passw0rdOne', 'Passw0rdTwo', "
                "'Passw0rdThree', 'sha256', 1, 'BankCard', 'http://127.0.0.1:8080/pay', 1, 100, "
                "'pmrobokassa');"
                "INSERT INTO methods (id, name, shop_id, password1, password2, hash_algorithm, "
                "test_mode, created_at, module) VALUES (2, 'Stripe', '', '', '', 'md5', 0, 200, "
                "'pmstripe');"
                "INSERT INTO stripe_methods VALUES (2, 'sk_test_a', 'pk_test_a', 'whsec_a');"
                "INSERT INTO payments (id, method_id, amount, currency, status, created_at, "
                "updated_at) VALUES (10, 1, 99000, 'RUB', 4, 1, 2), (11, 2, 500, 'USD', 1, 3, 3);"
                "INSERT INTO status_history (payment_id, from_status, to_status, amount, source, "
                "at) VALUES (10, 2, 4, 99000, 'rkresult', 2);"
                "INSERT INTO notifications (received_at, source, payment_id, params, verdict, "
                "reply_status, reply_body) VALUES (2, 'rkresult', 10, 'InvId=10', 'credited', "
                "200, 'OK10');");
        tx.commit();
    }

    rk::Store store = rk::Store::open(path, OpenMode::existing, 1000);
    auto version = store.db().prepare("PRAGMA user_version");
    ASSERT_TRUE(version.step());
    EXPECT_EQ(version.column_int(0), rk::schema_version());

    auto method = find_method(store, 1);
    ASSERT_TRUE(method);
    EXPECT_EQ(method->name, "Robokassa");
    const rk::MethodSettings& s = method->settings;
    EXPECT_EQ(s.shop_id, "demo");
    EXPECT_EQ(s.password1, "Passw0rdOne");
    EXPECT_EQ(s.password2, "Passw0rdTwo");
    EXPECT_EQ(s.password3, "Passw0rdThree");
    EXPECT_EQ(s.hash_algorithm, rk::HashAlgorithm::sha256);
    EXPECT_TRUE(s.test_mode);
    EXPECT_EQ(s.inc_curr_label, "BankCard");
    EXPECT_EQ(s.gateway_url, "http://127.0.0.1:8080/pay");
    EXPECT_TRUE(s.recurring);
    EXPECT_EQ(s.test_password1, "");
    EXPECT_EQ(s.test_password2, "");
    EXPECT_EQ(s.payment_lifetime_hours, 0);
    EXPECT_EQ(list_methods(store).size(), 1u);

    // Stripe's method is still a method, with its own settings only.
    EXPECT_FALSE(find_method(store, 2));
    EXPECT_EQ(store.method_module(2), "pmstripe");
    auto stripe = store.db().prepare("SELECT secret_key FROM stripe_methods WHERE method_id = 2");
    ASSERT_TRUE(stripe.step());
    EXPECT_EQ(stripe.column_text(0), "sk_test_a");
    auto leftovers =
        store.db().prepare("SELECT count(*) FROM robokassa_methods WHERE method_id = 2");
    ASSERT_TRUE(leftovers.step());
    EXPECT_EQ(leftovers.column_int(0), 0);

    std::vector<std::string> columns;
    auto info = store.db().prepare("SELECT name FROM pragma_table_info('methods') ORDER BY cid");
    while (info.step()) {
        columns.push_back(info.column_text(0));
    }
    EXPECT_EQ(columns, (std::vector<std::string>{"id", "name", "created_at", "module"}));

    auto paid = store.find_payment(10);
    ASSERT_TRUE(paid);
    EXPECT_EQ(paid->status, PaymentStatus::paid);
    EXPECT_EQ(paid->amount, 99000);
    EXPECT_EQ(paid->method_id, 1);
    auto stripe_payment = store.find_payment(11);
    ASSERT_TRUE(stripe_payment);
    EXPECT_EQ(stripe_payment->method_id, 2);
    EXPECT_EQ(stripe_payment->currency, "USD");
    EXPECT_EQ(store.count_transitions_to(10, PaymentStatus::paid), 1);
    EXPECT_EQ(store.journal(PaymentId{10}).size(), 1u);
    EXPECT_FALSE(store.link_secret().empty());
    auto orphans = store.db().prepare("PRAGMA foreign_key_check");
    EXPECT_FALSE(orphans.step());

    // New methods of either module land where they belong.
    rk::MethodId added = add_method(store, "Second", method_settings());
    EXPECT_TRUE(find_method(store, added));
    rk::sql::Transaction tx(store.db());
    rk::MethodId other = store.add_module_method(tx, "Stripe 2", "pmstripe");
    tx.commit();
    EXPECT_EQ(store.method_module(other), "pmstripe");
    EXPECT_FALSE(find_method(store, other));
}

TEST_F(StoreTest, TestPairAndLifetimeRoundTrip) {
    rk::MethodSettings settings = method_settings();
    settings.test_password1 = "Test0passOne";
    settings.test_password2 = "Test0passTwo";
    settings.payment_lifetime_hours = 72;
    auto method = find_method(m_store, add_method(m_store, "With test pair", settings));
    ASSERT_TRUE(method);
    EXPECT_EQ(method->settings.test_password1, "Test0passOne");
    EXPECT_EQ(method->settings.test_password2, "Test0passTwo");
    EXPECT_EQ(method->settings.payment_lifetime_hours, 72);
}

TEST_F(StoreTest, JournalFiltersNewestFirstAndPrunesOnlyOldEntries) {
    PaymentId one = add_payment();
    PaymentId two = add_payment();
    auto record = [&](PaymentId id, const char* verdict) {
        rk::Notification n;
        n.source = "rkresult";
        n.payment_id = id;
        n.params = "InvId=" + std::to_string(id);
        n.verdict = verdict;
        n.reply_status = 200;
        rk::sql::Transaction tx(m_store.db());
        m_store.record_notification(tx, n);
        tx.commit();
    };
    record(one, "credited");
    record(two, "uncredited");
    record(two, "duplicate");
    // The first entry is old: a year and a day ago.
    m_store.db().exec("UPDATE notifications SET received_at = received_at - 366 * 86400 "
                      "WHERE id = 1");

    auto all = m_store.journal(rk::JournalFilter{});
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].id, 3);
    EXPECT_EQ(all[2].id, 1);
    rk::JournalFilter for_two;
    for_two.payment_id = two;
    EXPECT_EQ(m_store.journal(for_two).size(), 2u);
    rk::JournalFilter uncredited;
    uncredited.verdict = "uncredited";
    ASSERT_EQ(m_store.journal(uncredited).size(), 1u);
    EXPECT_EQ(m_store.journal(uncredited)[0].notification.payment_id, two);
    rk::JournalFilter recent;
    recent.since = all[1].received_at;
    EXPECT_EQ(m_store.journal(recent).size(), 2u);
    EXPECT_TRUE(m_store.journal_entry(2));
    EXPECT_FALSE(m_store.journal_entry(4));
    {
        rk::sql::Transaction tx(m_store.db());
        EXPECT_TRUE(m_store.journal_has(tx, two, "uncredited"));
        EXPECT_FALSE(m_store.journal_has(tx, one, "uncredited"));
    }

    rk::sql::Transaction tx(m_store.db());
    EXPECT_EQ(m_store.prune_journal(tx, all[1].received_at - 86400), 1);
    tx.commit();
    EXPECT_EQ(m_store.journal(rk::JournalFilter{}).size(), 2u);
    EXPECT_FALSE(m_store.journal_entry(1));
    EXPECT_EQ(count_rows("payments"), 2);
}

TEST_F(StoreTest, ReceiptSettingsRoundTrip) {
    rk::MethodSettings settings = method_settings();
    settings.receipt_sno = "osn";
    settings.receipt_tax = "vat20";
    settings.receipt_payment_object = "service";
    auto method = find_method(m_store, add_method(m_store, "With receipts", settings));
    ASSERT_TRUE(method);
    EXPECT_EQ(method->settings.receipt_sno, "osn");
    EXPECT_EQ(method->settings.receipt_tax, "vat20");
    EXPECT_EQ(method->settings.receipt_payment_object, "service");
}

TEST_F(StoreTest, ARecurringSetupIsSavedOnce) {
    {
        rk::sql::Transaction tx(m_store.db());
        m_store.remember_recurring_setup(tx, 3201, 51);
        tx.commit();
    }
    rk::sql::Transaction tx(m_store.db());
    EXPECT_EQ(m_store.unsaved_recurring_setup(tx, 3201), 51);
    EXPECT_FALSE(m_store.unsaved_recurring_setup(tx, 3202));
    m_store.mark_recurring_saved(tx, 3201);
    EXPECT_FALSE(m_store.unsaved_recurring_setup(tx, 3201));
    // A saved series is not moved by a later visit.
    m_store.remember_recurring_setup(tx, 3201, 99);
    EXPECT_FALSE(m_store.unsaved_recurring_setup(tx, 3201));
    tx.commit();
}

TEST_F(StoreTest, ARecurringChargeIsClaimedOnlyOnce) {
    EXPECT_FALSE(m_store.has_recurring_charge(3202));
    {
        rk::sql::Transaction tx(m_store.db());
        EXPECT_TRUE(m_store.claim_recurring_charge(tx, 3202, 3201));
        tx.commit();
    }
    EXPECT_TRUE(m_store.has_recurring_charge(3202));
    rk::sql::Transaction tx(m_store.db());
    EXPECT_FALSE(m_store.claim_recurring_charge(tx, 3202, 3201));
    m_store.set_recurring_charge_outcome(tx, 3202, "declined");
    EXPECT_THROW(m_store.set_recurring_charge_outcome(tx, 3202, "maybe"), std::exception);
    tx.commit();
}
