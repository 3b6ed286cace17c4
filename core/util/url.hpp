#pragma once

#include <string>

namespace rk {

// The URL rules every URL in the configuration and the method form follows.

// Validates a URL: http(s) with a host; plain http only for a loopback host
// unless `allow_http` (used for gateway_url and the like).
bool is_https_or_loopback_url(const std::string& url);
bool is_loopback_host(const std::string& host);
// "https://my.example.com/billmgr" -> "https://my.example.com"; empty when
// `url` is not absolute.
std::string url_origin(const std::string& url);

} // namespace rk
