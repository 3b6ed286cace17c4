#include "util/json.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>

namespace rk::json {

namespace {

class Parser {
public:
    Parser(std::string_view text, std::string_view field, const Limits& limits)
        : m_text(text), m_field(field), m_limits(limits) {}

    Value document() {
        if (m_text.size() > m_limits.max_bytes) {
            fail("is larger than " + std::to_string(m_limits.max_bytes) + " bytes");
        }
        if (!is_valid_utf8(m_text)) {
            fail("is not valid UTF-8");
        }
        Value v = value(0);
        skip_space();
        if (m_pos != m_text.size()) {
            fail("has data after the JSON value");
        }
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        throw bad_input(std::string(m_field),
                        why + " (JSON, at byte " + std::to_string(m_pos) + ")");
    }

    void skip_space() {
        while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' ||
                                         m_text[m_pos] == '\n' || m_text[m_pos] == '\r')) {
            ++m_pos;
        }
    }

    char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }

    void expect(char c) {
        if (peek() != c) {
            fail(std::string("expects '") + c + "'");
        }
        ++m_pos;
    }

    void literal(std::string_view word) {
        if (m_text.substr(m_pos, word.size()) != word) {
            fail("has an unknown literal");
        }
        m_pos += word.size();
    }

    // Sorted once the object is read: a lookup per key as it arrives made a
    // body of many distinct keys cost n^2 comparisons.
    void refuse_repeated_keys(const Value& object) const {
        const auto& members = object.members;
        if (members.size() < 2) {
            return;
        }
        std::vector<std::string_view> keys;
        keys.reserve(members.size());
        for (const auto& member : members) {
            keys.emplace_back(member.first);
        }
        std::sort(keys.begin(), keys.end());
        auto repeated = std::adjacent_find(keys.begin(), keys.end());
        if (repeated != keys.end()) {
            fail("repeats the key \"" + std::string(repeated->substr(0, 64)) + "\"");
        }
    }

    Value value(std::size_t depth) {
        if (depth > m_limits.max_depth) {
            fail("nests deeper than " + std::to_string(m_limits.max_depth));
        }
        skip_space();
        Value v;
        char c = peek();
        if (c == '{') {
            v.type = Value::Type::object;
            ++m_pos;
            skip_space();
            if (peek() == '}') {
                ++m_pos;
                return v;
            }
            for (;;) {
                skip_space();
                std::string key = string();
                skip_space();
                expect(':');
                v.members.emplace_back(std::move(key), value(depth + 1));
                skip_space();
                if (peek() == ',') {
                    ++m_pos;
                    continue;
                }
                expect('}');
                refuse_repeated_keys(v);
                return v;
            }
        }
        if (c == '[') {
            v.type = Value::Type::array;
            ++m_pos;
            skip_space();
            if (peek() == ']') {
                ++m_pos;
                return v;
            }
            for (;;) {
                v.items.push_back(value(depth + 1));
                skip_space();
                if (peek() == ',') {
                    ++m_pos;
                    continue;
                }
                expect(']');
                return v;
            }
        }
        if (c == '"') {
            v.type = Value::Type::string;
            v.text = string();
            return v;
        }
        if (c == 't' || c == 'f') {
            v.type = Value::Type::boolean;
            v.boolean = c == 't';
            literal(c == 't' ? "true" : "false");
            return v;
        }
        if (c == 'n') {
            literal("null");
            return v;
        }
        v.type = Value::Type::number;
        v.text = number();
        return v;
    }

    std::string number() {
        std::size_t start = m_pos;
        auto digits = [this] {
            std::size_t from = m_pos;
            while (peek() >= '0' && peek() <= '9') {
                ++m_pos;
            }
            return m_pos - from;
        };
        if (peek() == '-') {
            ++m_pos;
        }
        if (peek() == '0') {
            ++m_pos;
        } else if (digits() == 0) {
            fail("expects a value");
        }
        if (peek() == '.') {
            ++m_pos;
            if (digits() == 0) {
                fail("has a number without decimals after '.'");
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            ++m_pos;
            if (peek() == '+' || peek() == '-') {
                ++m_pos;
            }
            if (digits() == 0) {
                fail("has a number with an empty exponent");
            }
        }
        return std::string(m_text.substr(start, m_pos - start));
    }

    unsigned hex4() {
        unsigned value = 0;
        for (int i = 0; i < 4; ++i) {
            int d = hex_digit_value(peek());
            if (d < 0) {
                fail("has a malformed \\u escape");
            }
            value = value * 16 + static_cast<unsigned>(d);
            ++m_pos;
        }
        return value;
    }

    static void append_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    std::string string() {
        expect('"');
        std::string out;
        for (;;) {
            if (m_pos >= m_text.size()) {
                fail("has an unterminated string");
            }
            char c = m_text[m_pos++];
            if (c == '"') {
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) {
                fail("has a control character in a string");
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            char e = peek();
            ++m_pos;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                out += e;
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                unsigned cp = hex4();
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (peek() != '\\' || m_text.substr(m_pos, 2) != "\\u") {
                        fail("has an unpaired surrogate");
                    }
                    m_pos += 2;
                    unsigned low = hex4();
                    if (low < 0xdc00 || low > 0xdfff) {
                        fail("has an unpaired surrogate");
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    fail("has an unpaired surrogate");
                }
                if (cp == 0) {
                    fail("has a NUL character in a string");
                }
                append_utf8(out, cp);
                break;
            }
            default:
                fail("has an unknown escape");
            }
        }
    }

    std::string_view m_text;
    std::string_view m_field;
    const Limits& m_limits;
    std::size_t m_pos = 0;
};

void dump_string(std::string& out, const std::string& s) {
    out += '"';
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            static const char digits[] = "0123456789abcdef";
            out += "\\u00";
            out += digits[c >> 4];
            out += digits[c & 0x0f];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
}

void dump_to(std::string& out, const Value& v) {
    switch (v.type) {
    case Value::Type::null:
        out += "null";
        return;
    case Value::Type::boolean:
        out += v.boolean ? "true" : "false";
        return;
    case Value::Type::number:
        out += v.text;
        return;
    case Value::Type::string:
        dump_string(out, v.text);
        return;
    case Value::Type::array:
        out += '[';
        for (std::size_t i = 0; i < v.items.size(); ++i) {
            if (i > 0) {
                out += ',';
            }
            dump_to(out, v.items[i]);
        }
        out += ']';
        return;
    case Value::Type::object:
        out += '{';
        for (std::size_t i = 0; i < v.members.size(); ++i) {
            if (i > 0) {
                out += ',';
            }
            dump_string(out, v.members[i].first);
            out += ':';
            dump_to(out, v.members[i].second);
        }
        out += '}';
        return;
    }
}

} // namespace

const Value* Value::find(std::string_view key) const {
    for (const auto& [k, v] : members) {
        if (k == key) {
            return &v;
        }
    }
    return nullptr;
}

Value parse(std::string_view text, std::string_view field, const Limits& limits) {
    return Parser(text, field, limits).document();
}

std::string dump(const Value& value) {
    std::string out;
    dump_to(out, value);
    return out;
}

} // namespace rk::json
