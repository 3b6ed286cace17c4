#include "util/digest.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

#include <memory>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace rk {

namespace {

struct EvpMdCtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using EvpMdCtx = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;

const EVP_MD* evp_md(HashAlgorithm algorithm) {
    switch (algorithm) {
    case HashAlgorithm::md5:
        return EVP_md5();
    case HashAlgorithm::ripemd160:
        return EVP_ripemd160();
    case HashAlgorithm::sha1:
        return EVP_sha1();
    case HashAlgorithm::sha256:
        return EVP_sha256();
    case HashAlgorithm::sha384:
        return EVP_sha384();
    case HashAlgorithm::sha512:
        return EVP_sha512();
    }
    throw Error(ErrorKind::internal, "", "unknown hash algorithm");
}

} // namespace

std::string_view to_string(HashAlgorithm algorithm) {
    switch (algorithm) {
    case HashAlgorithm::md5:
        return "md5";
    case HashAlgorithm::ripemd160:
        return "ripemd160";
    case HashAlgorithm::sha1:
        return "sha1";
    case HashAlgorithm::sha256:
        return "sha256";
    case HashAlgorithm::sha384:
        return "sha384";
    case HashAlgorithm::sha512:
        return "sha512";
    }
    return "unknown";
}

std::optional<HashAlgorithm> parse_hash_algorithm(std::string_view name) {
    for (HashAlgorithm algorithm : k_hash_algorithms) {
        if (to_string(algorithm) == name) {
            return algorithm;
        }
    }
    return std::nullopt;
}

std::string to_hex(std::string_view bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 0x0f];
    }
    return out;
}

std::string hex_digest(HashAlgorithm algorithm, std::string_view data) {
    EvpMdCtx ctx(EVP_MD_CTX_new());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), evp_md(algorithm), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), md, &length) != 1) {
        throw Error(ErrorKind::internal, "",
                    "OpenSSL cannot compute " + std::string(to_string(algorithm)));
    }
    return to_hex(std::string_view(reinterpret_cast<const char*>(md), length));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    // OpenSSL's HMAC() fails when key and data are both NULL, as two empty
    // string_views may be; an empty key is a valid HMAC key.
    static const char k_empty_key = 0;
    if (HMAC(EVP_sha256(), key.empty() ? &k_empty_key : key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), md,
             &length) == nullptr) {
        throw Error(ErrorKind::internal, "", "OpenSSL cannot compute HMAC-SHA256");
    }
    return std::string(reinterpret_cast<const char*>(md), length);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
    return to_hex(hmac_sha256(key, data));
}

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()),
                            static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string base64url(std::string_view bytes) {
    std::string out = base64(bytes);
    while (!out.empty() && out.back() == '=') {
        out.pop_back();
    }
    for (char& c : out) {
        if (c == '+') {
            c = '-';
        } else if (c == '/') {
            c = '_';
        }
    }
    return out;
}

bool hex_equal_constant_time(std::string_view expected_lower, std::string_view given) {
    if (given.size() != expected_lower.size()) {
        return false;
    }
    std::string normalised(given);
    for (char& c : normalised) {
        c = ascii_lower(c);
    }
    return CRYPTO_memcmp(expected_lower.data(), normalised.data(), normalised.size()) == 0;
}

void init_crypto_for_one_request() {
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
}

void warm_up_digests() {
    EVP_MD_free(EVP_MD_fetch(nullptr, "MD5", nullptr));
}

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
        throw Error(ErrorKind::internal, "", "OpenSSL's random generator failed");
    }
    return out;
}

} // namespace rk
