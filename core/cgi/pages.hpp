#pragma once

#include "cgi/reply.hpp"

#include <string>

namespace rk {

enum class Language { ru, en };

// The customer's language: an explicit Culture parameter first, then
// BILLmanager's billmgrlang5 cookie, then Accept-Language; Russian when
// none of them says ru or en.
Language choose_language(const std::string* culture, const std::string& cookie_header,
                         const std::string& accept_language);
const char* language_code(Language language);

// Every text a customer can see, in both languages.
enum class Text {
    payment_title,
    redirecting,
    continue_button,
    amount,
    description,
    invoice,
    already_paid_title,
    already_paid,
    not_payable_title,
    not_payable,
    success_title,
    success,
    fail_title,
    fail,
    error_title,
    bad_request,
    forbidden,
    not_found,
    unavailable,
    currency_title,
    currency_unsupported,
};
const char* text(Language language, Text id);

// A page: title and body are HTML the caller has escaped. `form_action`
// is the only origin a form may post to (empty: none).
struct Page {
    Language language = Language::ru;
    std::string title;
    std::string body_html;
    bool auto_submit = false; // run the script that submits form#pay
    std::string form_action;
};

// 200-style HTML reply with Cache-Control: no-store, nosniff, and a CSP that
// allows only our own inline style and script (by hash) and, for forms,
// only `form_action`'s origin.
Reply html_reply(int status, const Page& page);
// Whether the hashes html_reply sends (constants) are those of the inline
// style and script it embeds; for a unit test.
bool inline_csp_hashes_are_current();

// A short page for an error, in the customer's language.
Reply error_page(int status, Language language, const std::string& detail);

} // namespace rk
