#include "wg/device.hpp"

#include <catch2/catch.hpp>

using namespace natkit::wg;

namespace {
Key sample_key() {
    Key key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 9 + 3);
    return key;
}
}  // namespace

TEST_CASE("device: a wg(8) key decodes from base64 and back") {
    // wg genkey | wg pubkey
    const std::string text = "kKDlxHI0pt3zTKk11rUb1CalamWu9Q+JYXcILzLXy3o=";
    auto key = key_from_base64(text);
    REQUIRE(key);
    CHECK((*key)[0] == 0x90);
    CHECK(key_to_base64(*key) == text);
}

TEST_CASE("device: base64 keys of the wrong length or alphabet are refused") {
    CHECK_FALSE(key_from_base64(""));
    CHECK_FALSE(key_from_base64("kKDlxHI0pt3zTKk11rUb1CalamWu9Q+JYXcILzLXy3o"));
    CHECK_FALSE(key_from_base64("kKDlxHI0pt3zTKk11rUb1CalamWu9Q+JYXcILzLXy3o=="));
    CHECK_FALSE(key_from_base64("kKDlxHI0pt3zTKk11rUb1CalamWu9Q*JYXcILzLXy3o="));
    CHECK_FALSE(key_from_base64("Zm9vYmFy"));
}

TEST_CASE("device: hex keys round-trip in lower case and accept upper case") {
    auto key = sample_key();
    auto hex = key_to_hex(key);
    CHECK(hex.size() == 64);
    CHECK(hex.substr(0, 6) == "030c15");
    CHECK(key_from_hex(hex) == key);
    std::string upper = hex;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(key_from_hex(upper) == key);
}

TEST_CASE("device: malformed hex keys are refused") {
    auto hex = key_to_hex(sample_key());
    CHECK_FALSE(key_from_hex(hex.substr(1)));
    CHECK_FALSE(key_from_hex(hex + "0"));
    hex[10] = 'g';
    CHECK_FALSE(key_from_hex(hex));
}

TEST_CASE("device: is_zero") {
    CHECK(is_zero(Key{}));
    CHECK_FALSE(is_zero(sample_key()));
}

TEST_CASE("public_key_of: RFC 7748 section 6.1 (Alice)") {
    auto private_key = natkit::wg::key_from_hex(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    REQUIRE(private_key);
    CHECK(natkit::wg::key_to_hex(natkit::wg::public_key_of(*private_key)) ==
          "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
}
