#include "robokassa/robokassa_api.hpp"

#include "robokassa/signature.hpp"
#include "util/error.hpp"
#include "util/form.hpp"
#include "util/http_client.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/xml_input.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <chrono>
#include <sstream>

namespace rk {

namespace pt = boost::property_tree;

std::string op_state_url(const std::string& base_url, const MethodSettings& settings,
                         PaymentId id) {
    const std::string inv_id = std::to_string(id);
    const std::string signature =
        sign(settings.hash_algorithm,
             settings.shop_id + ":" + inv_id + ":" + signing_password2(settings));
    return base_url + (base_url.find('?') == std::string::npos ? "?" : "&") +
           "MerchantLogin=" + percent_encode(settings.shop_id) + "&InvoiceID=" + inv_id +
           "&Signature=" + signature;
}

OpState parse_op_state(const std::string& xml) {
    pt::ptree tree;
    try {
        tree = parse_xml(xml, pt::xml_parser::trim_whitespace);
    } catch (const pt::xml_parser_error& e) {
        throw Error(ErrorKind::upstream, "",
                    "OpStateExt answered something that is not XML we read: " + e.message());
    }
    auto root = tree.get_child_optional("OperationStateResponse");
    if (!root) {
        throw Error(ErrorKind::upstream, "", "OpStateExt answered without OperationStateResponse");
    }
    OpState state;
    try {
        state.result_code = root->get<int>("Result.Code");
        state.result_description = root->get<std::string>("Result.Description", "");
        if (auto code = root->get_optional<int>("State.Code")) {
            state.state = *code;
        }
    } catch (const pt::ptree_error&) {
        throw Error(ErrorKind::upstream, "", "OpStateExt answered without a readable Result.Code");
    }
    state.out_sum = root->get<std::string>("Info.OutSum", "");
    state.op_key = root->get<std::string>("Info.OpKey", "");
    return state;
}

OpState query_op_state(const Config& config, const MethodSettings& settings, PaymentId id) {
    HttpRequest request;
    request.url = op_state_url(config.opstate_url, settings, id);
    request.timeout_seconds = config.http_timeout;
    HttpResponse response = http_request(request);
    if (response.status != 200) {
        throw Error(ErrorKind::upstream, "",
                    "OpStateExt answered HTTP " + std::to_string(response.status));
    }
    return parse_op_state(response.body);
}

namespace {

// An InvoiceID beyond any our store hands out; the answer is the same for
// one that exists (code 0) as long as the signature is right.
constexpr PaymentId k_probe_invoice = 9223372036854775807;

// OpStateExt Result/Code values.
constexpr int k_code_ok = 0;
constexpr int k_code_bad_signature = 1;
constexpr int k_code_no_shop = 2;
constexpr int k_code_no_invoice = 3;
constexpr int k_code_duplicate_invoice = 4;

constexpr HashAlgorithm k_all_algorithms[] = {HashAlgorithm::md5,    HashAlgorithm::ripemd160,
                                              HashAlgorithm::sha1,   HashAlgorithm::sha256,
                                              HashAlgorithm::sha384, HashAlgorithm::sha512};

bool signature_accepted(int code) {
    return code == k_code_ok || code == k_code_no_invoice || code == k_code_duplicate_invoice;
}

} // namespace

CredentialCheck check_credentials(const Config& config, const MethodSettings& settings) {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(config.check_timeout);
    // OpStateExt's code for `algorithm`; throws upstream when Robokassa
    // gives no usable answer within the time left.
    bool first = true;
    auto ask = [&](HashAlgorithm algorithm) {
        // The first question may take the whole timeout; later ones the
        // whole seconds left (libcurl's timeout counts whole seconds).
        long left = first ? config.check_timeout
                          : static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                                                  deadline - Clock::now())
                                                  .count());
        first = false;
        if (left < 1) {
            throw Error(ErrorKind::upstream, "",
                        "Robokassa did not answer within " + std::to_string(config.check_timeout) +
                            " s");
        }
        MethodSettings probe = settings;
        probe.hash_algorithm = algorithm;
        HttpRequest request;
        request.url = op_state_url(config.opstate_url, probe, k_probe_invoice);
        request.timeout_seconds = left;
        HttpResponse response = http_request(request);
        if (response.status != 200) {
            throw Error(ErrorKind::upstream, "",
                        "OpStateExt answered HTTP " + std::to_string(response.status));
        }
        return parse_op_state(response.body).result_code;
    };

    CredentialCheck check;
    int code = 0;
    try {
        code = ask(settings.hash_algorithm);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::upstream) {
            throw;
        }
        check.why_not = e.describe();
        return check;
    }
    if (signature_accepted(code)) {
        check.verdict = CredentialVerdict::right;
        return check;
    }
    if (code == k_code_no_shop) {
        check.verdict = CredentialVerdict::unknown_shop;
        return check;
    }
    if (code != k_code_bad_signature) {
        check.why_not = "OpStateExt answered code " + std::to_string(code);
        return check;
    }
    check.verdict = CredentialVerdict::wrong_password2;
    for (HashAlgorithm other : k_all_algorithms) {
        if (other == settings.hash_algorithm) {
            continue;
        }
        try {
            if (signature_accepted(ask(other))) {
                check.verdict = CredentialVerdict::wrong_algorithm;
                check.shop_algorithm = other;
                return check;
            }
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::upstream) {
                throw;
            }
            break; // out of time: the password is the likelier culprit
        }
    }
    return check;
}

std::string verify_credentials(const Config& config, const MethodSettings& settings) {
    if (!config.check_credentials) {
        return "";
    }
    const std::string which = uses_test_pair(settings) ? "the test Password #2" : "Password #2";
    CredentialCheck check = check_credentials(config, settings);
    switch (check.verdict) {
    case CredentialVerdict::right:
        log::info("Robokassa confirmed shop " + settings.shop_id + ", " + which + " and " +
                  std::string(to_string(settings.hash_algorithm)));
        return "";
    case CredentialVerdict::unknown_shop:
        throw bad_input("shop_id", "Robokassa does not know shop '" + settings.shop_id +
                                       "' or it is not activated; copy the shop identifier "
                                       "from My shops, Technical settings");
    case CredentialVerdict::wrong_password2:
        throw bad_input("password2", "Robokassa refused the signature made with " + which +
                                         ": copy it again from the shop's technical settings" +
                                         (uses_test_pair(settings) ? " (the test pair)" : ""));
    case CredentialVerdict::wrong_algorithm:
        throw bad_input("hash_algorithm",
                        "Robokassa accepts this Password #2 only with the " +
                            std::string(to_string(*check.shop_algorithm)) +
                            " algorithm: choose the one set in the shop's technical settings");
    case CredentialVerdict::not_checked:
        break;
    }
    std::string note = "Robokassa could not be asked whether the shop id, " + which +
                       " and the hash algorithm are right (" + check.why_not +
                       "); accepted without that check";
    log::warning("credentials not checked: " + note);
    return note;
}

} // namespace rk

namespace rk {

namespace {

std::string json_string(const std::string& s) {
    json::Value v;
    v.type = json::Value::Type::string;
    v.text = s;
    return json::dump(v);
}

json::Value parse_answer(const HttpResponse& response, const char* what) {
    if (response.status != 200) {
        throw Error(ErrorKind::upstream, "",
                    std::string(what) + " answered HTTP " + std::to_string(response.status));
    }
    try {
        json::Value v = json::parse(response.body, what);
        if (v.is(json::Value::Type::object)) {
            return v;
        }
    } catch (const Error&) {
    }
    throw Error(ErrorKind::upstream, "",
                std::string(what) + " answered something that is not a JSON object");
}

std::string text_member(const json::Value& object, const char* key) {
    const json::Value* v = object.find(key);
    return v != nullptr && v->is(json::Value::Type::string) ? v->text : "";
}

} // namespace

namespace {

std::string member_or(const json::Value& object, const char* key, const char* fallback) {
    const std::string text = text_member(object, key);
    return text.empty() ? fallback : text;
}

std::string invoice_item(const std::string& name, Kopecks cost, std::int64_t quantity,
                         const std::string& tax, const std::string& method,
                         const std::string& object) {
    return "{\"Name\":" + json_string(name) + ",\"Quantity\":" + std::to_string(quantity) +
           ",\"Cost\":" + format_amount(cost) + ",\"Tax\":" + json_string(tax) +
           ",\"PaymentMethod\":" + json_string(method) +
           ",\"PaymentObject\":" + json_string(object) + "}";
}

// One receipt item as a refund line. Cost is the unit price: when the
// line's sum does not divide by its quantity, one unit of the whole sum.
std::string mirrored_item(const json::Value& item) {
    const json::Value* sum_value = item.find("sum");
    const json::Value* quantity_value = item.find("quantity");
    Kopecks sum = parse_amount(sum_value != nullptr ? sum_value->text : "", "sum");
    std::int64_t quantity = 1;
    if (quantity_value != nullptr &&
        quantity_value->text.find_first_not_of("0123456789") == std::string::npos &&
        !quantity_value->text.empty() && quantity_value->text.size() < 10) {
        quantity = std::stoll(quantity_value->text);
    }
    if (quantity <= 0 || sum % quantity != 0) {
        quantity = 1;
    }
    return invoice_item(text_member(item, "name"), sum / quantity, quantity,
                        member_or(item, "tax", "none"),
                        member_or(item, "payment_method", "full_payment"),
                        member_or(item, "payment_object", "service"));
}

std::string invoice_items(const RefundRequest& request) {
    if (request.receipt.empty()) {
        return "[" +
               invoice_item(request.item_name, request.amount, 1, "none", "full_payment",
                            "service") +
               "]";
    }
    const json::Value receipt = json::parse(request.receipt, "receipt");
    const json::Value* items = receipt.find("items");
    if (items == nullptr || items->items.empty()) {
        throw Error(ErrorKind::internal, "receipt", "the payment's receipt has no items");
    }
    if (request.amount == request.paid) {
        std::string out = "[";
        for (const json::Value& item : items->items) {
            out += (out.size() > 1 ? "," : "") + mirrored_item(item);
        }
        return out + "]";
    }
    const json::Value& first = items->items.front();
    std::string tax = member_or(first, "tax", "none");
    for (const json::Value& item : items->items) {
        if (member_or(item, "tax", "none") != tax) {
            tax = "none"; // no one rate for a part of mixed items
        }
    }
    return "[" +
           invoice_item(request.item_name, request.amount, 1, tax,
                        member_or(first, "payment_method", "full_payment"),
                        member_or(first, "payment_object", "service")) +
           "]";
}

} // namespace

std::string refund_jwt(const RefundRequest& request, const std::string& password3) {
    const std::string header = base64url(R"({"alg":"HS256","typ":"JWT"})");
    const std::string payload = base64url("{\"OpKey\":" + json_string(request.op_key) +
                                          ",\"RefundSum\":" + format_amount(request.amount) +
                                          ",\"InvoiceItems\":" + invoice_items(request) + "}");
    const std::string signed_part = header + "." + payload;
    return signed_part + "." + base64url(hmac_sha256(password3, signed_part));
}

RefundAnswer create_refund(const Config& config, const RefundRequest& request,
                           const std::string& password3) {
    HttpRequest create;
    create.method = "POST";
    create.url = config.refund_url;
    create.headers = {{"Content-Type", "application/json"}};
    create.body = refund_jwt(request, password3);
    create.timeout_seconds = config.http_timeout;
    json::Value created = parse_answer(http_request(create), "Refund/Create");
    const json::Value* success = created.find("success");
    RefundAnswer answer;
    answer.request_id = text_member(created, "requestId");
    if (success == nullptr || !success->boolean || answer.request_id.empty()) {
        throw Error(ErrorKind::upstream, "",
                    "Robokassa refused the refund: " + text_member(created, "message"));
    }

    answer.label = refund_state(config, answer.request_id);
    return answer;
}

std::string refund_state(const Config& config, const std::string& request_id) {
    // GetState lives beside Create: …/Refund/GetState?id=REQUEST.
    std::string base = config.refund_url.substr(0, config.refund_url.rfind('/') + 1);
    HttpRequest state;
    state.url = base + "GetState?id=" + percent_encode(request_id);
    state.timeout_seconds = config.http_timeout;
    return text_member(parse_answer(http_request(state), "Refund/GetState"), "label");
}

RecurringAnswer charge_recurring(const Config& config, const MethodSettings& settings,
                                 const Payment& child, PaymentId parent_id) {
    const std::string out_sum = format_amount(child.amount);
    const std::string inv_id = std::to_string(child.id);
    const std::string receipt = child.receipt.empty() ? "" : percent_encode(child.receipt);
    Form form;
    form.add("MerchantLogin", settings.shop_id);
    form.add("InvoiceID", inv_id);
    form.add("PreviousInvoiceID", std::to_string(parent_id));
    form.add("OutSum", out_sum);
    form.add("Description", child.description);
    if (!receipt.empty()) {
        form.add("Receipt", receipt);
    }
    form.add("SignatureValue", sign(settings.hash_algorithm,
                                    init_signature_base(settings.shop_id, out_sum, inv_id, receipt,
                                                        signing_password1(settings), {})));
    HttpRequest request;
    request.method = "POST";
    request.url = config.recurring_url;
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    request.body = encode_form(form);
    request.timeout_seconds = config.http_timeout;
    HttpResponse response = http_request(request);
    std::string reply = response.body.substr(0, response.body.find_last_not_of(" \r\n") + 1);
    if (response.status >= 500 || (response.status != 200 && response.status < 400)) {
        // Not an answer about the charge: it may have been taken.
        throw Error(ErrorKind::upstream, "",
                    "Robokassa's recurring interface answered HTTP " +
                        std::to_string(response.status));
    }
    RecurringAnswer answer;
    answer.accepted = response.status == 200 && reply == "OK" + inv_id;
    if (!answer.accepted) {
        std::string first_line = reply.substr(0, reply.find_first_of("\r\n"));
        answer.reason = xml_safe(first_line.substr(0, 200));
        if (answer.reason.empty()) {
            answer.reason = "HTTP " + std::to_string(response.status);
        }
    }
    return answer;
}

} // namespace rk
