#pragma once

#include "billing/store.hpp"
#include "robokassa/method_settings.hpp"
#include "util/config.hpp"

#include <optional>
#include <string>

namespace rk {

// Robokassa's answer to OpStateExt about one invoice.
struct OpState {
    int result_code = -1; // 0 ok, 1 bad signature, 2 no shop, 3 no invoice, 4 duplicate, 1000
    std::string result_description;
    std::optional<int> state; // 5 created, 10 cancelled, 20 hold, 50 received, 60 returned,
                              // 80 suspended, 100 paid
    std::string out_sum;      // Info/OutSum as sent
    std::string op_key;       // Info/OpKey: Robokassa's operation id, needed for refunds
};

// The OpStateExt URL for `id`: MerchantLogin, InvoiceID and
// Signature = H(MerchantLogin:InvoiceID:Password2).
std::string op_state_url(const std::string& base_url, const MethodSettings& settings, PaymentId id);

// Parses OpStateExt's XML; throws upstream when it is not that document.
OpState parse_op_state(const std::string& xml);

// Asks Robokassa; throws upstream on network errors and non-200 replies.
OpState query_op_state(const Config& config, const MethodSettings& settings, PaymentId id);

// What Robokassa says about a method's credentials when asked OpStateExt
// about an invoice no shop issues, signed with Password #2 (the test one in
// test mode): "no such invoice" proves the shop, the password and the hash
// algorithm right; a signature error proves one of the last two wrong.
// Password #1 signs nothing Robokassa answers without a customer (only the
// payment page and the customer's return), so it cannot be checked here.
enum class CredentialVerdict { right, unknown_shop, wrong_password2, wrong_algorithm, not_checked };

struct CredentialCheck {
    CredentialVerdict verdict = CredentialVerdict::not_checked;
    // wrong_algorithm: the algorithm Robokassa accepted the same password in.
    std::optional<HashAlgorithm> shop_algorithm;
    // not_checked: why, for the admin (no secret in it).
    std::string why_not;
};

// Asks through config.opstate_url, all within config.check_timeout
// seconds. A signature error is asked again in each other algorithm, while
// time is left, only to tell a wrong algorithm from a wrong password.
CredentialCheck check_credentials(const Config& config, const MethodSettings& settings);

// check_credentials as saving a method applies it: throws bad_input naming
// the field at fault (shop_id, password2 or hash_algorithm) with a message
// an admin can act on; returns "" when checked and right or when
// config.check_credentials is off, otherwise a note saying the credentials
// were not checked and why (also logged).
std::string verify_credentials(const Config& config, const MethodSettings& settings);

} // namespace rk

namespace rk {

// Robokassa's Refund API: a JWT (HS256 under Password #3) with OpKey,
// RefundSum and InvoiceItems, posted to refund_url; then GetState beside it.
struct RefundRequest {
    std::string op_key;
    Kopecks amount = 0;
    std::string item_name; // for InvoiceItems without a receipt
    // The payment's Receipt (normalised) and amount: a refund of the whole
    // payment repeats its items; a partial one is one line with the items'
    // VAT rate when they share one. Empty: one line without VAT.
    std::string receipt;
    Kopecks paid = 0;
};

std::string refund_jwt(const RefundRequest& request, const std::string& password3);

struct RefundAnswer {
    std::string request_id;
    std::string label; // GetState's "finished", "processing", "canceled"
};

// Creates the refund and asks its state once. Throws upstream when Robokassa
// refuses or cannot be reached.
RefundAnswer create_refund(const Config& config, const RefundRequest& request,
                           const std::string& password3);
// Refund/GetState for a refund created before: its label ("finished",
// "processing", "canceled").
std::string refund_state(const Config& config, const std::string& request_id);

// Robokassa's recurring charge: POST to recurring_url with MerchantLogin,
// InvoiceID (the child), PreviousInvoiceID (the series' first payment),
// OutSum, Description, the child's Receipt if any, and SignatureValue
// signed like the payment form (Password #1). Robokassa answers `OK<InvId>`
// when it takes the charge (the money then arrives through ResultURL).
struct RecurringAnswer {
    bool accepted = false;
    // Robokassa's own words when it declined (no secrets in them), cut short.
    std::string reason;
};
// An answer Robokassa gave (accepted, or declined: a 4xx, or a 200 that is
// not OK<InvId>) comes back; no answer, or a server error, throws upstream:
// the charge may or may not have been taken.
RecurringAnswer charge_recurring(const Config& config, const MethodSettings& settings,
                                 const Payment& child, PaymentId parent_id);

} // namespace rk
