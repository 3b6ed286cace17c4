// core/form.hpp: application/x-www-form-urlencoded parsing and encoding.
#include "unit_support.hpp"
#include "util/error.hpp"
#include "util/form.hpp"

#include <gtest/gtest.h>

using rk::ErrorKind;
using rk::test::error_from;

namespace {

// The field of the bad_input error parsing `text` throws; fails the test
// when it throws nothing or another kind.
std::string bad_input_field(const std::string& text) {
    auto error = error_from([&] { rk::parse_form(text); });
    if (!error) {
        ADD_FAILURE() << "accepted: " << text;
        return "<accepted>";
    }
    EXPECT_EQ(error->kind(), ErrorKind::bad_input) << text;
    return error->field();
}

} // namespace

TEST(FormParse, DecodesPercentEscapesInKeysAndValues) {
    rk::Form form = rk::parse_form("a=%41%62c&%4B%65y=%2f%3D%26");
    ASSERT_EQ(form.size(), 2u);
    EXPECT_EQ(*form.find("a"), "Abc");
    EXPECT_EQ(*form.find("Key"), "/=&");
}

TEST(FormParse, DecodesPlusAsSpace) {
    rk::Form form = rk::parse_form("Description=Pay+for+VPS%2B1&Shp+x=a+b");
    EXPECT_EQ(*form.find("Description"), "Pay for VPS+1");
    EXPECT_EQ(*form.find("Shp x"), "a b");
}

TEST(FormParse, KeepsUtf8Bytes) {
    rk::Form form = rk::parse_form("encoded=%D0%98%D0%B2%D0%B0%D0%BD&raw=Иван");
    EXPECT_EQ(*form.find("encoded"), "Иван");
    EXPECT_EQ(*form.find("raw"), "Иван");
}

TEST(FormParse, KeepsOrderAndEmptyValues) {
    rk::Form form = rk::parse_form("OutSum=1&Empty=&NoEquals&SignatureValue=a=b");
    const std::vector<rk::Form::Pair> expected = {
        {"OutSum", "1"}, {"Empty", ""}, {"NoEquals", ""}, {"SignatureValue", "a=b"}};
    EXPECT_EQ(form.pairs(), expected);
}

TEST(FormParse, SkipsEmptyPieces) {
    rk::Form form = rk::parse_form("&a=1&&b=2&");
    EXPECT_EQ(form.size(), 2u);
    EXPECT_TRUE(rk::parse_form("").pairs().empty());
}

TEST(FormParse, RefusesDuplicateKeyNamingIt) {
    EXPECT_EQ(bad_input_field("InvId=1&OutSum=2&InvId=3"), "InvId");
    // The same name spelled two ways is still the same parameter.
    EXPECT_EQ(bad_input_field("InvId=1&Inv%49d=1"), "InvId");
    EXPECT_EQ(bad_input_field("OutSum=1&OutSum=1"), "OutSum");
}

TEST(FormParse, RefusesMalformedPercentEncodingNamingTheField) {
    for (const char* value : {"%", "%4", "%zz", "%4g", "%g4", "99%", "1%2"}) {
        EXPECT_EQ(bad_input_field(std::string("OutSum=") + value), "OutSum") << value;
    }
    auto error = error_from([] { rk::parse_form("Out%zSum=1"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), ErrorKind::bad_input);
}

TEST(FormParse, RefusesNulByte) {
    EXPECT_EQ(bad_input_field("a=%00"), "a");
    EXPECT_EQ(bad_input_field("a=b%00c"), "a");
    auto error = error_from([] { rk::parse_form("%00=1"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), ErrorKind::bad_input);
}

TEST(FormParse, RefusesEmptyKey) {
    for (const char* text : {"=1", "a=1&=2", "="}) {
        auto error = error_from([&] { rk::parse_form(text); });
        ASSERT_TRUE(error) << text;
        EXPECT_EQ(error->kind(), ErrorKind::bad_input) << text;
    }
    // "%3D" decodes to the key "=": a name, not an empty one.
    EXPECT_TRUE(rk::parse_form("%3D").contains("="));
}

TEST(FormParse, CapsParameterCount) {
    rk::FormLimits limits;
    limits.max_params = 3;
    EXPECT_EQ(rk::parse_form("a&b&c", limits).size(), 3u);
    auto error = error_from([&] { rk::parse_form("a&b&c&d", limits); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), ErrorKind::too_large);

    std::string at_default_cap;
    for (std::size_t i = 0; i < rk::FormLimits().max_params; ++i) {
        at_default_cap += "p" + std::to_string(i) + "=1&";
    }
    EXPECT_EQ(rk::parse_form(at_default_cap).size(), rk::FormLimits().max_params);
    error = error_from([&] { rk::parse_form(at_default_cap + "one_more=1"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), ErrorKind::too_large);
}

TEST(FormParse, CapsTotalSize) {
    const std::size_t cap = rk::FormLimits().max_bytes;
    ASSERT_EQ(cap, 64u * 1024u); // docs/interface.md §4: bodies over 64 KiB get 413
    std::string at_cap = "a=" + std::string(cap - 2, 'x');
    EXPECT_EQ(rk::parse_form(at_cap).find("a")->size(), cap - 2);
    auto error = error_from([&] { rk::parse_form(at_cap + "x"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), ErrorKind::too_large);

    rk::FormLimits small;
    small.max_bytes = 10;
    EXPECT_NO_THROW(rk::parse_form("a=12345678", small));
    error = error_from([&] { rk::parse_form("a=123456789", small); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), ErrorKind::too_large);
}

TEST(FormLookup, RequireNamesTheMissingField) {
    rk::Form form = rk::parse_form("InvId=12");
    EXPECT_EQ(form.require("InvId"), "12");
    EXPECT_TRUE(form.contains("InvId"));
    EXPECT_FALSE(form.contains("invid"));
    EXPECT_EQ(form.find("OutSum"), nullptr);
    auto error = error_from([&] { form.require("OutSum"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), ErrorKind::bad_input);
    EXPECT_EQ(error->field(), "OutSum");
}

TEST(FormAdd, RefusesDuplicateKeyAlsoWhenMerging) {
    rk::Form query = rk::parse_form("InvId=1");
    rk::Form body = rk::parse_form("OutSum=2&InvId=1");
    auto error = error_from([&] { query.merge(body); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->field(), "InvId");

    rk::Form form;
    form.add("a", "1");
    error = error_from([&] { form.add("a", "2"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(*form.find("a"), "1");
}

TEST(PercentEncode, KeepsOnlyUnreservedBytes) {
    EXPECT_EQ(rk::percent_encode("AZaz09-_.~"), "AZaz09-_.~");
    EXPECT_EQ(rk::percent_encode(" +&=%/?#:"), "%20%2B%26%3D%25%2F%3F%23%3A");
    EXPECT_EQ(rk::percent_encode("И"), "%D0%98");
    EXPECT_EQ(rk::percent_encode(std::string("\x00\xff", 2)), "%00%FF");
}

TEST(PercentEncode, RoundTripsEveryByteThroughTheParser) {
    std::string all;
    for (int c = 1; c < 256; ++c) {
        all += static_cast<char>(c);
    }
    EXPECT_EQ(rk::percent_decode(rk::percent_encode(all), "x"), all);
    rk::Form form = rk::parse_form("k=" + rk::percent_encode(all) + "&" +
                                   rk::percent_encode("key with spaces") + "=v");
    EXPECT_EQ(*form.find("k"), all);
    EXPECT_EQ(*form.find("key with spaces"), "v");
}

TEST(PercentDecode, NamesTheFieldInErrors) {
    auto error = error_from([] { rk::percent_decode("%x", "Receipt"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->field(), "Receipt");
    EXPECT_EQ(rk::percent_decode("%e2%82%AC", "x"), "€");
}
