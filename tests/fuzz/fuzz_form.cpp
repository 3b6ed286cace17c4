// The form parser (core/form.hpp): parse_form never fails except with
// rk::Error, and what it accepts survives percent_encode and a re-parse.
#include "fuzz_check.hpp"
#include "util/error.hpp"
#include "util/form.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    // Small limits too, so the caps themselves are exercised.
    rk::FormLimits small;
    small.max_bytes = 256;
    small.max_params = 4;
    for (const rk::FormLimits& limits : {rk::FormLimits{}, small}) {
        rk::Form form;
        try {
            form = rk::parse_form(text, limits);
        } catch (const rk::Error&) {
            continue; // refused: a 400/413, which is fine
        }
        FUZZ_CHECK(text.size() <= limits.max_bytes);
        FUZZ_CHECK(form.size() <= limits.max_params);
        std::string encoded;
        for (const auto& [key, value] : form.pairs()) {
            FUZZ_CHECK(!key.empty());
            FUZZ_CHECK(key.find('\0') == std::string::npos);
            FUZZ_CHECK(value.find('\0') == std::string::npos);
            FUZZ_CHECK(form.find(key) == &value); // keys are unique
            encoded += (encoded.empty() ? "" : "&") + rk::percent_encode(key) + "=" +
                       rk::percent_encode(value);
        }
        rk::FormLimits roomy;
        roomy.max_bytes = encoded.size();
        roomy.max_params = form.size();
        rk::Form again = rk::parse_form(encoded, roomy);
        FUZZ_CHECK(again.pairs() == form.pairs());
    }

    // percent_decode inverts percent_encode for any bytes without NUL.
    if (text.find('\0') == std::string_view::npos) {
        std::string encoded = rk::percent_encode(text);
        FUZZ_CHECK(encoded.find_first_of("&=+ \r\n") == std::string::npos);
        FUZZ_CHECK(rk::percent_decode(encoded, "x") == text);
    }
    return 0;
}
