#include "io/base64.hpp"

#include <catch2/catch.hpp>

using natkit::io::base64_decode;
using natkit::io::base64_encode;

namespace {
std::vector<std::uint8_t> bytes(std::string_view s) {
    return {s.begin(), s.end()};
}
}  // namespace

TEST_CASE("base64: RFC 4648 section 10 vectors") {
    const std::vector<std::pair<std::string_view, std::string_view>> vectors{
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"}};
    for (auto [plain, encoded] : vectors) {
        CHECK(base64_encode(bytes(plain)) == encoded);
        CHECK(base64_decode(encoded) == bytes(plain));
    }
}

TEST_CASE("base64: a WireGuard key round-trips") {
    std::vector<std::uint8_t> key(32);
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 7 + 1);
    auto text = base64_encode(key);
    CHECK(text.size() == 44);
    CHECK(base64_decode(text) == key);
}

TEST_CASE("base64: malformed input is rejected") {
    CHECK_FALSE(base64_decode("Zg="));       // length not a multiple of 4
    CHECK_FALSE(base64_decode("Z==="));      // too much padding
    CHECK_FALSE(base64_decode("Zg==Zg=="));  // padding in the middle
    CHECK_FALSE(base64_decode("Zh=="));      // non-zero trailing bits
    CHECK_FALSE(base64_decode("Zm9*"));      // not in the alphabet
    CHECK_FALSE(base64_decode("Zm9 "));
}
