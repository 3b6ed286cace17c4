#include "util/form.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

namespace rk {

namespace {

// A field name fit for an error message: parameter names come from the
// caller, so cut them short and keep only printable ASCII.
std::string printable_name(std::string_view name) {
    std::string out;
    for (char c : name.substr(0, 64)) {
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    return out;
}

} // namespace

const std::string* Form::find(std::string_view key) const {
    for (const auto& [k, v] : m_pairs) {
        if (k == key) {
            return &v;
        }
    }
    return nullptr;
}

const std::string& Form::require(std::string_view key) const {
    const std::string* value = find(key);
    if (value == nullptr) {
        throw bad_input(std::string(key), "is required");
    }
    return *value;
}

void Form::add(std::string key, std::string value) {
    if (contains(key)) {
        throw bad_input(printable_name(key), "is given more than once");
    }
    m_pairs.emplace_back(std::move(key), std::move(value));
}

void Form::merge(const Form& other) {
    for (const auto& [k, v] : other.m_pairs) {
        add(k, v);
    }
}

std::string percent_decode(std::string_view text, std::string_view field) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%') {
            int hi = i + 1 < text.size() ? hex_digit_value(text[i + 1]) : -1;
            int lo = i + 2 < text.size() ? hex_digit_value(text[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                throw bad_input(printable_name(field), "has malformed percent-encoding");
            }
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += c;
        }
        if (out.back() == '\0') {
            throw bad_input(printable_name(field), "contains a NUL byte");
        }
    }
    return out;
}

Form parse_form(std::string_view text, const FormLimits& limits) {
    if (text.size() > limits.max_bytes) {
        throw Error(ErrorKind::too_large, "",
                    "request data exceeds " + std::to_string(limits.max_bytes) + " bytes");
    }
    Form form;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find('&', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        std::string_view piece = text.substr(pos, end - pos);
        // Empty pieces ("a=1&&b=2", a trailing '&') carry nothing; browsers
        // and Robokassa never send them, but they are harmless.
        if (!piece.empty()) {
            if (form.size() == limits.max_params) {
                throw Error(ErrorKind::too_large, "",
                            "more than " + std::to_string(limits.max_params) + " parameters");
            }
            std::size_t eq = piece.find('=');
            std::string_view raw_key = piece.substr(0, eq);
            std::string_view raw_value =
                eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
            std::string key = percent_decode(raw_key, raw_key);
            if (key.empty()) {
                throw bad_input("(empty)", "a parameter has no name");
            }
            std::string value = percent_decode(raw_value, key);
            form.add(std::move(key), std::move(value));
        }
        pos = end + 1;
    }
    return form;
}

std::string encode_form(const Form& form) {
    std::string out;
    for (const auto& [key, value] : form.pairs()) {
        if (!out.empty()) {
            out += '&';
        }
        out += percent_encode(key) + "=" + percent_encode(value);
    }
    return out;
}

std::string percent_encode(std::string_view text) {
    static const char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (unsigned char c : text) {
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 0x0f];
        }
    }
    return out;
}

} // namespace rk
