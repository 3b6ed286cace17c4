#include "util/error.hpp"
#include "util/json.hpp"

#include <chrono>
#include <gtest/gtest.h>

using rk::Error;
using rk::json::Value;

namespace {

Value parse_body(std::string_view text) {
    return rk::json::parse(text, "body");
}

std::string field_of_error(std::string_view text) {
    try {
        parse_body(text);
    } catch (const Error& e) {
        return e.field();
    }
    return "(accepted)";
}

} // namespace

TEST(JsonParse, KeepsNumbersAsTheirText) {
    Value v = parse_body(R"({"sum": 990.50, "big": 92233720368547758.07, "n": -0, "e": 1e3})");
    ASSERT_TRUE(v.is(Value::Type::object));
    EXPECT_EQ(v.find("sum")->text, "990.50");
    EXPECT_EQ(v.find("big")->text, "92233720368547758.07");
    EXPECT_EQ(v.find("n")->text, "-0");
    EXPECT_EQ(v.find("e")->text, "1e3");
    EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(JsonParse, DecodesEscapesAndSurrogatePairs) {
    Value v = parse_body(R"(["a\"b\\c\/d\n", "\u0416", "\ud83d\ude00"])");
    ASSERT_EQ(v.items.size(), 3u);
    EXPECT_EQ(v.items[0].text, "a\"b\\c/d\n");
    EXPECT_EQ(v.items[1].text, "Ж");
    EXPECT_EQ(v.items[2].text, "\xf0\x9f\x98\x80");
}

TEST(JsonParse, RefusesWhatRfc8259Refuses) {
    const char* const refused[] = {"",
                                   "{",
                                   "[1,]",
                                   "{\"a\":1,}",
                                   "01",
                                   "1.",
                                   ".5",
                                   "+1",
                                   "1e",
                                   "'a'",
                                   "[1] 2",
                                   "nul",
                                   "{\"a\":1,\"a\":2}",
                                   "\"\\ud800\"",
                                   "\"\\udc00\"",
                                   "\"\\u12\"",
                                   "\"\\x\"",
                                   "\"a\nb\"",
                                   "\"\\u0000\"",
                                   "\"\xff\"",
                                   "{1:2}",
                                   "[true false]"};
    for (const char* bad : refused) {
        EXPECT_EQ(field_of_error(bad), "body") << bad;
    }
}

TEST(JsonParse, CapsDepthAndSize) {
    std::string deep(40, '[');
    deep += std::string(40, ']');
    EXPECT_EQ(field_of_error(deep), "body");
    std::string shallow(30, '[');
    shallow += std::string(30, ']');
    EXPECT_NO_THROW(parse_body(shallow));
    EXPECT_THROW(rk::json::parse("[1,2,3]", "x", {4, 8}), Error);
}

// Each key used to be looked up among those before it: 100,000 keys cost
// 5e9 comparisons (tens of seconds). Sorted once, they take milliseconds.
TEST(JsonParse, ManyKeysInLinearithmicTime) {
    const std::size_t n = 100000;
    std::string body = "{";
    for (std::size_t i = 0; i < n; ++i) {
        body += (i == 0 ? "\"k" : ",\"k") + std::to_string(i) + "\":" + std::to_string(i);
    }
    body += "}";
    const rk::json::Limits limits{8 * 1024 * 1024, 32};
    auto start = std::chrono::steady_clock::now();
    Value v = rk::json::parse(body, "body", limits);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(v.members.size(), n);
    EXPECT_EQ(v.members.back().first, "k" + std::to_string(n - 1));
    EXPECT_LT(took, std::chrono::seconds(3));

    // The first key again at the very end, and in a nested object.
    std::string repeated = body.substr(0, body.size() - 1) + ",\"k0\":1}";
    EXPECT_THROW(rk::json::parse(repeated, "body", limits), Error);
    EXPECT_EQ(field_of_error("{\"a\":{\"x\":1,\"y\":2,\"x\":3},\"b\":1}"), "body");
    EXPECT_EQ(field_of_error("{\"x\":1,\"y\":{\"x\":1}}"), "(accepted)");
}

TEST(JsonDump, IsCompactAndRoundTrips) {
    const char* text = "{ \"items\" : [ {\"name\":\"Ж \\\"q\\\"\", \"sum\": 10.50, \"ok\": true, "
                       "\"none\": null} ] }";
    std::string compact = rk::json::dump(parse_body(text));
    EXPECT_EQ(compact, R"({"items":[{"name":"Ж \"q\"","sum":10.50,"ok":true,"none":null}]})");
    EXPECT_EQ(rk::json::dump(parse_body(compact)), compact);
}
