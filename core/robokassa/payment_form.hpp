#pragma once

#include "cgi/cgi_runner.hpp"
#include "cgi/pages.hpp"
#include "robokassa/payment_book.hpp"

#include <ctime>
#include <functional>
#include <string>

namespace rk {

// rkpayment: the customer's payment link (?elid=ID&key=KEY). Answers a page
// whose form posts the signed invoice to the gateway and moves the payment
// from 1 (new) to 2 (in pay). docs/interface.md §4.
Reply handle_payment(const CgiInput& input, CgiContext& context);

// How payment_form_reply sends a form.
struct FormOptions {
    // The program that sends it, for the log and the history.
    const char* who = "rkpayment";
    // Recurring=true: the payment opens a series Robokassa can charge again.
    bool first_of_series = false;
    // Runs in the transaction that sets the payment in pay (not when a
    // notification settled it meanwhile).
    std::function<void(sql::Transaction&, const Payment&)> on_in_pay;
};

// The form for a payable payment (setting it in pay first), or the page of
// what it is now; rkpayment's and rkrecurring's one path to the gateway.
Reply payment_form_reply(Language language, PaymentBook& book, BookedPayment booked,
                         CgiContext& context, const FormOptions& options);

// Robokassa's ExpirationDate for a link payable `lifetime_hours` from `now`:
// UTC, YYYY-MM-DDThh:mm.
std::string expiration_date(std::time_t now, int lifetime_hours);

} // namespace rk
