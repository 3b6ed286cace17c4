// The CGI request parser (core/cgi_request.hpp) on its own: the request
// encoding of cgi_fixture.hpp without the store. Anything it accepts is a
// GET or POST whose parameters are unique and free of CR/LF in names.
#include "cgi/cgi_request.hpp"
#include "cgi_fixture.hpp"
#include "fuzz_check.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    rk::CgiInput input = rkfuzz::decode_input(data, size);
    try {
        rk::CgiRequest request = rk::parse_cgi_request(input);
        FUZZ_CHECK(request.method == "GET" || request.method == "POST");
        FUZZ_CHECK(!input.body_too_large && input.body.size() <= rk::k_max_body_bytes);
        FUZZ_CHECK(request.params.size() <= 128);
        for (const auto& [key, value] : request.params.pairs()) {
            FUZZ_CHECK(key.find_first_of("\r\n") == std::string::npos);
            FUZZ_CHECK(request.params.find(key) == &value);
        }
    } catch (const rk::Error& e) {
        int status = 0;
        switch (e.kind()) {
        case rk::ErrorKind::bad_input:
        case rk::ErrorKind::too_large:
        case rk::ErrorKind::method_not_allowed:
            status = 4;
            break;
        default:
            break;
        }
        FUZZ_CHECK(status == 4);
    }
    return 0;
}
