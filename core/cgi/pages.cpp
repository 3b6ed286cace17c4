#include "cgi/pages.hpp"

#include "cgi/cgi_request.hpp"
#include "util/config.hpp"
#include "util/digest.hpp"
#include "util/text.hpp"
#include "util/url.hpp"

#include <openssl/evp.h>

namespace rk {

namespace {

// Plain, readable, no external resources; contrast above WCAG AA (the
// focus ring 3:1 against the white card too), usable at 360 px.
const char* const k_style =
    "body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2129}"
    "main{max-width:32rem;margin:2rem auto;padding:1.5rem;background:#fff;"
    "border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}"
    "h1{font-size:1.4rem;margin-top:0}dl{display:grid;grid-template-columns:auto 1fr;"
    "gap:.4rem 1rem}dt{color:#4a4f57}dd{margin:0;overflow-wrap:anywhere}"
    "button{font:inherit;padding:.7rem 1.4rem;border:0;border-radius:6px;"
    "background:#0b57d0;color:#fff;cursor:pointer}"
    "button:focus-visible{outline:3px solid #1d2129;outline-offset:2px}";

const char* const k_script = "document.getElementById('pay').submit();";

// The CSP hashes of k_style and k_script, fixed here rather than computed in
// every process: each page would otherwise pay for OpenSSL 3's first digest,
// a millisecond of CPU (bench/). A change to either text needs its
// new hash, printf '%s' TEXT | openssl dgst -sha256 -binary | base64;
// inline_csp_hashes_are_current() checks them.
const char* const k_style_hash = "'sha256-f+Qmi5Ds8Z3A1Wtt6Hg6Scfeu7PXKhdWv4WgjCjCXRA='";
const char* const k_script_hash = "'sha256-cXN4kc0BnyUGmltBTHDFqlgGIBTcF/hDhdn58LICFNQ='";

std::string csp_hash(const char* source) {
    std::string digest(EVP_MAX_MD_SIZE, '\0');
    unsigned int length = 0;
    EVP_Digest(source, std::char_traits<char>::length(source),
               reinterpret_cast<unsigned char*>(digest.data()), &length, EVP_sha256(), nullptr);
    digest.resize(length);
    return "'sha256-" + base64(digest) + "'";
}

struct Strings {
    const char* ru;
    const char* en;
};

const Strings k_texts[] = {
    {"Оплата счёта", "Invoice payment"},
    {"Переходим на страницу оплаты Robokassa…", "Taking you to Robokassa's payment page…"},
    {"Перейти к оплате", "Continue to payment"},
    {"Сумма", "Amount"},
    {"Назначение", "Description"},
    {"Счёт", "Invoice"},
    {"Счёт оплачен", "Invoice paid"},
    {"Этот счёт уже оплачен. Повторная оплата не нужна.",
     "This invoice is already paid. There is nothing more to pay."},
    {"Счёт нельзя оплатить", "Invoice cannot be paid"},
    {"Этот счёт отменён или возвращён и не может быть оплачен.",
     "This invoice was cancelled or refunded and cannot be paid."},
    {"Оплата получена", "Payment received"},
    {"Спасибо! Платёж принят и ожидает подтверждения. Статус счёта обновится автоматически.",
     "Thank you! Your payment was received and is awaiting confirmation. The invoice status "
     "will update automatically."},
    {"Оплата не завершена", "Payment not completed"},
    {"Платёж не был проведён, деньги не списаны. Вы можете попробовать оплатить счёт снова.",
     "The payment was not completed and no money was taken. You can try to pay the invoice "
     "again."},
    {"Ошибка", "Error"},
    {"Неверный запрос.", "The request is not valid."},
    {"Ссылка на оплату неверна.", "The payment link is not valid."},
    {"Счёт не найден.", "The invoice was not found."},
    {"Сервис временно недоступен. Попробуйте позже.",
     "The service is temporarily unavailable. Please try again later."},
    {"Оплата в этой валюте невозможна", "This currency cannot be paid here"},
    {"Robokassa принимает оплату только в рублях, а этот счёт выставлен в другой валюте. "
     "Выберите другой способ оплаты или обратитесь в поддержку.",
     "Robokassa accepts payments in roubles only, and this invoice is in another currency. "
     "Please choose another payment method or contact support."},
};

std::optional<Language> parse_language(const std::string& code) {
    std::string lower = ascii_lower(code);
    if (lower.rfind("ru", 0) == 0) {
        return Language::ru;
    }
    if (lower.rfind("en", 0) == 0) {
        return Language::en;
    }
    return std::nullopt;
}

// The first ru or en range of Accept-Language with the highest q.
std::optional<Language> from_accept_language(const std::string& header) {
    std::optional<Language> best;
    double best_q = 0.0;
    std::size_t pos = 0;
    while (pos < header.size()) {
        std::size_t end = header.find(',', pos);
        if (end == std::string::npos) {
            end = header.size();
        }
        std::string range = header.substr(pos, end - pos);
        double q = 1.0;
        std::size_t semi = range.find(';');
        if (semi != std::string::npos) {
            std::size_t qpos = range.find("q=", semi);
            if (qpos != std::string::npos) {
                q = std::strtod(range.c_str() + qpos + 2, nullptr);
            }
            range = range.substr(0, semi);
        }
        std::size_t start = range.find_first_not_of(' ');
        range = start == std::string::npos ? "" : range.substr(start);
        auto language = parse_language(range);
        if (language && q > best_q) {
            best = language;
            best_q = q;
        }
        pos = end + 1;
    }
    return best;
}

} // namespace

Language choose_language(const std::string* culture, const std::string& cookie_header,
                         const std::string& accept_language) {
    if (culture != nullptr) {
        if (auto language = parse_language(*culture)) {
            return *language;
        }
    }
    if (auto value = cookie_value(cookie_header, "billmgrlang5")) {
        // BILLmanager writes "billmgr:ru" or plain "ru".
        std::size_t colon = value->rfind(':');
        if (auto language =
                parse_language(colon == std::string::npos ? *value : value->substr(colon + 1))) {
            return *language;
        }
    }
    return from_accept_language(accept_language).value_or(Language::ru);
}

const char* language_code(Language language) {
    return language == Language::ru ? "ru" : "en";
}

const char* text(Language language, Text id) {
    const Strings& s = k_texts[static_cast<int>(id)];
    return language == Language::ru ? s.ru : s.en;
}

bool inline_csp_hashes_are_current() {
    return csp_hash(k_style) == k_style_hash && csp_hash(k_script) == k_script_hash;
}

Reply html_reply(int status, const Page& page) {
    Reply reply;
    reply.status = status;
    reply.content_type = "text/html; charset=utf-8";
    std::string csp = std::string("default-src 'none'; style-src ") + k_style_hash;
    if (page.auto_submit) {
        csp += std::string("; script-src ") + k_script_hash;
    }
    csp += "; form-action " + (page.form_action.empty() ? "'none'" : url_origin(page.form_action));
    csp += "; base-uri 'none'; frame-ancestors 'none'";
    reply.header("Cache-Control", "no-store")
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer")
        .header("Content-Security-Policy", csp);

    reply.body = std::string("<!DOCTYPE html>\n<html lang=\"") + language_code(page.language) +
                 "\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<title>" +
                 page.title + "</title>\n<style>" + k_style +
                 "</style>\n</head>\n<body>\n<main>\n" + "<h1>" + page.title + "</h1>\n" +
                 page.body_html + "</main>\n";
    if (page.auto_submit) {
        reply.body += std::string("<script>") + k_script + "</script>\n";
    }
    reply.body += "</body>\n</html>\n";
    return reply;
}

Reply error_page(int status, Language language, const std::string& detail) {
    Text what = Text::bad_request;
    if (status == 403) {
        what = Text::forbidden;
    } else if (status == 404) {
        what = Text::not_found;
    } else if (status >= 500) {
        what = Text::unavailable;
    }
    Page page;
    page.language = language;
    page.title = text(language, Text::error_title);
    page.body_html = std::string("<p>") + text(language, what) + "</p>\n";
    if (!detail.empty()) {
        page.body_html += "<p><small>" + escape_markup(xml_safe(detail)) + "</small></p>\n";
    }
    return html_reply(status, page);
}

} // namespace rk
