#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rk {

struct FormLimits {
    std::size_t max_bytes = std::size_t{64} * 1024;
    std::size_t max_params = 128;
};

// Decoded application/x-www-form-urlencoded data, in the order received.
// Every key appears once: a repeated key is refused at parse time, because
// two values for OutSum or InvId would let a caller sign one and pay another.
class Form {
public:
    using Pair = std::pair<std::string, std::string>;

    const std::string* find(std::string_view key) const;
    // The value of `key`; throws bad_input naming it when absent.
    const std::string& require(std::string_view key) const;
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    const std::vector<Pair>& pairs() const { return m_pairs; }
    std::size_t size() const { return m_pairs.size(); }

    // Adds a pair; throws bad_input when the key is already present.
    void add(std::string key, std::string value);
    // Adds every pair of `other`, with the same duplicate rule.
    void merge(const Form& other);

private:
    std::vector<Pair> m_pairs;
};

// Parses `key=value&key=value`: '+' is a space, %XX is a byte, UTF-8 is
// kept as bytes. Refuses malformed %XX, NUL bytes, a key given twice, an
// empty key, and input over the limits; errors name the parameter.
Form parse_form(std::string_view text, const FormLimits& limits = {});

// Percent-decodes one component; `field` names it in errors.
std::string percent_decode(std::string_view text, std::string_view field);

// key=value&key=value, every key and value percent-encoded.
std::string encode_form(const Form& form);

// Encodes for a query string or form body: unreserved bytes stay, the rest
// become %XX (space too, so the result is safe in URLs and forms alike).
std::string percent_encode(std::string_view text);

} // namespace rk
