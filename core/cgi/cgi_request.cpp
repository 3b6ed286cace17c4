#include "cgi/cgi_request.hpp"

#include "util/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace rk {

namespace {

const char* const k_cgi_variables[] = {
    "REQUEST_METHOD", "QUERY_STRING",    "CONTENT_TYPE",
    "CONTENT_LENGTH", "HTTP_COOKIE",     "HTTP_ACCEPT_LANGUAGE",
    "REMOTE_ADDR",    "HTTP_USER_AGENT", "HTTP_STRIPE_SIGNATURE"};

// CONTENT_LENGTH as a number; nullopt when absent or not a plain number.
std::optional<std::size_t> content_length(const CgiInput& input) {
    const std::string* text = input.var("CONTENT_LENGTH");
    if (text == nullptr || text->empty() || text->size() > 18) {
        return std::nullopt;
    }
    std::size_t n = 0;
    for (char c : *text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n;
}

// The media type of a Content-Type, lower-cased: type and subtype are
// case-insensitive (RFC 9110), so "Application/X-WWW-Form-Urlencoded;
// Charset=UTF-8" is a form too. Parameters are not needed: form bodies are
// percent-encoded ASCII.
std::string media_type(const std::string& content_type) {
    std::string media = content_type.substr(0, content_type.find(';'));
    const std::size_t end = media.find_last_not_of(" \t");
    media.erase(end == std::string::npos ? 0 : end + 1);
    for (char& c : media) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return media;
}

bool has_cr_lf(const Form& form) {
    for (const auto& [k, v] : form.pairs()) {
        if (k.find_first_of("\r\n") != std::string::npos) {
            return true;
        }
    }
    return false;
}

} // namespace

MethodNotAllowed::MethodNotAllowed(std::string allow)
    : Error(ErrorKind::method_not_allowed, "REQUEST_METHOD", "must be one of " + allow),
      m_allow(std::move(allow)) {}

const std::string* CgiInput::var(const std::string& name) const {
    auto it = env.find(name);
    return it == env.end() ? nullptr : &it->second;
}

CgiInput read_cgi_input() {
    CgiInput input;
    for (const char* name : k_cgi_variables) {
        if (const char* value = std::getenv(name)) {
            input.env[name] = value;
        }
    }
    auto length = content_length(input);
    if (!length) {
        return input;
    }
    if (*length > k_max_body_bytes) {
        input.body_too_large = true;
        return input;
    }
    input.body.resize(*length);
    std::size_t got = std::fread(input.body.data(), 1, *length, stdin);
    input.body.resize(got);
    return input;
}

CgiRequest parse_cgi_request(const CgiInput& input, AcceptedMethods accepted) {
    CgiRequest request;
    const std::string* method = input.var("REQUEST_METHOD");
    request.method = method != nullptr ? *method : "GET";
    if (const std::string* cookie = input.var("HTTP_COOKIE")) {
        request.cookie_header = *cookie;
    }
    if (const std::string* language = input.var("HTTP_ACCEPT_LANGUAGE")) {
        request.accept_language = *language;
    }
    if (input.body_too_large || input.body.size() > k_max_body_bytes) {
        throw Error(ErrorKind::too_large, "", "the request body exceeds 64 KiB");
    }
    const std::string* query = input.var("QUERY_STRING");
    request.params = parse_form(query != nullptr ? *query : "");

    if (request.method == "POST") {
        auto length = content_length(input);
        if (!length) {
            throw bad_input("CONTENT_LENGTH", "is missing or not a number");
        }
        if (*length != input.body.size()) {
            throw bad_input("CONTENT_LENGTH", "does not match the body received");
        }
        const std::string* type = input.var("CONTENT_TYPE");
        if (!input.body.empty() &&
            media_type(type != nullptr ? *type : "") != "application/x-www-form-urlencoded") {
            throw bad_input("CONTENT_TYPE", "must be application/x-www-form-urlencoded");
        }
        FormLimits limits;
        limits.max_params -= request.params.size();
        request.params.merge(parse_form(input.body, limits));
    }
    if (request.method != "GET" &&
        (request.method != "POST" || accepted != AcceptedMethods::get_and_post)) {
        throw MethodNotAllowed(accepted == AcceptedMethods::get ? "GET" : "GET, POST");
    }
    if (has_cr_lf(request.params)) {
        throw bad_input("(parameter name)", "contains CR or LF");
    }
    return request;
}

std::optional<std::string> cookie_value(const std::string& cookie_header, const std::string& name) {
    std::size_t pos = 0;
    while (pos < cookie_header.size()) {
        std::size_t end = cookie_header.find(';', pos);
        if (end == std::string::npos) {
            end = cookie_header.size();
        }
        std::string piece = cookie_header.substr(pos, end - pos);
        std::size_t start = piece.find_first_not_of(' ');
        if (start != std::string::npos) {
            piece = piece.substr(start);
            std::size_t eq = piece.find('=');
            if (eq != std::string::npos && piece.substr(0, eq) == name) {
                return piece.substr(eq + 1);
            }
        }
        pos = end + 1;
    }
    return std::nullopt;
}

} // namespace rk
