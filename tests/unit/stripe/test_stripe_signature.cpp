// stripe/stripe_signature.hpp: the Stripe-Signature header and its check.
#include "stripe/stripe_signature.hpp"
#include "unit_support.hpp"

#include <gtest/gtest.h>

using rk::stripe::expected_signature;
using rk::stripe::parse_signature_header;
using rk::stripe::signature_matches;
using rk::stripe::SignatureHeader;
using rk::stripe::timestamp_fresh;
using rk::test::error_from;

namespace {

const std::string k_secret = "whsec_test_secret";
const std::string k_payload = R"({"id":"evt_1"})";
// hmac.new(b"whsec_test_secret", b'1700000000.{"id":"evt_1"}', sha256).hexdigest()
const std::string k_vector = "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a";

void expect_refused(const std::string& header) {
    auto e = error_from([&] { parse_signature_header(header); });
    ASSERT_TRUE(e) << header;
    EXPECT_EQ(e->kind(), rk::ErrorKind::bad_input) << header;
    EXPECT_EQ(e->field(), "Stripe-Signature") << header;
}

} // namespace

TEST(StripeSignatureHeader, ParsesTimestampAndEveryV1) {
    SignatureHeader h = parse_signature_header("t=1700000000,v1=abc,v0=def,v1=0123");
    EXPECT_EQ(h.timestamp, 1700000000);
    EXPECT_EQ(h.v1, (std::vector<std::string>{"abc", "0123"}));
}

TEST(StripeSignatureHeader, OrderOfItemsDoesNotMatter) {
    SignatureHeader h = parse_signature_header("v1=abc,t=42");
    EXPECT_EQ(h.timestamp, 42);
    EXPECT_EQ(h.v1.size(), 1u);
}

TEST(StripeSignatureHeader, RefusesMalformedHeaders) {
    for (const char* header :
         {"", "t=1", "v1=abc", "t=1,t=2,v1=abc", "t=,v1=abc", "t=-1,v1=abc", "t=+1,v1=abc",
          "t=1x,v1=abc", "t=1, v1=abc", "t=1,v1=abc,", ",t=1,v1=abc", "t=1,,v1=abc",
          "t=1,=x,v1=abc", "t=1,v1", "t=1234567890123456789,v1=abc", "t=1,v1=ab\xc3\xa9"}) {
        expect_refused(header);
    }
}

TEST(StripeSignatureHeader, CapsItemsAndSize) {
    std::string many = "t=1";
    for (int i = 0; i < 16; ++i) {
        many += ",v1=" + std::string(64, 'a');
    }
    expect_refused(many); // 17 items
    expect_refused("t=1,v1=" + std::string(5000, 'a'));
}

TEST(StripeSignature, MatchesAKnownVector) {
    EXPECT_EQ(expected_signature(k_secret, 1700000000, k_payload), k_vector);
    EXPECT_TRUE(signature_matches(parse_signature_header("t=1700000000,v1=" + k_vector), k_secret,
                                  k_payload));
}

TEST(StripeSignature, AnyOfSeveralV1MayMatch) {
    SignatureHeader h =
        parse_signature_header("t=1700000000,v1=" + std::string(64, '0') + ",v1=" + k_vector);
    EXPECT_TRUE(signature_matches(h, k_secret, k_payload));
}

TEST(StripeSignature, RefusesTamperedPayloadTimestampOrSecret) {
    SignatureHeader h = parse_signature_header("t=1700000000,v1=" + k_vector);
    EXPECT_FALSE(signature_matches(h, k_secret, R"({"id":"evt_2"})"));
    EXPECT_FALSE(signature_matches(h, k_secret, k_payload + " "));
    EXPECT_FALSE(signature_matches(h, "whsec_other", k_payload));
    SignatureHeader later = parse_signature_header("t=1700000001,v1=" + k_vector);
    EXPECT_FALSE(signature_matches(later, k_secret, k_payload));
}

TEST(StripeSignature, V0AndTruncatedSignaturesNeverMatch) {
    EXPECT_FALSE(signature_matches(parse_signature_header("t=1700000000,v0=" + k_vector + ",v1=x"),
                                   k_secret, k_payload));
    EXPECT_FALSE(signature_matches(
        parse_signature_header("t=1700000000,v1=" + k_vector.substr(0, 63)), k_secret, k_payload));
    EXPECT_FALSE(
        signature_matches(parse_signature_header("t=1700000000,v1="), k_secret, k_payload));
}

TEST(StripeSignature, UpperCaseHexIsTheSameSignature) {
    std::string upper = k_vector;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    EXPECT_TRUE(
        signature_matches(parse_signature_header("t=1700000000,v1=" + upper), k_secret, k_payload));
}

TEST(StripeSignatureTolerance, FiveMinutesEitherWay) {
    SignatureHeader h;
    h.timestamp = 1700000000;
    EXPECT_TRUE(timestamp_fresh(h, 1700000000));
    EXPECT_TRUE(timestamp_fresh(h, 1700000300));
    EXPECT_TRUE(timestamp_fresh(h, 1699999700));
    EXPECT_FALSE(timestamp_fresh(h, 1700000301));
    EXPECT_FALSE(timestamp_fresh(h, 1699999699));
    EXPECT_FALSE(timestamp_fresh(h, 0));
}
