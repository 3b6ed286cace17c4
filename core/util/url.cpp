#include "util/url.hpp"

#include <arpa/inet.h>

namespace rk {

bool is_loopback_host(const std::string& host) {
    if (host == "localhost" || host == "[::1]") {
        return true;
    }
    // 127.0.0.0/8 as a dotted quad only: a DNS name that merely starts with
    // "127." ("127.0.0.1.example.com") resolves wherever its owner likes.
    in_addr address{};
    return host.rfind("127.", 0) == 0 && ::inet_pton(AF_INET, host.c_str(), &address) == 1;
}

std::string url_origin(const std::string& url) {
    std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string::npos) {
        return "";
    }
    std::size_t host_start = scheme_end + 3;
    if (host_start >= url.size()) {
        return "";
    }
    std::size_t host_end = url.find_first_of("/?#", host_start);
    if (host_end == host_start) {
        return "";
    }
    return url.substr(0, host_end);
}

bool is_https_or_loopback_url(const std::string& url) {
    for (char c : url) {
        // No whitespace, controls, quotes or angle brackets: the URL lands in
        // headers and HTML attributes.
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '"' || c == '\'' ||
            c == '<' || c == '>' || c == '\\') {
            return false;
        }
    }
    std::string origin = url_origin(url);
    if (origin.empty()) {
        return false;
    }
    if (origin.rfind("https://", 0) == 0) {
        return origin.size() > 8 && origin.find('@') == std::string::npos;
    }
    if (origin.rfind("http://", 0) != 0) {
        return false;
    }
    std::string host = origin.substr(7);
    if (host.find('@') != std::string::npos) {
        return false;
    }
    // Drop the port: "[::1]:8080" keeps its brackets, "127.0.0.1:8080" its address.
    std::size_t host_end = host.front() == '[' ? host.find(']') + 1 : host.find(':');
    if (host_end < host.size() &&
        (host[host_end] != ':' || host_end + 1 == host.size() ||
         host.find_first_not_of("0123456789", host_end + 1) != std::string::npos)) {
        return false; // "[::1]evil.example", "127.0.0.1:80x": not a host and a port
    }
    host = host.substr(0, host_end);
    return is_loopback_host(host);
}

} // namespace rk
