#pragma once

#include "billing/store.hpp"
#include "cgi/cgi_request.hpp"
#include "cgi/reply.hpp"
#include "util/config.hpp"

#include <optional>
#include <string>

namespace rk {

// What a handler may use besides its input: the configuration and the
// store, opened on first use (a handler that needs no store never opens it).
class CgiContext {
public:
    CgiContext(std::string program, Config config, std::string database_path)
        : m_program(std::move(program)), m_config(std::move(config)),
          m_database_path(std::move(database_path)) {}
    // store_access() hands out a callable that points back here: a copy or
    // a move would leave it pointing at the old object.
    CgiContext(const CgiContext&) = delete;
    CgiContext& operator=(const CgiContext&) = delete;
    CgiContext(CgiContext&&) = delete;
    CgiContext& operator=(CgiContext&&) = delete;

    const std::string& program() const { return m_program; }
    const Config& config() const { return m_config; }
    // Opens an existing store: the CGIs never create one, so a missing
    // var/ or database file is store_unavailable (503), not a fresh ledger
    // that would refuse every payment it no longer knows.
    Store& store();
    // store() for code that must not open the store before it needs it.
    StoreAccess store_access() {
        return [this]() -> Store& { return store(); };
    }

private:
    std::string m_program;
    Config m_config;
    std::string m_database_path;
    std::optional<Store> m_store;
};

enum class ErrorStyle {
    plain, // text/plain body: for Robokassa's servers
    html,  // an error page in the customer's language
};

using Handler = Reply (*)(const CgiInput& input, CgiContext& context);

// The whole request, without any I/O of its own: runs `handler` and turns
// every exception into the reply docs/interface.md §4 names (Error kinds to 4xx/5xx,
// anything else to 500). Used by run_cgi, the tests and the fuzzers.
Reply serve(const CgiInput& input, CgiContext& context, Handler handler, ErrorStyle style);

int error_status(ErrorKind kind);

// main() of a CGI program: reads the environment and stdin, loads the
// configuration, serves, writes the reply to stdout once. Returns 0.
int run_cgi(const char* program, Handler handler, ErrorStyle style);

} // namespace rk
