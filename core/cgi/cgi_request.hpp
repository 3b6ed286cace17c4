#pragma once

#include "util/error.hpp"
#include "util/form.hpp"

#include <map>
#include <optional>
#include <string>

namespace rk {

// A request in an HTTP method the program does not answer (405). `allow`
// is the methods it does answer, as the reply's Allow header lists them
// ("GET, POST"), so the header always says what the program accepts.
class MethodNotAllowed : public Error {
public:
    explicit MethodNotAllowed(std::string allow);
    const std::string& allow() const noexcept { return m_allow; }

private:
    std::string m_allow;
};

// What a CGI program receives, captured once so that handlers, tests and
// fuzzers never touch the process environment: the CGI/1.1 variables we
// use and the body as read from stdin.
struct CgiInput {
    std::map<std::string, std::string> env; // REQUEST_METHOD, QUERY_STRING, CONTENT_TYPE, ...
    std::string body;
    // Set when the body was not read because CONTENT_LENGTH announced more
    // than the cap; handlers answer 413.
    bool body_too_large = false;

    const std::string* var(const std::string& name) const;
};

inline constexpr std::size_t k_max_body_bytes = std::size_t{64} * 1024;

// Reads the CGI/1.1 variables and at most CONTENT_LENGTH bytes of stdin.
// A CONTENT_LENGTH over k_max_body_bytes is not read at all.
CgiInput read_cgi_input();

// A parsed request: its method and the parameters of the query string and
// the form body together. A key present in both is a duplicate and refused,
// so a signed value in the body cannot be shadowed by one in the URL.
struct CgiRequest {
    std::string method; // "GET" or "POST"
    Form params;
    std::string cookie_header;
    std::string accept_language;

    const std::string& require(const char* name) const { return params.require(name); }
    const std::string* find(const char* name) const { return params.find(name); }
};

// Throws too_large (413) and bad_input (400) as docs/interface.md §4 describes:
// bodies over 64 KiB, a missing or lying CONTENT_LENGTH, a body that is not
// application/x-www-form-urlencoded, duplicates, malformed %XX, NUL, CR/LF.
// Any other method: MethodNotAllowed naming `accepted`'s, so a 405's Allow
// header lists exactly what the program answers.
enum class AcceptedMethods { get, get_and_post };
CgiRequest parse_cgi_request(const CgiInput& input,
                             AcceptedMethods accepted = AcceptedMethods::get_and_post);

// The value of cookie `name` from a Cookie header, if present.
std::optional<std::string> cookie_value(const std::string& cookie_header, const std::string& name);

} // namespace rk
