// robokassa/result_notification.hpp: rkresult on a real store, whole
// requests through rk::serve as the CGI serves them.
#include "handler_fixture.hpp"
#include "robokassa/result_notification.hpp"
#include "robokassa/signature.hpp"
#include "sql/sqlite.hpp"

#include <cctype>
#include <gtest/gtest.h>

using rk::PaymentId;
using rk::PaymentStatus;
using rk::Reply;

namespace {

class ResultNotification : public rk::test::RobokassaHandlerTest {
protected:
    Reply result(const rk::CgiInput& input) {
        return serve(rk::handle_result, "rkresult", rk::ErrorStyle::plain, input);
    }

    // OutSum, InvId and SignatureValue, then `extra` (form-encoded).
    Reply notify(PaymentId id, const std::string& out_sum, const std::string& signature,
                 const std::string& extra = "") {
        return result(rk::test::get_request("OutSum=" + out_sum + "&InvId=" + std::to_string(id) +
                                            "&SignatureValue=" + signature +
                                            (extra.empty() ? "" : "&" + extra)));
    }

    // Password #2's signature as the project computes it.
    static std::string signature(PaymentId id, const std::string& out_sum,
                                 const rk::ShpParams& shp = {},
                                 const std::string& password = rk::test::k_password2,
                                 rk::HashAlgorithm algorithm = rk::HashAlgorithm::md5) {
        return rk::sign(algorithm,
                        rk::result_signature_base(out_sum, std::to_string(id), password, shp));
    }

    Reply notify_signed(PaymentId id, const std::string& out_sum = "990.00") {
        return notify(id, out_sum, signature(id, out_sum));
    }

    static std::string ok(PaymentId id) { return "OK" + std::to_string(id); }
};

} // namespace

TEST_F(ResultNotification, CreditsASignedNotificationOnceAndAnswersOkInvId) {
    PaymentId id = add_payment(m_live);
    // MD5 of OutSum:InvId:Password #2, computed apart from rk::sign.
    std::string md5 =
        rk::test::evp_hex(EVP_md5(), "990.00:" + std::to_string(id) + ":" + rk::test::k_password2);
    Reply reply = notify(id, "990.00", md5);
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, ok(id));
    EXPECT_EQ(status_of(id), PaymentStatus::paid);
    EXPECT_EQ(credits(id), 1);
    auto entries = journal(id);
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].notification.source, "rkresult");
    EXPECT_EQ(entries[0].notification.verdict, "credited");
    EXPECT_EQ(entries[0].notification.reply_status, 200);
    EXPECT_EQ(entries[0].notification.reply_body, ok(id));
    EXPECT_NE(entries[0].notification.params.find("SignatureValue=" + md5), std::string::npos);
}

TEST_F(ResultNotification, AcceptsTheSignatureInUpperCase) {
    PaymentId id = add_payment(m_live);
    std::string upper = signature(id, "990.00");
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    Reply reply = notify(id, "990.00", upper);
    EXPECT_EQ(reply.body, ok(id));
    EXPECT_EQ(status_of(id), PaymentStatus::paid);
}

TEST_F(ResultNotification, RepeatGetsTheSameOkAndCreditsOnce) {
    PaymentId id = add_payment(m_live);
    ASSERT_EQ(notify_signed(id).body, ok(id));
    Reply again = notify_signed(id);
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(again.body, ok(id));
    EXPECT_EQ(credits(id), 1);
    auto entries = journal(id);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[1].notification.verdict, "duplicate");
}

TEST_F(ResultNotification, CreditsAPaymentAlreadyInPay) {
    PaymentId id = add_payment(m_live);
    mark_in_pay(id);
    EXPECT_EQ(notify_signed(id).body, ok(id));
    EXPECT_EQ(status_of(id), PaymentStatus::paid);
}

TEST_F(ResultNotification, RejectsAWrongSignatureWith403AndChangesNothing) {
    PaymentId id = add_payment(m_live);
    // Password #1's signature is not Password #2's.
    Reply reply = notify(id, "990.00", signature(id, "990.00", {}, rk::test::k_password1));
    EXPECT_EQ(reply.status, 403);
    EXPECT_EQ(reply.body.rfind("ERROR", 0), 0u) << reply.body;
    EXPECT_EQ(status_of(id), PaymentStatus::created);
    EXPECT_EQ(credits(id), 0);
    auto entries = journal(id);
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].notification.verdict, "refused");
    EXPECT_EQ(entries[0].notification.reply_status, 403);
}

TEST_F(ResultNotification, RejectsTamperedAmount) {
    PaymentId id = add_payment(m_live);
    // Signed for 990.00, sent as 9900.00.
    EXPECT_EQ(notify(id, "9900.00", signature(id, "990.00")).status, 403);
    EXPECT_EQ(status_of(id), PaymentStatus::created);
}

TEST_F(ResultNotification, RefusesASignedAmountThatIsNotThePayments) {
    PaymentId id = add_payment(m_live);
    // Finer than kopecks: not an amount at all.
    Reply fraction = notify_signed(id, "990.001");
    EXPECT_EQ(fraction.status, 400);
    // A well-formed amount that is not the payment's.
    Reply less = notify_signed(id, "99.00");
    EXPECT_EQ(less.status, 400);
    EXPECT_NE(less.body.find("OutSum"), std::string::npos) << less.body;
    EXPECT_EQ(status_of(id), PaymentStatus::created);
    EXPECT_EQ(credits(id), 0);
    auto entries = journal(id);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].notification.verdict, "refused");
    EXPECT_EQ(entries[1].notification.verdict, "amount_mismatch");
}

TEST_F(ResultNotification, AcceptsTheAmountWithAnyNumberOfZeroDecimals) {
    for (const std::string out_sum : {"990", "990.0", "990.000000"}) {
        PaymentId id = add_payment(m_live);
        Reply reply = notify_signed(id, out_sum);
        EXPECT_EQ(reply.body, ok(id)) << out_sum;
        EXPECT_EQ(status_of(id), PaymentStatus::paid) << out_sum;
    }
}

TEST_F(ResultNotification, UnknownInvIdIs404) {
    PaymentId id = add_payment(m_live) + 100;
    Reply reply = notify_signed(id);
    EXPECT_EQ(reply.status, 404);
    EXPECT_EQ(reply.body.rfind("OK", 0), std::string::npos);
}

TEST_F(ResultNotification, RefusesATestPaymentOnALiveMethod) {
    PaymentId id = add_payment(m_live);
    Reply reply = notify(id, "990.00", signature(id, "990.00"), "IsTest=1");
    EXPECT_EQ(reply.status, 400);
    EXPECT_NE(reply.body.find("IsTest"), std::string::npos) << reply.body;
    EXPECT_EQ(status_of(id), PaymentStatus::created);
    // IsTest=0 is a live payment.
    EXPECT_EQ(notify(id, "990.00", signature(id, "990.00"), "IsTest=0").body, ok(id));
}

TEST_F(ResultNotification, RefusesAnIsTestThatIsNeitherZeroNorOne) {
    PaymentId id = add_payment(m_test);
    std::string sig =
        signature(id, "990.00", {}, rk::test::k_test_password2, rk::HashAlgorithm::sha256);
    EXPECT_EQ(notify(id, "990.00", sig, "IsTest=2").status, 400);
    EXPECT_EQ(status_of(id), PaymentStatus::created);
}

TEST_F(ResultNotification, TestMethodVerifiesWithTheTestPasswordInItsAlgorithm) {
    PaymentId id = add_payment(m_test);
    std::string sha256 = rk::test::evp_hex(EVP_sha256(), "990.00:" + std::to_string(id) + ":" +
                                                             rk::test::k_test_password2);
    // The live Password #2 no longer signs for a method in test mode.
    std::string live = rk::test::evp_hex(EVP_sha256(), "990.00:" + std::to_string(id) + ":" +
                                                           rk::test::k_password2);
    EXPECT_EQ(notify(id, "990.00", live, "IsTest=1").status, 403);
    EXPECT_EQ(notify(id, "990.00", sha256, "IsTest=1").body, ok(id));
    EXPECT_EQ(status_of(id), PaymentStatus::paid);
}

TEST_F(ResultNotification, ShpParametersAreSignedSortedByName) {
    PaymentId id = add_payment(m_live);
    const std::string inv = std::to_string(id);
    // Received as item, then account; signed as account, then item.
    const std::string extra = "Shp_item=7&Shp_account=abc%20d";
    std::string in_request_order = rk::test::evp_hex(
        EVP_md5(), "990.00:" + inv + ":" + rk::test::k_password2 + ":Shp_item=7:Shp_account=abc d");
    std::string sorted = rk::test::evp_hex(
        EVP_md5(), "990.00:" + inv + ":" + rk::test::k_password2 + ":Shp_account=abc d:Shp_item=7");
    EXPECT_EQ(notify(id, "990.00", in_request_order, extra).status, 403);
    EXPECT_EQ(notify(id, "990.00", sorted, extra).body, ok(id));
    EXPECT_EQ(credits(id), 1);
}

TEST_F(ResultNotification, RejectsATamperedShpValue) {
    PaymentId id = add_payment(m_live);
    std::string sig = signature(id, "990.00", {{"Shp_account", "abc"}});
    EXPECT_EQ(notify(id, "990.00", sig, "Shp_account=abd").status, 403);
    // An Shp parameter the signature leaves out.
    EXPECT_EQ(notify(id, "990.00", signature(id, "990.00"), "Shp_account=abc").status, 403);
    EXPECT_EQ(status_of(id), PaymentStatus::created);
    EXPECT_EQ(notify(id, "990.00", sig, "Shp_account=abc").body, ok(id));
}

TEST_F(ResultNotification, MoneyForACancelledPaymentIsJournaledAsUncreditedOnce) {
    PaymentId id = add_payment(m_live);
    cancel(id);
    Reply first = notify_signed(id);
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(first.body, ok(id));
    Reply repeat = notify_signed(id);
    EXPECT_EQ(repeat.body, ok(id));
    EXPECT_EQ(status_of(id), PaymentStatus::cancelled);
    EXPECT_EQ(credits(id), 0);
    auto entries = journal(id);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].notification.verdict, "uncredited");
    EXPECT_EQ(entries[1].notification.verdict, "duplicate");
}

TEST_F(ResultNotification, ARepeatAfterARefundIsADuplicateNotNewMoney) {
    PaymentId id = add_payment(m_live);
    ASSERT_EQ(notify_signed(id).body, ok(id));
    {
        rk::Store s = store();
        rk::sql::Transaction tx(s.db());
        s.add_refund(tx, id, 99000, "test");
        tx.commit();
    }
    ASSERT_EQ(status_of(id), PaymentStatus::refunded);
    EXPECT_EQ(notify_signed(id).body, ok(id));
    EXPECT_EQ(status_of(id), PaymentStatus::refunded);
    EXPECT_EQ(credits(id), 1);
    auto entries = journal(id);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[1].notification.verdict, "duplicate");
}

TEST_F(ResultNotification, MoneyForARefundedPaymentPaidByOtherMeansIsUncredited) {
    // Paid without a notification of ours (by other means), then refunded:
    // Robokassa's money for it was never credited here.
    PaymentId id = add_payment(m_live);
    {
        rk::Store s = store();
        rk::sql::Transaction tx(s.db());
        s.mark_paid(tx, id, "", "admin");
        s.add_refund(tx, id, 99000, "test");
        tx.commit();
    }
    EXPECT_EQ(notify_signed(id).body, ok(id));
    EXPECT_EQ(status_of(id), PaymentStatus::refunded);
    EXPECT_EQ(notify_signed(id).body, ok(id));
    auto entries = journal(id);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].notification.verdict, "uncredited");
    EXPECT_EQ(entries[1].notification.verdict, "duplicate");
}

TEST_F(ResultNotification, MoneyForAFraudPaymentIsNotCredited) {
    PaymentId id = add_payment(m_live);
    {
        rk::Store s = store();
        rk::sql::Transaction tx(s.db());
        s.mark_fraud(tx, id, "test");
        tx.commit();
    }
    EXPECT_EQ(notify_signed(id).body, ok(id));
    EXPECT_EQ(status_of(id), PaymentStatus::fraud);
    EXPECT_EQ(credits(id), 0);
    auto entries = journal(id);
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].notification.verdict, "uncredited");
}

TEST_F(ResultNotification, NeverCreditsAPaymentInAnotherCurrency) {
    PaymentId id = add_payment(m_live, 99000, "USD");
    Reply reply = notify_signed(id);
    EXPECT_EQ(reply.status, 409);
    EXPECT_EQ(reply.body.rfind("OK", 0), std::string::npos);
    EXPECT_EQ(status_of(id), PaymentStatus::created);
    EXPECT_EQ(credits(id), 0);
}

TEST_F(ResultNotification, UnsignedRequestJournalsOnlyABoundedPrefix) {
    PaymentId id = add_payment(m_live);
    const std::string body =
        "OutSum=990.00&InvId=" + std::to_string(id) +
        "&SignatureValue=0123456789abcdef0123456789abcdef&Fee=" + std::string(30000, 'x');
    Reply reply = result(rk::test::post_request(body));
    EXPECT_EQ(reply.status, 403);
    auto entries = journal(id);
    ASSERT_EQ(entries.size(), 1u);
    const std::string& kept = entries[0].notification.params;
    EXPECT_EQ(kept.compare(0, rk::k_unproven_params_bytes, body, 0, rk::k_unproven_params_bytes),
              0);
    EXPECT_LT(kept.size(), rk::k_unproven_params_bytes + 100);
    EXPECT_NE(kept.find(std::to_string(body.size()) + " bytes"), std::string::npos) << kept;
}

TEST_F(ResultNotification, SignedNotificationIsJournaledWhole) {
    PaymentId id = add_payment(m_live);
    const std::string long_value(5000, 'y');
    std::string sig = signature(id, "990.00", {{"Shp_note", long_value}});
    const std::string body = "OutSum=990.00&InvId=" + std::to_string(id) +
                             "&SignatureValue=" + sig + "&Shp_note=" + long_value;
    ASSERT_EQ(result(rk::test::post_request(body)).body, ok(id));
    auto entries = journal(id);
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].notification.params, body);
}

TEST_F(ResultNotification, StoreLockedPastTheBusyTimeoutIs503AndNotOk) {
    PaymentId id = add_payment(m_live);
    m_config.busy_timeout_ms = 100;
    {
        auto holder = rk::sql::Database::open(m_path, rk::sql::OpenMode::existing, 100);
        holder.exec("BEGIN IMMEDIATE");
        Reply reply = notify_signed(id);
        EXPECT_EQ(reply.status, 503);
        EXPECT_EQ(reply.body.rfind("OK", 0), std::string::npos) << reply.body;
        holder.exec("ROLLBACK");
    }
    EXPECT_EQ(status_of(id), PaymentStatus::created);
    EXPECT_TRUE(journal(id).empty());
    // Robokassa's retry, once the lock is free, is credited.
    EXPECT_EQ(notify_signed(id).body, ok(id));
    EXPECT_EQ(credits(id), 1);
}

TEST_F(ResultNotification, RequestWithoutParametersIsRefusedWithoutOpeningTheStore) {
    m_path = m_root / "var/no-such-store.db";
    Reply reply = result(rk::test::get_request(""));
    EXPECT_EQ(reply.status, 400);
    EXPECT_FALSE(rk::test::exists(m_path));
}

TEST_F(ResultNotification, MissingSignatureIs400AndJournaled) {
    PaymentId id = add_payment(m_live);
    Reply reply = result(rk::test::get_request("OutSum=990.00&InvId=" + std::to_string(id)));
    EXPECT_EQ(reply.status, 400);
    EXPECT_NE(reply.body.find("SignatureValue"), std::string::npos) << reply.body;
    auto entries = journal();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].notification.verdict, "refused");
    EXPECT_EQ(entries[0].notification.reply_status, 400);
}

TEST_F(ResultNotification, OtherHttpMethodIs405WithAllow) {
    PaymentId id = add_payment(m_live);
    rk::CgiInput input = rk::test::get_request("OutSum=990.00&InvId=" + std::to_string(id) +
                                               "&SignatureValue=" + signature(id, "990.00"));
    input.env["REQUEST_METHOD"] = "PUT";
    Reply reply = result(input);
    EXPECT_EQ(reply.status, 405);
    const std::string* allow = rk::test::find_header(reply, "Allow");
    ASSERT_NE(allow, nullptr);
    EXPECT_EQ(*allow, "GET, POST");
    EXPECT_EQ(status_of(id), PaymentStatus::created);
}
