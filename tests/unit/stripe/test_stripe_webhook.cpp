// stripe/webhook.hpp, stripe/checkout.hpp and stripe/stripe_store.hpp on a
// real store: whole requests without I/O, through rk::serve like the CGIs.
#include "robokassa/payment_form.hpp"
#include "stripe/checkout.hpp"
#include "stripe/stripe_signature.hpp"
#include "stripe/stripe_store.hpp"
#include "stripe/webhook.hpp"
#include "unit_support.hpp"

#include <ctime>
#include <gtest/gtest.h>

using rk::PaymentId;
using rk::PaymentStatus;
using rk::Reply;
using rk::test::TempDir;

namespace {

const char* const k_secret = "whsec_6g7NTzD9bW7XqdSQ2bGSGhDRvkPbFLcM";

rk::stripe::StripeKeys keys(const std::string& webhook_secret = k_secret) {
    return {"sk_test_4eC39HqLyjWDarjtT1zdp7dc", "pk_test_TYooMQauvdEDq54NiTphI7jx", webhook_secret};
}

std::int64_t now() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

std::string completed(PaymentId id, const std::string& event_id, long amount = 99000,
                      const std::string& type = "checkout.session.completed") {
    return R"({"id": ")" + event_id + R"(", "type": ")" + type +
           R"(", "livemode": false, "data": {"object": {"id": "cs_test_1", )"
           R"("client_reference_id": ")" +
           std::to_string(id) + R"(", "metadata": {"elid": ")" + std::to_string(id) +
           R"("}, "amount_total": )" + std::to_string(amount) +
           R"(, "currency": "rub", "payment_status": "paid", "payment_intent": "pi_1"}}})";
}

std::string invoice(PaymentId id, const std::string& event_id, const std::string& type,
                    long amount = 99000) {
    return R"({"id": ")" + event_id + R"(", "type": ")" + type +
           R"(", "data": {"object": {"id": "in_1", "object": "invoice", "amount_paid": )" +
           std::to_string(amount) + R"(, "currency": "rub", "metadata": {"elid": ")" +
           std::to_string(id) + R"("}}}})";
}

class StripeStoreTest : public ::testing::Test {
protected:
    StripeStoreTest() {
        rk::Store store = rk::Store::open(m_path, rk::sql::OpenMode::create_if_missing, 1000);
        rk::MethodSettings robokassa;
        robokassa.shop_id = "demo";
        robokassa.password1 = "Passw0rdOne";
        robokassa.password2 = "Passw0rdTwo";
        m_robokassa = store.add_method("Robokassa", robokassa);
        m_stripe = rk::stripe::add_stripe_method(store, "Stripe", keys());
        m_other = rk::stripe::add_stripe_method(store, "Other", keys("whsec_otherotherother"));
        m_payment = add_payment(store, m_stripe);
        m_rk_payment = add_payment(store, m_robokassa);
        m_config.manager_url = "https://billing.example.com/billmgr";
        m_config.stripe_api_url = "http://127.0.0.1:9"; // nothing listens: any call fails
        m_config.http_timeout = 5;
    }

    static PaymentId add_payment(rk::Store& store, rk::MethodId method) {
        rk::NewPayment p;
        p.method_id = method;
        p.amount = 99000;
        return store.add_payment(p);
    }

    rk::Store store() { return rk::Store::open(m_path, rk::sql::OpenMode::existing, 1000); }

    Reply webhook(const std::string& body, const std::string& header,
                  std::optional<std::int64_t> at = std::nullopt) {
        rk::CgiInput input;
        input.env = {{"REQUEST_METHOD", "POST"},
                     {"CONTENT_TYPE", "application/json; charset=utf-8"},
                     {"HTTP_STRIPE_SIGNATURE", header}};
        input.body = body;
        rk::CgiContext context("stwebhook", m_config, m_path);
        if (at) {
            return rk::stripe::handle_webhook_at(input, context, *at);
        }
        return rk::serve(input, context, rk::stripe::handle_webhook, rk::ErrorStyle::plain);
    }

    static std::string sign(const std::string& body, std::int64_t t,
                            const std::string& secret = k_secret) {
        return "t=" + std::to_string(t) + ",v1=" + rk::stripe::expected_signature(secret, t, body);
    }

    Reply signed_webhook(const std::string& body) { return webhook(body, sign(body, now())); }

    Reply get(rk::Handler handler, const std::string& program, PaymentId id,
              const std::string& key) {
        rk::CgiInput input;
        input.env = {{"REQUEST_METHOD", "GET"},
                     {"QUERY_STRING", "elid=" + std::to_string(id) + "&key=" + key}};
        rk::CgiContext context(program, m_config, m_path);
        return rk::serve(input, context, handler, rk::ErrorStyle::html);
    }

    std::string key_of(PaymentId id) { return rk::payment_link_key(store().link_secret(), id); }

    int credits(PaymentId id) { return store().count_transitions_to(id, PaymentStatus::paid); }

    TempDir m_dir;
    std::string m_path = m_dir / "pmrobokassa.db";
    rk::Config m_config;
    rk::MethodId m_robokassa = 0;
    rk::MethodId m_stripe = 0;
    rk::MethodId m_other = 0;
    PaymentId m_payment = 0;
    PaymentId m_rk_payment = 0;
};

} // namespace

TEST_F(StripeStoreTest, RobokassaToolsDoNotSeeStripeMethods) {
    rk::Store s = store();
    EXPECT_FALSE(s.find_method(m_stripe));
    ASSERT_TRUE(s.find_method(m_robokassa));
    ASSERT_EQ(s.list_methods().size(), 1u);
    EXPECT_EQ(s.list_methods()[0].id, m_robokassa);
    EXPECT_EQ(s.method_module(m_stripe), "pmstripe");
    EXPECT_EQ(s.method_module(m_robokassa), "pmrobokassa");
    EXPECT_EQ(s.method_module(m_other + 1), std::nullopt);
}

TEST_F(StripeStoreTest, StripeToolsDoNotSeeRobokassaMethods) {
    rk::Store s = store();
    EXPECT_FALSE(rk::stripe::find_stripe_method(s, m_robokassa));
    auto method = rk::stripe::find_stripe_method(s, m_stripe);
    ASSERT_TRUE(method);
    EXPECT_EQ(method->keys.webhook_secret, k_secret);
    EXPECT_EQ(rk::stripe::list_stripe_methods(s).size(), 2u);
}

TEST_F(StripeStoreTest, CheckpayAsksOnlyAboutRobokassaPayments) {
    rk::Store s = store();
    for (PaymentId id : {m_payment, m_rk_payment}) {
        rk::sql::Transaction tx(s.db());
        s.mark_in_pay(tx, id, "test");
        tx.commit();
    }
    auto stale = s.stale_in_pay(0);
    ASSERT_EQ(stale.size(), 1u);
    EXPECT_EQ(stale[0].id, m_rk_payment);
}

TEST_F(StripeStoreTest, RkpaymentRefusesAStripePaymentsLinkWith404) {
    Reply reply = get(rk::handle_payment, "rkpayment", m_payment, key_of(m_payment));
    EXPECT_EQ(reply.status, 404);
    EXPECT_EQ(reply.body.find("<form"), std::string::npos);
    EXPECT_EQ(store().find_payment(m_payment)->status, PaymentStatus::created);
}

TEST_F(StripeStoreTest, StpaymentRefusesARobokassaPaymentsLinkWith404) {
    EXPECT_EQ(
        get(rk::stripe::handle_checkout, "stpayment", m_rk_payment, key_of(m_rk_payment)).status,
        404);
    EXPECT_EQ(get(rk::stripe::handle_checkout, "stpayment", m_payment, std::string(32, '0')).status,
              403);
}

TEST_F(StripeStoreTest, StpaymentWhenStripeIsUnreachableIs502AndChangesNothing) {
    Reply reply = get(rk::stripe::handle_checkout, "stpayment", m_payment, key_of(m_payment));
    EXPECT_EQ(reply.status, 502);
    EXPECT_EQ(store().find_payment(m_payment)->status, PaymentStatus::created);
}

TEST_F(StripeStoreTest, StpaymentForAPaidPaymentSaysSoWithoutCallingStripe) {
    ASSERT_EQ(signed_webhook(completed(m_payment, "evt_paid")).status, 200);
    Reply reply = get(rk::stripe::handle_checkout, "stpayment", m_payment, key_of(m_payment));
    EXPECT_EQ(reply.status, 200);
    EXPECT_NE(reply.content_type.find("text/html"), std::string::npos);
}

TEST_F(StripeStoreTest, CheckoutFormCarriesTheAmountAndTheReferences) {
    rk::Payment p = *store().find_payment(m_payment);
    p.description = "Hosting & more";
    std::string form =
        rk::stripe::checkout_session_form(p, "https://b.example/billmgr", rk::Language::en);
    const std::vector<std::string> parts = {
        "mode=payment",
        "line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=rub",
        "line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=99000",
        "line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=Hosting%20%26%20more",
        "line_items%5B0%5D%5Bquantity%5D=1",
        "client_reference_id=" + std::to_string(p.id),
        "metadata%5Belid%5D=" + std::to_string(p.id),
        "success_url=https%3A%2F%2Fb.example%2Fbillmgr%3Ffunc%3Dpayment.success%26elid%3D" +
            std::to_string(p.id),
        "cancel_url=https%3A%2F%2Fb.example%2Fbillmgr%3Ffunc%3Dpayment.fail%26elid%3D" +
            std::to_string(p.id),
        "locale=en"};
    for (const std::string& part : parts) {
        EXPECT_NE(form.find(part), std::string::npos) << part << " in " << form;
    }
    p.currency = "JPY";
    p.amount = 150050;
    EXPECT_TRUE(rk::test::error_from(
        [&] { rk::stripe::checkout_session_form(p, "https://b.example", rk::Language::en); }));
}

TEST_F(StripeStoreTest, CompletedSessionCreditsOnceAndARepeatChangesNothing) {
    std::string body = completed(m_payment, "evt_1");
    Reply first = signed_webhook(body);
    EXPECT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(store().find_payment(m_payment)->status, PaymentStatus::paid);
    EXPECT_EQ(store().find_payment(m_payment)->external_id, "pi_1");
    Reply again = signed_webhook(body);
    EXPECT_EQ(again.status, 200) << again.body;
    EXPECT_NE(again.body.find("duplicate"), std::string::npos);
    EXPECT_EQ(credits(m_payment), 1);
    auto journal = store().journal(m_payment);
    ASSERT_EQ(journal.size(), 2u);
    EXPECT_EQ(journal[0].notification.verdict, "credited");
    EXPECT_EQ(journal[1].notification.verdict, "duplicate_event");
}

TEST_F(StripeStoreTest, ADifferentEventForAPaidPaymentIsADuplicateSettlement) {
    ASSERT_EQ(signed_webhook(completed(m_payment, "evt_1")).status, 200);
    Reply second = signed_webhook(invoice(m_payment, "evt_2", "invoice.payment_succeeded"));
    EXPECT_EQ(second.status, 200);
    EXPECT_EQ(credits(m_payment), 1);
}

TEST_F(StripeStoreTest, StaleOrFutureTimestampIsRefused) {
    std::string body = completed(m_payment, "evt_1");
    std::int64_t t = 1700000000;
    EXPECT_EQ(webhook(body, sign(body, t), t + 301).status, 400);
    EXPECT_EQ(webhook(body, sign(body, t), t - 301).status, 400);
    EXPECT_EQ(credits(m_payment), 0);
    EXPECT_EQ(webhook(body, sign(body, t), t + 300).status, 200);
    EXPECT_EQ(credits(m_payment), 1);
}

TEST_F(StripeStoreTest, ForgeriesAreRefusedAndJournaled) {
    std::string body = completed(m_payment, "evt_1");
    EXPECT_EQ(webhook(body, sign(body, now(), "whsec_forgedforgedforged")).status, 400);
    EXPECT_EQ(webhook(body, sign(body, now(), "whsec_otherotherother")).status, 400);
    EXPECT_EQ(webhook(body + " ", sign(body, now())).status, 400);
    EXPECT_EQ(webhook(body, "").status, 400);
    EXPECT_EQ(credits(m_payment), 0);
    auto journal = store().journal(m_payment);
    EXPECT_EQ(journal.size(), 3u); // the empty header is refused before the body names a payment
    for (const auto& entry : journal) {
        EXPECT_EQ(entry.notification.verdict, "refused");
        EXPECT_EQ(entry.notification.reply_status, 400);
    }
}

TEST_F(StripeStoreTest, UnknownOrRobokassaPaymentIs400) {
    for (PaymentId id : {PaymentId{987654}, m_rk_payment}) {
        std::string body = completed(id, "evt_" + std::to_string(id));
        EXPECT_EQ(signed_webhook(body).status, 400);
    }
    EXPECT_EQ(store().find_payment(m_rk_payment)->status, PaymentStatus::created);
}

TEST_F(StripeStoreTest, AmountMismatchIsRefusedAndTheEventIdStaysUnused) {
    EXPECT_EQ(signed_webhook(completed(m_payment, "evt_1", 98999)).status, 400);
    EXPECT_EQ(credits(m_payment), 0);
    EXPECT_EQ(signed_webhook(completed(m_payment, "evt_1")).status, 200);
    EXPECT_EQ(credits(m_payment), 1);
}

TEST_F(StripeStoreTest, EventNamingNoPaymentIsCheckedAgainstEveryStripeMethod) {
    const std::string body = R"({"id": "evt_c", "type": "customer.created", "data": {"object":
                                {"id": "cus_1", "metadata": {}}}})";
    EXPECT_EQ(webhook(body, sign(body, now(), "whsec_otherotherother")).status, 200);
    EXPECT_EQ(webhook(body, sign(body, now(), "whsec_unknownunknown")).status, 400);
}

TEST_F(StripeStoreTest, InvoicePaymentSucceededCreditsByMetadataElid) {
    EXPECT_EQ(signed_webhook(invoice(m_payment, "evt_i", "invoice.payment_succeeded")).status, 200);
    EXPECT_EQ(credits(m_payment), 1);
}

TEST_F(StripeStoreTest, PaymentFailedIsRecordedWithoutATransition) {
    std::string body = invoice(m_payment, "evt_f", "invoice.payment_failed", 0);
    EXPECT_EQ(signed_webhook(body).status, 200);
    EXPECT_EQ(store().find_payment(m_payment)->status, PaymentStatus::created);
    EXPECT_EQ(store().journal(m_payment).back().notification.verdict, "payment_failed");
}

TEST_F(StripeStoreTest, NonPostAndOversizedBodiesAreRefused) {
    rk::CgiInput input;
    input.env = {{"REQUEST_METHOD", "GET"}};
    rk::CgiContext context("stwebhook", m_config, m_path);
    Reply get = rk::serve(input, context, rk::stripe::handle_webhook, rk::ErrorStyle::plain);
    EXPECT_EQ(get.status, 405);
    input.env["REQUEST_METHOD"] = "POST";
    input.body_too_large = true;
    EXPECT_EQ(rk::serve(input, context, rk::stripe::handle_webhook, rk::ErrorStyle::plain).status,
              413);
}
