#include "util/http_client.hpp"

#include "util/config.hpp"
#include "util/error.hpp"
#include "util/url.hpp"

#include <curl/curl.h>
#include <memory>

namespace rk {

namespace {

struct CurlDeleter {
    void operator()(CURL* curl) const noexcept { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};

constexpr std::size_t k_max_response_bytes = std::size_t{1024} * 1024;

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
    auto* body = static_cast<std::string*>(user);
    std::size_t n = size * count;
    if (body->size() + n > k_max_response_bytes) {
        return 0; // makes curl fail with CURLE_WRITE_ERROR
    }
    body->append(data, n);
    return n;
}

void global_init() {
    static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
    if (!done) {
        throw Error(ErrorKind::internal, "", "libcurl failed to initialise");
    }
}

} // namespace

HttpResponse http_request(const HttpRequest& request) {
    global_init();
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) {
        throw Error(ErrorKind::internal, "", "libcurl failed to create a handle");
    }
    HttpResponse response;
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    for (const auto& [name, value] : request.headers) {
        curl_slist* list =
            curl_slist_append(headers.get(), std::string(name).append(": ").append(value).c_str());
        if (list == nullptr) {
            throw Error(ErrorKind::internal, "", "libcurl failed to add a header");
        }
        if (!headers) {
            headers.reset(list); // later appends return this same head
        }
    }
    CURL* h = curl.get();
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, request.timeout_seconds);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, request.timeout_seconds);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "pmrobokassa/0.1");
    if (headers) {
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    }
    if (request.method == "POST") {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        throw Error(ErrorKind::upstream, "",
                    url_origin(request.url) + ": " + curl_easy_strerror(rc));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

} // namespace rk
