// core/signature.hpp: Robokassa's signature pre-images, Shp_ handling and
// verification.
#include "robokassa/signature.hpp"
#include "unit_support.hpp"
#include "util/form.hpp"

#include <cctype>
#include <gtest/gtest.h>
#include <map>
#include <set>

using rk::HashAlgorithm;
using rk::ShpParams;

namespace {

const char* const k_receipt_json =
    R"({"sno":"osn","items":[{"name":"Хостинг VPS, 1 мес.","quantity":1,"sum":1500.5,)"
    R"("tax":"vat20","payment_method":"full_payment","payment_object":"service"}]})";

ShpParams shp_of(const std::string& query) {
    return rk::collect_shp(rk::parse_form(query));
}

std::vector<std::string> names_of(const ShpParams& shp) {
    std::vector<std::string> names;
    for (const auto& p : shp) {
        names.push_back(p.name);
    }
    return names;
}

std::string upper(std::string s) {
    for (char& c : s) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return s;
}

// The same cases as make_vectors.py's PRE_IMAGES, built by the library.
std::vector<std::string> library_pre_images() {
    const std::string receipt = rk::percent_encode(k_receipt_json);
    return {
        rk::init_signature_base("demo", "990.00", "12", "", "password_1", {}),
        rk::init_signature_base("demo", "100.00", "1", "", "password_1", shp_of("Shp_item=42")),
        rk::init_signature_base("shop-01", "1500.50", "9223372036854775807", receipt,
                                "Pa55word_One", {}),
        rk::init_signature_base("shop-01", "1500.50", "77", receipt, "Pa55word_One",
                                shp_of("Shp_login=client%40example.com&Shp_a=1&Shp_B=2")),
        rk::result_signature_base("990.000000", "12", "password_2", {}),
        rk::result_signature_base("990.00", "12", "password_2",
                                  shp_of("Shp_a=lower&Shp_B=upper&Shp_item=1")),
        rk::result_signature_base("5.00", "3", "Pa55word_Two", shp_of("shp_label=x&SHP_Id=y")),
        rk::success_signature_base("990.00", "12", "password_1", {}),
        rk::success_signature_base(
            "100.00", "7", "password_1",
            shp_of("Shp_name=%D0%98%D0%B2%D0%B0%D0%BD+%D0%9F%D0%B5%D1%82%D1%80%D0%BE%D0%B2&"
                   "Shp_order=%E2%84%96%205")),
    };
}

// A ResultURL notification as Robokassa sends it, signed with the hex of
// the vector file's line for `algorithm` and `pre_image`.
std::string independent_hex(const std::string& algorithm, const std::string& pre_image) {
    for (const auto& v : rk::test::load_signature_vectors()) {
        if (v.algorithm == algorithm && v.pre_image == pre_image) {
            return v.hex;
        }
    }
    throw std::runtime_error("no vector for " + algorithm + "(" + pre_image + ")");
}

// Verifies a ResultURL form the way rkresult must: Shp_ pairs collected
// from the form, pre-image from the values as received.
bool result_form_verifies(HashAlgorithm algorithm, const std::string& query,
                          const std::string& password2) {
    rk::Form form = rk::parse_form(query);
    const std::string& out_sum = form.require("OutSum");
    const std::string& inv_id = form.require("InvId");
    return rk::verify_signature(algorithm, form.require("SignatureValue"), rk::collect_shp(form),
                                [&](const ShpParams& shp) {
                                    return rk::result_signature_base(out_sum, inv_id, password2,
                                                                     shp);
                                });
}

const char* const k_signed_result = "990.00:12:password_2:Shp_B=upper:Shp_a=lower:Shp_item=1";

class ResultSignature : public ::testing::TestWithParam<HashAlgorithm> {
protected:
    std::string algorithm_name() const { return std::string(rk::to_string(GetParam())); }
    std::string signature() const { return independent_hex(algorithm_name(), k_signed_result); }
    std::string query(const std::string& out_sum, const std::string& inv_id,
                      const std::string& shp_item, const std::string& signature) const {
        return "OutSum=" + out_sum + "&InvId=" + inv_id + "&Shp_a=lower&Shp_item=" + shp_item +
               "&Shp_B=upper&Fee=0.00&EMail=a%40b.c&IsTest=1&SignatureValue=" + signature;
    }
};

} // namespace

TEST(InitSignature, RobokassaPublishedExample) {
    const std::string base = rk::init_signature_base("demo", "990.00", "12", "", "password_1", {});
    EXPECT_EQ(rk::sign(HashAlgorithm::md5, base), "6c9d6eb96b82e643b343c26a85349a37");
}

TEST(InitSignature, ReceiptGoesBeforeThePasswordAndShpAfter) {
    EXPECT_EQ(rk::init_signature_base("demo", "990.00", "12", "R", "pw", shp_of("Shp_x=1")),
              "demo:990.00:12:R:pw:Shp_x=1");
}

TEST(SignatureVectors, EveryLineSignsAndVerifies) {
    const auto vectors = rk::test::load_signature_vectors();
    ASSERT_FALSE(vectors.empty());
    for (const auto& v : vectors) {
        auto algorithm = rk::parse_hash_algorithm(v.algorithm);
        ASSERT_TRUE(algorithm) << v.algorithm;
        EXPECT_EQ(rk::sign(*algorithm, v.pre_image), v.hex) << v.algorithm << " " << v.pre_image;
        EXPECT_TRUE(rk::verify_hex(*algorithm, v.pre_image, v.hex));
        EXPECT_TRUE(rk::verify_hex(*algorithm, v.pre_image, upper(v.hex)));
        EXPECT_TRUE(rk::verify_signature(*algorithm, v.hex, {},
                                         [&](const ShpParams&) { return v.pre_image; }));
        EXPECT_FALSE(rk::verify_hex(*algorithm, v.pre_image + " ", v.hex));
    }
}

// make_vectors.py writes its pre-images by plain string formatting; the
// library must assemble the very same ones, for every algorithm.
TEST(SignatureVectors, LibraryBuildsTheSamePreImages) {
    std::map<std::pair<std::string, std::string>, std::string> by_key;
    std::set<std::string> file_pre_images;
    for (const auto& v : rk::test::load_signature_vectors()) {
        by_key[{v.algorithm, v.pre_image}] = v.hex;
        if (!v.pre_image.empty()) {
            file_pre_images.insert(v.pre_image);
        }
    }
    std::set<std::string> built;
    for (const std::string& pre_image : library_pre_images()) {
        built.insert(pre_image);
        for (HashAlgorithm algorithm : rk::k_hash_algorithms) {
            auto it = by_key.find({std::string(rk::to_string(algorithm)), pre_image});
            ASSERT_NE(it, by_key.end())
                << "the library built a pre-image the vector file lacks: " << pre_image;
            EXPECT_EQ(rk::sign(algorithm, pre_image), it->second);
        }
    }
    EXPECT_EQ(built, file_pre_images);
}

TEST_P(ResultSignature, AcceptsTheSignedNotification) {
    EXPECT_TRUE(
        result_form_verifies(GetParam(), query("990.00", "12", "1", signature()), "password_2"));
}

TEST_P(ResultSignature, ComparesHexCaseInsensitively) {
    EXPECT_TRUE(result_form_verifies(GetParam(), query("990.00", "12", "1", upper(signature())),
                                     "password_2"));
}

TEST_P(ResultSignature, RejectsTamperedAmount) {
    EXPECT_FALSE(
        result_form_verifies(GetParam(), query("991.00", "12", "1", signature()), "password_2"));
    // Signed exactly as received: the same amount written differently is
    // not what Robokassa signed.
    EXPECT_FALSE(
        result_form_verifies(GetParam(), query("990.0", "12", "1", signature()), "password_2"));
}

TEST_P(ResultSignature, RejectsTamperedInvId) {
    EXPECT_FALSE(
        result_form_verifies(GetParam(), query("990.00", "13", "1", signature()), "password_2"));
}

TEST_P(ResultSignature, RejectsTamperedShpValue) {
    EXPECT_FALSE(
        result_form_verifies(GetParam(), query("990.00", "12", "2", signature()), "password_2"));
}

TEST_P(ResultSignature, RejectsAddedOrDroppedShp) {
    EXPECT_FALSE(result_form_verifies(
        GetParam(), query("990.00", "12", "1", signature()) + "&Shp_extra=1", "password_2"));
    EXPECT_FALSE(result_form_verifies(GetParam(),
                                      "OutSum=990.00&InvId=12&Shp_a=lower&Shp_B=upper&"
                                      "SignatureValue=" +
                                          signature(),
                                      "password_2"));
}

TEST_P(ResultSignature, RejectsWrongPassword) {
    EXPECT_FALSE(
        result_form_verifies(GetParam(), query("990.00", "12", "1", signature()), "password_1"));
    EXPECT_FALSE(
        result_form_verifies(GetParam(), query("990.00", "12", "1", signature()), "password_22"));
}

TEST_P(ResultSignature, RejectsWrongLengthOrGarbage) {
    const std::string sig = signature();
    for (const std::string& bad :
         {sig.substr(0, sig.size() - 1), sig + "0", sig + sig, std::string(), std::string("0")}) {
        EXPECT_FALSE(
            result_form_verifies(GetParam(), query("990.00", "12", "1", bad), "password_2"))
            << bad;
    }
}

TEST_P(ResultSignature, RejectsAnotherAlgorithmsDigest) {
    for (HashAlgorithm other : rk::k_hash_algorithms) {
        if (other == GetParam()) {
            continue;
        }
        const std::string hex = independent_hex(std::string(rk::to_string(other)), k_signed_result);
        EXPECT_FALSE(
            result_form_verifies(GetParam(), query("990.00", "12", "1", hex), "password_2"))
            << rk::to_string(other);
    }
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, ResultSignature,
                         ::testing::ValuesIn(rk::k_hash_algorithms),
                         [](const ::testing::TestParamInfo<HashAlgorithm>& param) {
                             return std::string(rk::to_string(param.param));
                         });

TEST(SuccessSignature, UsesPassword1NotPassword2) {
    const std::string hex = independent_hex("md5", "990.00:12:password_1");
    auto with = [&](const std::string& password) {
        return rk::verify_signature(HashAlgorithm::md5, hex, {}, [&](const ShpParams& shp) {
            return rk::success_signature_base("990.00", "12", password, shp);
        });
    };
    EXPECT_TRUE(with("password_1"));
    EXPECT_FALSE(with("password_2"));
}

TEST(ShpOrder, SortsByByteOrder) {
    EXPECT_EQ(names_of(shp_of("Shp_a=1&Shp_B=2")), (std::vector<std::string>{"Shp_B", "Shp_a"}));
    EXPECT_EQ(names_of(shp_of("shp_c=3&Shp_a=1&SHP_D=4&Shp_B=2")),
              (std::vector<std::string>{"SHP_D", "Shp_B", "Shp_a", "shp_c"}));
    EXPECT_EQ(names_of(shp_of("Shp_item2=1&Shp_item10=1&Shp_item=1")),
              (std::vector<std::string>{"Shp_item", "Shp_item10", "Shp_item2"}));
}

TEST(ShpCollect, AcceptsThePrefixInAnyCaseAndIgnoresOthers) {
    ShpParams shp = shp_of("OutSum=1&InvId=2&SignatureValue=x&shp_low=1&SHP_UP=2&sHp_mixed=3&"
                           "Shp=4&Shpx_a=5&xShp_a=6&Sh_p=7&Shp-a=8&IsTest=1");
    EXPECT_EQ(names_of(shp), (std::vector<std::string>{"SHP_UP", "sHp_mixed", "shp_low"}));
    EXPECT_TRUE(rk::is_shp_name("Shp_a"));
    EXPECT_FALSE(rk::is_shp_name("Shp"));
    EXPECT_FALSE(rk::is_shp_name("OutSum"));
}

TEST(ShpCollect, KeepsNamesAndDecodedValues) {
    ShpParams shp = shp_of("Shp_name=%D0%98%D0%B2%D0%B0%D0%BD+1&Shp_empty=");
    ASSERT_EQ(shp.size(), 2u);
    EXPECT_EQ(shp[0].name, "Shp_empty");
    EXPECT_EQ(shp[0].value, "");
    EXPECT_EQ(shp[1].name, "Shp_name");
    EXPECT_EQ(shp[1].value, "Иван 1");
    EXPECT_EQ(rk::result_signature_base("1.00", "5", "p", shp),
              "1.00:5:p:Shp_empty=:Shp_name=Иван 1");
}

TEST(ShpAlternativeOrder, SortsCaseInsensitively) {
    EXPECT_EQ(names_of(rk::sorted_case_insensitively(shp_of("Shp_c=1&Shp_a=1&Shp_B=1"))),
              (std::vector<std::string>{"Shp_a", "Shp_B", "Shp_c"}));
}

TEST(ShpAlternativeOrder, AcceptedWhenNamesDifferInCase) {
    const ShpParams shp = shp_of("Shp_a=lower&Shp_B=upper");
    ASSERT_EQ(names_of(shp), (std::vector<std::string>{"Shp_B", "Shp_a"}));
    for (HashAlgorithm algorithm : rk::k_hash_algorithms) {
        // As an SDK that sorts case-insensitively would sign it.
        const std::string hex = rk::sign(algorithm, "990.00:12:password_2:Shp_a=lower:Shp_B=upper");
        EXPECT_TRUE(rk::verify_signature(algorithm, hex, shp, [](const ShpParams& s) {
            return rk::result_signature_base("990.00", "12", "password_2", s);
        })) << rk::to_string(algorithm);
    }
}

TEST(ShpAlternativeOrder, RefusedWhenNamesShareCase) {
    const ShpParams shp = shp_of("Shp_b=2&Shp_a=1");
    auto build = [](const ShpParams& s) {
        return rk::result_signature_base("990.00", "12", "password_2", s);
    };
    const std::string byte_order =
        rk::sign(HashAlgorithm::md5, "990.00:12:password_2:Shp_a=1:Shp_b=2");
    const std::string reversed =
        rk::sign(HashAlgorithm::md5, "990.00:12:password_2:Shp_b=2:Shp_a=1");
    EXPECT_TRUE(rk::verify_signature(HashAlgorithm::md5, byte_order, shp, build));
    EXPECT_FALSE(rk::verify_signature(HashAlgorithm::md5, reversed, shp, build));
}

TEST(ShpAlternativeOrder, NoOtherOrderIsAccepted) {
    const ShpParams shp = shp_of("Shp_B=2&Shp_a=1&Shp_c=3");
    auto build = [](const ShpParams& s) {
        return rk::result_signature_base("1.00", "1", "password_2", s);
    };
    // Byte order: B a c. Case-insensitive: a B c. Anything else is refused.
    EXPECT_TRUE(rk::verify_signature(
        HashAlgorithm::sha256,
        rk::sign(HashAlgorithm::sha256, "1.00:1:password_2:Shp_B=2:Shp_a=1:Shp_c=3"), shp, build));
    EXPECT_TRUE(rk::verify_signature(
        HashAlgorithm::sha256,
        rk::sign(HashAlgorithm::sha256, "1.00:1:password_2:Shp_a=1:Shp_B=2:Shp_c=3"), shp, build));
    EXPECT_FALSE(rk::verify_signature(
        HashAlgorithm::sha256,
        rk::sign(HashAlgorithm::sha256, "1.00:1:password_2:Shp_c=3:Shp_B=2:Shp_a=1"), shp, build));
    EXPECT_FALSE(rk::verify_signature(
        HashAlgorithm::sha256, rk::sign(HashAlgorithm::sha256, "1.00:1:password_2"), shp, build));
}
