#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rk {

// ASCII character classes for protocol tokens: unlike <cctype>'s they do
// not depend on the locale and take any char, negative ones included.
constexpr bool is_ascii_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
inline std::string ascii_lower(std::string text) {
    for (char& c : text) {
        c = ascii_lower(c);
    }
    return text;
}
// 0-15 for a hex digit of either case, -1 for anything else.
constexpr int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool is_valid_utf8(std::string_view text);
// Code points in valid UTF-8 text.
std::size_t utf8_length(std::string_view text);
bool has_control_chars(std::string_view text);

// Escapes & < > " ' for HTML and XML text and attribute values alike.
std::string escape_markup(std::string_view text);

// Drops bytes that are not valid in XML 1.0 text (controls other than tab,
// newline, carriage return) and replaces invalid UTF-8 with U+FFFD, so a
// caller's bytes can always be written into a document.
std::string xml_safe(std::string_view text);

} // namespace rk
