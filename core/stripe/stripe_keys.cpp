#include "stripe/stripe_keys.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

namespace rk::stripe {

namespace {

// `prefix` then 8 to 247 letters and digits (Stripe's keys are 24 to ~100).
bool has_key_form(std::string_view key, std::string_view prefix) {
    if (key.substr(0, prefix.size()) != prefix) {
        return false;
    }
    std::string_view rest = key.substr(prefix.size());
    if (rest.size() < 8 || rest.size() > 247) {
        return false;
    }
    for (char c : rest) {
        if (!is_ascii_alnum(c)) {
            return false;
        }
    }
    return true;
}

const std::string& field(const KeyFields& fields, const char* name) {
    auto it = fields.find(name);
    if (it == fields.end() || it->second.empty()) {
        throw bad_input(name, "is required");
    }
    return it->second;
}

} // namespace

StripeKeys parse_stripe_keys(const KeyFields& fields) {
    StripeKeys keys;
    keys.secret_key = field(fields, "secret_key");
    bool live = has_key_form(keys.secret_key, "sk_live_");
    if (!live && !has_key_form(keys.secret_key, "sk_test_")) {
        throw bad_input("secret_key", "must be a secret key: sk_live_ or sk_test_ followed by 8 "
                                      "to 247 letters and digits");
    }
    keys.publishable_key = field(fields, "publishable_key");
    bool publishable_live = has_key_form(keys.publishable_key, "pk_live_");
    if (!publishable_live && !has_key_form(keys.publishable_key, "pk_test_")) {
        throw bad_input("publishable_key", "must be a publishable key: pk_live_ or pk_test_ "
                                           "followed by 8 to 247 letters and digits");
    }
    if (publishable_live != live) {
        throw bad_input("publishable_key",
                        live ? "is a test key (pk_test_) but the secret key is live (sk_live_)"
                             : "is a live key (pk_live_) but the secret key is a test one "
                               "(sk_test_)");
    }
    keys.webhook_secret = field(fields, "webhook_secret");
    if (!has_key_form(keys.webhook_secret, "whsec_")) {
        throw bad_input("webhook_secret", "must be a webhook signing secret: whsec_ followed by "
                                          "8 to 247 letters and digits");
    }
    return keys;
}

bool is_live(const StripeKeys& keys) {
    return keys.secret_key.rfind("sk_live_", 0) == 0;
}

std::string mask_key(std::string_view key) {
    std::size_t prefix = key.find('_', key.find('_') + 1); // "sk_test_" / "whsec_"
    if (key.rfind("whsec_", 0) == 0) {
        prefix = 5;
    }
    if (prefix == std::string_view::npos || key.size() < prefix + 1 + 8) {
        return "********";
    }
    return std::string(key.substr(0, prefix + 1)) + "..." + std::string(key.substr(key.size() - 4));
}

std::string scrub_secrets(std::string_view text) {
    static const std::string_view k_prefixes[] = {"sk_live_", "sk_test_", "rk_live_", "rk_test_",
                                                  "whsec_"};
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        bool masked = false;
        for (std::string_view prefix : k_prefixes) {
            if (text.substr(i, prefix.size()) == prefix) {
                out.append(prefix);
                out += "***";
                i += prefix.size();
                while (i < text.size() && (is_ascii_alnum(text[i]) || text[i] == '*')) {
                    ++i;
                }
                masked = true;
                break;
            }
        }
        if (!masked) {
            out += text[i++];
        }
    }
    return out;
}

} // namespace rk::stripe
