// core/method_settings.hpp: the pmvalidate rules of docs/interface.md §3.
#include "robokassa/method_settings.hpp"
#include "unit_support.hpp"

#include <gtest/gtest.h>

using rk::test::error_from;

namespace {

rk::MethodFields valid_fields() {
    return {{"shop_id", "demo-shop_1.ru"},
            {"password1", "Passw0rdOne"},
            {"password2", "Passw0rdTwo"},
            {"hash_algorithm", "sha256"},
            {"test_mode", "on"},
            {"inc_curr_label", "BankCard"},
            {"gateway_url", "https://auth.robokassa.ru/Merchant/Index.aspx"}};
}

rk::MethodFields with(rk::MethodFields fields, const std::string& name, const std::string& value) {
    fields[name] = value;
    return fields;
}

// The field the bad_input error names, or "<accepted>".
std::string refused_field(const rk::MethodFields& fields) {
    auto error = error_from([&] { rk::parse_method_settings(fields); });
    if (!error) {
        return "<accepted>";
    }
    EXPECT_EQ(error->kind(), rk::ErrorKind::bad_input);
    EXPECT_FALSE(std::string(error->what()).empty());
    return error->field();
}

} // namespace

TEST(MethodSettings, AcceptsAValidSet) {
    const rk::MethodSettings s = rk::parse_method_settings(valid_fields());
    EXPECT_EQ(s.shop_id, "demo-shop_1.ru");
    EXPECT_EQ(s.password1, "Passw0rdOne");
    EXPECT_EQ(s.password2, "Passw0rdTwo");
    EXPECT_EQ(s.password3, "");
    EXPECT_EQ(s.hash_algorithm, rk::HashAlgorithm::sha256);
    EXPECT_TRUE(s.test_mode);
    EXPECT_FALSE(s.recurring);
    EXPECT_EQ(s.inc_curr_label, "BankCard");
    EXPECT_EQ(rk::effective_gateway_url(s), "https://auth.robokassa.ru/Merchant/Index.aspx");
}

TEST(MethodSettings, OptionalFieldsTakeDefaults) {
    const rk::MethodSettings s = rk::parse_method_settings(
        {{"shop_id", "demo"}, {"password1", "Passw0rdOne"}, {"password2", "Passw0rdTwo"}});
    EXPECT_EQ(s.hash_algorithm, rk::HashAlgorithm::md5);
    EXPECT_FALSE(s.test_mode);
    EXPECT_TRUE(s.gateway_url.empty());
    EXPECT_EQ(rk::effective_gateway_url(s), rk::k_default_gateway_url);
    EXPECT_EQ(std::string(rk::k_default_gateway_url),
              "https://auth.robokassa.ru/Merchant/Index.aspx");
}

TEST(MethodSettings, AcceptsEveryHashAlgorithm) {
    for (rk::HashAlgorithm algorithm : rk::k_hash_algorithms) {
        const auto s = rk::parse_method_settings(
            with(valid_fields(), "hash_algorithm", std::string(rk::to_string(algorithm))));
        EXPECT_EQ(s.hash_algorithm, algorithm);
    }
}

TEST(MethodSettings, AcceptsPassword3AndRecurring) {
    auto fields = with(valid_fields(), "password3", "Passw0rdThree");
    fields["recurring"] = "on";
    const auto s = rk::parse_method_settings(fields);
    EXPECT_EQ(s.password3, "Passw0rdThree");
    EXPECT_TRUE(s.recurring);
}

TEST(MethodSettings, AcceptsLoopbackHttpGateway) {
    const auto s =
        rk::parse_method_settings(with(valid_fields(), "gateway_url", "http://127.0.0.1:8080/pay"));
    EXPECT_EQ(rk::effective_gateway_url(s), "http://127.0.0.1:8080/pay");
    EXPECT_EQ(refused_field(with(valid_fields(), "gateway_url", "http://127.0.0.1")), "<accepted>");
}

TEST(MethodSettings, RefusesShortPassword1) {
    EXPECT_EQ(refused_field(with(valid_fields(), "password1", "abcdef1")), "password1");
    EXPECT_EQ(refused_field(with(valid_fields(), "password1", "abcdefg1")), "<accepted>");
}

TEST(MethodSettings, RefusesPassword1WithoutDigit) {
    EXPECT_EQ(refused_field(with(valid_fields(), "password1", "abcdefgh")), "password1");
}

TEST(MethodSettings, RefusesPassword2WithoutLetter) {
    EXPECT_EQ(refused_field(with(valid_fields(), "password2", "12345678")), "password2");
}

TEST(MethodSettings, RefusesPassword2EqualToPassword1) {
    EXPECT_EQ(refused_field(with(valid_fields(), "password2", "Passw0rdOne")), "password2");
}

TEST(MethodSettings, RefusesMissingPasswords) {
    auto fields = valid_fields();
    fields.erase("password1");
    EXPECT_EQ(refused_field(fields), "password1");
    fields = valid_fields();
    fields.erase("password2");
    EXPECT_EQ(refused_field(fields), "password2");
}

TEST(MethodSettings, RefusesBadHashAlgorithm) {
    EXPECT_EQ(refused_field(with(valid_fields(), "hash_algorithm", "crc32")), "hash_algorithm");
    EXPECT_EQ(refused_field(with(valid_fields(), "hash_algorithm", "sha-256")), "hash_algorithm");
}

TEST(MethodSettings, RefusesBadShopId) {
    EXPECT_EQ(refused_field(with(valid_fields(), "shop_id", "")), "shop_id");
    auto fields = valid_fields();
    fields.erase("shop_id");
    EXPECT_EQ(refused_field(fields), "shop_id");
    EXPECT_EQ(refused_field(with(valid_fields(), "shop_id", "demo shop")), "shop_id");
    EXPECT_EQ(refused_field(with(valid_fields(), "shop_id", std::string(65, 'a'))), "shop_id");
    EXPECT_EQ(refused_field(with(valid_fields(), "shop_id", std::string(64, 'a'))), "<accepted>");
    for (const char* bad : {"demo/shop", "demo:shop", "демо", "demo\n", "a<b>"}) {
        EXPECT_EQ(refused_field(with(valid_fields(), "shop_id", bad)), "shop_id") << bad;
    }
}

TEST(MethodSettings, RefusesPlainHttpGatewayOnAPublicHost) {
    EXPECT_EQ(refused_field(with(valid_fields(), "gateway_url", "http://auth.robokassa.ru/x")),
              "gateway_url");
    EXPECT_EQ(refused_field(with(valid_fields(), "gateway_url", "javascript:alert(1)")),
              "gateway_url");
}

TEST(MethodSettings, RefusesPassword3EqualToAnother) {
    EXPECT_EQ(refused_field(with(valid_fields(), "password3", "Passw0rdOne")), "password3");
    EXPECT_EQ(refused_field(with(valid_fields(), "password3", "Passw0rdTwo")), "password3");
    EXPECT_EQ(refused_field(with(valid_fields(), "password3", "short1")), "password3");
}

TEST(MethodSettings, RefusesTestModeOtherThanOnOrOff) {
    EXPECT_EQ(refused_field(with(valid_fields(), "test_mode", "maybe")), "test_mode");
    EXPECT_EQ(refused_field(with(valid_fields(), "test_mode", "off")), "<accepted>");
    EXPECT_EQ(refused_field(with(valid_fields(), "recurring", "yes")), "recurring");
}

TEST(MethodSettings, RefusesBadIncCurrLabel) {
    EXPECT_EQ(refused_field(with(valid_fields(), "inc_curr_label", "Bank Card")), "inc_curr_label");
    EXPECT_EQ(refused_field(with(valid_fields(), "inc_curr_label", std::string(65, 'A'))),
              "inc_curr_label");
}

TEST(MethodSettings, NamesTheFirstBadFieldInFormOrder) {
    auto fields = with(valid_fields(), "shop_id", "");
    fields["password1"] = "x";
    fields["hash_algorithm"] = "crc32";
    EXPECT_EQ(refused_field(fields), "shop_id");
    fields["shop_id"] = "demo";
    EXPECT_EQ(refused_field(fields), "password1");
}

TEST(ValidatePassword, AppliesTheRuleToAnyField) {
    EXPECT_NO_THROW(rk::validate_password("password3", "abcdefg1"));
    EXPECT_NO_THROW(rk::validate_password("password3", "1!#$%&'()*+,-./Z"));
    for (const char* bad :
         {"", "abc1", "ABCDEFGHIJ", "1234567890", "abcd efg1", "пароль123a", "abcdefg1\t"}) {
        auto error = error_from([&] { rk::validate_password("password3", bad); });
        ASSERT_TRUE(error) << bad;
        EXPECT_EQ(error->field(), "password3");
    }
}

TEST(ParseOnOff, AcceptsCheckboxValues) {
    EXPECT_TRUE(rk::parse_on_off("test_mode", "on"));
    EXPECT_FALSE(rk::parse_on_off("test_mode", "off"));
    EXPECT_FALSE(rk::parse_on_off("test_mode", ""));
    auto error = error_from([] { rk::parse_on_off("test_mode", "ON"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->field(), "test_mode");
}

TEST(MethodSettings, TestPairIsOptionalAndSignsOnlyInTestMode) {
    rk::MethodFields fields = with(with(valid_fields(), "test_password1", "Test0passOne"),
                                   "test_password2", "Test0passTwo");
    rk::MethodSettings s = rk::parse_method_settings(fields);
    EXPECT_EQ(s.test_password1, "Test0passOne");
    EXPECT_EQ(s.test_password2, "Test0passTwo");
    ASSERT_TRUE(s.test_mode);
    EXPECT_EQ(rk::signing_password1(s), "Test0passOne");
    EXPECT_EQ(rk::signing_password2(s), "Test0passTwo");
    s.test_mode = false;
    EXPECT_EQ(rk::signing_password1(s), "Passw0rdOne");
    EXPECT_EQ(rk::signing_password2(s), "Passw0rdTwo");
    // Test mode without a test pair keeps signing with the live pair, as
    // methods saved before the pair existed do.
    rk::MethodSettings live_only = rk::parse_method_settings(valid_fields());
    EXPECT_EQ(rk::signing_password1(live_only), "Passw0rdOne");
    EXPECT_EQ(rk::signing_password2(live_only), "Passw0rdTwo");
}

TEST(MethodSettings, TestPairFollowsThePasswordRulesAndGoesTogether) {
    const rk::MethodFields base = valid_fields();
    auto pair = [&](const std::string& one, const std::string& two) {
        return with(with(base, "test_password1", one), "test_password2", two);
    };
    EXPECT_EQ(refused_field(pair("short1", "Test0passTwo")), "test_password1");
    EXPECT_EQ(refused_field(pair("Test0passOne", "nodigitshere")), "test_password2");
    EXPECT_EQ(refused_field(pair("Test0passOne", "Test0passOne")), "test_password2");
    EXPECT_EQ(refused_field(pair("Test0passOne", "")), "test_password2");
    EXPECT_EQ(refused_field(pair("", "Test0passTwo")), "test_password1");
    EXPECT_EQ(refused_field(pair("", "")), "<accepted>");
}

TEST(MethodSettings, PaymentLifetimeIsWholeHoursUpTo720) {
    EXPECT_EQ(rk::parse_method_settings(valid_fields()).payment_lifetime_hours, 0);
    for (const auto& [text, hours] :
         std::vector<std::pair<std::string, int>>{{"1", 1}, {"24", 24}, {"720", 720}}) {
        EXPECT_EQ(rk::parse_method_settings(with(valid_fields(), "payment_lifetime", text))
                      .payment_lifetime_hours,
                  hours);
    }
    for (const char* bad : {"0", "721", "024", "-1", "1.5", "12h", " 12", "99999"}) {
        EXPECT_EQ(refused_field(with(valid_fields(), "payment_lifetime", bad)), "payment_lifetime")
            << bad;
    }
}

TEST(MethodSettings, ReceiptSettingsAreRobokassasCodesAndNeedTheTax) {
    rk::MethodSettings none = rk::parse_method_settings(valid_fields());
    EXPECT_EQ(none.receipt_tax, "");
    rk::MethodFields full = with(with(with(valid_fields(), "sno", "usn_income"), "tax", "vat20"),
                                 "payment_object", "service");
    rk::MethodSettings s = rk::parse_method_settings(full);
    EXPECT_EQ(s.receipt_sno, "usn_income");
    EXPECT_EQ(s.receipt_tax, "vat20");
    EXPECT_EQ(s.receipt_payment_object, "service");
    EXPECT_EQ(refused_field(with(full, "sno", "simplified")), "sno");
    EXPECT_EQ(refused_field(with(full, "tax", "vat18")), "tax");
    EXPECT_EQ(refused_field(with(full, "payment_object", "servise")), "payment_object");
    // A taxation system or object without the VAT rate would build no receipt.
    EXPECT_EQ(refused_field(with(full, "tax", "")), "sno");
    EXPECT_EQ(refused_field(with(with(full, "tax", ""), "sno", "")), "payment_object");
    EXPECT_EQ(refused_field(with(with(full, "sno", ""), "payment_object", "")), "<accepted>");
}
