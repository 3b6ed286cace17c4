#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace rk {

// The hash algorithms a Robokassa shop can choose in its technical settings.
enum class HashAlgorithm { md5, ripemd160, sha1, sha256, sha384, sha512 };

inline constexpr std::array<HashAlgorithm, 6> k_hash_algorithms = {
    HashAlgorithm::md5,    HashAlgorithm::ripemd160, HashAlgorithm::sha1,
    HashAlgorithm::sha256, HashAlgorithm::sha384,    HashAlgorithm::sha512};

// "md5", "ripemd160", ...: the names pmvalidate and the store use.
std::string_view to_string(HashAlgorithm algorithm);
std::optional<HashAlgorithm> parse_hash_algorithm(std::string_view name);

// Lower-case hex digest of `data` through OpenSSL's EVP interface.
std::string hex_digest(HashAlgorithm algorithm, std::string_view data);

// Raw and hex HMAC-SHA256.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

std::string to_hex(std::string_view bytes);
// Base64 (standard alphabet, padded) and its URL-safe unpadded variant (JWT).
std::string base64(std::string_view bytes);
std::string base64url(std::string_view bytes);

// Case-insensitive comparison of two hex strings in time independent of
// where they differ (CRYPTO_memcmp after lower-casing).
bool hex_equal_constant_time(std::string_view expected_lower, std::string_view given);

// `n` bytes from OpenSSL's CSPRNG.
std::string random_bytes(std::size_t n);

// For a process that serves one request and exits (the CGIs), called before
// any other use of OpenSSL: it leaves its clean-up to the kernel instead of
// freeing everything at exit.
void init_crypto_for_one_request();

// Makes OpenSSL 3 build its algorithm tables now (a millisecond of CPU)
// rather than at the first digest, so that a caller can pay for that before
// it takes the store's write lock instead of while other processes wait.
void warm_up_digests();

} // namespace rk
