#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rk::json {

// A parsed JSON value. Numbers keep their text, so money in a receipt or a
// webhook is never routed through a double; objects keep their order.
struct Value {
    enum class Type { null, boolean, number, string, array, object };
    Type type = Type::null;
    bool boolean = false;
    std::string text; // a number's literal text, or a string's decoded UTF-8
    std::vector<Value> items;
    std::vector<std::pair<std::string, Value>> members;

    bool is(Type t) const { return type == t; }
    // The member `key` of an object, or nullptr (also when not an object).
    const Value* find(std::string_view key) const;
};

struct Limits {
    std::size_t max_bytes = std::size_t{1024} * 1024;
    std::size_t max_depth = 32;
};

// Strict RFC 8259: no comments, no trailing commas, no duplicate keys, valid
// UTF-8 and escapes (surrogate pairs combined). Throws bad_input naming
// `field` with the offset of the first error.
Value parse(std::string_view text, std::string_view field, const Limits& limits = {});

// Compact serialisation (no spaces), strings escaped minimally.
std::string dump(const Value& value);

} // namespace rk::json
