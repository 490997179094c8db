#include "wg/device.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

#include <algorithm>

#include "io/base64.hpp"

namespace natkit::wg {

Key public_key_of(const Key& private_key) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
        EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                     private_key.size()),
        &EVP_PKEY_free);
    Key public_key{};
    std::size_t length = public_key.size();
    if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), public_key.data(), &length) != 1 ||
        length != public_key.size()) {
        throw std::runtime_error("cannot derive a Curve25519 public key (OpenSSL X25519)");
    }
    return public_key;
}

namespace {

constexpr std::size_t kBase64KeyLength = 44;
constexpr std::size_t kHexKeyLength = 2 * kKeySize;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<Key> key_from_base64(std::string_view text) {
    if (text.size() != kBase64KeyLength) return std::nullopt;
    auto bytes = io::base64_decode(text);
    if (!bytes || bytes->size() != kKeySize) return std::nullopt;
    Key key{};
    std::copy(bytes->begin(), bytes->end(), key.begin());
    return key;
}

std::string key_to_base64(const Key& key) {
    return io::base64_encode(key);
}

std::optional<Key> key_from_hex(std::string_view text) {
    if (text.size() != kHexKeyLength) return std::nullopt;
    Key key{};
    for (std::size_t i = 0; i < kKeySize; ++i) {
        int high = hex_value(text[2 * i]);
        int low = hex_value(text[2 * i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        key[i] = static_cast<std::uint8_t>(high << 4 | low);
    }
    return key;
}

std::string key_to_hex(const Key& key) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string text;
    text.reserve(kHexKeyLength);
    for (auto byte : key) {
        text += digits[byte >> 4];
        text += digits[byte & 0xf];
    }
    return text;
}

bool is_zero(const Key& key) {
    return std::all_of(key.begin(), key.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace natkit::wg
