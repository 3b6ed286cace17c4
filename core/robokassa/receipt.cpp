#include "robokassa/receipt.hpp"

#include "util/error.hpp"
#include "util/json.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <array>

namespace rk {

namespace {

using json::Value;

constexpr std::array<std::string_view, 5> k_sno = {"osn", "usn_income", "usn_income_outcome", "esn",
                                                   "patent"};
constexpr std::array<std::string_view, 12> k_tax = {"none",   "vat0",   "vat5",   "vat7",
                                                    "vat10",  "vat20",  "vat22",  "vat105",
                                                    "vat107", "vat110", "vat120", "vat122"};
constexpr std::array<std::string_view, 7> k_payment_method = {
    "full_prepayment", "prepayment", "advance",       "full_payment",
    "partial_payment", "credit",     "credit_payment"};

// Robokassa's list of payment objects (Фискализация, payment_object).
constexpr std::array<std::string_view, 18> k_payment_object = {"commodity",
                                                               "excise",
                                                               "job",
                                                               "service",
                                                               "gambling_bet",
                                                               "gambling_prize",
                                                               "lottery",
                                                               "lottery_prize",
                                                               "intellectual_activity",
                                                               "payment",
                                                               "agent_commission",
                                                               "composite",
                                                               "resort_fee",
                                                               "another",
                                                               "property_right",
                                                               "non-operating_gain",
                                                               "insurance_premium",
                                                               "sales_tax"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

const Value& member(const Value& object, const char* key, Value::Type type,
                    const std::string& where) {
    const Value* v = object.find(key);
    if (v == nullptr || !v->is(type)) {
        throw bad_input(where, std::string("needs \"") + key + "\" of the right type");
    }
    return *v;
}

} // namespace

std::string normalise_receipt(std::string_view json_text, Kopecks amount, std::string_view field) {
    const std::string name(field);
    Value receipt = json::parse(json_text, field, {std::size_t{64} * 1024, 8});
    if (!receipt.is(Value::Type::object)) {
        throw bad_input(name, "must be a JSON object");
    }
    for (const auto& [key, value] : receipt.members) {
        if (key != "sno" && key != "items") {
            throw bad_input(name, "has an unknown key \"" + key.substr(0, 32) + "\"");
        }
    }
    if (const Value* sno = receipt.find("sno")) {
        if (!sno->is(Value::Type::string) || !one_of(k_sno, sno->text)) {
            throw bad_input(name + " sno", "must be one of osn, usn_income, usn_income_outcome, "
                                           "esn, patent");
        }
    }
    const Value& items = member(receipt, "items", Value::Type::array, name);
    if (items.items.empty() || items.items.size() > 100) {
        throw bad_input(name + " items", "must hold 1 to 100 items");
    }
    Kopecks total = 0;
    for (std::size_t i = 0; i < items.items.size(); ++i) {
        const Value& item = items.items[i];
        const std::string where = name + " items[" + std::to_string(i) + "]";
        if (!item.is(Value::Type::object)) {
            throw bad_input(where, "must be an object");
        }
        const Value& item_name = member(item, "name", Value::Type::string, where);
        if (item_name.text.empty() || utf8_length(item_name.text) > 128 ||
            has_control_chars(item_name.text)) {
            throw bad_input(where + " name", "must be 1 to 128 characters");
        }
        const Value& quantity = member(item, "quantity", Value::Type::number, where);
        if (quantity.text[0] == '-' || quantity.text.find_first_of("eE") != std::string::npos ||
            quantity.text.find_first_not_of("0.") == std::string::npos) {
            throw bad_input(where + " quantity", "must be a positive decimal number");
        }
        const Value& sum = member(item, "sum", Value::Type::number, where);
        if (sum.text[0] == '-' || sum.text.find_first_of("eE") != std::string::npos) {
            throw bad_input(where + " sum", "must be a non-negative amount");
        }
        Kopecks item_sum = parse_amount(sum.text, where + " sum");
        if (item_sum > amount - total) {
            throw bad_input(name, "item sums exceed the payment's amount");
        }
        total += item_sum;
        const Value& tax = member(item, "tax", Value::Type::string, where);
        if (!one_of(k_tax, tax.text)) {
            throw bad_input(where + " tax", "must be one of Robokassa's tax codes (none, vat0, "
                                            "vat5, vat7, vat10, vat20, vat22, vat105, …)");
        }
        if (const Value* method = item.find("payment_method")) {
            if (!method->is(Value::Type::string) || !one_of(k_payment_method, method->text)) {
                throw bad_input(where + " payment_method",
                                "must be one of Robokassa's payment methods (full_payment, …)");
            }
        }
        if (const Value* object = item.find("payment_object")) {
            if (!object->is(Value::Type::string) || object->text.empty() ||
                object->text.size() > 64) {
                throw bad_input(where + " payment_object", "must be a short text code");
            }
        }
        for (const auto& [key, value] : item.members) {
            if (key != "name" && key != "quantity" && key != "sum" && key != "tax" &&
                key != "payment_method" && key != "payment_object" && key != "cost" &&
                key != "nomenclature_code") {
                throw bad_input(where, "has an unknown key \"" + key.substr(0, 32) + "\"");
            }
        }
    }
    if (total != amount) {
        throw bad_input(name, "item sums add up to " + format_amount(total) + ", the payment is " +
                                  format_amount(amount));
    }
    return json::dump(receipt);
}

void check_receipt_settings(const std::string& sno, const std::string& tax,
                            const std::string& payment_object) {
    if (!sno.empty() && !one_of(k_sno, sno)) {
        throw bad_input("sno", "must be one of osn, usn_income, usn_income_outcome, esn, patent");
    }
    if (!tax.empty() && !one_of(k_tax, tax)) {
        throw bad_input("tax", "must be one of Robokassa's tax codes (none, vat0, vat5, vat7, "
                               "vat10, vat20, vat22, vat105, vat107, vat110, vat120, vat122)");
    }
    if (!payment_object.empty() && !one_of(k_payment_object, payment_object)) {
        throw bad_input("payment_object",
                        "must be one of Robokassa's payment objects (service, commodity, "
                        "payment, …)");
    }
    // Without the VAT rate there is no receipt to send: a taxation system or
    // payment object alone would look configured and change nothing.
    if (tax.empty() && !sno.empty()) {
        throw bad_input("sno", "needs the VAT rate (tax) set too");
    }
    if (tax.empty() && !payment_object.empty()) {
        throw bad_input("payment_object", "needs the VAT rate (tax) set too");
    }
}

namespace {

Value string_value(std::string text) {
    Value v;
    v.type = Value::Type::string;
    v.text = std::move(text);
    return v;
}

Value number_value(std::string literal) {
    Value v;
    v.type = Value::Type::number;
    v.text = std::move(literal);
    return v;
}

// At most `limit` characters of UTF-8 text, never cutting one in half.
std::string utf8_prefix(const std::string& text, std::size_t limit) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
            if (chars == limit) {
                return text.substr(0, i);
            }
            ++chars;
        }
    }
    return text;
}

} // namespace

std::string receipt_from_settings(const Payment& payment, const MethodSettings& settings) {
    if (settings.receipt_tax.empty()) {
        return "";
    }
    Value item;
    item.type = Value::Type::object;
    std::string name = payment.description;
    if (name.empty() || has_control_chars(name) || !is_valid_utf8(name)) {
        name = "Payment " + std::to_string(payment.id);
    }
    item.members.emplace_back("name", string_value(utf8_prefix(name, 128)));
    item.members.emplace_back("quantity", number_value("1"));
    item.members.emplace_back("sum", number_value(format_amount(payment.amount)));
    item.members.emplace_back("tax", string_value(settings.receipt_tax));
    if (!settings.receipt_payment_object.empty()) {
        item.members.emplace_back("payment_object", string_value(settings.receipt_payment_object));
    }
    Value receipt;
    receipt.type = Value::Type::object;
    if (!settings.receipt_sno.empty()) {
        receipt.members.emplace_back("sno", string_value(settings.receipt_sno));
    }
    Value items;
    items.type = Value::Type::array;
    items.items.push_back(std::move(item));
    receipt.members.emplace_back("items", std::move(items));
    // Through the same checks as a receipt given with the payment.
    return normalise_receipt(json::dump(receipt), payment.amount, "receipt");
}

} // namespace rk
