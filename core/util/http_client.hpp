#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rk {

struct HttpResponse {
    long status = 0;
    std::string body;
};

struct HttpRequest {
    std::string method = "GET"; // GET or POST
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    long timeout_seconds = 30;
};

// One HTTP(S) exchange through libcurl: TLS verified, no redirects
// followed, the body capped at 1 MiB. Throws upstream naming the URL's
// origin (never its query, which may carry a signature) on failure.
HttpResponse http_request(const HttpRequest& request);

} // namespace rk
