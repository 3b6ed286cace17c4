#pragma once

#include <string>
#include <string_view>

namespace rk::log {

// BILLmanager's scale: a record is written when its level is at most the
// configured log_level (1–9).
enum class Level { error = 1, warning = 2, info = 4, debug = 7, trace = 9 };

// The threshold until the configuration says otherwise: info and above.
inline constexpr int k_default_level = 6;

// Names the program (the log file is $MGR5_ROOT/var/<program>.log) and sets
// the threshold. The file is opened on the first record, so a request that
// logs nothing pays nothing for it.
void init(std::string program, int log_level);
void set_level(int log_level);

// Writes one line: `Nov 23 06:11:42 [12345] rkresult INFO message`.
// Control characters in `message` are escaped so a caller's input cannot
// forge lines. Never throws; when the file cannot be written the line goes
// to stderr, which the web server keeps in its error log.
void write(Level level, std::string_view message) noexcept;

inline void error(std::string_view message) {
    write(Level::error, message);
}
inline void warning(std::string_view message) {
    write(Level::warning, message);
}
inline void info(std::string_view message) {
    write(Level::info, message);
}
inline void debug(std::string_view message) {
    write(Level::debug, message);
}

// Logs are rotated once they reach this size: renamed to <program>.log.1.
inline constexpr long k_rotate_bytes = 100L * 1024 * 1024;

} // namespace rk::log
