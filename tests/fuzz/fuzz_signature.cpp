// Signature verification (core/signature.hpp). Input: one byte choosing the
// hash algorithm, then newline-separated OutSum, InvId, password, the
// signature as given, and a form whose Shp_ parameters are signed.
// Invariants: a tampered or short signature never verifies; the right one
// always does, in either letter case, and in the case-insensitive Shp order
// that some SDKs use.
#include "fuzz_check.hpp"
#include "robokassa/signature.hpp"
#include "util/error.hpp"
#include "util/form.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::vector<std::string_view> split(std::string_view text, char separator, std::size_t parts) {
    std::vector<std::string_view> out;
    while (out.size() + 1 < parts) {
        std::size_t end = text.find(separator);
        if (end == std::string_view::npos) {
            break;
        }
        out.push_back(text.substr(0, end));
        text.remove_prefix(end + 1);
    }
    out.push_back(text);
    out.resize(parts);
    return out;
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; });
    return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const rk::HashAlgorithm algorithm =
        rk::k_hash_algorithms[data[0] % rk::k_hash_algorithms.size()];
    auto parts =
        split(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), '\n', 5);
    const std::string_view out_sum = parts[0], inv_id = parts[1], password = parts[2],
                           given = parts[3], form_text = parts[4];
    rk::ShpParams shp;
    try {
        shp = rk::collect_shp(rk::parse_form(form_text));
    } catch (const rk::Error&) {
    }
    for (std::size_t i = 1; i < shp.size(); ++i) {
        FUZZ_CHECK(shp[i - 1].name < shp[i].name);
    }
    for (const rk::ShpParam& p : shp) {
        FUZZ_CHECK(rk::is_shp_name(p.name));
    }
    auto build = [&](const rk::ShpParams& order) {
        return rk::result_signature_base(out_sum, inv_id, password, order);
    };

    // Whatever was given: no crash, and a match means it is the digest of
    // one of the two accepted orders.
    if (rk::verify_signature(algorithm, given, shp, build)) {
        std::string given_upper = upper(std::string(given));
        FUZZ_CHECK(given_upper == upper(rk::sign(algorithm, build(shp))) ||
                   given_upper ==
                       upper(rk::sign(algorithm, build(rk::sorted_case_insensitively(shp)))));
    }

    const std::string good = rk::sign(algorithm, build(shp));
    FUZZ_CHECK(rk::verify_signature(algorithm, good, shp, build));
    FUZZ_CHECK(rk::verify_signature(algorithm, upper(good), shp, build));
    FUZZ_CHECK(!rk::verify_signature(algorithm, good.substr(0, good.size() - 1), shp, build));
    FUZZ_CHECK(!rk::verify_signature(algorithm, good + "0", shp, build));
    FUZZ_CHECK(!rk::verify_signature(algorithm, "", shp, build));
    std::string tampered = good;
    std::size_t at = size % tampered.size();
    tampered[at] = tampered[at] == '0' ? '1' : '0';
    FUZZ_CHECK(!rk::verify_signature(algorithm, tampered, shp, build));

    const std::string alternative = rk::sign(algorithm, build(rk::sorted_case_insensitively(shp)));
    FUZZ_CHECK(rk::verify_signature(algorithm, alternative, shp, build));
    return 0;
}
