// stripe/stripe_keys.hpp: the method's keys (pmvalidate's rules), masking.
#include "stripe/stripe_keys.hpp"
#include "unit_support.hpp"

#include <gtest/gtest.h>

using rk::stripe::KeyFields;
using rk::stripe::parse_stripe_keys;
using rk::test::error_from;

namespace {

KeyFields valid(const std::string& mode = "test") {
    return {{"secret_key", "sk_" + mode + "_4eC39HqLyjWDarjtT1zdp7dc"},
            {"publishable_key", "pk_" + mode + "_TYooMQauvdEDq54NiTphI7jx"},
            {"webhook_secret", "whsec_6g7NTzD9bW7XqdSQ2bGSGhDRvkPbFLcM"}};
}

std::string refused_key(const KeyFields& fields) {
    auto e = error_from([&] { parse_stripe_keys(fields); });
    if (!e) {
        return "";
    }
    EXPECT_EQ(e->kind(), rk::ErrorKind::bad_input);
    for (const auto& [name, value] : fields) {
        if (value.size() > 8) {
            EXPECT_EQ(std::string(e->what()).find(value), std::string::npos)
                << "the message echoes " << name;
        }
    }
    return e->field();
}

} // namespace

TEST(StripeKeys, AcceptsTestAndLiveSets) {
    EXPECT_FALSE(rk::stripe::is_live(parse_stripe_keys(valid("test"))));
    EXPECT_TRUE(rk::stripe::is_live(parse_stripe_keys(valid("live"))));
}

TEST(StripeKeys, RefusesMixedModesNamingThePublishableKey) {
    KeyFields mixed = valid("live");
    mixed["publishable_key"] = valid("test")["publishable_key"];
    EXPECT_EQ(refused_key(mixed), "publishable_key");
    mixed = valid("test");
    mixed["publishable_key"] = valid("live")["publishable_key"];
    EXPECT_EQ(refused_key(mixed), "publishable_key");
}

TEST(StripeKeys, RefusesMalformedKeysNamingTheField) {
    const std::pair<const char*, const char*> cases[] = {
        {"secret_key", "pk_test_4eC39HqLyjWDarjtT1zdp7dc"},
        {"secret_key", "rk_test_4eC39HqLyjWDarjtT1zdp7dc"}, // restricted keys are not secret keys
        {"secret_key", "sk_test_"},
        {"secret_key", "sk_test_1234567"},
        {"secret_key", "sk_test_4eC39HqL-jWDarjtT1zdp7dc"},
        {"secret_key", "SK_TEST_4eC39HqLyjWDarjtT1zdp7dc"},
        {"secret_key", "sk_test_4eC39HqLyjWDarjtT1zdp7dc\n"},
        {"secret_key", ""},
        {"publishable_key", "sk_test_TYooMQauvdEDq54NiTphI7jx"},
        {"publishable_key", "pk_test_TYoo MQauvdEDq54"},
        {"webhook_secret", "whsec_"},
        {"webhook_secret", "whsec"},
        {"webhook_secret", "wh_6g7NTzD9bW7XqdSQ2bGSGhDRvkPbFLcM"},
        {"webhook_secret", "whsec_6g7NTzD9/W7XqdSQ2bGSGhDRvkPbFLcM"},
    };
    for (const auto& [field, value] : cases) {
        KeyFields fields = valid();
        fields[field] = value;
        EXPECT_EQ(refused_key(fields), field) << value;
    }
}

TEST(StripeKeys, MissingFieldsAreNamedInFormOrder) {
    EXPECT_EQ(refused_key({}), "secret_key");
    KeyFields fields = valid();
    fields.erase("webhook_secret");
    EXPECT_EQ(refused_key(fields), "webhook_secret");
    fields.erase("publishable_key");
    EXPECT_EQ(refused_key(fields), "publishable_key");
}

TEST(StripeKeys, MaskKeepsPrefixAndLastFour) {
    EXPECT_EQ(rk::stripe::mask_key("sk_test_4eC39HqLyjWDarjtT1zdp7dc"), "sk_test_...p7dc");
    EXPECT_EQ(rk::stripe::mask_key("pk_live_TYooMQauvdEDq54NiTphI7jx"), "pk_live_...I7jx");
    EXPECT_EQ(rk::stripe::mask_key("whsec_6g7NTzD9bW7XqdSQ2bGSGhDRvkPbFLcM"), "whsec_...FLcM");
    EXPECT_EQ(rk::stripe::mask_key("short"), "********");
}

TEST(StripeKeys, ScrubMasksEverySecretInText) {
    EXPECT_EQ(rk::stripe::scrub_secrets(
                  "Invalid API Key provided: sk_test_****abcd; whsec_abc and sk_live_XYZ1."),
              "Invalid API Key provided: sk_test_***; whsec_*** and sk_live_***.");
    EXPECT_EQ(rk::stripe::scrub_secrets("no keys here, pk_test_abc stays"),
              "no keys here, pk_test_abc stays");
}
