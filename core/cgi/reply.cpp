#include "cgi/reply.hpp"

#include "util/error.hpp"

namespace rk {

namespace {

void check_header_value(const std::string& text) {
    if (text.find_first_of("\r\n") != std::string::npos) {
        throw Error(ErrorKind::internal, "", "a reply header contains CR or LF");
    }
}

} // namespace

const char* status_text(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

std::string serialize(const Reply& reply) {
    check_header_value(reply.content_type);
    std::string out = "Status: " + std::to_string(reply.status) + " " + status_text(reply.status) +
                      "\r\nContent-Type: " + reply.content_type +
                      "\r\nContent-Length: " + std::to_string(reply.body.size()) + "\r\n";
    for (const auto& [name, value] : reply.headers) {
        check_header_value(name);
        check_header_value(value);
        out.append(name).append(": ").append(value).append("\r\n");
    }
    out += "\r\n";
    out += reply.body;
    return out;
}

Reply plain_reply(int status, std::string body) {
    Reply reply;
    reply.status = status;
    reply.body = std::move(body);
    reply.header("Cache-Control", "no-store").header("X-Content-Type-Options", "nosniff");
    return reply;
}

Reply redirect_reply(const std::string& location) {
    Reply reply = plain_reply(302, "");
    reply.header("Location", location);
    return reply;
}

} // namespace rk
