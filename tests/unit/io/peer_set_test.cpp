#include "io/peer_set.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "io/error.hpp"

using namespace natkit;
using namespace natkit::io;

namespace {

constexpr const char* kKeyB = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
constexpr const char* kKeyC = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

InputRecord record(const std::string& text, std::size_t line = 7) {
    return InputRecord{json::parse(text), line};
}

std::string full_set() {
    return std::string(
               R"({"kind":"peer-set","network":"home","generated_at":"2026-11-23T17:00:00Z",)") +
           R"("peers":[{"id":"node-b","public_key":")" + kKeyB +
           R"(","endpoint":"203.0.113.9:51820",)" +
           R"("candidates":["203.0.113.9:51820","192.168.1.20:51820","[2001:db8::9]:51820"],)" +
           R"("allowed_ips":["10.66.0.2/32"],"persistent_keepalive":25,)" +
           R"("nat":{"mapping":"endpoint-independent","filtering":"address-and-port-dependent",)" +
           R"("nat_type":"port-restricted-cone","seen":3},)" +
           R"("path":"direct","updated_at":"2026-11-23T16:59:41Z","relay_hint":{"a":1}}],)" +
           R"("trace":"kept"})";
}

std::string message_of(const std::string& text) {
    try {
        peer_set_from_json(record(text), "stdin");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        return e.what();
    }
    FAIL("no error for " << text);
    return {};
}

std::string with_peer(const std::string& peer_fields) {
    return std::string(R"({"kind":"peer-set","network":"n","peers":[{"id":"a","public_key":")") +
           kKeyB + R"("},{"id":"b","public_key":")" + kKeyC + "\"" + peer_fields + "}]}";
}

}  // namespace

TEST_CASE("public keys are 44 characters of base64 for 32 bytes") {
    auto key = parse_public_key(kKeyB);
    REQUIRE(key);
    CHECK(format_public_key(*key) == kKeyB);
    CHECK_FALSE(parse_public_key("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8yk="));
    CHECK_FALSE(parse_public_key("AAAA"));
    CHECK_FALSE(parse_public_key(""));
    CHECK_FALSE(parse_public_key("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8yk!="));
}

TEST_CASE("a full peer-set is read with every field") {
    auto set = peer_set_from_json(record(full_set()), "stdin");
    CHECK(set.network == "home");
    CHECK(set.generated_at == "2026-11-23T17:00:00Z");
    CHECK_FALSE(set.stale);
    REQUIRE(set.peers.size() == 1);
    const auto& p = set.peers[0];
    CHECK(p.id == "node-b");
    CHECK(format_public_key(p.public_key) == kKeyB);
    REQUIRE(p.endpoint);
    CHECK(p.endpoint->to_string() == "203.0.113.9:51820");
    REQUIRE(p.candidates.size() == 3);
    CHECK(p.candidates[2].to_string() == "[2001:db8::9]:51820");
    REQUIRE(p.allowed_ips.size() == 1);
    CHECK(p.allowed_ips[0].to_string() == "10.66.0.2/32");
    CHECK(p.persistent_keepalive == 25);
    REQUIRE(p.nat);
    CHECK(p.nat->nat_type == "port-restricted-cone");
    CHECK(p.nat->extra["seen"] == 3);
    CHECK(p.path == "direct");
    CHECK(p.updated_at == "2026-11-23T16:59:41Z");
    CHECK(p.extra["relay_hint"]["a"] == 1);
    CHECK(set.extra["trace"] == "kept");
}

TEST_CASE("to_json writes back what was read, unknown fields included") {
    auto original = json::parse(full_set());
    auto written = to_json(peer_set_from_json(InputRecord{original, 1}, "stdin"));
    CHECK(written == original);
    CHECK(written.dump() == original.dump());  // same field order
}

TEST_CASE("a stale set carries the mark through") {
    PeerSet set;
    set.network = std::string("home-net");
    set.stale = true;
    auto j = to_json(set);
    CHECK(j["stale"] == true);
    CHECK(peer_set_from_json(InputRecord{j, 1}, "x").stale);
    set.stale = false;
    CHECK_FALSE(to_json(set).contains("stale"));
}

TEST_CASE("an empty peers array is a valid set; a missing one is not") {
    CHECK(peer_set_from_json(record(R"({"kind":"peer-set","network":"n","peers":[]})"), "s")
              .peers.empty());
    CHECK_THAT(message_of(R"({"kind":"peer-set","network":"n"})"),
               Catch::Contains("'peers'") && Catch::Contains("missing"));
}

TEST_CASE("errors name the line and the field path") {
    auto bad_key =
        std::string(R"({"kind":"peer-set","network":"n","peers":[{"id":"a","public_key":")") +
        kKeyB + R"("},{"id":"b","public_key":"short"}]})";
    auto message = message_of(bad_key);
    CHECK_THAT(message, Catch::StartsWith("stdin:7: field 'peers[1].public_key'"));
    CHECK_THAT(message, Catch::Contains("44 characters"));

    CHECK_THAT(message_of(with_peer(R"(,"endpoint":"nowhere")")),
               Catch::Contains("'peers[1].endpoint'"));
    CHECK_THAT(message_of(with_peer(R"(,"candidates":["1.2.3.4:5","x"])")),
               Catch::Contains("'peers[1].candidates[1]'"));
    CHECK_THAT(message_of(with_peer(R"(,"candidates":"1.2.3.4:5")")),
               Catch::Contains("'peers[1].candidates'") && Catch::Contains("an array"));
    CHECK_THAT(message_of(with_peer(R"(,"allowed_ips":["10.0.0.0/33"])")),
               Catch::Contains("'peers[1].allowed_ips[0]'"));
    CHECK_THAT(message_of(with_peer(R"(,"allowed_ips":[5])")),
               Catch::Contains("'peers[1].allowed_ips[0]'"));
    CHECK_THAT(message_of(with_peer(R"(,"persistent_keepalive":70000)")),
               Catch::Contains("'peers[1].persistent_keepalive'"));
    CHECK_THAT(message_of(with_peer(R"(,"persistent_keepalive":-1)")),
               Catch::Contains("'peers[1].persistent_keepalive'"));
    CHECK_THAT(message_of(with_peer(R"(,"nat":{"mapping":"weird"})")),
               Catch::Contains("'peers[1].nat.mapping'"));
    CHECK_THAT(message_of(with_peer(R"(,"nat":{"nat_type":"cone"})")),
               Catch::Contains("'peers[1].nat.nat_type'"));
    CHECK_THAT(message_of(with_peer(R"(,"nat":"cone")")), Catch::Contains("'peers[1].nat'"));
    CHECK_THAT(message_of(with_peer(R"(,"path":"teleport")")), Catch::Contains("'peers[1].path'"));
    CHECK_THAT(message_of(with_peer(R"(,"updated_at":"yesterday")")),
               Catch::Contains("'peers[1].updated_at'"));
    CHECK_THAT(message_of(with_peer(R"(,"id":"")")), Catch::Contains("'peers[1].id'"));
    CHECK_THAT(message_of(R"({"kind":"peer-set","network":"n","peers":[7]})"),
               Catch::Contains("'peers[0]'") && Catch::Contains("an object"));
    CHECK_THAT(message_of(R"({"kind":"peer-set","network":5,"peers":[]})"),
               Catch::Contains("'network'"));
    CHECK_THAT(message_of(R"({"kind":"nat.report","network":"n","peers":[]})"),
               Catch::Contains("'kind'"));
    CHECK_THAT(message_of(R"({"kind":"peer-set","network":"n","stale":"yes","peers":[]})"),
               Catch::Contains("'stale'"));
}

TEST_CASE("duplicate ids and keys are refused") {
    auto dup_id =
        std::string(R"({"kind":"peer-set","network":"n","peers":[{"id":"a","public_key":")") +
        kKeyB + R"("},{"id":"a","public_key":")" + kKeyC + R"("}]})";
    CHECK_THAT(message_of(dup_id),
               Catch::Contains("'peers[1].id'") && Catch::Contains("also peers[0]"));
    auto dup_key =
        std::string(R"({"kind":"peer-set","network":"n","peers":[{"id":"a","public_key":")") +
        kKeyB + R"("},{"id":"b","public_key":")" + kKeyB + R"("}]})";
    CHECK_THAT(message_of(dup_key), Catch::Contains("'peers[1].public_key'"));
}

TEST_CASE("allowed_ips are normalised like wg(8) does") {
    auto set =
        peer_set_from_json(record(with_peer(R"(,"allowed_ips":["10.66.0.7/24","fd00::1"])")), "s");
    auto j = to_json(set);
    CHECK(j["peers"][1]["allowed_ips"] == json::parse(R"(["10.66.0.0/24","fd00::1/128"])"));
}

TEST_CASE("nat fields default to unknown when absent") {
    auto set = peer_set_from_json(record(with_peer(R"(,"nat":{"nat_type":"symmetric"})")), "s");
    REQUIRE(set.peers[1].nat);
    CHECK(set.peers[1].nat->mapping == "unknown");
    CHECK(set.peers[1].nat->nat_type == "symmetric");
}

TEST_CASE("RFC 3339 UTC timestamps") {
    CHECK(is_rfc3339_utc("2026-11-23T17:00:00Z"));
    CHECK(is_rfc3339_utc("2026-11-23T17:00:00.123Z"));
    CHECK_FALSE(is_rfc3339_utc("2026-11-23T17:00:00+01:00"));
    CHECK_FALSE(is_rfc3339_utc("2026-13-23T17:00:00Z"));
    CHECK_FALSE(is_rfc3339_utc("2026-11-23 17:00:00Z"));
    CHECK_FALSE(is_rfc3339_utc("2026-11-23T17:00:00.Z"));
    CHECK_FALSE(is_rfc3339_utc(""));
}
