// rkresult as a whole request through rk::serve(): CGI variables and body from
// the fuzz input (format in cgi_fixture.hpp), a real store on a temp file,
// the reply and the store checked against docs/interface.md §4 after every input.
#include "cgi_fixture.hpp"
#include "robokassa/result_notification.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    rkfuzz::Installation::get().serve("rkresult", rkfuzz::decode_input(data, size),
                                      rk::handle_result, rk::ErrorStyle::plain);
    return 0;
}
