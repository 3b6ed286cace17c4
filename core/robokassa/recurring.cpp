#include "robokassa/recurring.hpp"

#include "cgi/pages.hpp"
#include "robokassa/payment_book.hpp"
#include "robokassa/payment_form.hpp"
#include "util/config.hpp"
#include "util/error.hpp"

#include <boost/property_tree/ptree.hpp>

namespace rk {

namespace pt = boost::property_tree;

RecurringSeries parse_recurring_info(const pt::ptree& doc, std::int64_t id) {
    auto node = doc.get_child_optional("recurring");
    if (!node) {
        throw Error(ErrorKind::upstream, "", "payment.recurring.info answered without <recurring>");
    }
    RecurringSeries series;
    series.id = id;
    try {
        series.status = node->get<int>("status");
    } catch (const pt::ptree_error&) {
        throw Error(ErrorKind::upstream, "", "payment.recurring.info lacks the series' status");
    }
    series.token = node->get<std::string>("token", "");
    if (auto first = doc.get_optional<std::string>("payment.id"); first && !first->empty()) {
        try {
            series.first_payment = parse_payment_id(*first, "payment id");
        } catch (const Error&) {
            throw Error(ErrorKind::upstream, "", "payment.recurring.info's payment is not an id");
        }
    }
    return series;
}

RecurringSeries read_recurring_series(const Mgrctl& mgrctl, std::int64_t id, const char* field) {
    pt::ptree doc = mgrctl.call("payment.recurring.info", {{"elid", std::to_string(id)}});
    std::string error = error_type(doc);
    if (error == "missing") {
        throw Error(ErrorKind::not_found, field, "no auto-payment series " + std::to_string(id));
    }
    if (!error.empty()) {
        throw Error(ErrorKind::upstream, "", "payment.recurring.info: " + error_summary(doc));
    }
    return parse_recurring_info(doc, id);
}

void require_recurring_method(const BookedPayment& booked, const char* field) {
    if (!booked.settings.recurring) {
        throw Error(ErrorKind::conflict, field,
                    "the payment method does not have recurring payments enabled");
    }
}

Reply handle_recurring(const CgiInput& input, CgiContext& context) {
    CgiRequest request = parse_cgi_request(input);
    Language language = choose_language(nullptr, request.cookie_header, request.accept_language);
    const Config& config = context.config();
    if (config.billing != Config::Billing::panel) {
        // Standalone, a series is the admin's (rcpay --parent): there is no
        // panel to keep its token.
        throw Error(ErrorKind::not_found, "", "auto-payments are set up through BILLmanager");
    }
    std::int64_t series_id = parse_payment_id(request.require("elid"), "elid");
    require_panel_session(config, request);
    RecurringSeries series = read_recurring_series(panel_mgrctl(config), series_id, "elid");
    if (series.status != k_series_being_set_up) {
        throw Error(ErrorKind::conflict, "elid", "the auto-payment series is not being set up");
    }
    if (!series.first_payment) {
        // Nothing to pay with Recurring=true: Robokassa starts a series only
        // from a paid first payment.
        throw Error(ErrorKind::upstream, "",
                    "payment.recurring.info names no payment to start the series with");
    }
    auto book = open_book(config, context.store_access());
    BookedPayment booked = book->find(*series.first_payment, "elid");
    require_recurring_method(booked, "elid");
    FormOptions options;
    options.who = "rkrecurring";
    options.first_of_series = true;
    options.on_in_pay = [&context, series_id](sql::Transaction& tx, const Payment& payment) {
        context.store().remember_recurring_setup(tx, payment.id, series_id);
    };
    return payment_form_reply(language, *book, std::move(booked), context, options);
}

} // namespace rk
