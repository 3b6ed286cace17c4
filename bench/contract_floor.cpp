// contract_floor: what every Robokassa CGI must do before it reads a
// request, and nothing else. Linked exactly as the CGIs are (a
// static PIE with OpenSSL's EVP, Boost, SQLite), it loads the configuration
// with Boost.Program_options and writes one Boost.Log line, as docs/interface.md §2
// requires of every program, then answers like hello_cgi. The CGIs' process
// start minus this one is what their own request handling costs.
#include "util/config.hpp"
#include "util/digest.hpp"
#include "util/log.hpp"

#include <cstdio>

int main() {
    rk::init_crypto_for_one_request();
    rk::log::init("contract_floor", 6);
    rk::Config config = rk::load_config();
    rk::log::set_level(config.log_level);
    rk::log::info("started");
    std::fputs("Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n",
               stdout);
    return 0;
}
