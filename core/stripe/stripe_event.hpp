#pragma once

#include "util/json.hpp"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace rk::stripe {

// Accessors over core's json::Value, along a path of object keys
// ({"data", "object", "amount_total"}). nullptr / nullopt when a step is
// missing or has another type.
const json::Value* value_at(const json::Value& root, std::initializer_list<std::string_view> path);
const std::string* string_at(const json::Value& root, std::initializer_list<std::string_view> path);
// A JSON integer (no fraction, no exponent) within int64: 1000, not
// 1000.0, 1e3 or "1000". Read from the number's text, never a double.
std::optional<std::int64_t> integer_at(const json::Value& root,
                                       std::initializer_list<std::string_view> path);
std::optional<std::int64_t> integer_value(const json::Value& value);

// The envelope of a Stripe event: {"id": "evt_…", "type": "…",
// "livemode": bool, "data": {"object": {…}}}.
struct WebhookEvent {
    std::string id;
    std::string type;
    std::optional<bool> livemode;
    const json::Value* object = nullptr; // data.object, inside the parsed document
};

// Reads the envelope; throws bad_input naming the field (id, type,
// livemode, data.object) when it is missing or malformed. The id is 1 to
// 255 characters of [A-Za-z0-9_-], the type 1 to 255 of [a-z0-9_.].
WebhookEvent read_event(const json::Value& root);

// The payment an event's object names: client_reference_id (a Checkout
// Session) or metadata.elid (an invoice, a PaymentIntent). Both present
// and different, or either not a payment id: bad_input naming it.
struct PaymentReference {
    std::int64_t id = 0;
    std::string field; // "client_reference_id" or "metadata.elid"
};
std::optional<PaymentReference> payment_reference(const json::Value& object);

} // namespace rk::stripe
