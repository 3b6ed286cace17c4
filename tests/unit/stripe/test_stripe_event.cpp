// stripe/stripe_event.hpp: reading Stripe events, and the properties of
// core's strict JSON parser (core/json.hpp) the webhook relies on.
#include "stripe/stripe_event.hpp"
#include "unit_support.hpp"
#include "util/json.hpp"

#include <gtest/gtest.h>
#include <limits>

using rk::json::Value;
using rk::stripe::integer_at;
using rk::stripe::payment_reference;
using rk::stripe::read_event;
using rk::stripe::string_at;
using rk::test::error_from;

namespace {

Value parse(const std::string& text) {
    return rk::json::parse(text, "body", rk::json::Limits{64 * 1024, 32});
}

bool refused(const std::string& text) {
    auto e = error_from([&] { parse(text); });
    return e && e->kind() == rk::ErrorKind::bad_input && e->field() == "body";
}

const char* const k_event = R"({
  "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
  "object": "event",
  "livemode": false,
  "type": "checkout.session.completed",
  "data": {
    "object": {
      "id": "cs_test_a1",
      "client_reference_id": "42",
      "metadata": {"elid": "42"},
      "amount_total": 99000,
      "currency": "rub",
      "payment_intent": "pi_3",
      "customer_details": {"name": "Ann \u00e9 \ud83d\ude00"}
    }
  }
})";

} // namespace

TEST(StripeJson, RefusesWhatALenientParserWouldAccept) {
    for (const char* text : {"",
                             "{",
                             "{}x",
                             "{\"a\":1,}",
                             "[1,]",
                             "{'a':1}",
                             "{\"a\":01}",
                             "{\"a\":+1}",
                             "{\"a\":.5}",
                             "{\"a\":1.}",
                             "{\"a\":NaN}",
                             "{\"a\":Infinity}",
                             "{\"a\":0x10}",
                             "{\"a\":tru}",
                             "{\"a\":\"\\x41\"}",
                             "{\"a\":\"tab\there\"}",
                             "// c\n{}",
                             "\xef\xbb\xbf{}",
                             "{\"a\":\"\xff\"}",
                             "{\"a\":\"\\ud800\"}",
                             "{\"a\":\"\\udc00\"}",
                             "{\"a\":\"\\ud83d\\u0041\"}",
                             "{\"a\":\"\\u12\"}"}) {
        EXPECT_TRUE(refused(text)) << text;
    }
}

TEST(StripeJson, RefusesDuplicateKeysSoNoTwoReadersDisagree) {
    EXPECT_TRUE(refused(R"({"amount_total": 1, "amount_total": 99000})"));
    EXPECT_TRUE(refused(R"({"data": {"object": {"id": "a", "id": "b"}}})"));
}

TEST(StripeJson, CapsDepthAndSize) {
    std::string deep;
    for (int i = 0; i < 40; ++i) {
        deep += "[";
    }
    for (int i = 0; i < 40; ++i) {
        deep += "]";
    }
    EXPECT_TRUE(refused(deep));
    EXPECT_TRUE(refused("\"" + std::string(70 * 1024, 'x') + "\""));
}

TEST(StripeJson, DecodesEscapesAndSurrogatePairs) {
    Value v = parse(R"({"s": "a\"b\\c\/d\n\u00e9\ud83d\ude00"})");
    EXPECT_EQ(*string_at(v, {"s"}), "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(StripeJson, NumbersKeepTheirTextAndReadAsExactIntegers) {
    Value v = parse(R"({"a": 99000, "b": 99000.0, "c": 9.9e4, "d": "99000", "e": -0,
                        "big": 9223372036854775807, "over": 9223372036854775808,
                        "min": -9223372036854775808})");
    EXPECT_EQ(integer_at(v, {"a"}), 99000);
    EXPECT_EQ(integer_at(v, {"b"}), std::nullopt);
    EXPECT_EQ(integer_at(v, {"c"}), std::nullopt);
    EXPECT_EQ(integer_at(v, {"d"}), std::nullopt);
    EXPECT_EQ(integer_at(v, {"e"}), 0);
    EXPECT_EQ(integer_at(v, {"big"}), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(integer_at(v, {"over"}), std::nullopt);
    EXPECT_EQ(integer_at(v, {"min"}), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(integer_at(v, {"missing"}), std::nullopt);
}

TEST(StripeEvent, ReadsTheEnvelope) {
    Value root = parse(k_event);
    auto event = read_event(root);
    EXPECT_EQ(event.id, "evt_1NG8Du2eZvKYlo2CUI79vXWy");
    EXPECT_EQ(event.type, "checkout.session.completed");
    EXPECT_EQ(event.livemode, false);
    ASSERT_NE(event.object, nullptr);
    EXPECT_EQ(integer_at(*event.object, {"amount_total"}), 99000);
    EXPECT_EQ(*string_at(*event.object, {"customer_details", "name"}),
              "Ann \xc3\xa9 \xf0\x9f\x98\x80");
}

TEST(StripeEvent, RefusesEnvelopesWithoutIdTypeOrObject) {
    const std::pair<const char*, const char*> cases[] = {
        {R"([])", "body"},
        {R"({"type": "x", "data": {"object": {}}})", "id"},
        {R"({"id": "", "type": "x", "data": {"object": {}}})", "id"},
        {R"({"id": "evt 1", "type": "x", "data": {"object": {}}})", "id"},
        {R"({"id": 5, "type": "x", "data": {"object": {}}})", "id"},
        {R"({"id": "evt_1", "data": {"object": {}}})", "type"},
        {R"({"id": "evt_1", "type": "Checkout", "data": {"object": {}}})", "type"},
        {R"({"id": "evt_1", "type": "x", "livemode": "false", "data": {"object": {}}})",
         "livemode"},
        {R"({"id": "evt_1", "type": "x"})", "data.object"},
        {R"({"id": "evt_1", "type": "x", "data": {"object": []}})", "data.object"},
    };
    for (const auto& [text, field] : cases) {
        Value root = parse(text);
        auto e = error_from([&] { read_event(root); });
        ASSERT_TRUE(e) << text;
        EXPECT_EQ(e->field(), field) << text;
    }
}

TEST(StripeEvent, FindsThePaymentByEitherReference) {
    auto by_session = payment_reference(parse(R"({"client_reference_id": "42"})"));
    ASSERT_TRUE(by_session);
    EXPECT_EQ(by_session->id, 42);
    EXPECT_EQ(by_session->field, "client_reference_id");
    auto by_metadata = payment_reference(parse(R"({"metadata": {"elid": "7"}})"));
    ASSERT_TRUE(by_metadata);
    EXPECT_EQ(by_metadata->id, 7);
    EXPECT_EQ(by_metadata->field, "metadata.elid");
    EXPECT_FALSE(payment_reference(parse(R"({"client_reference_id": null, "metadata": {}})")));
}

TEST(StripeEvent, RefusesConflictingOrMalformedReferences) {
    for (const char* text :
         {R"({"client_reference_id": "42", "metadata": {"elid": "43"}})",
          R"({"client_reference_id": "042"})", R"({"metadata": {"elid": "-1"}})",
          R"({"client_reference_id": "9223372036854775808"})", R"({"client_reference_id": ""})"}) {
        auto e = error_from([&] { payment_reference(parse(text)); });
        ASSERT_TRUE(e) << text;
        EXPECT_EQ(e->kind(), rk::ErrorKind::bad_input) << text;
    }
}
