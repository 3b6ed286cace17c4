#include "util/xml_input.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <sstream>
#include <string>

namespace rk {

namespace {

bool starts_with(std::string_view text, std::size_t pos, std::string_view prefix) {
    return text.compare(pos, prefix.size(), prefix) == 0;
}

// The position just past `terminator` at or after `pos`; the end when none.
std::size_t skip_past(std::string_view text, std::size_t pos, std::string_view terminator) {
    std::size_t found = text.find(terminator, pos);
    return found == std::string_view::npos ? text.size() : found + terminator.size();
}

bool is_xml_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// A start tag from its '<' to just past its '>', quoted values included;
// sets `self_closing` for `<name … />`. A quote opens a value only where
// Boost's parser (rapidxml) reads one: after the name, a space and an
// '=' (spaces around it allowed). Anywhere else it is an ordinary
// character, as in `<'>`, an element rapidxml accepts: taking that quote
// for a value's start hid every tag after it from the count.
std::size_t skip_tag(std::string_view text, std::size_t pos, bool& self_closing) {
    char quote = 0;
    bool past_name = false;
    bool after_equals = false;
    for (std::size_t i = pos + 1; i < text.size(); ++i) {
        char c = text[i];
        if (quote != 0) {
            quote = c == quote ? '\0' : quote;
        } else if (c == '>') {
            self_closing = text[i - 1] == '/';
            return i + 1;
        } else if (is_xml_space(c)) {
            past_name = true;
        } else if (past_name && c == '=') {
            after_equals = true;
        } else if (after_equals && (c == '"' || c == '\'')) {
            quote = c;
            after_equals = false;
        } else {
            after_equals = false;
        }
    }
    self_closing = false;
    return text.size();
}

// <!DOCTYPE …> may hold an internal subset in brackets, with its own '>'s.
std::size_t skip_declaration(std::string_view text, std::size_t pos) {
    int brackets = 0;
    for (std::size_t i = pos + 2; i < text.size(); ++i) {
        if (text[i] == '[') {
            ++brackets;
        } else if (text[i] == ']' && brackets > 0) {
            --brackets;
        } else if (text[i] == '>' && brackets == 0) {
            return i + 1;
        }
    }
    return text.size();
}

} // namespace

std::size_t xml_depth(std::string_view text, std::size_t limit) {
    std::size_t depth = 0;
    std::size_t deepest = 0;
    std::size_t pos = text.find('<');
    while (pos != std::string_view::npos && pos < text.size()) {
        if (starts_with(text, pos, "<!--")) {
            pos = skip_past(text, pos + 4, "-->");
        } else if (starts_with(text, pos, "<![CDATA[")) {
            pos = skip_past(text, pos + 9, "]]>");
        } else if (starts_with(text, pos, "<?")) {
            pos = skip_past(text, pos + 2, "?>");
        } else if (starts_with(text, pos, "<!")) {
            pos = skip_declaration(text, pos);
        } else if (starts_with(text, pos, "</")) {
            // The parser does not match closing names either: any end tag
            // closes the innermost element.
            depth = depth > 0 ? depth - 1 : 0;
            pos = skip_past(text, pos + 2, ">");
        } else {
            bool self_closing = false;
            pos = skip_tag(text, pos, self_closing);
            if (!self_closing) {
                ++depth;
                if (depth > deepest) {
                    deepest = depth;
                    if (deepest > limit) {
                        return deepest;
                    }
                }
            }
        }
        pos = text.find('<', pos);
    }
    return deepest;
}

boost::property_tree::ptree parse_xml(std::string_view text, int flags) {
    namespace pt = boost::property_tree;
    if (xml_depth(text) > k_max_xml_depth) {
        throw pt::xml_parser_error("elements nested deeper than " + std::to_string(k_max_xml_depth),
                                   "", 0);
    }
    pt::ptree tree;
    std::istringstream in{std::string(text)};
    pt::read_xml(in, tree, flags);
    return tree;
}

} // namespace rk
