#include "payment_link.hpp"

#include "error.hpp"
#include "text.hpp"

#include <algorithm>

namespace rk {

namespace {

bool is_hex(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return hex_digit_value(c) >= 0; });
}

} // namespace

PaymentId linked_payment_id(const CgiRequest& request) {
    if (request.method != "GET") {
        throw MethodNotAllowed("GET");
    }
    return parse_payment_id(request.require("elid"), "elid");
}

Payment linked_payment(const CgiRequest& request, const StoreAccess& open_store) {
    PaymentId id = linked_payment_id(request);
    const std::string* key = request.find("key");
    // The same refusal for a key of the wrong form as for a wrong key: the
    // form is public, only the value is secret.
    if (key == nullptr || key->size() != k_payment_link_key_chars || !is_hex(*key)) {
        throw Error(ErrorKind::forbidden, "key", "does not match the payment");
    }
    Store& store = open_store();
    if (!payment_link_key_matches(store.link_secret(), id, *key)) {
        throw Error(ErrorKind::forbidden, "key", "does not match the payment");
    }
    auto payment = store.find_payment(id);
    if (!payment) {
        throw Error(ErrorKind::not_found, "elid", "no payment " + std::to_string(id));
    }
    return *payment;
}

std::string payment_details_html(Language language, const Payment& payment) {
    std::string html = "<dl>\n<dt>" + std::string(text(language, Text::invoice)) + "</dt><dd>" +
                       std::to_string(payment.id) + "</dd>\n<dt>" + text(language, Text::amount) +
                       "</dt><dd>" + format_amount(payment.amount) + " " +
                       escape_markup(payment.currency) + "</dd>\n";
    if (!payment.description.empty()) {
        html += "<dt>" + std::string(text(language, Text::description)) + "</dt><dd>" +
                escape_markup(payment.description) + "</dd>\n";
    }
    return html + "</dl>\n";
}

Reply closed_payment_reply(Language language, const Payment& payment) {
    bool paid = payment.status == PaymentStatus::paid || payment.status == PaymentStatus::refunded;
    Page page;
    page.language = language;
    page.title = text(language, paid ? Text::already_paid_title : Text::not_payable_title);
    page.body_html = payment_details_html(language, payment) + "<p>" +
                     text(language, paid ? Text::already_paid : Text::not_payable) + "</p>\n";
    return html_reply(paid ? 200 : 409, page);
}

} // namespace rk
