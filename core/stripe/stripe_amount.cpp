#include "stripe/stripe_amount.hpp"

#include <algorithm>
#include <limits>
#include <string>

namespace rk::stripe {

namespace {

// Stripe's zero- and three-decimal currencies (docs: "Supported currencies").
constexpr std::string_view k_zero_decimal[] = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF",
                                               "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                                               "VUV", "XAF", "XOF", "XPF"};
constexpr std::string_view k_three_decimal[] = {"BHD", "JOD", "KWD", "OMR", "TND"};

// Stripe units per 100 store units, or 0 for a malformed code.
int scale(std::string_view currency) {
    if (currency.size() != 3) {
        return 0;
    }
    std::string upper(currency);
    for (char& c : upper) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        } else if (c < 'A' || c > 'Z') {
            return 0;
        }
    }
    auto in = [&](const auto& list) {
        return std::find(std::begin(list), std::end(list), upper) != std::end(list);
    };
    if (in(k_zero_decimal)) {
        return 1;
    }
    return in(k_three_decimal) ? 1000 : 100;
}

} // namespace

std::optional<std::int64_t> to_stripe_amount(Kopecks amount, std::string_view currency) {
    int s = scale(currency);
    if (s == 0 || amount < 0) {
        return std::nullopt;
    }
    if (s == 1) {
        if (amount % 100 != 0) {
            return std::nullopt;
        }
        return amount / 100;
    }
    if (s == 1000) {
        if (amount > std::numeric_limits<std::int64_t>::max() / 10) {
            return std::nullopt;
        }
        return amount * 10;
    }
    return amount;
}

std::optional<Kopecks> from_stripe_amount(std::int64_t amount, std::string_view currency) {
    int s = scale(currency);
    if (s == 0 || amount < 0) {
        return std::nullopt;
    }
    if (s == 1) {
        if (amount > std::numeric_limits<std::int64_t>::max() / 100) {
            return std::nullopt;
        }
        return amount * 100;
    }
    if (s == 1000) {
        if (amount % 10 != 0) {
            return std::nullopt;
        }
        return amount / 10;
    }
    return amount;
}

} // namespace rk::stripe
