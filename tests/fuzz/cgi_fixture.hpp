#pragma once

// Shared by the whole-request fuzzers (fuzz_rk*.cpp): how a fuzz input
// becomes a CGI request, and the installation it is served against.
//
// Input format: CGI variables as NAME=VALUE lines, a blank line, the body
// (what stdin would carry). CONTENT_LENGTH is taken as given, so it may lie;
// the body is cut to it the way rk::read_cgi_input reads stdin. A value
// `SignatureValue=*` or `key=*` (in the query or the body) is replaced by
// the right signature or payment-link key for the request's InvId/elid and
// parameters, so the fuzzer also reaches the code behind the signature
// check; CONTENT_LENGTH follows when it matched the body.

#include "cgi/cgi_request.hpp"
#include "cgi/cgi_runner.hpp"

#include <cstddef>
#include <cstdint>

namespace rkfuzz {

// The request as rk::read_cgi_input would capture it.
rk::CgiInput decode_input(const std::uint8_t* data, std::size_t size);

// One installation per process, on a temporary store (tmpfs when there is
// one) with three methods and payments in every interesting status. Set up
// on first use; removed at exit.
class Installation {
public:
    static Installation& get();

    // Serves `input` with `handler` as `program` would, then checks the
    // reply and the store against the contract (aborting on a violation),
    // and puts the store back as it was, so every input starts alike.
    rk::Reply serve(const char* program, rk::CgiInput input, rk::Handler handler,
                    rk::ErrorStyle style);

private:
    Installation();
};

} // namespace rkfuzz
