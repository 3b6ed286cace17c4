#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rk {

// Money is an integer count of minor units (kopecks, cents): never a float.
using Kopecks = std::int64_t;

// Parses decimal text: digits, optionally '.' and digits. Any number of
// trailing zero decimals is accepted (Robokassa sends "990.000000"); a
// non-zero third decimal, a sign, an exponent, a comma, spaces and values
// beyond Kopecks' range are refused with bad_input naming `field`.
Kopecks parse_amount(std::string_view text, std::string_view field);

// "990.00": two decimals, no grouping, the form Robokassa signs.
std::string format_amount(Kopecks amount);

} // namespace rk
