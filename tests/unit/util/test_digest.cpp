// core/digest.hpp: OpenSSL digests, HMAC, hex and base64.
#include "unit_support.hpp"
#include "util/digest.hpp"

#include <gtest/gtest.h>
#include <set>

namespace {

rk::HashAlgorithm algorithm_named(const std::string& name) {
    auto algorithm = rk::parse_hash_algorithm(name);
    if (!algorithm) {
        throw std::runtime_error("unknown algorithm in the vector file: " + name);
    }
    return *algorithm;
}

// Decodes unpadded base64url (RFC 4648 §5); test input only.
std::string from_base64url(const std::string& text) {
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned bits = 0;
    int count = 0;
    for (char c : text) {
        bits = (bits << 6) | static_cast<unsigned>(alphabet.find(c));
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xff);
        }
    }
    return out;
}

} // namespace

TEST(Digest, RobokassaPublishedExample) {
    EXPECT_EQ(rk::hex_digest(rk::HashAlgorithm::md5, "demo:990.00:12:password_1"),
              "6c9d6eb96b82e643b343c26a85349a37");
}

TEST(Digest, MatchesIndependentVectorsForEveryAlgorithm) {
    const auto vectors = rk::test::load_signature_vectors();
    std::set<std::string> algorithms_seen;
    for (const auto& v : vectors) {
        EXPECT_EQ(rk::hex_digest(algorithm_named(v.algorithm), v.pre_image), v.hex)
            << v.algorithm << "(" << v.pre_image << ")";
        algorithms_seen.insert(v.algorithm);
    }
    EXPECT_EQ(algorithms_seen.size(), rk::k_hash_algorithms.size());
    EXPECT_GE(vectors.size(), 6u * 8u);
}

TEST(Digest, HexHasTheAlgorithmsLength) {
    const std::pair<rk::HashAlgorithm, std::size_t> lengths[] = {
        {rk::HashAlgorithm::md5, 32},    {rk::HashAlgorithm::ripemd160, 40},
        {rk::HashAlgorithm::sha1, 40},   {rk::HashAlgorithm::sha256, 64},
        {rk::HashAlgorithm::sha384, 96}, {rk::HashAlgorithm::sha512, 128}};
    for (const auto& [algorithm, length] : lengths) {
        std::string hex = rk::hex_digest(algorithm, "x");
        EXPECT_EQ(hex.size(), length) << rk::to_string(algorithm);
        EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
    }
}

TEST(HashAlgorithmName, RoundTripsAndRefusesOthers) {
    std::set<std::string> names;
    for (rk::HashAlgorithm algorithm : rk::k_hash_algorithms) {
        std::string name(rk::to_string(algorithm));
        names.insert(name);
        EXPECT_EQ(rk::parse_hash_algorithm(name), algorithm) << name;
    }
    EXPECT_EQ(names,
              (std::set<std::string>{"md5", "ripemd160", "sha1", "sha256", "sha384", "sha512"}));
    for (const char* other : {"crc32", "", "md4", "sha224", "sha-256", "md5 "}) {
        EXPECT_FALSE(rk::parse_hash_algorithm(other)) << other;
    }
}

TEST(Hmac, Rfc4231TestCase1) {
    EXPECT_EQ(rk::hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Hmac, Rfc4231TestCase2) {
    EXPECT_EQ(rk::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(rk::hmac_sha256("Jefe", "what do ya want for nothing?").size(), 32u);
}

TEST(Hmac, EmptyKeyAndMessage) {
    EXPECT_EQ(rk::hmac_sha256_hex(std::string_view(), std::string_view()),
              "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// RFC 7515 appendix A.1: a JWS signed with HS256, the JWT refunds use.
TEST(Hmac, Rfc7515JwsExampleInBase64url) {
    const std::string key = from_base64url("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75"
                                           "aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    ASSERT_EQ(key.size(), 64u);
    const std::string header = rk::base64url("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
    EXPECT_EQ(header, "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9");
    const std::string payload = rk::base64url(
        "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
    EXPECT_EQ(payload, "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9"
                       "pc19yb290Ijp0cnVlfQ");
    EXPECT_EQ(rk::base64url(rk::hmac_sha256(key, header + "." + payload)),
              "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
}

TEST(Base64, Rfc4648Vectors) {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                           {"f", "Zg=="},
                                                           {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},
                                                           {"foob", "Zm9vYg=="},
                                                           {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (const auto& [text, encoded] : vectors) {
        EXPECT_EQ(rk::base64(text), encoded) << text;
        std::string unpadded = encoded;
        unpadded.erase(unpadded.find_last_not_of('=') + 1);
        EXPECT_EQ(rk::base64url(text), unpadded) << text;
    }
}

TEST(Base64url, UsesTheUrlAlphabetWithoutPadding) {
    EXPECT_EQ(rk::base64("\xfb\xff\xbf"), "+/+/");
    EXPECT_EQ(rk::base64url("\xfb\xff\xbf"), "-_-_");
    EXPECT_EQ(rk::base64url("\xfb\xff"), "-_8");
    EXPECT_EQ(rk::base64url(std::string(1, '\0')), "AA");
}

TEST(ToHex, WritesLowerCaseTwoDigitsPerByte) {
    EXPECT_EQ(rk::to_hex(std::string("\x00\x0f\x10\xab\xff", 5)), "000f10abff");
    EXPECT_EQ(rk::to_hex(""), "");
}

TEST(HexEqual, IgnoresCaseOfTheGivenHex) {
    const std::string expected = "6c9d6eb96b82e643b343c26a85349a37";
    EXPECT_TRUE(rk::hex_equal_constant_time(expected, expected));
    EXPECT_TRUE(rk::hex_equal_constant_time(expected, "6C9D6EB96B82E643B343C26A85349A37"));
    EXPECT_TRUE(rk::hex_equal_constant_time(expected, "6c9D6eb96B82e643b343C26a85349A37"));
}

TEST(HexEqual, RefusesAnyOtherValue) {
    const std::string expected = "6c9d6eb96b82e643b343c26a85349a37";
    EXPECT_FALSE(rk::hex_equal_constant_time(expected, "6c9d6eb96b82e643b343c26a85349a38"));
    EXPECT_FALSE(rk::hex_equal_constant_time(expected, "7c9d6eb96b82e643b343c26a85349a37"));
    EXPECT_FALSE(rk::hex_equal_constant_time(expected, expected.substr(0, 31)));
    EXPECT_FALSE(rk::hex_equal_constant_time(expected, expected + "0"));
    EXPECT_FALSE(rk::hex_equal_constant_time(expected, ""));
    EXPECT_FALSE(rk::hex_equal_constant_time(expected, std::string(32, 'x')));
}

TEST(RandomBytes, GivesTheLengthAskedAndDiffers) {
    std::string a = rk::random_bytes(32);
    std::string b = rk::random_bytes(32);
    EXPECT_EQ(a.size(), 32u);
    EXPECT_EQ(b.size(), 32u);
    EXPECT_NE(a, b);
    EXPECT_TRUE(rk::random_bytes(0).empty());
}
