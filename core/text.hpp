#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rk {

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
