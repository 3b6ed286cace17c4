// robokassa/payment_form.hpp: rkpayment on a real store, whole requests
// through rk::serve as the CGI serves them, and what the form carries.
#include "handler_fixture.hpp"
#include "robokassa/payment_form.hpp"

#include <gtest/gtest.h>

using rk::PaymentId;
using rk::PaymentStatus;
using rk::Reply;
using rk::test::hidden_field;

namespace {

class PaymentHandler : public rk::test::RobokassaHandlerTest {
protected:
    Reply open(const rk::CgiInput& input) {
        return serve(rk::handle_payment, "rkpayment", rk::ErrorStyle::html, input);
    }

    std::string key_of(PaymentId id) { return rk::payment_link_key(store().link_secret(), id); }

    std::string link(PaymentId id) { return "elid=" + std::to_string(id) + "&key=" + key_of(id); }

    Reply open_link(PaymentId id) { return open(rk::test::get_request(link(id))); }

    void mark_paid(PaymentId id) {
        rk::Store s = store();
        rk::sql::Transaction tx(s.db());
        s.mark_paid(tx, id, "", "test");
        tx.commit();
    }

    static bool has_form(const Reply& reply) {
        return reply.body.find("<form") != std::string::npos ||
               hidden_field(reply.body, "SignatureValue").has_value();
    }
};

} // namespace

TEST(ExpirationDate, IsUtcMinutesAfterTheLifetime) {
    // 2026-11-23T06:11:42Z, in Unix time.
    const std::time_t now = 1795414302;
    EXPECT_EQ(rk::expiration_date(now, 1), "2026-11-23T07:11");
    EXPECT_EQ(rk::expiration_date(now, 24), "2026-11-24T06:11");
    // Across a month and a year end.
    EXPECT_EQ(rk::expiration_date(now, 720), "2026-12-23T06:11");
    EXPECT_EQ(rk::expiration_date(now + 38 * 86400, 24), "2027-01-01T06:11");
}

TEST_F(PaymentHandler, ValidLinkAnswersTheSignedFormAndMovesThePaymentInPay) {
    rk::NewPayment p;
    p.method_id = m_live;
    p.amount = 99000;
    p.description = "Hosting, March";
    p.email = "client@example.com";
    PaymentId id = store().add_payment(p);
    const std::string inv = std::to_string(id);

    Reply reply = open_link(id);
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.content_type, "text/html; charset=utf-8");
    EXPECT_NE(reply.body.find("<form id=\"pay\" method=\"POST\" "
                              "action=\"https://auth.robokassa.ru/Merchant/Index.aspx\""),
              std::string::npos)
        << reply.body;
    EXPECT_EQ(hidden_field(reply.body, "MerchantLogin"), rk::test::k_shop);
    EXPECT_EQ(hidden_field(reply.body, "OutSum"), "990.00");
    EXPECT_EQ(hidden_field(reply.body, "InvId"), inv);
    EXPECT_EQ(hidden_field(reply.body, "Description"), "Hosting, March");
    // MD5 of MerchantLogin:OutSum:InvId:Password #1, apart from rk::sign.
    EXPECT_EQ(hidden_field(reply.body, "SignatureValue"),
              rk::test::evp_hex(EVP_md5(), std::string(rk::test::k_shop) + ":990.00:" + inv + ":" +
                                               rk::test::k_password1));
    EXPECT_EQ(hidden_field(reply.body, "Culture"), "ru");
    EXPECT_EQ(hidden_field(reply.body, "Encoding"), "utf-8");
    EXPECT_EQ(hidden_field(reply.body, "Email"), "client@example.com");
    EXPECT_FALSE(hidden_field(reply.body, "IsTest"));
    EXPECT_FALSE(hidden_field(reply.body, "Receipt"));
    EXPECT_FALSE(hidden_field(reply.body, "Recurring"));
    EXPECT_FALSE(hidden_field(reply.body, "ExpirationDate"));
    EXPECT_EQ(status_of(id), PaymentStatus::in_pay);
    EXPECT_EQ(store().count_transitions_to(id, PaymentStatus::in_pay), 1);

    // A second visit sends the form again and moves nothing.
    EXPECT_EQ(open_link(id).status, 200);
    EXPECT_EQ(store().count_transitions_to(id, PaymentStatus::in_pay), 1);
}

TEST_F(PaymentHandler, PostOpensTheLinkLikeGet) {
    PaymentId id = add_payment(m_live);
    Reply reply = open(rk::test::post_request(link(id)));
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(hidden_field(reply.body, "InvId"), std::to_string(id));
    EXPECT_EQ(status_of(id), PaymentStatus::in_pay);
}

TEST_F(PaymentHandler, WrongOrMissingKeyIs403WithoutAForm) {
    PaymentId id = add_payment(m_live);
    PaymentId other = add_payment(m_live);
    const std::string elid = "elid=" + std::to_string(id);
    for (const std::string& query :
         {elid + "&key=" + key_of(other), elid + "&key=" + std::string(32, '0'), elid,
          elid + "&key=" + key_of(id).substr(0, 31)}) {
        Reply reply = open(rk::test::get_request(query));
        EXPECT_EQ(reply.status, 403) << query;
        EXPECT_FALSE(has_form(reply)) << query;
    }
    EXPECT_EQ(status_of(id), PaymentStatus::created);
}

TEST_F(PaymentHandler, UnknownPaymentIs404AndMalformedElidIs400) {
    PaymentId missing = add_payment(m_live) + 50;
    Reply reply = open_link(missing);
    EXPECT_EQ(reply.status, 404);
    EXPECT_FALSE(has_form(reply));
    EXPECT_EQ(open(rk::test::get_request("elid=012&key=" + key_of(12))).status, 400);
}

TEST_F(PaymentHandler, PaidPaymentGetsAPageWithoutAForm) {
    PaymentId id = add_payment(m_live);
    mark_paid(id);
    Reply reply = open_link(id);
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.content_type, "text/html; charset=utf-8");
    EXPECT_FALSE(has_form(reply)) << reply.body;
    EXPECT_EQ(status_of(id), PaymentStatus::paid);
}

TEST_F(PaymentHandler, CancelledPaymentIs409WithoutAForm) {
    PaymentId id = add_payment(m_live);
    cancel(id);
    Reply reply = open_link(id);
    EXPECT_EQ(reply.status, 409);
    EXPECT_FALSE(has_form(reply));
    EXPECT_EQ(status_of(id), PaymentStatus::cancelled);
}

TEST_F(PaymentHandler, ForeignCurrencyGetsNoFormAndStaysNew) {
    PaymentId id = add_payment(m_live, 99000, "USD");
    Reply reply = open_link(id);
    EXPECT_EQ(reply.status, 409);
    EXPECT_FALSE(has_form(reply));
    EXPECT_EQ(status_of(id), PaymentStatus::created);
}

TEST_F(PaymentHandler, TestModeAddsIsTestAndSignsWithTheTestPassword) {
    PaymentId id = add_payment(m_test);
    Reply reply = open_link(id);
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(hidden_field(reply.body, "IsTest"), "1");
    EXPECT_EQ(hidden_field(reply.body, "SignatureValue"),
              rk::test::evp_hex(EVP_sha256(), std::string(rk::test::k_shop) +
                                                  ":990.00:" + std::to_string(id) + ":" +
                                                  rk::test::k_test_password1));
}

TEST_F(PaymentHandler, PageIsNotCachedAndPostsOnlyToTheGateway) {
    PaymentId id = add_payment(m_live);
    Reply reply = open_link(id);
    const std::string* cache = rk::test::find_header(reply, "Cache-Control");
    ASSERT_NE(cache, nullptr);
    EXPECT_EQ(*cache, "no-store");
    const std::string* csp = rk::test::find_header(reply, "Content-Security-Policy");
    ASSERT_NE(csp, nullptr);
    EXPECT_NE(csp->find("default-src 'none'"), std::string::npos) << *csp;
    EXPECT_NE(csp->find("form-action https://auth.robokassa.ru;"), std::string::npos) << *csp;
}

TEST_F(PaymentHandler, FormPostsToTheMethodsOwnGateway) {
    rk::Store s = store();
    rk::MethodSettings settings = find_method(s, m_live)->settings;
    settings.gateway_url = "http://127.0.0.1:8081/Merchant/Index.aspx";
    PaymentId id = add_payment(add_method(s, "Local gateway", settings));
    Reply reply = open_link(id);
    ASSERT_EQ(reply.status, 200);
    EXPECT_NE(reply.body.find("action=\"http://127.0.0.1:8081/Merchant/Index.aspx\""),
              std::string::npos);
    const std::string* csp = rk::test::find_header(reply, "Content-Security-Policy");
    ASSERT_NE(csp, nullptr);
    EXPECT_NE(csp->find("form-action http://127.0.0.1:8081;"), std::string::npos) << *csp;
}

TEST_F(PaymentHandler, EscapesTheDescription) {
    PaymentId id = add_payment(m_live, 99000, "RUB", "<script>alert(\"x\")</script> & co");
    Reply reply = open_link(id);
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body.find("<script>alert"), std::string::npos) << reply.body;
    EXPECT_EQ(reply.body.find("\"x\""), std::string::npos) << reply.body;
    EXPECT_NE(reply.body.find("&lt;script&gt;"), std::string::npos) << reply.body;
    EXPECT_NE(reply.body.find("&amp; co"), std::string::npos) << reply.body;
}

TEST_F(PaymentHandler, PageSpeaksTheCustomersLanguage) {
    PaymentId id = add_payment(m_live);
    rk::CgiInput input = rk::test::get_request(link(id));
    input.env["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9";
    Reply reply = open(input);
    EXPECT_EQ(hidden_field(reply.body, "Culture"), "en");
    EXPECT_NE(reply.body.find("<html lang=\"en\">"), std::string::npos);
}

TEST_F(PaymentHandler, ReceiptIsSentUrlEncodedAndSignedSo) {
    rk::NewPayment p;
    p.method_id = m_live;
    p.amount = 99000;
    p.receipt = R"({"items":[{"name":"Hosting","quantity":1,"sum":990.00,"tax":"none"}]})";
    PaymentId id = store().add_payment(p);
    const std::string encoded = "%7B%22items%22%3A%5B%7B%22name%22%3A%22Hosting%22%2C%22quantity%"
                                "22%3A1%2C%22sum%22%3A990.00%2C%22tax%22%3A%22none%22%7D%5D%7D";
    Reply reply = open_link(id);
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(hidden_field(reply.body, "Receipt"), encoded);
    EXPECT_EQ(hidden_field(reply.body, "SignatureValue"),
              rk::test::evp_hex(EVP_md5(), std::string(rk::test::k_shop) +
                                               ":990.00:" + std::to_string(id) + ":" + encoded +
                                               ":" + rk::test::k_password1));
}

TEST_F(PaymentHandler, RecurringMethodAndLifetimeAddTheirFields) {
    rk::Store s = store();
    rk::MethodSettings settings = find_method(s, m_live)->settings;
    settings.recurring = true;
    settings.payment_lifetime_hours = 24;
    settings.inc_curr_label = "BankCard";
    PaymentId id = add_payment(add_method(s, "Recurring", settings));
    Reply reply = open_link(id);
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(hidden_field(reply.body, "Recurring"), "true");
    EXPECT_EQ(hidden_field(reply.body, "IncCurrLabel"), "BankCard");
    auto expiration = hidden_field(reply.body, "ExpirationDate");
    ASSERT_TRUE(expiration);
    // A day from now, give or take the minute the request took.
    const std::time_t now = std::time(nullptr);
    EXPECT_TRUE(*expiration == rk::expiration_date(now, 24) ||
                *expiration == rk::expiration_date(now - 60, 24))
        << *expiration;
}
