#include "wg/uapi.hpp"

#include <catch2/catch.hpp>

#include "io/error.hpp"

using namespace natkit::wg;
using natkit::net::Endpoint;
using natkit::net::Prefix;

namespace {

Key key_of(std::uint8_t fill) {
    Key key{};
    key.fill(fill);
    return key;
}

std::string hex_of(std::uint8_t fill) {
    return key_to_hex(key_of(fill));
}

Prefix prefix(const char* text) {
    return *Prefix::parse(text);
}

}  // namespace

TEST_CASE("uapi: a wireguard-go get reply becomes a device") {
    std::string reply = "private_key=" + hex_of(1) +
                        "\nlisten_port=51820\nfwmark=7\n"
                        "public_key=" +
                        hex_of(2) + "\npreshared_key=" + hex_of(0) +
                        "\nprotocol_version=1\nendpoint=203.0.113.9:51820\n"
                        "last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=5\n"
                        "tx_bytes=10\nrx_bytes=20\npersistent_keepalive_interval=25\n"
                        "allowed_ip=10.70.0.0/16\nallowed_ip=10.66.0.2/32\n"
                        "public_key=" +
                        hex_of(3) + "\npreshared_key=" + hex_of(4) +
                        "\nendpoint=[2001:db8::7]:51820\nlast_handshake_time_sec=0\n"
                        "last_handshake_time_nsec=0\npersistent_keepalive_interval=0\n"
                        "errno=0\n\n";
    auto parsed = parse_get_reply(reply);
    CHECK(parsed.error == 0);
    const auto& device = parsed.device;
    CHECK(device.listen_port == 51820);
    CHECK(device.fwmark == 7);
    // The device's public key is derived from the private key UAPI reports.
    REQUIRE(device.public_key);
    CHECK(*device.public_key == public_key_of(key_of(1)));
    REQUIRE(device.peers.size() == 2);
    const auto& a = device.peers[0];
    CHECK(a.public_key == key_of(2));
    CHECK_FALSE(a.preshared_key);
    CHECK(a.endpoint == Endpoint::parse("203.0.113.9:51820"));
    REQUIRE(a.last_handshake);
    CHECK(std::chrono::duration_cast<std::chrono::seconds>(a.last_handshake->time_since_epoch())
              .count() == 1700000000);
    CHECK(a.tx_bytes == 10);
    CHECK(a.rx_bytes == 20);
    CHECK(a.persistent_keepalive == 25);
    CHECK(a.allowed_ips == std::vector{prefix("10.66.0.2/32"), prefix("10.70.0.0/16")});
    const auto& b = device.peers[1];
    CHECK(b.preshared_key == key_of(4));
    CHECK(b.endpoint == Endpoint::parse("[2001:db8::7]:51820"));
    CHECK_FALSE(b.last_handshake);
    CHECK(b.allowed_ips.empty());
}

TEST_CASE("uapi: an error reply carries its errno; a set reply is its errno") {
    CHECK(parse_get_reply("errno=-22\n\n").error == -22);
    CHECK(parse_set_reply("errno=0\n\n") == 0);
    CHECK(parse_set_reply("errno=1\n\n") == 1);
}

TEST_CASE("uapi: unknown keys are skipped") {
    auto parsed = parse_get_reply("future_key=1\npublic_key=" + hex_of(9) +
                                  "\nnew_peer_thing=x\nerrno=0\n\n");
    REQUIRE(parsed.device.peers.size() == 1);
}

TEST_CASE("uapi: malformed replies fail naming the line") {
    auto fails = [](const std::string& reply, const std::string& what) {
        try {
            parse_get_reply(reply);
            FAIL("accepted: " << reply);
        } catch (const natkit::Error& e) {
            CHECK(e.code() == natkit::ExitCode::failure);
            CHECK_THAT(e.what(), Catch::Contains(what));
        }
    };
    fails("", "without an errno");
    fails("listen_port=1\n\n", "without an errno");
    fails("listen_port\nerrno=0\n\n", "line 1: expected key=value");
    fails("listen_port=70000\nerrno=0\n\n", "line 1: not a number");
    fails("public_key=abc\nerrno=0\n\n", "hex key");
    fails("public_key=" + hex_of(1) + "\nendpoint=nowhere\nerrno=0\n\n", "line 2: bad endpoint");
    fails("public_key=" + hex_of(1) + "\nallowed_ip=10.0.0.1\nerrno=0\n\n", "bad allowed_ip");
    fails("public_key=" + hex_of(1) + "\nlast_handshake_time_nsec=1000000000\nerrno=0\n\n",
          "out of range");
    fails("errno=x\n\n", "not a number");
}

TEST_CASE("uapi: a set request in WireGuard's own words, in the change's order") {
    DeviceChange change;
    PeerChange add;
    add.public_key = key_of(1);
    add.endpoint = Endpoint::parse("[2001:db8::7]:51820");
    add.persistent_keepalive = 25;
    add.allowed_ips = {prefix("10.0.0.0/24"), prefix("fd00::/64")};
    PeerChange shrink;
    shrink.public_key = key_of(2);
    shrink.replace_allowed_ips = true;
    shrink.preshared_key = std::optional<Key>{};
    PeerChange removal;
    removal.public_key = key_of(3);
    removal.remove = true;
    removal.allowed_ips = {prefix("10.9.0.0/16")};  // ignored with remove
    change.peers = {add, shrink, removal};
    CHECK(format_set_request(change) ==
          "set=1\npublic_key=" + hex_of(1) +
              "\nendpoint=[2001:db8::7]:51820\npersistent_keepalive_interval=25\n"
              "allowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\n"
              "public_key=" +
              hex_of(2) + "\npreshared_key=" + hex_of(0) +
              "\nreplace_allowed_ips=true\n"
              "public_key=" +
              hex_of(3) + "\nremove=true\n\n");
    CHECK(format_get_request() == "get=1\n\n");
}

TEST_CASE("uapi: the socket path, and a missing socket is a failure naming it") {
    CHECK(uapi_socket_path("/var/run/wireguard", "wg0") == "/var/run/wireguard/wg0.sock");
    UapiBackend backend("/nonexistent-natkit-dir");
    try {
        backend.read("wg9");
        FAIL("read a missing interface");
    } catch (const natkit::Error& e) {
        CHECK(e.code() == natkit::ExitCode::failure);
        CHECK_THAT(e.what(), Catch::Contains("/nonexistent-natkit-dir/wg9.sock"));
    }
}

TEST_CASE("uapi: a handshake time past what the clock can hold is malformed, not overflow") {
    CHECK_THROWS_AS(parse_get_reply("public_key=" + hex_of(1) +
                                    "\nlast_handshake_time_sec=9763900000\nerrno=0\n\n"),
                    natkit::Error);
}
