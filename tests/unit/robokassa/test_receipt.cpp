#include "robokassa/receipt.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

using rk::Error;

namespace {

const char* const k_two_items =
    R"({"sno": "osn", "items": [
        {"name": "VPS", "quantity": 1, "sum": 700, "tax": "vat20",
         "payment_method": "full_payment", "payment_object": "service"},
        {"name": "Домен", "quantity": 2, "sum": 290.50, "tax": "none"}]})";

std::string refusal(const std::string& json, rk::Kopecks amount) {
    try {
        rk::normalise_receipt(json, amount, "--receipt");
    } catch (const Error& e) {
        return e.describe();
    }
    return "(accepted)";
}

} // namespace

TEST(Receipt, MinifiesAValidReceiptKeepingNumbersExact) {
    EXPECT_EQ(rk::normalise_receipt(k_two_items, 99050, "--receipt"),
              R"({"sno":"osn","items":[{"name":"VPS","quantity":1,"sum":700,"tax":"vat20",)"
              R"("payment_method":"full_payment","payment_object":"service"},)"
              R"({"name":"Домен","quantity":2,"sum":290.50,"tax":"none"}]})");
}

TEST(Receipt, SumsMustAddUpToThePayment) {
    EXPECT_NE(refusal(k_two_items, 99051).find("990.50"), std::string::npos);
    EXPECT_NE(refusal(k_two_items, 70000).find("exceed"), std::string::npos);
}

TEST(Receipt, RefusesBadItemsNamingThem) {
    struct Case {
        const char* json;
        const char* expect;
    } cases[] = {
        {R"({"items": []})", "items"},
        {R"({"items": [{"name": "x", "quantity": 1, "sum": 1, "tax": "vat99"}]})", "tax"},
        {R"({"items": [{"name": "", "quantity": 1, "sum": 1, "tax": "none"}]})", "name"},
        {R"({"items": [{"name": "x", "quantity": 0, "sum": 1, "tax": "none"}]})", "quantity"},
        {R"({"items": [{"name": "x", "quantity": 1, "sum": 1.001, "tax": "none"}]})", "sum"},
        {R"({"items": [{"name": "x", "quantity": 1, "sum": -1, "tax": "none"}]})", "sum"},
        {R"({"items": [{"name": "x", "quantity": 1, "sum": "1", "tax": "none"}]})", "items[0]"},
        {R"({"items": [{"name": "x", "quantity": 1, "sum": 1, "tax": "none", "evil": 1}]})",
         "evil"},
        {R"({"sno": "xyz", "items": [{"name": "x", "quantity": 1, "sum": 1, "tax": "none"}]})",
         "sno"},
        {R"({"items": [{"name": "x", "quantity": 1, "sum": 1, "tax": "none",
             "payment_method": "barter"}]})",
         "payment_method"},
        {R"([1])", "JSON object"},
    };
    for (const Case& c : cases) {
        std::string why = refusal(c.json, 100);
        EXPECT_EQ(why.rfind("--receipt", 0), 0u) << c.json << " -> " << why;
        EXPECT_NE(why.find(c.expect), std::string::npos) << c.json << " -> " << why;
    }
}

TEST(Receipt, NamesOfMoreThan128CharactersAreRefused) {
    std::string name(128, 'x');
    std::string ok =
        R"({"items": [{"name": ")" + name + R"(", "quantity": 1, "sum": 1, "tax": "none"}]})";
    EXPECT_EQ(refusal(ok, 100), "(accepted)");
    std::string too_long =
        R"({"items": [{"name": ")" + name + R"(x", "quantity": 1, "sum": 1, "tax": "none"}]})";
    EXPECT_NE(refusal(too_long, 100).find("name"), std::string::npos);
}

TEST(ReceiptFromSettings, OneLineWithTheDescriptionAndTheWholeAmount) {
    rk::Payment payment;
    payment.id = 12;
    payment.amount = 99000;
    payment.description = "Пополнение счёта";
    rk::MethodSettings settings;
    EXPECT_EQ(rk::receipt_from_settings(payment, settings), "") << "no tax set: no receipt";
    settings.receipt_tax = "vat20";
    EXPECT_EQ(rk::receipt_from_settings(payment, settings),
              R"({"items":[{"name":"Пополнение счёта","quantity":1,"sum":990.00,"tax":"vat20"}]})");
    settings.receipt_sno = "usn_income";
    settings.receipt_payment_object = "service";
    payment.description.clear();
    EXPECT_EQ(rk::receipt_from_settings(payment, settings),
              R"({"sno":"usn_income","items":[{"name":"Payment 12","quantity":1,"sum":990.00,)"
              R"("tax":"vat20","payment_object":"service"}]})");
}

TEST(ReceiptFromSettings, ALongDescriptionIsCutToWholeCharacters) {
    rk::Payment payment;
    payment.id = 1;
    payment.amount = 100;
    for (int i = 0; i < 100; ++i) {
        payment.description += "ё";
    }
    payment.description += "abcdefghijklmnopqrstuvwxyz0123456789";
    rk::MethodSettings settings;
    settings.receipt_tax = "none";
    std::string receipt = rk::receipt_from_settings(payment, settings);
    EXPECT_NE(receipt.find("abcdefghijklmnopqrstuvwxyz01\""), std::string::npos) << receipt;
}
