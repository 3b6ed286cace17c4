#pragma once

#include "util/digest.hpp"

#include <map>
#include <string>

namespace rk {

// A Robokassa payment method as the billing admin configures it.
struct MethodSettings {
    std::string shop_id; // Robokassa's MerchantLogin
    std::string password1;
    std::string password2;
    std::string password3; // optional: needed for refunds
    // The cabinet's separate test pair: optional, both or neither. Robokassa
    // answers error 29 to live passwords in test mode.
    std::string test_password1;
    std::string test_password2;
    HashAlgorithm hash_algorithm = HashAlgorithm::md5;
    bool test_mode = false;
    std::string inc_curr_label;
    std::string gateway_url; // empty: Robokassa's own
    bool recurring = false;
    // How long a payment link stays payable at Robokassa (ExpirationDate);
    // 0: no limit.
    int payment_lifetime_hours = 0;
    // The receipt (54-FZ) built from a payment that brings none of its own:
    // Robokassa's codes of the taxation system, the VAT rate and the payment
    // object. Empty tax: no receipt is built.
    std::string receipt_sno;
    std::string receipt_tax;
    std::string receipt_payment_object;
};

inline constexpr int k_max_payment_lifetime_hours = 720;

inline constexpr const char* k_default_gateway_url =
    "https://auth.robokassa.ru/Merchant/Index.aspx";

// The method form's fields by name, as pmvalidate receives them (the names
// below). Absent fields take their defaults.
using MethodFields = std::map<std::string, std::string>;

// Those field names, in form order.
inline constexpr const char* k_method_fields[] = {"shop_id",
                                                  "password1",
                                                  "password2",
                                                  "test_password1",
                                                  "test_password2",
                                                  "password3",
                                                  "hash_algorithm",
                                                  "test_mode",
                                                  "recurring",
                                                  "inc_curr_label",
                                                  "gateway_url",
                                                  "payment_lifetime",
                                                  "sno",
                                                  "tax",
                                                  "payment_object"};

// Parses and checks the method form's rules in form order; throws
// bad_input naming the first bad field. The one code path for pmvalidate
// and method.add.
MethodSettings parse_method_settings(const MethodFields& fields);

// The same password rule on its own: ≥ 8 characters, printable ASCII, at
// least one Latin letter and one digit.
void validate_password(const std::string& field, const std::string& password);

// "on"/"off" (BILLmanager's checkbox values); throws bad_input naming `field`.
bool parse_on_off(const std::string& field, const std::string& value);

// The pair that signs the form and SuccessURL (Password #1) and verifies
// ResultURL and OpStateExt (Password #2): the test pair whenever the method
// is in test mode and has one, the live pair otherwise.
const std::string& signing_password1(const MethodSettings& settings);
const std::string& signing_password2(const MethodSettings& settings);
bool uses_test_pair(const MethodSettings& settings);

// The gateway the customer's form posts to.
inline const std::string& effective_gateway_url(const MethodSettings& settings) {
    static const std::string fallback = k_default_gateway_url;
    return settings.gateway_url.empty() ? fallback : settings.gateway_url;
}

} // namespace rk
