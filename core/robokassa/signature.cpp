#include "robokassa/signature.hpp"

#include "util/form.hpp"
#include "util/text.hpp"

#include <algorithm>

namespace rk {

namespace {

void append_shp(std::string& base, const ShpParams& shp) {
    for (const ShpParam& p : shp) {
        base += ':';
        base += p.name;
        base += '=';
        base += p.value;
    }
}

std::string joined(std::initializer_list<std::string_view> parts, const ShpParams& shp) {
    std::string base;
    bool first = true;
    for (std::string_view part : parts) {
        if (!first) {
            base += ':';
        }
        base += part;
        first = false;
    }
    append_shp(base, shp);
    return base;
}

} // namespace

bool is_shp_name(std::string_view name) {
    return name.size() > 4 && ascii_lower(name[0]) == 's' && ascii_lower(name[1]) == 'h' &&
           ascii_lower(name[2]) == 'p' && name[3] == '_';
}

ShpParams collect_shp(const Form& form) {
    ShpParams shp;
    for (const auto& [name, value] : form.pairs()) {
        if (is_shp_name(name)) {
            shp.push_back({name, value});
        }
    }
    std::sort(shp.begin(), shp.end(),
              [](const ShpParam& a, const ShpParam& b) { return a.name < b.name; });
    return shp;
}

ShpParams sorted_case_insensitively(const ShpParams& shp) {
    ShpParams out = shp;
    std::stable_sort(out.begin(), out.end(), [](const ShpParam& a, const ShpParam& b) {
        return std::lexicographical_compare(
            a.name.begin(), a.name.end(), b.name.begin(), b.name.end(),
            [](char x, char y) { return ascii_lower(x) < ascii_lower(y); });
    });
    return out;
}

std::string init_signature_base(std::string_view merchant_login, std::string_view out_sum,
                                std::string_view inv_id, std::string_view receipt,
                                std::string_view password1, const ShpParams& shp) {
    if (receipt.empty()) {
        return joined({merchant_login, out_sum, inv_id, password1}, shp);
    }
    return joined({merchant_login, out_sum, inv_id, receipt, password1}, shp);
}

std::string result_signature_base(std::string_view out_sum, std::string_view inv_id,
                                  std::string_view password2, const ShpParams& shp) {
    return joined({out_sum, inv_id, password2}, shp);
}

std::string success_signature_base(std::string_view out_sum, std::string_view inv_id,
                                   std::string_view password1, const ShpParams& shp) {
    return joined({out_sum, inv_id, password1}, shp);
}

std::string sign(HashAlgorithm algorithm, std::string_view base) {
    return hex_digest(algorithm, base);
}

bool verify_hex(HashAlgorithm algorithm, std::string_view base, std::string_view given) {
    return hex_equal_constant_time(hex_digest(algorithm, base), given);
}

} // namespace rk
