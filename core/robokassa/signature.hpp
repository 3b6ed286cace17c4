#pragma once

#include "util/digest.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace rk {

class Form;

// A Shp_ parameter: name as received (the prefix in any letter case), value
// decoded. Robokassa echoes these unchanged and signs them after the password.
struct ShpParam {
    std::string name;
    std::string value;
};
using ShpParams = std::vector<ShpParam>;

bool is_shp_name(std::string_view name);
// Every Shp_ parameter of `form`, sorted by name in byte order.
ShpParams collect_shp(const Form& form);

// The three signature pre-images of docs/interface.md §4. They contain a password:
// never log them, never put them in an error.
//   init:    MerchantLogin:OutSum:InvId[:Receipt]:Password1[:Shp…]
//   result:  OutSum:InvId:Password2[:Shp…]
//   success: OutSum:InvId:Password1[:Shp…]
std::string init_signature_base(std::string_view merchant_login, std::string_view out_sum,
                                std::string_view inv_id, std::string_view receipt,
                                std::string_view password1, const ShpParams& shp);
std::string result_signature_base(std::string_view out_sum, std::string_view inv_id,
                                  std::string_view password2, const ShpParams& shp);
std::string success_signature_base(std::string_view out_sum, std::string_view inv_id,
                                   std::string_view password1, const ShpParams& shp);

// Lower-case hex H(base).
std::string sign(HashAlgorithm algorithm, std::string_view base);

// Verifies `given` (hex, any case) against a callback-style pre-image built
// from `shp`: first with Shp pairs in byte order, as Robokassa signs; then,
// only if some names differ just in letter case and sort differently that
// way, in case-insensitive order, as some SDKs do. Constant time per try.
template <typename BuildBase>
bool verify_signature(HashAlgorithm algorithm, std::string_view given, const ShpParams& shp,
                      BuildBase build_base);

bool verify_hex(HashAlgorithm algorithm, std::string_view base, std::string_view given);
ShpParams sorted_case_insensitively(const ShpParams& shp);

template <typename BuildBase>
bool verify_signature(HashAlgorithm algorithm, std::string_view given, const ShpParams& shp,
                      BuildBase build_base) {
    if (verify_hex(algorithm, build_base(shp), given)) {
        return true;
    }
    ShpParams alternative = sorted_case_insensitively(shp);
    bool differs = false;
    for (std::size_t i = 0; i < shp.size(); ++i) {
        differs = differs || alternative[i].name != shp[i].name;
    }
    return differs && verify_hex(algorithm, build_base(alternative), given);
}

} // namespace rk
