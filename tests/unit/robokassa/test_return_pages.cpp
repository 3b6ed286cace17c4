// robokassa/return_pages.hpp: rksuccess and rkfail on a real store, whole
// requests through rk::serve as the CGIs serve them.
#include "cgi/pages.hpp"
#include "handler_fixture.hpp"
#include "robokassa/return_pages.hpp"
#include "robokassa/signature.hpp"

#include <gtest/gtest.h>

using rk::PaymentId;
using rk::PaymentStatus;
using rk::Reply;

namespace {

class ReturnPages : public rk::test::RobokassaHandlerTest {
protected:
    ReturnPages() { m_config.manager_url = rk::test::k_manager_url; }

    Reply success(const std::string& query) {
        return serve(rk::handle_success, "rksuccess", rk::ErrorStyle::html,
                     rk::test::get_request(query));
    }
    Reply fail(const std::string& query) {
        return serve(rk::handle_fail, "rkfail", rk::ErrorStyle::html, rk::test::get_request(query));
    }

    // OutSum, InvId and a Password #1 signature, then `extra`.
    static std::string signed_query(PaymentId id, const std::string& signature,
                                    const std::string& extra = "") {
        return "OutSum=990.00&InvId=" + std::to_string(id) + "&SignatureValue=" + signature +
               (extra.empty() ? "" : "&" + extra);
    }

    // MD5 of OutSum:InvId:Password #1 (and Shp pairs), apart from rk::sign.
    static std::string md5(PaymentId id, const std::string& password = rk::test::k_password1,
                           const std::string& shp = "") {
        return rk::test::evp_hex(EVP_md5(), "990.00:" + std::to_string(id) + ":" + password + shp);
    }

    static std::string location(const Reply& reply) {
        const std::string* value = rk::test::find_header(reply, "Location");
        return value != nullptr ? *value : "(none)";
    }

    std::string panel(const char* func, PaymentId id) {
        return std::string(rk::test::k_manager_url) + "?func=" + func +
               "&elid=" + std::to_string(id);
    }

    int history_rows(PaymentId id) {
        rk::Store s = store();
        auto st = s.db().prepare("SELECT count(*) FROM status_history WHERE payment_id = ?");
        st.bind(1, id);
        st.step();
        return st.column_int(0);
    }
};

} // namespace

TEST_F(ReturnPages, SuccessWithAValidSignatureRedirectsToThePanel) {
    PaymentId id = add_payment(m_live);
    Reply reply = success(signed_query(id, md5(id)));
    EXPECT_EQ(reply.status, 302) << reply.body;
    EXPECT_EQ(location(reply), panel("payment.success", id));
}

TEST_F(ReturnPages, SuccessWithoutManagerUrlShowsAReceivedPage) {
    m_config.manager_url.reset();
    PaymentId id = add_payment(m_live);
    Reply reply = success(signed_query(id, md5(id)));
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(rk::test::find_header(reply, "Location"), nullptr);
    EXPECT_NE(reply.body.find(rk::text(rk::Language::ru, rk::Text::success)), std::string::npos);
}

TEST_F(ReturnPages, SuccessPageSpeaksTheCultureRobokassaSends) {
    m_config.manager_url.reset();
    PaymentId id = add_payment(m_live);
    Reply reply = success(signed_query(id, md5(id), "Culture=en"));
    EXPECT_EQ(reply.status, 200);
    EXPECT_NE(reply.body.find("<html lang=\"en\">"), std::string::npos);
    EXPECT_NE(reply.body.find(rk::text(rk::Language::en, rk::Text::success)), std::string::npos);
}

TEST_F(ReturnPages, SuccessWithABadSignatureIs400WithoutARedirect) {
    PaymentId id = add_payment(m_live);
    // Password #2 signs ResultURL, not the return.
    for (const std::string& signature :
         {md5(id, rk::test::k_password2), std::string(32, 'a'), std::string("xyz")}) {
        Reply reply = success(signed_query(id, signature));
        EXPECT_EQ(reply.status, 400) << signature;
        EXPECT_EQ(rk::test::find_header(reply, "Location"), nullptr) << signature;
        EXPECT_EQ(reply.content_type, "text/html; charset=utf-8");
    }
    // Signed for another amount.
    Reply tampered =
        success("OutSum=9.90&InvId=" + std::to_string(id) + "&SignatureValue=" + md5(id));
    EXPECT_EQ(tampered.status, 400);
}

TEST_F(ReturnPages, SuccessForAnUnknownPaymentIs404) {
    PaymentId id = add_payment(m_live) + 10;
    EXPECT_EQ(success(signed_query(id, md5(id))).status, 404);
}

TEST_F(ReturnPages, SuccessSignsShpParametersSortedByName) {
    PaymentId id = add_payment(m_live);
    const std::string extra = "Shp_z=1&Shp_a=2";
    EXPECT_EQ(
        success(signed_query(id, md5(id, rk::test::k_password1, ":Shp_z=1:Shp_a=2"), extra)).status,
        400);
    Reply reply =
        success(signed_query(id, md5(id, rk::test::k_password1, ":Shp_a=2:Shp_z=1"), extra));
    EXPECT_EQ(reply.status, 302);
    EXPECT_EQ(location(reply), panel("payment.success", id));
}

TEST_F(ReturnPages, SuccessInTestModeVerifiesWithTheTestPassword) {
    PaymentId id = add_payment(m_test);
    std::string sha256 = rk::test::evp_hex(EVP_sha256(), "990.00:" + std::to_string(id) + ":" +
                                                             rk::test::k_test_password1);
    EXPECT_EQ(success(signed_query(id, sha256)).status, 302);
}

TEST_F(ReturnPages, SuccessRedirectIsBuiltFromTheConfigurationAlone) {
    PaymentId id = add_payment(m_live);
    Reply reply =
        success(signed_query(id, md5(id), "manager_url=https%3A%2F%2Fevil.example&func=x"));
    EXPECT_EQ(reply.status, 302);
    EXPECT_EQ(location(reply), panel("payment.success", id));
}

TEST_F(ReturnPages, SuccessNeverChangesThePayment) {
    PaymentId fresh = add_payment(m_live);
    PaymentId in_pay = add_payment(m_live);
    mark_in_pay(in_pay);
    const int fresh_rows = history_rows(fresh);
    const int in_pay_rows = history_rows(in_pay);
    for (PaymentId id : {fresh, in_pay}) {
        ASSERT_EQ(success(signed_query(id, md5(id))).status, 302);
    }
    EXPECT_EQ(status_of(fresh), PaymentStatus::created);
    EXPECT_EQ(status_of(in_pay), PaymentStatus::in_pay);
    EXPECT_EQ(history_rows(fresh), fresh_rows);
    EXPECT_EQ(history_rows(in_pay), in_pay_rows);
    EXPECT_TRUE(journal().empty());
}

TEST_F(ReturnPages, FailRedirectsToThePanelsFailPage) {
    PaymentId id = add_payment(m_live);
    Reply reply = fail("OutSum=990.00&InvId=" + std::to_string(id) + "&Culture=ru");
    EXPECT_EQ(reply.status, 302);
    EXPECT_EQ(location(reply), panel("payment.fail", id));
}

TEST_F(ReturnPages, FailWithoutManagerUrlShowsANotCompletedPage) {
    m_config.manager_url.reset();
    PaymentId id = add_payment(m_live);
    Reply reply = fail("InvId=" + std::to_string(id) + "&Culture=en");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.content_type, "text/html; charset=utf-8");
    EXPECT_NE(reply.body.find(rk::text(rk::Language::en, rk::Text::fail)), std::string::npos);
}

TEST_F(ReturnPages, FailNeverChangesTheStatus) {
    PaymentId fresh = add_payment(m_live);
    PaymentId in_pay = add_payment(m_live);
    mark_in_pay(in_pay);
    const int fresh_rows = history_rows(fresh);
    const int in_pay_rows = history_rows(in_pay);
    for (PaymentId id : {fresh, in_pay}) {
        ASSERT_EQ(fail("InvId=" + std::to_string(id)).status, 302);
    }
    EXPECT_EQ(status_of(fresh), PaymentStatus::created);
    EXPECT_EQ(status_of(in_pay), PaymentStatus::in_pay);
    EXPECT_EQ(history_rows(fresh), fresh_rows);
    EXPECT_EQ(history_rows(in_pay), in_pay_rows);
}

TEST_F(ReturnPages, FailReadsNoPaymentInStandaloneMode) {
    // No store at all: the unsigned return only picks which page.
    m_path = m_root / "var/no-such-store.db";
    Reply reply = fail("InvId=77");
    EXPECT_EQ(reply.status, 302);
    EXPECT_EQ(location(reply), panel("payment.fail", 77));
    EXPECT_FALSE(rk::test::exists(m_path));
}

TEST_F(ReturnPages, FailWithoutAUsableInvIdIs400) {
    EXPECT_EQ(fail("OutSum=990.00").status, 400);
    EXPECT_EQ(fail("InvId=007").status, 400);
    EXPECT_EQ(fail("InvId=-1").status, 400);
}
