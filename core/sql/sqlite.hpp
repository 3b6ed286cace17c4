#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace rk::sql {

// An SQLite failure, with SQLite's primary and extended result codes. Locks,
// read-only or full disks and I/O errors are store_unavailable (the caller
// should retry later); anything else is internal.
class SqliteError : public Error {
public:
    SqliteError(int code, int extended_code, const std::string& message);
    int code() const noexcept { return m_code; }
    int extended_code() const noexcept { return m_extended_code; }

private:
    int m_code;
    int m_extended_code;
};

class Statement;

// Throws SqliteError for `code` unless it is SQLITE_OK / ROW / DONE, with
// the connection's message (and the OS error where a file operation failed).
void check_result(sqlite3* db, int code, const char* what);

enum class OpenMode {
    create_if_missing, // create the file with mode 0640 when it does not exist
    existing,          // the file must exist: a missing store is an error
};

// An open connection. Not copyable; movable.
class Database {
public:
    static Database open(const std::string& path, OpenMode mode, int busy_timeout_ms);

    Database(Database&&) noexcept = default;
    Database& operator=(Database&&) noexcept = default;

    void exec(const char* sql);
    Statement prepare(std::string_view sql);
    std::int64_t last_insert_rowid() const;
    int changes() const;
    bool in_transaction() const;
    sqlite3* handle() const { return m_db.get(); }

    // For a connection that lives for one CGI request (bench/):
    // - no checkpoint when it closes: alone, that cost four more fsyncs and
    //   the WAL file's deletion and re-creation per request; instead, the
    //   commit that takes the WAL past each 100 frames checkpoints without
    //   waiting and truncates the WAL when it can, which also bounds what
    //   the next lone process reads to rebuild the WAL index;
    // - lock waits polled every millisecond within the same busy timeout,
    //   instead of SQLite's back-off to 100 ms sleeps that left the write
    //   lock idle while waiters slept.
    // Durability is unchanged: each commit is still fsynced (synchronous=FULL).
    void tune_for_one_request(int busy_timeout_ms);

    // Throws SqliteError for `code` unless it is SQLITE_OK / ROW / DONE.
    void check(int code, const char* what) const;

private:
    struct Closer {
        void operator()(sqlite3* db) const noexcept;
    };
    explicit Database(sqlite3* db) : m_db(db) {}
    std::unique_ptr<sqlite3, Closer> m_db;
};

// A prepared statement; bind indexes start at 1, columns at 0.
class Statement {
public:
    Statement(Statement&&) noexcept = default;
    Statement& operator=(Statement&&) noexcept = default;

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, const std::string& text) {
        return bind(index, std::string_view(text));
    }
    Statement& bind_blob(int index, std::string_view bytes);
    Statement& bind_null(int index);

    // Advances; true while a row is available.
    bool step();
    // Runs a statement that returns no rows.
    void run();

    std::int64_t column_int64(int column) const;
    int column_int(int column) const { return static_cast<int>(column_int64(column)); }
    std::string column_text(int column) const;
    std::optional<std::int64_t> column_optional_int64(int column) const;

private:
    friend class Database;
    struct Finalizer {
        void operator()(sqlite3_stmt* stmt) const noexcept;
    };
    // The raw connection, not the Database: a Database may be moved (it is
    // returned from open()) while its statements live on, but the
    // connection it owns stays where it is.
    Statement(sqlite3* db, sqlite3_stmt* stmt) : m_db(db), m_stmt(stmt) {}
    sqlite3* m_db;
    std::unique_ptr<sqlite3_stmt, Finalizer> m_stmt;
};

// BEGIN IMMEDIATE on construction: the write lock is taken up front, so two
// writers never deadlock upgrading from a read. Rolls back in the destructor
// unless commit() ran.
class Transaction {
public:
    explicit Transaction(Database& db);
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    void commit();
    // Throws internal unless this transaction is open on `db`: a write
    // handed another connection's transaction, or one already committed,
    // would run outside the guard it was promised.
    void require_open_on(const Database& db) const;

private:
    Database& m_db;
    bool m_done = false;
};

} // namespace rk::sql
