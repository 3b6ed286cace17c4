#include "stripe/stripe_signature.hpp"

#include "util/digest.hpp"
#include "util/error.hpp"

namespace rk::stripe {

namespace {

constexpr std::size_t k_max_header_bytes = 4096;
constexpr std::size_t k_max_items = 16;
const char* const k_field = "Stripe-Signature";

[[noreturn]] void malformed(const std::string& why) {
    throw bad_input(k_field, why);
}

} // namespace

SignatureHeader parse_signature_header(std::string_view header) {
    if (header.empty()) {
        malformed("is empty");
    }
    if (header.size() > k_max_header_bytes) {
        malformed("is over 4 KiB");
    }
    SignatureHeader out;
    bool have_t = false;
    std::size_t items = 0;
    std::size_t pos = 0;
    for (;;) {
        std::size_t end = header.find(',', pos);
        std::string_view item =
            header.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        if (++items > k_max_items) {
            malformed("has more than 16 items");
        }
        std::size_t eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            malformed("items must be key=value");
        }
        std::string_view key = item.substr(0, eq);
        std::string_view value = item.substr(eq + 1);
        for (char c : item) {
            if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
                malformed("contains spaces or non-ASCII bytes");
            }
        }
        if (key == "t") {
            if (have_t) {
                malformed("has t twice");
            }
            if (value.empty() || value.size() > 18 ||
                value.find_first_not_of("0123456789") != std::string_view::npos) {
                malformed("t must be a Unix time in seconds");
            }
            std::int64_t t = 0;
            for (char c : value) {
                t = t * 10 + (c - '0');
            }
            out.timestamp = t;
            have_t = true;
        } else if (key == "v1") {
            out.v1.emplace_back(value);
        }
        if (end == std::string_view::npos) {
            break;
        }
        pos = end + 1;
    }
    if (!have_t) {
        malformed("has no t");
    }
    if (out.v1.empty()) {
        malformed("has no v1 signature");
    }
    return out;
}

std::string expected_signature(std::string_view secret, std::int64_t timestamp,
                               std::string_view payload) {
    std::string signed_payload = std::to_string(timestamp);
    signed_payload += '.';
    signed_payload.append(payload.data(), payload.size());
    return hmac_sha256_hex(secret, signed_payload);
}

bool signature_matches(const SignatureHeader& header, std::string_view secret,
                       std::string_view payload) {
    const std::string expected = expected_signature(secret, header.timestamp, payload);
    bool matched = false;
    // Every candidate is compared, so the time taken does not say which one
    // (or whether an early one) matched.
    for (const std::string& given : header.v1) {
        matched = hex_equal_constant_time(expected, given) || matched;
    }
    return matched;
}

bool timestamp_fresh(const SignatureHeader& header, std::int64_t now, std::int64_t tolerance) {
    std::int64_t diff = now - header.timestamp;
    return diff <= tolerance && diff >= -tolerance;
}

} // namespace rk::stripe
