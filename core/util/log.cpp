#include "util/log.hpp"

#include "util/paths.hpp"

#include <boost/log/attributes/value_extraction.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sinks/basic_sink_backend.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rk::log {

namespace logging = boost::log;
namespace sinks = boost::log::sinks;

namespace {

struct State {
    std::string program = "pmrobokassa";
    int level = k_default_level;
    bool started = false;
};

State& state() {
    static State s;
    return s;
}

const char* level_name(Level level) {
    switch (level) {
    case Level::error:
        return "ERROR";
    case Level::warning:
        return "WARNING";
    case Level::info:
        return "INFO";
    case Level::debug:
        return "DEBUG";
    case Level::trace:
        return "TRACE";
    }
    return "INFO";
}

// Appends whole lines with O_APPEND: several CGI processes write the same
// file at once, and each line must land intact.
class AppendFileBackend
    : public sinks::basic_sink_backend<
          sinks::combine_requirements<sinks::synchronized_feeding, sinks::flushing>::type> {
public:
    explicit AppendFileBackend(std::string program) : m_program(std::move(program)) {}
    AppendFileBackend(const AppendFileBackend&) = delete;
    AppendFileBackend& operator=(const AppendFileBackend&) = delete;
    ~AppendFileBackend() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }

    void consume(const logging::record_view& record) {
        auto message = logging::extract<std::string>("Message", record);
        auto level = logging::extract<Level>("Severity", record);
        std::string line = format(level ? *level : Level::info, message ? *message : "");
        if (!ensure_open() || !write_all(line)) {
            // The last resort: if stderr fails too there is nowhere left.
            (void)std::fwrite(line.data(), 1, line.size(), stderr);
        }
    }

    void flush() {}

private:
    std::string format(Level level, const std::string& message) const {
        char stamp[32];
        std::time_t now = std::time(nullptr);
        std::tm tm{};
        localtime_r(&now, &tm);
        (void)std::strftime(stamp, sizeof stamp, "%b %d %H:%M:%S", &tm); // 15 bytes always fit
        std::string line = std::string(stamp) + " [" + std::to_string(::getpid()) + "] " +
                           m_program + " " + level_name(level) + " ";
        for (unsigned char c : message) {
            if (c < 0x20 || c == 0x7f) {
                static const char digits[] = "0123456789abcdef";
                line += "\\x";
                line += digits[c >> 4];
                line += digits[c & 0x0f];
            } else {
                line += static_cast<char>(c);
            }
        }
        line += '\n';
        return line;
    }

    bool ensure_open() {
        if (m_fd >= 0 && m_written < k_rotate_bytes) {
            return true;
        }
        if (m_fd >= 0) {
            ::close(m_fd);
            m_fd = -1;
        }
        const std::string path = log_path(m_program);
        try {
            ensure_var_dir();
        } catch (...) {
            return false;
        }
        m_fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (m_fd < 0) {
            return false;
        }
        struct stat st {};
        if (::fstat(m_fd, &st) == 0 && st.st_size >= k_rotate_bytes) {
            // Another process may rotate at the same moment; at worst a few
            // lines land in the rotated file, none are lost.
            // A failed rotation leaves the file growing, which the next
            // rotation retries; it must not cost the log line.
            (void)std::rename(path.c_str(), (path + ".1").c_str());
            ::close(m_fd);
            m_fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
            st.st_size = 0;
        }
        m_written = st.st_size;
        return m_fd >= 0;
    }

    bool write_all(const std::string& line) {
        ssize_t n = ::write(m_fd, line.data(), line.size());
        if (n != static_cast<ssize_t>(line.size())) {
            return false;
        }
        m_written += n;
        return true;
    }

    std::string m_program;
    int m_fd = -1;
    long m_written = 0;
};

using Logger = logging::sources::severity_logger<Level>;

Logger& start() {
    static Logger logger;
    State& s = state();
    if (!s.started) {
        auto backend = boost::make_shared<AppendFileBackend>(s.program);
        auto sink = boost::make_shared<sinks::synchronous_sink<AppendFileBackend>>(backend);
        logging::core::get()->add_sink(sink);
        s.started = true;
    }
    return logger;
}

} // namespace

void init(std::string program, int log_level) {
    state().program = std::move(program);
    state().level = log_level;
}

void set_level(int log_level) {
    state().level = log_level;
}

void write(Level level, std::string_view message) noexcept {
    try {
        if (static_cast<int>(level) > state().level) {
            return;
        }
        Logger& logger = start();
        BOOST_LOG_SEV(logger, level) << message;
    } catch (...) {
        // Logging must never turn a good answer into a failure.
    }
}

} // namespace rk::log
