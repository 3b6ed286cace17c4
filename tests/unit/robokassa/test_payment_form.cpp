// core/payment_form.hpp: what rkpayment's form carries besides the signature.
#include "robokassa/payment_form.hpp"

#include <gtest/gtest.h>

TEST(ExpirationDate, IsUtcMinutesAfterTheLifetime) {
    // 2026-11-23T06:11:42Z, in Unix time.
    const std::time_t now = 1795414302;
    EXPECT_EQ(rk::expiration_date(now, 1), "2026-11-23T07:11");
    EXPECT_EQ(rk::expiration_date(now, 24), "2026-11-24T06:11");
    // Across a month and a year end.
    EXPECT_EQ(rk::expiration_date(now, 720), "2026-12-23T06:11");
    EXPECT_EQ(rk::expiration_date(now + 38 * 86400, 24), "2027-01-01T06:11");
}
