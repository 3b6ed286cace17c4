#include "sql/sqlite.hpp"

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sqlite3.h>
#include <thread>
#include <unistd.h>

namespace rk::sql {

namespace {

ErrorKind kind_of(int code) {
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_READONLY:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
        return ErrorKind::store_unavailable;
    case SQLITE_CONSTRAINT:
        return ErrorKind::conflict;
    default:
        // SQLITE_CORRUPT, SQLITE_NOTADB and the like: a person must look.
        return ErrorKind::internal;
    }
}

} // namespace

SqliteError::SqliteError(int code, int extended_code, const std::string& message)
    : Error(kind_of(code), "", message), m_code(code), m_extended_code(extended_code) {}

void Database::Closer::operator()(sqlite3* db) const noexcept {
    sqlite3_close_v2(db);
}
void Statement::Finalizer::operator()(sqlite3_stmt* stmt) const noexcept {
    sqlite3_finalize(stmt);
}

Database Database::open(const std::string& path, OpenMode mode, int busy_timeout_ms) {
    if (mode == OpenMode::create_if_missing) {
        // Create the file ourselves so it is born 0640; SQLite would use
        // 0644 and give the -wal/-shm files the same mode as this one.
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd >= 0) {
            ::close(fd);
        } else if (errno != EEXIST) {
            throw SqliteError(SQLITE_CANTOPEN, SQLITE_CANTOPEN,
                              "cannot create " + path + ": " + std::strerror(errno));
        }
    }
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    Database db(raw);
    if (rc != SQLITE_OK) {
        std::string reason = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
        if (raw != nullptr && sqlite3_system_errno(raw) != 0) {
            reason += std::string(" (") + std::strerror(sqlite3_system_errno(raw)) + ")";
        }
        throw SqliteError(rc, rc, "cannot open the store " + path + ": " + reason);
    }
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, busy_timeout_ms);
    return db;
}

void check_result(sqlite3* db, int code, const char* what) {
    if (code == SQLITE_OK || code == SQLITE_ROW || code == SQLITE_DONE) {
        return;
    }
    std::string message = std::string(what) + ": " + sqlite3_errmsg(db);
    // For a failed file operation the OS error (ENOSPC, EROFS, EFBIG...) is
    // what an operator needs in the log; other codes may carry a stale one.
    int primary = code & 0xff;
    int os_error = sqlite3_system_errno(db);
    if (os_error != 0 && (primary == SQLITE_IOERR || primary == SQLITE_FULL ||
                          primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY)) {
        message += std::string(" (") + std::strerror(os_error) + ")";
    }
    throw SqliteError(code, sqlite3_extended_errcode(db), message);
}

void Database::check(int code, const char* what) const {
    check_result(m_db.get(), code, what);
}

void Database::exec(const char* sql) {
    check(sqlite3_exec(m_db.get(), sql, nullptr, nullptr, nullptr), sql);
}

Statement Database::prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    check(sqlite3_prepare_v2(m_db.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr),
          "prepare");
    return Statement(m_db.get(), stmt);
}

namespace {

constexpr int k_checkpoint_frames = 100;
// A CGI's commit adds fewer frames than this (a credit: about seven).
constexpr int k_commit_frames = 10;
// Against SQLite's back-off (sleeps up to 100 ms), polling every millisecond
// cut rkresult's p99 at 16 concurrent requests by a factor of three to five
// at the same or better throughput; 0.5 ms only spent more CPU (bench/).
constexpr int k_busy_poll_us = 1000;

// The busy handler of tune_for_one_request; `busy_timeout_ms` is the
// timeout itself, cast to a pointer. SQLite counts each wait from 0.
int poll_busy(void* busy_timeout_ms, int count) {
    using Clock = std::chrono::steady_clock;
    thread_local Clock::time_point started;
    const Clock::time_point now = Clock::now();
    if (count == 0) {
        started = now;
    }
    if (now - started >=
        std::chrono::milliseconds(reinterpret_cast<std::intptr_t>(busy_timeout_ms))) {
        return 0;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(k_busy_poll_us));
    return 1;
}

// Runs after each commit. The commit that takes the WAL past a multiple of
// k_checkpoint_frames checkpoints without waiting for anyone: alone, it
// copies the WAL back and truncates it; beside other processes, it copies
// as much as their snapshots allow (TRUNCATE falls back to PASSIVE when the
// locks are busy), and the commit past the next multiple tries again, so
// that checkpoints cost two fsyncs per k_checkpoint_frames, not per commit.
// SQLite's own auto-checkpoint (PASSIVE, every commit past its limit)
// never resets the WAL when each process is alone, since each one rebuilds
// the WAL index from the file and so sees nothing as checkpointed: the WAL,
// and each commit's checkpoint, would keep growing.
int checkpoint_after_commit(void* busy_timeout_ms, sqlite3* db, const char* name, int frames) {
    if (frames >= k_checkpoint_frames && frames % k_checkpoint_frames < k_commit_frames) {
        sqlite3_busy_handler(db, nullptr, nullptr);
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
        sqlite3_busy_handler(db, poll_busy, busy_timeout_ms);
    }
    return SQLITE_OK;
}

} // namespace

void Database::tune_for_one_request(int busy_timeout_ms) {
    // SQLite's hooks take one void* of user data: the timeout travels in it
    // by value, so there is no object whose lifetime the hooks depend on.
    // NOLINTNEXTLINE(performance-no-int-to-ptr)
    void* timeout = reinterpret_cast<void*>(static_cast<std::intptr_t>(busy_timeout_ms));
    sqlite3_db_config(m_db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_wal_hook(m_db.get(), checkpoint_after_commit, timeout);
    sqlite3_busy_handler(m_db.get(), poll_busy, timeout);
}

std::int64_t Database::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(m_db.get());
}
int Database::changes() const {
    return sqlite3_changes(m_db.get());
}
bool Database::in_transaction() const {
    return sqlite3_get_autocommit(m_db.get()) == 0;
}

Statement& Statement::bind(int index, std::int64_t value) {
    check_result(m_db, sqlite3_bind_int64(m_stmt.get(), index, value), "bind");
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    check_result(m_db,
                 sqlite3_bind_text(m_stmt.get(), index, text.data(), static_cast<int>(text.size()),
                                   SQLITE_TRANSIENT),
                 "bind");
    return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
    check_result(m_db,
                 sqlite3_bind_blob(m_stmt.get(), index, bytes.data(),
                                   static_cast<int>(bytes.size()), SQLITE_TRANSIENT),
                 "bind");
    return *this;
}

Statement& Statement::bind_null(int index) {
    check_result(m_db, sqlite3_bind_null(m_stmt.get(), index), "bind");
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(m_stmt.get());
    check_result(m_db, rc, "step");
    return rc == SQLITE_ROW;
}

void Statement::run() {
    while (step()) {
    }
}

std::int64_t Statement::column_int64(int column) const {
    return sqlite3_column_int64(m_stmt.get(), column);
}

std::string Statement::column_text(int column) const {
    const void* data = sqlite3_column_blob(m_stmt.get(), column);
    int size = sqlite3_column_bytes(m_stmt.get(), column);
    return data != nullptr ? std::string(static_cast<const char*>(data), size) : std::string();
}

std::optional<std::int64_t> Statement::column_optional_int64(int column) const {
    if (sqlite3_column_type(m_stmt.get(), column) == SQLITE_NULL) {
        return std::nullopt;
    }
    return column_int64(column);
}

Transaction::Transaction(Database& db) : m_db(db) {
    m_db.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
    if (!m_done) {
        // Never throws: a failed rollback leaves SQLite to roll back when
        // the connection closes.
        sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

void Transaction::commit() {
    m_db.exec("COMMIT");
    m_done = true;
}

void Transaction::require_open_on(const Database& db) const {
    if (&m_db != &db || m_done || !db.in_transaction()) {
        throw Error(ErrorKind::internal, "", "a store write outside its own open transaction");
    }
}

} // namespace rk::sql
