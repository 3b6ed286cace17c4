// The money parser (core/money.hpp), against an independent reference:
// digits, optionally '.' and digits, nothing but zeros past the second
// decimal, at most INT64_MAX kopecks.
#include "billing/money.hpp"
#include "fuzz_check.hpp"
#include "util/error.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace {

bool digits_only(std::string_view s) {
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

std::optional<rk::Kopecks> reference(std::string_view text) {
    std::size_t dot = text.find('.');
    std::string_view whole = text.substr(0, dot);
    std::string_view fraction = dot == std::string_view::npos ? "" : text.substr(dot + 1);
    if (whole.empty() || !digits_only(whole) || !digits_only(fraction) ||
        (dot != std::string_view::npos && fraction.empty())) {
        return std::nullopt;
    }
    if (fraction.size() > 2 && fraction.substr(2).find_first_not_of('0') != std::string::npos) {
        return std::nullopt;
    }
    unsigned __int128 value = 0;
    const unsigned __int128 limit = std::numeric_limits<rk::Kopecks>::max();
    for (char c : whole) {
        value = value * 10 + static_cast<unsigned>(c - '0');
        if (value > limit) {
            return std::nullopt;
        }
    }
    for (std::size_t i = 0; i < 2; ++i) {
        value = value * 10 + (i < fraction.size() ? static_cast<unsigned>(fraction[i] - '0') : 0);
        if (value > limit) {
            return std::nullopt;
        }
    }
    return static_cast<rk::Kopecks>(value);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::optional<rk::Kopecks> parsed;
    try {
        parsed = rk::parse_amount(text, "OutSum");
    } catch (const rk::Error& e) {
        FUZZ_CHECK(e.kind() == rk::ErrorKind::bad_input);
        FUZZ_CHECK(e.field() == "OutSum");
    }
    FUZZ_CHECK(parsed == reference(text));
    if (parsed) {
        FUZZ_CHECK(*parsed >= 0);
        std::string formatted = rk::format_amount(*parsed);
        FUZZ_CHECK(rk::parse_amount(formatted, "x") == *parsed);
        FUZZ_CHECK(formatted.size() >= 4 && formatted[formatted.size() - 3] == '.');
    }
    return 0;
}
