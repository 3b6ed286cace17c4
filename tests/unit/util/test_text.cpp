// core/text.hpp: UTF-8 checks, markup escaping and ASCII character classes.
#include "util/text.hpp"

#include <gtest/gtest.h>

TEST(Utf8Valid, AcceptsAsciiAndMultibyteText) {
    EXPECT_TRUE(rk::is_valid_utf8(""));
    EXPECT_TRUE(rk::is_valid_utf8("OutSum=990.00"));
    EXPECT_TRUE(rk::is_valid_utf8("Иван Петров"));
    EXPECT_TRUE(rk::is_valid_utf8("€ № 5"));
    EXPECT_TRUE(rk::is_valid_utf8("\xf0\x9f\x92\xb3"));         // U+1F4B3
    EXPECT_TRUE(rk::is_valid_utf8("\xf4\x8f\xbf\xbf"));         // U+10FFFF
    EXPECT_TRUE(rk::is_valid_utf8("\xed\x9f\xbf\xee\x80\x80")); // U+D7FF, U+E000
    EXPECT_TRUE(rk::is_valid_utf8(std::string("a\0b", 3)));     // NUL is valid UTF-8
}

TEST(Utf8Valid, RefusesOverlongForms) {
    EXPECT_FALSE(rk::is_valid_utf8("\xc0\xaf")); // '/' in two bytes
    EXPECT_FALSE(rk::is_valid_utf8("\xc1\xbf"));
    EXPECT_FALSE(rk::is_valid_utf8("\xe0\x80\xaf"));     // '/' in three bytes
    EXPECT_FALSE(rk::is_valid_utf8("\xe0\x9f\xbf"));     // U+07FF in three bytes
    EXPECT_FALSE(rk::is_valid_utf8("\xf0\x80\x80\xaf")); // '/' in four bytes
    EXPECT_FALSE(rk::is_valid_utf8("\xf0\x8f\xbf\xbf")); // U+FFFF in four bytes
}

TEST(Utf8Valid, RefusesSurrogatesAndCodePointsPastUnicode) {
    EXPECT_FALSE(rk::is_valid_utf8("\xed\xa0\x80"));         // U+D800
    EXPECT_FALSE(rk::is_valid_utf8("\xed\xbf\xbf"));         // U+DFFF
    EXPECT_FALSE(rk::is_valid_utf8("\xf4\x90\x80\x80"));     // U+110000
    EXPECT_FALSE(rk::is_valid_utf8("\xf8\x88\x80\x80\x80")); // five-byte form
    EXPECT_FALSE(rk::is_valid_utf8("\xff"));
    EXPECT_FALSE(rk::is_valid_utf8("\xfe"));
}

TEST(Utf8Valid, RefusesTruncatedAndStraySequences) {
    EXPECT_FALSE(rk::is_valid_utf8("\xe2\x82")); // "€" cut short
    EXPECT_FALSE(rk::is_valid_utf8("abc\xd0"));  // at the end
    EXPECT_FALSE(rk::is_valid_utf8("\xd0 a"));   // continuation missing
    EXPECT_FALSE(rk::is_valid_utf8("\x80"));     // lone continuation byte
    EXPECT_FALSE(rk::is_valid_utf8("a\xbf"
                                   "b"));
    EXPECT_FALSE(rk::is_valid_utf8("\xf0\x9f\x92"));
}

TEST(Utf8Length, CountsCodePoints) {
    EXPECT_EQ(rk::utf8_length(""), 0u);
    EXPECT_EQ(rk::utf8_length("abc"), 3u);
    EXPECT_EQ(rk::utf8_length("Иван"), 4u);
    EXPECT_EQ(rk::utf8_length("€1"), 2u);
    EXPECT_EQ(rk::utf8_length("\xf0\x9f\x92\xb3!"), 2u);
}

TEST(ControlChars, FindsC0AndDelete) {
    EXPECT_FALSE(rk::has_control_chars("plain text, Иван"));
    EXPECT_TRUE(rk::has_control_chars("a\nb"));
    EXPECT_TRUE(rk::has_control_chars("a\rb"));
    EXPECT_TRUE(rk::has_control_chars("\t"));
    EXPECT_TRUE(rk::has_control_chars("\x7f"));
    EXPECT_TRUE(rk::has_control_chars(std::string(1, '\0')));
}

TEST(EscapeMarkup, EscapesTheFiveSpecialCharacters) {
    EXPECT_EQ(rk::escape_markup("<script>alert(1)</script>\"'&"),
              "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;");
    EXPECT_EQ(rk::escape_markup("&amp;"), "&amp;amp;");
    EXPECT_EQ(rk::escape_markup("Иван 990.00"), "Иван 990.00");
    EXPECT_EQ(rk::escape_markup(""), "");
}

TEST(XmlSafe, KeepsValidTextAndAllowedWhitespace) {
    EXPECT_EQ(rk::xml_safe("Иван\t1\n2\r3 €"), "Иван\t1\n2\r3 €");
    EXPECT_EQ(rk::xml_safe("\xf0\x9f\x92\xb3"), "\xf0\x9f\x92\xb3");
}

TEST(XmlSafe, DropsControlCharacters) {
    EXPECT_EQ(rk::xml_safe(std::string("a\0b\x01"
                                       "c\x1b"
                                       "d\x1f",
                                       8)),
              "abcd");
}

TEST(XmlSafe, ReplacesInvalidUtf8) {
    EXPECT_EQ(rk::xml_safe("a\xff"
                           "b"),
              "a\xef\xbf\xbd"
              "b");
    EXPECT_EQ(rk::xml_safe("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
    EXPECT_EQ(rk::xml_safe("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    EXPECT_TRUE(rk::is_valid_utf8(rk::xml_safe("\xe2\x82")));
}

// XML 1.0's Char production excludes U+FFFE and U+FFFF even though they are
// valid UTF-8; a document holding them is not well-formed.
TEST(XmlSafe, ReplacesNoncharactersXmlForbids) {
    EXPECT_EQ(rk::xml_safe("a\xef\xbf\xbe"
                           "b"),
              "a\xef\xbf\xbd"
              "b");
    EXPECT_EQ(rk::xml_safe("\xef\xbf\xbf"), "\xef\xbf\xbd");
    EXPECT_EQ(rk::xml_safe("\xef\xbf\xbd"), "\xef\xbf\xbd");
}

TEST(AsciiClasses, HexDigitsOfEitherCaseAndNothingElse) {
    EXPECT_EQ(rk::hex_digit_value('0'), 0);
    EXPECT_EQ(rk::hex_digit_value('9'), 9);
    EXPECT_EQ(rk::hex_digit_value('a'), 10);
    EXPECT_EQ(rk::hex_digit_value('F'), 15);
    for (char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0', '\xaf', '\xff'}) {
        EXPECT_EQ(rk::hex_digit_value(c), -1) << static_cast<int>(c);
    }
}

TEST(AsciiClasses, AlnumIsAsciiOnlyWhateverTheLocale) {
    for (char c : {'0', '9', 'a', 'z', 'A', 'Z'}) {
        EXPECT_TRUE(rk::is_ascii_alnum(c)) << c;
    }
    // Latin-1 letters (é, ß as single bytes) and UTF-8 lead bytes are not.
    for (char c : {'_', '-', ' ', '/', ':', '@', '[', '`', '{', '\0', '\xe9', '\xdf', '\xd0'}) {
        EXPECT_FALSE(rk::is_ascii_alnum(c)) << static_cast<int>(c);
    }
}
