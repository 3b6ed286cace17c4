// stripe/stripe_amount.hpp: the store's hundredths and Stripe's smallest units.
#include "stripe/stripe_amount.hpp"

#include <gtest/gtest.h>
#include <limits>

using rk::stripe::from_stripe_amount;
using rk::stripe::to_stripe_amount;

TEST(StripeAmount, TwoDecimalCurrenciesAreTheSameNumber) {
    EXPECT_EQ(to_stripe_amount(99000, "RUB"), 99000);
    EXPECT_EQ(to_stripe_amount(1, "usd"), 1);
    EXPECT_EQ(from_stripe_amount(99000, "rub"), 99000);
}

TEST(StripeAmount, ZeroDecimalCurrenciesTakeWholeUnits) {
    EXPECT_EQ(to_stripe_amount(150000, "JPY"), 1500);
    EXPECT_EQ(to_stripe_amount(150050, "JPY"), std::nullopt);
    EXPECT_EQ(from_stripe_amount(1500, "jpy"), 150000);
    EXPECT_EQ(from_stripe_amount(std::numeric_limits<std::int64_t>::max(), "krw"), std::nullopt);
}

TEST(StripeAmount, ThreeDecimalCurrenciesTakeThousandths) {
    EXPECT_EQ(to_stripe_amount(1234, "KWD"), 12340);
    EXPECT_EQ(from_stripe_amount(12340, "kwd"), 1234);
    EXPECT_EQ(from_stripe_amount(12345, "kwd"), std::nullopt);
    EXPECT_EQ(to_stripe_amount(std::numeric_limits<std::int64_t>::max(), "BHD"), std::nullopt);
}

TEST(StripeAmount, RefusesMalformedCurrenciesAndNegatives) {
    for (const char* currency : {"", "RU", "RUBL", "R1B", "ru "}) {
        EXPECT_EQ(to_stripe_amount(100, currency), std::nullopt) << currency;
        EXPECT_EQ(from_stripe_amount(100, currency), std::nullopt) << currency;
    }
    EXPECT_EQ(to_stripe_amount(-1, "RUB"), std::nullopt);
    EXPECT_EQ(from_stripe_amount(-1, "rub"), std::nullopt);
}
