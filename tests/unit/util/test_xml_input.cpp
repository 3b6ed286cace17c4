#include "util/xml_input.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <gtest/gtest.h>
#include <string>

namespace pt = boost::property_tree;

namespace {

std::string nested(std::size_t depth, const std::string& name = "a") {
    std::string text;
    for (std::size_t i = 0; i < depth; ++i) {
        text += "<" + name + ">";
    }
    for (std::size_t i = 0; i < depth; ++i) {
        text += "</" + name + ">";
    }
    return text;
}

} // namespace

TEST(XmlDepth, CountsTheDeepestNesting) {
    EXPECT_EQ(rk::xml_depth(""), 0u);
    EXPECT_EQ(rk::xml_depth("plain text"), 0u);
    EXPECT_EQ(rk::xml_depth("<doc/>"), 0u);
    EXPECT_EQ(rk::xml_depth("<doc><a>1</a><b><c/></b></doc>"), 2u);
    EXPECT_EQ(rk::xml_depth(nested(10)), 10u);
}

TEST(XmlDepth, SkipsWhatIsNotAnElement) {
    EXPECT_EQ(rk::xml_depth("<?xml version=\"1.0\"?><!-- <a><a><a> -->"
                            "<!DOCTYPE doc [<!ENTITY x \"<a>\">]><doc><![CDATA[<a><a>]]>"
                            "<a q=\"x>y\" r='<b>'/></doc>"),
              1u);
}

TEST(XmlDepth, AQuoteOpensAValueOnlyAfterAnAttributesEquals) {
    // Boost's parser takes `'` and `a='` for element names: a scan that read
    // a quoted value there counted none of the 100,000 levels after it
    // (found by fuzz_xml).
    EXPECT_EQ(rk::xml_depth("<'>" + nested(100000), 64), 65u);
    EXPECT_EQ(rk::xml_depth("<a='><b><c>"), 3u);
    EXPECT_EQ(rk::xml_depth("<a\tq = 'x>y' r=\"<b>\"><c>"), 2u);
    EXPECT_THROW(rk::parse_xml("<'>" + nested(100000) + "</'>"), pt::xml_parser_error);
}

TEST(XmlDepth, StopsCountingPastTheLimit) {
    EXPECT_EQ(rk::xml_depth(nested(100000), 64), 65u);
    std::string open;
    for (int i = 0; i < 70; ++i) {
        open += "<a>";
    }
    EXPECT_EQ(rk::xml_depth(open, 64), 65u);
}

TEST(ParseXml, ReadsADocumentWithinTheLimit) {
    pt::ptree tree =
        rk::parse_xml("<doc><shop_id> shop </shop_id></doc>", pt::xml_parser::trim_whitespace);
    EXPECT_EQ(tree.get<std::string>("doc.shop_id"), "shop");
    EXPECT_NO_THROW(rk::parse_xml(nested(rk::k_max_xml_depth)));
}

TEST(ParseXml, RefusesDeepNestingBeforeTheParserRecurses) {
    // 100,000 levels crash Boost's recursive parser with a stack overflow.
    EXPECT_THROW(rk::parse_xml(nested(100000)), pt::xml_parser_error);
    EXPECT_THROW(rk::parse_xml(nested(rk::k_max_xml_depth + 1)), pt::xml_parser_error);
}

TEST(ParseXml, MalformedXmlIsTheParserError) {
    EXPECT_THROW(rk::parse_xml("<doc><a></doc"), pt::xml_parser_error);
}
