#include <catch2/catch.hpp>

#include "punch/message.hpp"

using namespace natkit;
using namespace natkit::punch;

namespace {

const std::vector<std::uint8_t> kKey(32, 0x5a);

net::Endpoint ep(const char* text) {
    return *net::Endpoint::parse(text);
}

Message full_introduce() {
    Message m;
    m.type = Type::introduce;
    m.timestamp_ms = 1'790'000'000'000;
    m.nonce = 0x0102030405060708;
    m.peer = "node-b";
    m.observed = ep("203.0.113.9:51820");
    m.candidates = {ep("192.168.1.20:51820"), ep("[2001:db8::9]:51820")};
    m.token.fill(0xab);
    return m;
}

}  // namespace

TEST_CASE("every message type round-trips") {
    Message reg;
    reg.type = Type::reg;
    reg.network = "home";
    reg.id = "node-a";
    reg.candidates = {ep("10.0.0.2:51820")};
    Message registered;
    registered.type = Type::registered;
    registered.observed = ep("[2001:db8::7]:40000");
    registered.ttl_s = 60;
    Message connect;
    connect.type = Type::connect;
    connect.network = "home", connect.id = "a", connect.peer = "b";
    Message unknown;
    unknown.type = Type::unknown_peer;
    unknown.peer = "b";
    Message probe;
    probe.type = Type::probe;
    probe.flags = kFlagConfirmed;
    probe.id = "a", probe.seq = 7, probe.token.fill(3);
    Message ack;
    ack.type = Type::probe_ack;
    ack.seq = 7, ack.token.fill(3), ack.observed = ep("203.0.113.3:51820");
    for (const auto& m : {reg, registered, connect, full_introduce(), unknown, probe, ack}) {
        auto bytes = encode(m, kKey);
        REQUIRE(looks_like_punch(bytes));
        auto back = decode(bytes, kKey);
        INFO(back.error);
        REQUIRE(back.message);
        CHECK(*back.message == m);
    }
}

TEST_CASE("the STUN magic cookie sits at offset 4 and the first bits are not STUN's") {
    auto bytes = encode(full_introduce(), kKey);
    CHECK(bytes[4] == 0x21);
    CHECK(bytes[5] == 0x12);
    CHECK(bytes[6] == 0xA4);
    CHECK(bytes[7] == 0x42);
    CHECK((bytes[0] & 0xC0) != 0);
}

TEST_CASE("a wrong key or any flipped bit fails authentication") {
    auto bytes = encode(full_introduce(), kKey);
    std::vector<std::uint8_t> other(32, 0x5b);
    CHECK(decode(bytes, other).error == "bad authentication");
    for (std::size_t i = 8; i < bytes.size(); ++i) {
        auto copy = bytes;
        copy[i] ^= 0x01;
        CHECK_FALSE(decode(copy, kKey).message);
    }
}

TEST_CASE("padding is zero bytes before the MAC and decodes away") {
    auto m = full_introduce();
    m.pad_to = 512;
    auto bytes = encode(m, kKey);
    CHECK(bytes.size() == 512);
    REQUIRE(decode(bytes, kKey).message);
    CHECK(*decode(bytes, kKey).message == full_introduce());
}

TEST_CASE("non-zero trailing bytes, truncation and bad lengths are rejected even when signed") {
    auto bytes = encode(full_introduce(), kKey);
    std::vector<std::uint8_t> body(bytes.begin(), bytes.end() - kMacSize);
    auto resign = [](std::vector<std::uint8_t> b) {
        auto mac = mac_of(b, kKey);
        b.insert(b.end(), mac.begin(), mac.end());
        return b;
    };
    auto trailing = body;
    trailing.push_back(1);
    CHECK(decode(resign(trailing), kKey).error == "trailing bytes after the body");
    auto truncated = body;
    truncated.resize(truncated.size() - 3);
    CHECK(decode(resign(truncated), kKey).error == "truncated or malformed body");
    auto long_name = body;
    long_name[kHeaderSize] = 200;  // the peer name's length
    CHECK_FALSE(decode(resign(long_name), kKey).message);
    auto bad_type = body;
    bad_type[2] = 99;
    CHECK(decode(resign(bad_type), kKey).error == "unknown type 99");
}

TEST_CASE("encode refuses names over 64 bytes and more than 8 candidates") {
    Message m;
    m.type = Type::reg;
    m.id = std::string(65, 'x');
    CHECK_THROWS_AS(encode(m, kKey), std::invalid_argument);
    m.id = "a";
    m.candidates.assign(9, ep("10.0.0.1:1"));
    CHECK_THROWS_AS(encode(m, kKey), std::invalid_argument);
}

TEST_CASE("STUN and short datagrams are not punch messages") {
    std::vector<std::uint8_t> stun{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
    stun.resize(40);
    CHECK_FALSE(looks_like_punch(stun));
    CHECK(decode(stun, kKey).error == "not a punch message");
}
