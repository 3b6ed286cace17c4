#include "util/error.hpp"
#include "util/json.hpp"

#include <gtest/gtest.h>

using rk::Error;
using rk::json::Value;

namespace {

Value parse(std::string_view text) {
    return rk::json::parse(text, "body");
}

std::string field_of_error(std::string_view text) {
    try {
        parse(text);
    } catch (const Error& e) {
        return e.field();
    }
    return "(accepted)";
}

} // namespace

TEST(JsonParse, KeepsNumbersAsTheirText) {
    Value v = parse(R"({"sum": 990.50, "big": 92233720368547758.07, "n": -0, "e": 1e3})");
    ASSERT_TRUE(v.is(Value::Type::object));
    EXPECT_EQ(v.find("sum")->text, "990.50");
    EXPECT_EQ(v.find("big")->text, "92233720368547758.07");
    EXPECT_EQ(v.find("n")->text, "-0");
    EXPECT_EQ(v.find("e")->text, "1e3");
    EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(JsonParse, DecodesEscapesAndSurrogatePairs) {
    Value v = parse(R"(["a\"b\\c\/d\n", "\u0416", "\ud83d\ude00"])");
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
    EXPECT_NO_THROW(parse(shallow));
    EXPECT_THROW(rk::json::parse("[1,2,3]", "x", {4, 8}), Error);
}

TEST(JsonDump, IsCompactAndRoundTrips) {
    const char* text = "{ \"items\" : [ {\"name\":\"Ж \\\"q\\\"\", \"sum\": 10.50, \"ok\": true, "
                       "\"none\": null} ] }";
    std::string compact = rk::json::dump(parse(text));
    EXPECT_EQ(compact, R"({"items":[{"name":"Ж \"q\"","sum":10.50,"ok":true,"none":null}]})");
    EXPECT_EQ(rk::json::dump(parse(compact)), compact);
}
