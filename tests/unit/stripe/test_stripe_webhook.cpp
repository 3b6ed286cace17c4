// stripe/webhook.hpp, stripe/checkout.hpp and stripe/stripe_store.hpp on a
// real store: whole requests without I/O, through rk::serve like the CGIs.
#include "robokassa/method_store.hpp"
#include "robokassa/payment_form.hpp"
#include "stripe/checkout.hpp"
#include "stripe/stripe_signature.hpp"
#include "stripe/stripe_store.hpp"
#include "stripe/webhook.hpp"
#include "unit_support.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <gtest/gtest.h>
#include <set>
#include <tuple>

using rk::PaymentId;
using rk::PaymentStatus;
using rk::Reply;
using rk::test::TempDir;

namespace {

const char* const k_webhook_secret = "whsec_6g7NTzD9bW7XqdSQ2bGSGhDRvkPbFLcM";

rk::stripe::StripeKeys keys(const std::string& webhook_secret = k_webhook_secret) {
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

// A Checkout Session event: completed (paid or not yet), or the outcome of
// its delayed payment.
std::string session_event(PaymentId id, const std::string& event_id, const std::string& type,
                          const std::string& payment_status, const std::string& intent,
                          const std::string& session = "cs_test_1") {
    return R"({"id": ")" + event_id + R"(", "type": ")" + type +
           R"(", "livemode": false, "data": {"object": {"id": ")" + session +
           R"(", "client_reference_id": ")" + std::to_string(id) +
           R"(", "amount_total": 99000, "currency": "rub", "payment_status": ")" + payment_status +
           R"(", "payment_intent": ")" + intent + R"("}}})";
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
        m_robokassa = add_method(store, "Robokassa", robokassa);
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
                            const std::string& secret = k_webhook_secret) {
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

    // Journal entries of stwebhook that name no payment: params, reason, status.
    std::vector<std::tuple<std::string, std::string, int>> unsigned_journal() {
        rk::Store s = store();
        auto st = s.db().prepare("SELECT params, reason, reply_status FROM notifications "
                                 "WHERE source = 'stwebhook' AND payment_id IS NULL ORDER BY id");
        std::vector<std::tuple<std::string, std::string, int>> out;
        while (st.step()) {
            out.emplace_back(st.column_text(0), st.column_text(1), st.column_int(2));
        }
        return out;
    }

    std::string event_column(const std::string& event_id, const char* column) {
        rk::Store s = store();
        auto st = s.db().prepare(std::string("SELECT ") + column +
                                 " FROM stripe_events WHERE event_id = ?");
        st.bind(1, event_id);
        return st.step() ? st.column_text(0) : "(none)";
    }

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
    EXPECT_FALSE(find_method(s, m_stripe));
    ASSERT_TRUE(find_method(s, m_robokassa));
    ASSERT_EQ(list_methods(s).size(), 1u);
    EXPECT_EQ(list_methods(s)[0].id, m_robokassa);
    EXPECT_EQ(s.method_module(m_stripe), "pmstripe");
    EXPECT_EQ(s.method_module(m_robokassa), "pmrobokassa");
    EXPECT_EQ(s.method_module(m_other + 1), std::nullopt);
}

TEST_F(StripeStoreTest, StripeToolsDoNotSeeRobokassaMethods) {
    rk::Store s = store();
    EXPECT_FALSE(rk::stripe::find_stripe_method(s, m_robokassa));
    auto method = rk::stripe::find_stripe_method(s, m_stripe);
    ASSERT_TRUE(method);
    EXPECT_EQ(method->keys.webhook_secret, k_webhook_secret);
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
    EXPECT_EQ(webhook(body + " ", sign(body, now())).status, 400);
    EXPECT_EQ(webhook(body, "").status, 400);
    // Signed, but by the other method: refused once the body is read.
    EXPECT_EQ(webhook(body, sign(body, now(), "whsec_otherotherother")).status, 400);
    EXPECT_EQ(credits(m_payment), 0);
    // An unsigned body is never parsed, so its entry names no payment.
    auto unsigned_entries = unsigned_journal();
    ASSERT_EQ(unsigned_entries.size(), 3u);
    for (const auto& [params, reason, status] : unsigned_entries) {
        EXPECT_EQ(status, 400);
        EXPECT_NE(reason.find("Stripe-Signature"), std::string::npos) << reason;
    }
    auto journal = store().journal(m_payment);
    ASSERT_EQ(journal.size(), 1u);
    EXPECT_EQ(journal[0].notification.verdict, "refused");
    EXPECT_NE(journal[0].notification.reason.find("another method"), std::string::npos);
}

// An unsigned request learns nothing about which payments exist: the
// same answer for a payment of ours, an unknown one and a Robokassa one.
TEST_F(StripeStoreTest, RefusalsBeforeTheSignatureSayNothingAboutThePayment) {
    std::set<std::string> answers;
    for (PaymentId id : {m_payment, PaymentId{987654}, m_rk_payment}) {
        std::string body = completed(id, "evt_x");
        Reply reply = webhook(body, sign(body, now(), "whsec_forgedforgedforged"));
        EXPECT_EQ(reply.status, 400);
        answers.insert(reply.body);
    }
    EXPECT_EQ(answers.size(), 1u);
}

TEST_F(StripeStoreTest, AnUnsignedRequestIsJournaledWithABoundedPrefix) {
    std::string body = completed(m_payment, "evt_big");
    body.insert(body.size() - 3, ", \"filler\": \"" + std::string(60 * 1024, 'x') + "\"");
    ASSERT_LT(body.size(), rk::k_max_body_bytes);
    EXPECT_EQ(webhook(body, sign(body, now(), "whsec_forgedforgedforged")).status, 400);
    auto entries = unsigned_journal();
    ASSERT_EQ(entries.size(), 1u);
    const std::string& params = std::get<0>(entries[0]);
    EXPECT_EQ(params.rfind(body.substr(0, 1024), 0), 0u);
    EXPECT_LE(params.size(), 1024u + 32u) << params.size();
    EXPECT_NE(params.find("bytes)"), std::string::npos);
    EXPECT_NE(std::get<1>(entries[0]).find("matches no Stripe method"), std::string::npos);

    // Cut at a character's boundary: two-byte letters across the 1 KiB mark.
    std::string letters;
    for (int i = 0; i < 700; ++i) {
        letters += "\xd1\x8f";
    }
    std::string cyrillic = "{\"x\": \"" + letters + "\"}";
    EXPECT_EQ(webhook(cyrillic, sign(cyrillic, now(), "whsec_forgedforgedforged")).status, 400);
    const std::string kept = std::get<0>(unsigned_journal().back());
    EXPECT_TRUE(rk::is_valid_utf8(kept));
    EXPECT_LE(kept.find("..."), 1024u);
    EXPECT_EQ(cyrillic.rfind(kept.substr(0, kept.find("...")), 0), 0u);

    // A signed one keeps its whole body.
    EXPECT_EQ(signed_webhook(body).status, 200);
    EXPECT_EQ(store().journal(m_payment).back().notification.params, body);
}

// Another process holds the store's write lock (a long transaction, or a
// flood of genuine events): a forgery is still answered at once, as it
// needs no lock, and a genuine event waits its turn.
TEST_F(StripeStoreTest, AForgeryIsRefusedAtOnceWhileTheWriteLockIsHeld) {
    m_config.busy_timeout_ms = 3000;
    rk::Store holder = store();
    rk::sql::Transaction held(holder.db());
    std::string body = completed(m_payment, "evt_locked");
    auto started = std::chrono::steady_clock::now();
    Reply forged = webhook(body, sign(body, now(), "whsec_forgedforgedforged"));
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(forged.status, 400) << forged.body;
    EXPECT_LT(took, std::chrono::milliseconds(500));
    held.commit();
    EXPECT_EQ(signed_webhook(body).status, 200);
    EXPECT_EQ(credits(m_payment), 1);
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

TEST_F(StripeStoreTest, ASecondPaymentIntentForAPaidPaymentIsRecordedNotCredited) {
    ASSERT_EQ(signed_webhook(session_event(m_payment, "evt_a", "checkout.session.completed", "paid",
                                           "pi_first", "cs_test_a"))
                  .status,
              200);
    Reply second = signed_webhook(session_event(m_payment, "evt_b", "checkout.session.completed",
                                                "paid", "pi_second", "cs_test_b"));
    EXPECT_EQ(second.status, 200) << second.body;
    EXPECT_EQ(credits(m_payment), 1);
    EXPECT_EQ(store().find_payment(m_payment)->external_id, "pi_first");
    EXPECT_EQ(event_column("evt_b", "verdict"), "paid_twice");
    EXPECT_EQ(event_column("evt_b", "payment_intent"), "pi_second");
    EXPECT_EQ(store().journal(m_payment).back().notification.verdict, "paid_twice");

    // The same intent again (another event about the first payment) is no
    // second payment.
    EXPECT_EQ(
        signed_webhook(session_event(m_payment, "evt_c", "checkout.session.async_payment_succeeded",
                                     "paid", "pi_first", "cs_test_a"))
            .status,
        200);
    EXPECT_EQ(event_column("evt_c", "verdict"), "duplicate");
}

TEST_F(StripeStoreTest, ADelayedPaymentIsCreditedOnceWhenItSucceeds) {
    EXPECT_EQ(signed_webhook(
                  session_event(m_payment, "evt_1", "checkout.session.completed", "unpaid", "pi_1"))
                  .status,
              200);
    EXPECT_EQ(event_column("evt_1", "verdict"), "pending");
    EXPECT_EQ(credits(m_payment), 0);
    const std::string succeeded = session_event(
        m_payment, "evt_2", "checkout.session.async_payment_succeeded", "paid", "pi_1");
    Reply reply = signed_webhook(succeeded);
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(store().find_payment(m_payment)->status, PaymentStatus::paid);
    EXPECT_EQ(signed_webhook(succeeded).status, 200);
    EXPECT_EQ(
        signed_webhook(session_event(m_payment, "evt_3", "checkout.session.async_payment_succeeded",
                                     "paid", "pi_1"))
            .status,
        200);
    EXPECT_EQ(credits(m_payment), 1);
}

TEST_F(StripeStoreTest, AFailedDelayedPaymentIsRecordedWithoutATransition) {
    EXPECT_EQ(signed_webhook(
                  session_event(m_payment, "evt_1", "checkout.session.completed", "unpaid", "pi_1"))
                  .status,
              200);
    EXPECT_EQ(
        signed_webhook(session_event(m_payment, "evt_2", "checkout.session.async_payment_failed",
                                     "unpaid", "pi_1"))
            .status,
        200);
    EXPECT_EQ(event_column("evt_2", "verdict"), "payment_failed");
    EXPECT_EQ(store().find_payment(m_payment)->status, PaymentStatus::created);
    EXPECT_EQ(credits(m_payment), 0);
}

TEST_F(StripeStoreTest, StpaymentWithoutManagerUrlSaysTheMethodIsNotAvailable) {
    m_config.manager_url.reset();
    Reply reply = get(rk::stripe::handle_checkout, "stpayment", m_payment, key_of(m_payment));
    EXPECT_EQ(reply.status, 503);
    EXPECT_NE(reply.content_type.find("text/html"), std::string::npos);
    EXPECT_NE(reply.body.find("способ оплаты сейчас недоступен"), std::string::npos) << reply.body;
    EXPECT_EQ(reply.body.find("manager_url"), std::string::npos);
    EXPECT_EQ(store().find_payment(m_payment)->status, PaymentStatus::created);
}

TEST_F(StripeStoreTest, StpaymentReusesTheOpenSessionWithoutCallingStripe) {
    {
        rk::Store s = store();
        rk::stripe::CheckoutSession open;
        open.id = "cs_test_open";
        open.url = "https://checkout.stripe.com/c/pay/cs_test_open";
        open.expires_at = now() + 3600;
        rk::stripe::record_session(s, m_payment, open);
    }
    // Stripe is unreachable here: a call would be a 502.
    for (int visit = 0; visit < 2; ++visit) {
        Reply reply = get(rk::stripe::handle_checkout, "stpayment", m_payment, key_of(m_payment));
        EXPECT_EQ(reply.status, 303) << reply.body;
        auto location = std::find_if(reply.headers.begin(), reply.headers.end(),
                                     [](const auto& h) { return h.first == "Location"; });
        ASSERT_NE(location, reply.headers.end());
        EXPECT_EQ(location->second, "https://checkout.stripe.com/c/pay/cs_test_open");
    }
}

TEST_F(StripeStoreTest, StpaymentDoesNotOpenASecondSessionWhileTheOldOneMayBePaid) {
    {
        rk::Store s = store();
        rk::stripe::CheckoutSession closing;
        closing.id = "cs_test_closing";
        closing.url = "https://checkout.stripe.com/c/pay/cs_test_closing";
        closing.expires_at = now() + 60; // too close to its end to hand out
        rk::stripe::record_session(s, m_payment, closing);
    }
    // It must be expired at Stripe first, and Stripe is unreachable.
    EXPECT_EQ(get(rk::stripe::handle_checkout, "stpayment", m_payment, key_of(m_payment)).status,
              502);
    rk::Store s = store();
    EXPECT_EQ(rk::stripe::session_count(s, m_payment), 1);
    EXPECT_EQ(rk::stripe::latest_session(s, m_payment)->state, "open");
}

TEST_F(StripeStoreTest, ACompletedSessionStillBeingPaidGetsAPageNotANewSession) {
    {
        rk::Store s = store();
        rk::stripe::CheckoutSession open;
        open.id = "cs_test_1";
        open.url = "https://checkout.stripe.com/c/pay/cs_test_1";
        open.expires_at = now() + 3600;
        rk::stripe::record_session(s, m_payment, open);
    }
    ASSERT_EQ(signed_webhook(
                  session_event(m_payment, "evt_1", "checkout.session.completed", "unpaid", "pi_1"))
                  .status,
              200);
    Reply reply = get(rk::stripe::handle_checkout, "stpayment", m_payment, key_of(m_payment));
    EXPECT_EQ(reply.status, 200);
    EXPECT_NE(reply.body.find("Stripe"), std::string::npos);
    // Once the delayed payment failed, the customer may try again.
    ASSERT_EQ(
        signed_webhook(session_event(m_payment, "evt_2", "checkout.session.async_payment_failed",
                                     "unpaid", "pi_1"))
            .status,
        200);
    EXPECT_EQ(get(rk::stripe::handle_checkout, "stpayment", m_payment, key_of(m_payment)).status,
              502); // a new session is asked for (and Stripe is unreachable here)
}
