#include "stripe/stripe_event.hpp"

#include "billing/store.hpp"
#include "util/error.hpp"

#include <limits>

namespace rk::stripe {

const json::Value* value_at(const json::Value& root, std::initializer_list<std::string_view> path) {
    const json::Value* v = &root;
    for (std::string_view key : path) {
        v = v->find(key);
        if (v == nullptr) {
            return nullptr;
        }
    }
    return v;
}

const std::string* string_at(const json::Value& root,
                             std::initializer_list<std::string_view> path) {
    const json::Value* v = value_at(root, path);
    return v != nullptr && v->is(json::Value::Type::string) ? &v->text : nullptr;
}

std::optional<std::int64_t> integer_value(const json::Value& value) {
    const std::string& t = value.text;
    if (!value.is(json::Value::Type::number) || t.empty() ||
        t.find_first_of(".eE") != std::string::npos) {
        return std::nullopt;
    }
    bool negative = t[0] == '-';
    const std::uint64_t limit =
        negative ? std::uint64_t{1} << 63
                 : static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    std::uint64_t n = 0;
    for (std::size_t i = negative ? 1 : 0; i < t.size(); ++i) {
        if (t[i] < '0' || t[i] > '9') {
            return std::nullopt;
        }
        auto digit = static_cast<std::uint64_t>(t[i] - '0');
        if (n > (limit - digit) / 10) {
            return std::nullopt;
        }
        n = n * 10 + digit;
    }
    if (!negative) {
        return static_cast<std::int64_t>(n);
    }
    if (n == (std::uint64_t{1} << 63)) {
        return std::numeric_limits<std::int64_t>::min();
    }
    return -static_cast<std::int64_t>(n);
}

std::optional<std::int64_t> integer_at(const json::Value& root,
                                       std::initializer_list<std::string_view> path) {
    const json::Value* v = value_at(root, path);
    return v == nullptr ? std::nullopt : integer_value(*v);
}

namespace {

bool all_of(const std::string& s, bool (*allowed)(char)) {
    for (char c : s) {
        if (!allowed(c)) {
            return false;
        }
    }
    return !s.empty() && s.size() <= 255;
}

bool id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

bool type_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

} // namespace

WebhookEvent read_event(const json::Value& root) {
    if (!root.is(json::Value::Type::object)) {
        throw bad_input("body", "must be a JSON object (a Stripe event)");
    }
    WebhookEvent event;
    const std::string* id = string_at(root, {"id"});
    if (id == nullptr || !all_of(*id, id_char)) {
        throw bad_input("id", "must be a Stripe event id such as evt_1A2b3C");
    }
    event.id = *id;
    const std::string* type = string_at(root, {"type"});
    if (type == nullptr || !all_of(*type, type_char)) {
        throw bad_input("type", "must be an event type such as checkout.session.completed");
    }
    event.type = *type;
    if (const json::Value* live = root.find("livemode")) {
        if (!live->is(json::Value::Type::boolean)) {
            throw bad_input("livemode", "must be true or false");
        }
        event.livemode = live->boolean;
    }
    event.object = value_at(root, {"data", "object"});
    if (event.object == nullptr || !event.object->is(json::Value::Type::object)) {
        throw bad_input("data.object", "must be a JSON object");
    }
    return event;
}

std::optional<PaymentReference> payment_reference(const json::Value& object) {
    const std::string* by_session = string_at(object, {"client_reference_id"});
    const std::string* by_metadata = string_at(object, {"metadata", "elid"});
    if (by_session != nullptr && by_metadata != nullptr && *by_session != *by_metadata) {
        throw bad_input("client_reference_id", "differs from metadata.elid");
    }
    if (by_session != nullptr) {
        return PaymentReference{parse_payment_id(*by_session, "client_reference_id"),
                                "client_reference_id"};
    }
    if (by_metadata != nullptr) {
        return PaymentReference{parse_payment_id(*by_metadata, "metadata.elid"), "metadata.elid"};
    }
    return std::nullopt;
}

} // namespace rk::stripe
