#include "robokassa/method_settings.hpp"

#include "robokassa/receipt.hpp"
#include "util/config.hpp"
#include "util/error.hpp"
#include "util/url.hpp"

namespace rk {

namespace {

bool is_latin_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Whole hours, 1 to the maximum, no sign or leading zero; empty: none.
int parse_payment_lifetime(const std::string& text) {
    if (text.empty()) {
        return 0;
    }
    const std::string rule =
        "must be whole hours from 1 to " + std::to_string(k_max_payment_lifetime_hours);
    if (text.size() > 3 || text[0] == '0') {
        throw bad_input("payment_lifetime", rule);
    }
    int hours = 0;
    for (char c : text) {
        if (!is_digit(c)) {
            throw bad_input("payment_lifetime", rule);
        }
        hours = hours * 10 + (c - '0');
    }
    if (hours > k_max_payment_lifetime_hours) {
        throw bad_input("payment_lifetime", rule);
    }
    return hours;
}

} // namespace

void validate_password(const std::string& field, const std::string& password) {
    if (password.size() < 8) {
        throw bad_input(field, "must be at least 8 characters long");
    }
    if (password.size() > 128) {
        throw bad_input(field, "must be at most 128 characters long");
    }
    bool letter = false;
    bool digit = false;
    for (char c : password) {
        // Robokassa's cabinet accepts printable ASCII; anything else would
        // be signed differently by each side's encoding.
        if (c < 0x21 || c > 0x7e) {
            throw bad_input(field, "may contain only printable ASCII characters without spaces");
        }
        letter = letter || is_latin_letter(c);
        digit = digit || is_digit(c);
    }
    if (!letter) {
        throw bad_input(field, "must contain at least one Latin letter");
    }
    if (!digit) {
        throw bad_input(field, "must contain at least one digit");
    }
}

bool parse_on_off(const std::string& field, const std::string& value) {
    if (value == "on") {
        return true;
    }
    if (value == "off" || value.empty()) {
        return false;
    }
    throw bad_input(field, "must be 'on' or 'off'");
}

MethodSettings parse_method_settings(const MethodFields& fields) {
    auto field = [&fields](const char* name) {
        auto it = fields.find(name);
        return it == fields.end() ? std::string() : it->second;
    };
    MethodSettings s;
    s.shop_id = field("shop_id");
    s.password1 = field("password1");
    s.password2 = field("password2");
    s.password3 = field("password3");
    s.inc_curr_label = field("inc_curr_label");
    s.gateway_url = field("gateway_url");

    if (s.shop_id.empty()) {
        throw bad_input("shop_id", "is required");
    }
    if (s.shop_id.size() > 64) {
        throw bad_input("shop_id", "must be at most 64 characters long");
    }
    for (char c : s.shop_id) {
        if (!is_latin_letter(c) && !is_digit(c) && c != '_' && c != '.' && c != '-') {
            throw bad_input("shop_id", "may contain only Latin letters, digits, '_', '.' and '-'");
        }
    }
    validate_password("password1", s.password1);
    validate_password("password2", s.password2);
    if (s.password2 == s.password1) {
        throw bad_input("password2", "must differ from password1");
    }
    s.test_password1 = field("test_password1");
    s.test_password2 = field("test_password2");
    if (!s.test_password1.empty()) {
        validate_password("test_password1", s.test_password1);
    }
    if (!s.test_password2.empty()) {
        validate_password("test_password2", s.test_password2);
    }
    if (s.test_password1.empty() != s.test_password2.empty()) {
        throw bad_input(s.test_password1.empty() ? "test_password1" : "test_password2",
                        "is required with the other test password: the pair works together");
    }
    if (!s.test_password1.empty() && s.test_password2 == s.test_password1) {
        throw bad_input("test_password2", "must differ from test_password1");
    }
    if (!s.password3.empty()) {
        validate_password("password3", s.password3);
        if (s.password3 == s.password1 || s.password3 == s.password2) {
            throw bad_input("password3", "must differ from password1 and password2");
        }
    }
    std::string hash = field("hash_algorithm");
    if (!hash.empty()) {
        auto algorithm = parse_hash_algorithm(hash);
        if (!algorithm) {
            throw bad_input("hash_algorithm",
                            "must be one of md5, ripemd160, sha1, sha256, sha384, sha512");
        }
        s.hash_algorithm = *algorithm;
    }
    s.test_mode = parse_on_off("test_mode", field("test_mode"));
    s.recurring = parse_on_off("recurring", field("recurring"));
    if (s.inc_curr_label.size() > 64) {
        throw bad_input("inc_curr_label", "must be at most 64 characters long");
    }
    for (char c : s.inc_curr_label) {
        if (!is_latin_letter(c) && !is_digit(c) && c != '_' && c != '-') {
            throw bad_input("inc_curr_label",
                            "may contain only Latin letters, digits, '_' and '-'");
        }
    }
    if (!s.gateway_url.empty() && !is_https_or_loopback_url(s.gateway_url)) {
        throw bad_input("gateway_url",
                        "must be an https:// URL (http:// only for a loopback host)");
    }
    s.payment_lifetime_hours = parse_payment_lifetime(field("payment_lifetime"));
    s.receipt_sno = field("sno");
    s.receipt_tax = field("tax");
    s.receipt_payment_object = field("payment_object");
    check_receipt_settings(s.receipt_sno, s.receipt_tax, s.receipt_payment_object);
    return s;
}

bool uses_test_pair(const MethodSettings& settings) {
    return settings.test_mode && !settings.test_password1.empty();
}

const std::string& signing_password1(const MethodSettings& settings) {
    return uses_test_pair(settings) ? settings.test_password1 : settings.password1;
}

const std::string& signing_password2(const MethodSettings& settings) {
    return uses_test_pair(settings) ? settings.test_password2 : settings.password2;
}

} // namespace rk
