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

} // namespace rk
