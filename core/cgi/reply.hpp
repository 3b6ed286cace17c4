#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rk {

// One CGI reply, built in memory and sent once.
struct Reply {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    Reply& header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

const char* status_text(int status);

// `Status:`, `Content-Type:`, `Content-Length:`, the extra headers, a blank
// line and the body. Throws internal if a header carries CR or LF, so a
// value can never split the header block.
std::string serialize(const Reply& reply);

Reply plain_reply(int status, std::string body);
// 302 to `location` (built by the caller from configuration and numbers).
Reply redirect_reply(const std::string& location);

} // namespace rk
