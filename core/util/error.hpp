#pragma once

#include <stdexcept>
#include <string>

namespace rk {

// What went wrong, in terms every front end can map to its own answer:
// the CGI top level turns it into an HTTP status, the module into an exit
// code and an <error> element.
enum class ErrorKind {
    bad_input,          // a field is malformed or breaks a rule (HTTP 400, exit 2)
    forbidden,          // a key or signature does not match (HTTP 403/400)
    not_found,          // an id names nothing (HTTP 404, exit 2)
    conflict,           // the request is valid but the state forbids it (HTTP 409, exit 2)
    too_large,          // a body or parameter over its cap (HTTP 413)
    method_not_allowed, // an HTTP method the program does not answer (HTTP 405)
    store_unavailable,  // the store cannot be opened or committed: retry later (HTTP 503)
    upstream,           // a call to Robokassa failed (exit 1)
    internal,           // a bug or an environment we did not expect (HTTP 500)
};

// The project's one exception type. `field` names the input that caused it
// (empty when none does); the message never carries a secret.
class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, std::string field, const std::string& message)
        : std::runtime_error(message), m_kind(kind), m_field(std::move(field)) {}

    ErrorKind kind() const noexcept { return m_kind; }
    const std::string& field() const noexcept { return m_field; }

    // "field: message", or the message alone when no field is named.
    std::string describe() const { return m_field.empty() ? what() : m_field + ": " + what(); }

private:
    ErrorKind m_kind;
    std::string m_field;
};

inline Error bad_input(std::string field, const std::string& message) {
    return Error(ErrorKind::bad_input, std::move(field), message);
}

} // namespace rk
