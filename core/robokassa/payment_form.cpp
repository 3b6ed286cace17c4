#include "robokassa/payment_form.hpp"

#include "cgi/pages.hpp"
#include "cgi/payment_link.hpp"
#include "robokassa/payment_book.hpp"
#include "robokassa/receipt.hpp"
#include "robokassa/signature.hpp"
#include "util/config.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <ctime>

namespace rk {

std::string expiration_date(std::time_t now, int lifetime_hours) {
    std::time_t until = now + static_cast<std::time_t>(lifetime_hours) * 3600;
    std::tm utc{};
    gmtime_r(&until, &utc);
    char text[32];
    (void)std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M", &utc); // 16 bytes always fit
    return text;
}

namespace {

void hidden(std::string& html, const char* name, const std::string& value) {
    html += "<input type=\"hidden\" name=\"";
    html += name;
    html += "\" value=\"" + escape_markup(value) + "\">\n";
}

// The form Robokassa's Index.aspx expects. Receipt is sent URL-encoded and
// signed in that same form, as Robokassa's interface prescribes.
Page payment_page(Language language, const Payment& payment, const MethodSettings& settings,
                  bool first_of_series) {
    const std::string out_sum = format_amount(payment.amount);
    const std::string inv_id = std::to_string(payment.id);
    const std::string receipt = payment.receipt.empty() ? "" : percent_encode(payment.receipt);
    const std::string signature = sign(
        settings.hash_algorithm, init_signature_base(settings.shop_id, out_sum, inv_id, receipt,
                                                     signing_password1(settings), {}));
    const std::string& gateway = effective_gateway_url(settings);

    Page page;
    page.language = language;
    page.title = std::string(text(language, Text::payment_title)) + " " + inv_id;
    page.auto_submit = true;
    page.form_action = gateway;
    page.body_html = payment_details_html(language, payment) + "<p>" +
                     text(language, Text::redirecting) +
                     "</p>\n<form id=\"pay\" method=\"POST\" action=\"" + escape_markup(gateway) +
                     "\" accept-charset=\"utf-8\">\n";
    std::string& form = page.body_html;
    hidden(form, "MerchantLogin", settings.shop_id);
    hidden(form, "OutSum", out_sum);
    hidden(form, "InvId", inv_id);
    hidden(form, "Description", payment.description);
    hidden(form, "SignatureValue", signature);
    hidden(form, "Culture", language_code(language));
    hidden(form, "Encoding", "utf-8");
    if (settings.test_mode) {
        hidden(form, "IsTest", "1");
    }
    if (!payment.email.empty()) {
        hidden(form, "Email", payment.email);
    }
    if (!settings.inc_curr_label.empty()) {
        hidden(form, "IncCurrLabel", settings.inc_curr_label);
    }
    if (!receipt.empty()) {
        hidden(form, "Receipt", receipt);
    }
    if (settings.payment_lifetime_hours > 0) {
        // Not signed: Robokassa's signature covers only the listed modifiers.
        hidden(form, "ExpirationDate",
               expiration_date(std::time(nullptr), settings.payment_lifetime_hours));
    }
    if (first_of_series) {
        hidden(form, "Recurring", "true");
    }
    form += "<button type=\"submit\">" + std::string(text(language, Text::continue_button)) +
            "</button>\n</form>\n";
    return page;
}

// A payment Robokassa cannot charge in its own currency: no form, a page
// that says why, and the admin's log line (require_rouble_payment).
Reply unsupported_currency_reply(Language language, const Payment& payment) {
    Page page;
    page.language = language;
    page.title = text(language, Text::currency_title);
    page.body_html = payment_details_html(language, payment) + "<p>" +
                     text(language, Text::currency_unsupported) + "</p>\n";
    return html_reply(409, page);
}

} // namespace

Reply payment_form_reply(Language language, PaymentBook& book, BookedPayment booked,
                         CgiContext& context, const FormOptions& options) {
    Payment& payment = booked.payment;
    const PaymentId id = payment.id;
    if (is_payable(payment.status)) {
        // Before 1 -> 2: a payment no form can be sent for stays new.
        try {
            require_rouble_payment(payment, options.who);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::conflict) {
                throw;
            }
            return unsupported_currency_reply(language, payment);
        }
    }
    // In pay already (a second visit, or a panel that set it so before the
    // redirect) is confirmed too: in panel mode that is what puts the
    // payment on checkpay's list.
    if (payment.status == PaymentStatus::created || payment.status == PaymentStatus::in_pay) {
        sql::Transaction tx(context.store().db());
        Transition moved = book.mark_in_pay(tx, payment, options.who);
        if (moved != Transition::refused && options.on_in_pay) {
            options.on_in_pay(tx, payment);
        }
        tx.commit();
        if (moved == Transition::applied) {
            log::info("payment " + std::to_string(id) + " in pay");
        }
        if (moved != Transition::refused) {
            payment.status = PaymentStatus::in_pay;
        } else {
            // A notification settled it in between: show what it is now.
            payment = book.find(id, "elid").payment;
        }
    }
    switch (payment.status) {
    case PaymentStatus::in_pay:
        if (payment.receipt.empty()) {
            // A panel payment never brings one; a standalone payment may.
            payment.receipt = receipt_from_settings(payment, booked.settings);
        }
        log::info("payment " + std::to_string(id) + ": form sent to the gateway" +
                  (options.first_of_series ? " (first of a recurring series)" : ""));
        return html_reply(
            200, payment_page(language, payment, booked.settings, options.first_of_series));
    default:
        return closed_payment_reply(language, payment);
    }
}

Reply handle_payment(const CgiInput& input, CgiContext& context) {
    // GET or POST: a panel may open payment_script either way.
    CgiRequest request = parse_cgi_request(input);
    Language language = choose_language(nullptr, request.cookie_header, request.accept_language);
    auto opened = open_book(context.config(), context.store_access());
    BookedPayment booked = opened->find_linked(request);
    FormOptions options;
    // Standalone, the method's switch makes every first payment one that
    // rcpay --parent can charge again. In the panel a series starts only
    // through rkrecurring, which saves its token there: a Recurring=true
    // the panel never learns of would start a series nothing can charge.
    options.first_of_series = context.config().billing == Config::Billing::standalone &&
                              booked.settings.recurring && !booked.payment.parent_id;
    return payment_form_reply(language, *opened, std::move(booked), context, options);
}

} // namespace rk
