#include "billing/money.hpp"

#include "util/error.hpp"

#include <limits>

namespace rk {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

} // namespace

Kopecks parse_amount(std::string_view text, std::string_view field) {
    const std::string name(field);
    if (text.empty()) {
        throw bad_input(name, "is empty");
    }
    std::size_t dot = text.find('.');
    std::string_view whole = text.substr(0, dot);
    std::string_view fraction =
        dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    if (whole.empty() || (dot != std::string_view::npos && fraction.empty())) {
        throw bad_input(name, "must be digits with an optional '.' and decimals");
    }
    for (char c : whole) {
        if (!is_digit(c)) {
            throw bad_input(name, "must be digits with an optional '.' and decimals");
        }
    }
    for (char c : fraction) {
        if (!is_digit(c)) {
            throw bad_input(name, "must be digits with an optional '.' and decimals");
        }
    }
    for (std::size_t i = 2; i < fraction.size(); ++i) {
        if (fraction[i] != '0') {
            throw bad_input(name, "has more precision than kopecks");
        }
    }

    constexpr Kopecks max = std::numeric_limits<Kopecks>::max();
    Kopecks value = 0;
    for (char c : whole) {
        int digit = c - '0';
        if (value > (max - digit) / 10) {
            throw bad_input(name, "is too large");
        }
        value = value * 10 + digit;
    }
    for (std::size_t i = 0; i < 2; ++i) {
        int digit = i < fraction.size() ? fraction[i] - '0' : 0;
        if (value > (max - digit) / 10) {
            throw bad_input(name, "is too large");
        }
        value = value * 10 + digit;
    }
    return value;
}

std::string format_amount(Kopecks amount) {
    // Amounts are never negative here; format the magnitude defensively.
    bool negative = amount < 0;
    std::uint64_t magnitude =
        negative ? 0 - static_cast<std::uint64_t>(amount) : static_cast<std::uint64_t>(amount);
    std::string cents = std::to_string(magnitude % 100);
    if (cents.size() < 2) {
        cents.insert(0, "0");
    }
    return (negative ? "-" : "") + std::to_string(magnitude / 100) + "." + cents;
}

} // namespace rk
