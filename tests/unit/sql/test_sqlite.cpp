// The RAII layer over SQLite: connections, statements, transactions, and
// the error a failure becomes.
#include "sql/sqlite.hpp"
#include "unit_support.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <utility>

namespace {

using rk::sql::Database;
using rk::sql::OpenMode;

class Sqlite : public ::testing::Test {
protected:
    rk::test::TempDir m_dir;
    std::string m_path = m_dir / "test.db";

    Database open() { return Database::open(m_path, OpenMode::create_if_missing, 1000); }
};

TEST_F(Sqlite, AStatementOutlivesAMoveOfItsDatabase) {
    Database first = open();
    first.exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (7), (8);");
    rk::sql::Statement st = first.prepare("SELECT v FROM t ORDER BY v");
    // The connection changes hands while the statement is open; the
    // statement must still reach it (an error path would read the moved-from
    // Database otherwise).
    Database second = std::move(first);
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_int64(0), 7);
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_int64(0), 8);
    EXPECT_FALSE(st.step());
    rk::sql::Statement bad = second.prepare("INSERT INTO t VALUES (?)");
    Database third = std::move(second);
    EXPECT_THROW(bad.bind(5, std::int64_t{1}), rk::sql::SqliteError); // index out of range
}

TEST_F(Sqlite, ATransactionRollsBackUnlessCommitted) {
    Database db = open();
    db.exec("CREATE TABLE t (v INTEGER)");
    {
        rk::sql::Transaction tx(db);
        db.prepare("INSERT INTO t VALUES (1)").run();
        EXPECT_TRUE(db.in_transaction());
    }
    EXPECT_FALSE(db.in_transaction());
    rk::sql::Statement count = db.prepare("SELECT count(*) FROM t");
    ASSERT_TRUE(count.step());
    EXPECT_EQ(count.column_int64(0), 0);
    {
        rk::sql::Transaction tx(db);
        db.prepare("INSERT INTO t VALUES (2)").run();
        tx.commit();
    }
    rk::sql::Statement again = db.prepare("SELECT count(*) FROM t");
    ASSERT_TRUE(again.step());
    EXPECT_EQ(again.column_int64(0), 1);
}

TEST_F(Sqlite, AConstraintFailureCarriesSqlitesCodesAndIsAConflict) {
    Database db = open();
    db.exec("CREATE TABLE t (v INTEGER PRIMARY KEY)");
    db.prepare("INSERT INTO t VALUES (1)").run();
    try {
        db.prepare("INSERT INTO t VALUES (1)").run();
        FAIL() << "a duplicate key was accepted";
    } catch (const rk::sql::SqliteError& e) {
        EXPECT_EQ(e.code() & 0xff, SQLITE_CONSTRAINT);
        EXPECT_EQ(e.extended_code(), SQLITE_CONSTRAINT_PRIMARYKEY);
        EXPECT_EQ(e.kind(), rk::ErrorKind::conflict);
    }
}

TEST_F(Sqlite, ABusyDatabaseIsStoreUnavailable) {
    Database holder = open();
    holder.exec("CREATE TABLE t (v INTEGER)");
    rk::sql::Transaction held(holder);
    Database waiter = Database::open(m_path, OpenMode::existing, 50);
    try {
        rk::sql::Transaction blocked(waiter);
        FAIL() << "a second writer got the lock";
    } catch (const rk::sql::SqliteError& e) {
        EXPECT_EQ(e.code() & 0xff, SQLITE_BUSY);
        EXPECT_EQ(e.kind(), rk::ErrorKind::store_unavailable);
    }
}

TEST_F(Sqlite, ExistingModeRefusesAMissingFileAndCreatesNothing) {
    EXPECT_THROW(Database::open(m_path, OpenMode::existing, 100), rk::sql::SqliteError);
    EXPECT_FALSE(rk::test::exists(m_path));
}

} // namespace
