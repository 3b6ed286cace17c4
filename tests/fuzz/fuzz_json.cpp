// The JSON parser (core/json.hpp), which reads every Stripe webhook body:
// parse never fails except with rk::Error, honours its size and depth
// limits, keeps each object's keys unique, and what it accepts survives
// dump and a re-parse unchanged.
#include "fuzz_check.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace {

std::size_t depth_of(const rk::json::Value& v) {
    std::size_t deepest = 0;
    for (const rk::json::Value& item : v.items) {
        deepest = std::max(deepest, depth_of(item) + 1);
    }
    std::set<std::string_view> keys;
    for (const auto& [key, value] : v.members) {
        FUZZ_CHECK(keys.insert(key).second); // no key twice
        FUZZ_CHECK(v.find(key) == &value);
        deepest = std::max(deepest, depth_of(value) + 1);
    }
    return deepest;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    // Small limits too, so the caps themselves are exercised.
    for (const rk::json::Limits& limits : {rk::json::Limits{}, rk::json::Limits{64, 3}}) {
        rk::json::Value value;
        try {
            value = rk::json::parse(text, "body", limits);
        } catch (const rk::Error& e) {
            FUZZ_CHECK(e.field() == "body");
            continue;
        }
        FUZZ_CHECK(text.size() <= limits.max_bytes);
        FUZZ_CHECK(depth_of(value) <= limits.max_depth);
        const std::string dumped = rk::json::dump(value);
        rk::json::Value again = rk::json::parse(dumped, "dump", rk::json::Limits{1 << 30, 64});
        FUZZ_CHECK(rk::json::dump(again) == dumped);
    }
    return 0;
}
