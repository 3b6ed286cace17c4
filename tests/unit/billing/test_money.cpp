// core/money.hpp: amounts as integer kopecks, one parser, one formatter.
#include "billing/money.hpp"
#include "unit_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <limits>

using rk::test::error_from;

TEST(ParseAmount, AcceptsAnyNumberOfTrailingZeroDecimals) {
    for (const char* text : {"990", "990.0", "990.00", "990.000000"}) {
        EXPECT_EQ(rk::parse_amount(text, "OutSum"), 99000) << text;
    }
}

TEST(ParseAmount, ReadsKopecks) {
    EXPECT_EQ(rk::parse_amount("0", "OutSum"), 0);
    EXPECT_EQ(rk::parse_amount("0.05", "OutSum"), 5);
    EXPECT_EQ(rk::parse_amount("0.5", "OutSum"), 50);
    EXPECT_EQ(rk::parse_amount("1.50", "OutSum"), 150);
    EXPECT_EQ(rk::parse_amount("1500.5", "OutSum"), 150050);
    EXPECT_EQ(rk::parse_amount("12.340", "OutSum"), 1234);
}

TEST(ParseAmount, RefusesMalformedTextNamingTheField) {
    for (const char* text : {"990.001", "990.0000001", "-1", "1e3", " 990", "990 ", "990,00", "",
                             ".5", "5.", "+5", "0x10", "99 0", "990..0", "9.9.0", "."}) {
        auto error = error_from([&] { rk::parse_amount(text, "OutSum"); });
        ASSERT_TRUE(error) << "accepted '" << text << "'";
        EXPECT_EQ(error->kind(), rk::ErrorKind::bad_input) << text;
        EXPECT_EQ(error->field(), "OutSum") << text;
    }
}

TEST(ParseAmount, AcceptsTheLargestKopecksValue) {
    EXPECT_EQ(rk::parse_amount("92233720368547758.07", "amount"),
              std::numeric_limits<rk::Kopecks>::max());
    EXPECT_EQ(rk::parse_amount("92233720368547758", "amount"), 9223372036854775800);
}

TEST(ParseAmount, RefusesOverflowNamingTheField) {
    for (const char* text :
         {"92233720368547758.08", "92233720368547758.1", "92233720368547759", "9223372036854775807",
          "99999999999999999999999999999999", "18446744073709551616.00"}) {
        auto error = error_from([&] { rk::parse_amount(text, "amount"); });
        ASSERT_TRUE(error) << "accepted " << text;
        EXPECT_EQ(error->kind(), rk::ErrorKind::bad_input) << text;
        EXPECT_EQ(error->field(), "amount") << text;
    }
}

TEST(FormatAmount, WritesTwoDecimals) {
    EXPECT_EQ(rk::format_amount(0), "0.00");
    EXPECT_EQ(rk::format_amount(5), "0.05");
    EXPECT_EQ(rk::format_amount(50), "0.50");
    EXPECT_EQ(rk::format_amount(99000), "990.00");
    EXPECT_EQ(rk::format_amount(123456789), "1234567.89");
    EXPECT_EQ(rk::format_amount(std::numeric_limits<rk::Kopecks>::max()), "92233720368547758.07");
}

TEST(FormatAmount, RoundTripsThroughTheParser) {
    for (rk::Kopecks value :
         {rk::Kopecks{0}, rk::Kopecks{1}, rk::Kopecks{9}, rk::Kopecks{10}, rk::Kopecks{99},
          rk::Kopecks{100}, rk::Kopecks{101}, rk::Kopecks{99000}, rk::Kopecks{1234567890123},
          std::numeric_limits<rk::Kopecks>::max()}) {
        EXPECT_EQ(rk::parse_amount(rk::format_amount(value), "x"), value) << value;
    }
}
