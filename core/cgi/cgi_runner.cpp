#include "cgi/cgi_runner.hpp"

#include "cgi/pages.hpp"
#include "util/digest.hpp"
#include "util/log.hpp"
#include "util/paths.hpp"

#include <csignal>
#include <cstdio>

namespace rk {

Store& CgiContext::store() {
    if (!m_store) {
        m_store.emplace(
            Store::open(m_database_path, sql::OpenMode::existing, m_config.busy_timeout_ms));
        m_store->db().tune_for_one_request(m_config.busy_timeout_ms);
    }
    return *m_store;
}

int error_status(ErrorKind kind) {
    switch (kind) {
    case ErrorKind::bad_input:
        return 400;
    case ErrorKind::forbidden:
        return 403;
    case ErrorKind::not_found:
        return 404;
    case ErrorKind::method_not_allowed:
        return 405;
    case ErrorKind::conflict:
        return 409;
    case ErrorKind::too_large:
        return 413;
    case ErrorKind::upstream:
        return 502;
    case ErrorKind::store_unavailable:
        return 503;
    case ErrorKind::internal:
        return 500;
    }
    return 500;
}

namespace {

// `allow`: the Allow header of a 405, what the refusing code accepts.
Reply error_reply(const CgiInput& input, int status, const std::string& detail, ErrorStyle style,
                  const std::string& allow = "") {
    Reply reply;
    if (style == ErrorStyle::plain) {
        reply = plain_reply(status, "ERROR " + detail + "\n");
    } else {
        // The request may be unparseable; take the language from headers only.
        const std::string* cookie = input.var("HTTP_COOKIE");
        const std::string* accept = input.var("HTTP_ACCEPT_LANGUAGE");
        Language language = choose_language(nullptr, cookie ? *cookie : "", accept ? *accept : "");
        reply = error_page(status, language, detail);
    }
    if (status == 405 && !allow.empty()) {
        reply.header("Allow", allow);
    }
    return reply;
}

} // namespace

Reply serve(const CgiInput& input, CgiContext& context, Handler handler, ErrorStyle style) {
    try {
        return handler(input, context);
    } catch (const Error& e) {
        int status = error_status(e.kind());
        if (status >= 500) {
            log::error(std::string(e.kind() == ErrorKind::store_unavailable
                                       ? "the store is unavailable"
                                       : "internal error") +
                       ", answered " + std::to_string(status) + ": " + e.describe());
            // Internals (paths, SQL) stay in the log; the caller learns only
            // that it should come back later.
            return error_reply(
                input, status,
                status == 503 ? "temporarily unavailable, retry later" : "internal error", style);
        }
        log::info("refused: " + e.describe());
        const auto* not_allowed = dynamic_cast<const MethodNotAllowed*>(&e);
        return error_reply(input, status, e.describe(), style,
                           not_allowed != nullptr ? not_allowed->allow() : "");
    } catch (const std::exception& e) {
        log::error(std::string("internal error: ") + e.what());
        return error_reply(input, 500, "internal error", style);
    }
}

int run_cgi(const char* program, Handler handler, ErrorStyle style) {
    // Past RLIMIT_FSIZE a write must fail with EFBIG (a 503 the sender
    // retries, and a log line), not kill the process with SIGXFSZ.
    (void)std::signal(SIGXFSZ, SIG_IGN); // cannot fail for a valid signal
    init_crypto_for_one_request();
    log::init(program, 6);
    CgiInput input = read_cgi_input();
    Reply reply;
    try {
        Config config = load_config();
        log::set_level(config.log_level);
        CgiContext context(program, std::move(config), database_path());
        reply = serve(input, context, handler, style);
    } catch (const std::exception& e) {
        log::error(std::string("configuration: ") + e.what());
        reply = plain_reply(500, "ERROR the payment module is misconfigured\n");
    }
    std::string out;
    try {
        out = serialize(reply);
    } catch (const std::exception& e) {
        log::error(std::string("reply: ") + e.what());
        out = serialize(plain_reply(500, "ERROR internal error\n"));
    }
    // Nothing is left to tell if stdout is gone: the web server has dropped
    // the request, and the store already holds what happened.
    (void)std::fwrite(out.data(), 1, out.size(), stdout);
    (void)std::fflush(stdout);
    return 0;
}

} // namespace rk
