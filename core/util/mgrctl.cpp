#include "util/mgrctl.hpp"

#include "util/error.hpp"
#include "util/xml_input.hpp"

#include <algorithm>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace rk {

namespace pt = boost::property_tree;

namespace {

// A panel answer is a few kilobytes; anything near this is not one.
constexpr std::size_t k_max_answer = std::size_t{4} * 1024 * 1024;

class UniqueFd {
public:
    explicit UniqueFd(int fd = -1) : m_fd(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    UniqueFd& operator=(UniqueFd&&) = delete;
    ~UniqueFd() { reset(); }
    int get() const { return m_fd; }
    void reset() {
        if (m_fd >= 0) {
            ::close(m_fd);
            m_fd = -1;
        }
    }

private:
    int m_fd;
};

class SpawnActions {
public:
    SpawnActions() { ::posix_spawn_file_actions_init(&m_actions); }
    SpawnActions(const SpawnActions&) = delete;
    SpawnActions& operator=(const SpawnActions&) = delete;
    ~SpawnActions() { ::posix_spawn_file_actions_destroy(&m_actions); }
    posix_spawn_file_actions_t* get() { return &m_actions; }

private:
    posix_spawn_file_actions_t m_actions{};
};

Error failure(const std::string& function, const std::string& why) {
    return Error(ErrorKind::upstream, "", "mgrctl " + function + ": " + why);
}

// How a child ended, as a person reads it: the exit code or the signal,
// not the raw wait status (256 for an exit code of 1).
std::string describe_exit(int status) {
    if (WIFEXITED(status)) {
        return "exited with code " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return "killed by signal " + std::to_string(WTERMSIG(status));
    }
    return "ended with wait status " + std::to_string(status);
}

// A child we started: killed and reaped on every way out, so a timeout or
// an exception never leaves a zombie or a runaway mgrctl behind.
class Child {
public:
    explicit Child(pid_t pid) : m_pid(pid) {}
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (m_pid > 0) {
            ::kill(m_pid, SIGKILL);
            reap();
        }
    }
    void reap() {
        int status = 0;
        while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
        }
        m_pid = -1;
    }
    // Its exit status once it has exited, or nothing if it is still running
    // at the deadline (a mgrctl can close its stdout and carry on).
    std::optional<int> exit_status_by(std::chrono::steady_clock::time_point deadline) {
        auto pause = std::chrono::microseconds(100);
        for (;;) {
            int status = 0;
            pid_t done = ::waitpid(m_pid, &status, WNOHANG);
            if (done < 0 && errno == EINTR) {
                continue;
            }
            if (done < 0) {
                // ECHILD: someone else reaped it (SIGCHLD ignored in this
                // process), so how it ended is unknown; never take that
                // for a clean exit.
                const int error = errno;
                m_pid = -1;
                throw Error(ErrorKind::upstream, "",
                            std::string("waitpid failed: ") + std::strerror(error));
            }
            if (done != 0) {
                m_pid = -1;
                return status;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                return std::nullopt;
            }
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, std::chrono::microseconds(20000));
        }
    }

private:
    pid_t m_pid;
};

// The child's environment: the request's variables (cookies, headers) are
// none of mgrctl's business.
std::vector<std::string> child_environment() {
    std::vector<std::string> env = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    for (const char* name : {"MGR5_ROOT", "LANG"}) {
        if (const char* value = std::getenv(name)) {
            env.push_back(std::string(name) + "=" + value);
        }
    }
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> result;
    result.reserve(strings.size() + 1);
    for (std::string& s : strings) {
        result.push_back(s.data());
    }
    result.push_back(nullptr);
    return result;
}

} // namespace

pt::ptree Mgrctl::call(const std::string& function, const Params& params) const {
    std::vector<std::string> args = {m_path, "-m", "billmgr", "-o", "xml", function};
    for (const auto& [key, value] : params) {
        if (key.find_first_of("= ") != std::string::npos ||
            (key + value).find('\0') != std::string::npos) {
            throw failure(function, "parameter " + key + " cannot be passed");
        }
        args.push_back(std::string(key).append("=").append(value));
    }
    std::vector<std::string> env = child_environment();
    std::vector<char*> argv = pointers(args);
    std::vector<char*> envp = pointers(env);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw failure(function, "no pipe");
    }
    UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);
    SpawnActions actions;
    ::posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(actions.get(), write_end.get(), 1);
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, m_path.c_str(), actions.get(), nullptr, argv.data(), envp.data());
    if (rc != 0) {
        throw failure(function, "cannot start " + m_path + " (errno " + std::to_string(rc) + ")");
    }
    Child child(pid);
    write_end.reset();

    std::string answer;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(m_timeout_seconds);
    char buffer[16384];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            throw failure(function, "no answer within " + std::to_string(m_timeout_seconds) + " s");
        }
        pollfd pfd{read_end.get(), POLLIN, 0};
        int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            continue; // the deadline check above decides
        }
        ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        answer.append(buffer, static_cast<std::size_t>(n));
        if (answer.size() > k_max_answer) {
            throw failure(function, "answer over 4 MiB");
        }
    }
    std::optional<int> exited;
    try {
        exited = child.exit_status_by(deadline);
    } catch (const Error& e) {
        throw failure(function, e.what());
    }
    if (!exited) {
        throw failure(function, "answered but did not exit within " +
                                    std::to_string(m_timeout_seconds) + " s");
    }
    int status = *exited;

    pt::ptree tree;
    try {
        tree = parse_xml(answer, pt::xml_parser::trim_whitespace);
    } catch (const pt::xml_parser_error&) {
        tree.clear();
    }
    auto doc = tree.get_child_optional("doc");
    bool exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!doc) {
        throw failure(function, exited_ok ? "answer is not a <doc>" : describe_exit(status));
    }
    if (!exited_ok && error_type(*doc).empty()) {
        throw failure(function, describe_exit(status));
    }
    return *doc;
}

std::string error_type(const pt::ptree& doc) {
    auto error = doc.get_child_optional("error");
    if (!error) {
        return "";
    }
    std::string type = error->get<std::string>("<xmlattr>.type", "");
    return type.empty() ? "error" : type;
}

std::string error_summary(const pt::ptree& doc) {
    auto error = doc.get_child_optional("error");
    if (!error) {
        return "";
    }
    std::string summary = error_type(doc);
    std::string object = error->get<std::string>("<xmlattr>.object", "");
    if (!object.empty()) {
        summary += " (" + object + ")";
    }
    std::string message = error->get<std::string>("msg", "");
    if (!message.empty()) {
        summary += ": " + message.substr(0, 200);
    }
    return summary;
}

} // namespace rk
