#include "net/endpoint.hpp"

#include <net/if.h>

#include <catch2/catch.hpp>
#include <string>

using natkit::net::Endpoint;
using natkit::net::Family;
using natkit::net::HostPort;
using natkit::net::IpAddress;
using natkit::net::resolve;
using natkit::net::split_host_port;

namespace {

std::string round_trip(const std::string& text) {
    auto endpoint = Endpoint::parse(text);
    REQUIRE(endpoint);
    return endpoint->to_string();
}

}  // namespace

TEST_CASE("Endpoint parses and prints IPv4 as wg(8) does", "[net][endpoint]") {
    auto endpoint = Endpoint::parse("203.0.113.7:51820");
    REQUIRE(endpoint);
    CHECK(endpoint->family() == Family::v4);
    CHECK(endpoint->address.octets().size() == 4);
    CHECK(endpoint->address.bytes[0] == 203);
    CHECK(endpoint->address.bytes[3] == 7);
    CHECK(endpoint->port == 51820);
    CHECK(endpoint->to_string() == "203.0.113.7:51820");
    CHECK(round_trip("0.0.0.0:0") == "0.0.0.0:0");
    CHECK(round_trip("255.255.255.255:65535") == "255.255.255.255:65535");
}

TEST_CASE("Endpoint parses and prints IPv6 in brackets, compressed", "[net][endpoint]") {
    auto endpoint = Endpoint::parse("[2001:db8::7]:51820");
    REQUIRE(endpoint);
    CHECK(endpoint->family() == Family::v6);
    CHECK(endpoint->address.bytes[0] == 0x20);
    CHECK(endpoint->address.bytes[1] == 0x01);
    CHECK(endpoint->address.bytes[15] == 7);
    CHECK(endpoint->port == 51820);
    CHECK(endpoint->to_string() == "[2001:db8::7]:51820");
    CHECK(round_trip("[2001:0DB8:0000:0000:0000:0000:0000:0007]:1") == "[2001:db8::7]:1");
    CHECK(round_trip("[::]:0") == "[::]:0");
    CHECK(round_trip("[::1]:3478") == "[::1]:3478");
}

TEST_CASE("Endpoint keeps IPv6 zones by interface name or index", "[net][endpoint]") {
    unsigned lo = if_nametoindex("lo");
    REQUIRE(lo != 0);
    auto named = Endpoint::parse("[fe80::1%lo]:51820");
    REQUIRE(named);
    CHECK(named->address.scope_id == lo);
    CHECK(named->to_string() == "[fe80::1%lo]:51820");

    auto numbered = Endpoint::parse("[fe80::1%" + std::to_string(lo) + "]:51820");
    REQUIRE(numbered);
    CHECK(*numbered == *named);
    CHECK(numbered->to_string() == "[fe80::1%lo]:51820");

    CHECK_FALSE(Endpoint::parse("[fe80::1%no-such-if0]:51820"));
    CHECK_FALSE(Endpoint::parse("[fe80::1%]:51820"));
    CHECK_FALSE(Endpoint::parse("1.2.3.4%lo:80"));
}

TEST_CASE("Endpoint keeps IPv4-mapped IPv6 as IPv6", "[net][endpoint]") {
    auto endpoint = Endpoint::parse("[::ffff:192.0.2.1]:80");
    REQUIRE(endpoint);
    CHECK(endpoint->family() == Family::v6);
    CHECK(endpoint->address.is_v4_mapped());
    CHECK(endpoint->to_string() == "[::ffff:192.0.2.1]:80");
    CHECK(endpoint->address.unmapped() == IpAddress::parse("192.0.2.1"));
}

TEST_CASE("Endpoint rejects what wg(8) would not write", "[net][endpoint]") {
    const char* bad[] = {
        "1.2.3.4",           // no port
        "[::1]",             // no port
        "1.2.3.4:65536",     // port out of range
        "1.2.3.4:99999999",  // port out of range
        "[1.2.3.4]:1",       // IPv4 in brackets
        "::1:80",            // bare IPv6 without brackets
        "2001:db8::1",       // bare IPv6 without brackets or port
        "",
        ":80",
        "1.2.3.4:",
        "[::1]:",
        "[::1]80",
        "[::1]:80:",
        "[]:80",
        "[::1:80",
        "1.2.3.4:-1",
        "1.2.3.4:+80",
        "1.2.3.4: 80",
        "1.2.3.4:80 ",
        " 1.2.3.4:80",
        "1.2.3:80",
        "256.1.1.1:80",
        "1.2.3.4.5:80",
        "example.com:80",  // names are not endpoints
        "[example.com]:80",
        "[::g]:80",
    };
    for (const char* text : bad) {
        INFO(text);
        CHECK_FALSE(Endpoint::parse(text));
    }
}

TEST_CASE("Endpoint rejects embedded NUL bytes", "[net][endpoint]") {
    using namespace std::string_literals;
    CHECK_FALSE(Endpoint::parse("1.2.3.4\0junk:80"s));
    CHECK_FALSE(Endpoint::parse("[::1\0junk]:80"s));
    CHECK_FALSE(Endpoint::parse("[fe80::1%lo\0x]:80"s));
    CHECK_FALSE(IpAddress::parse("127.0.0.1\0"s));
}

TEST_CASE("Endpoint converts to and from sockaddr", "[net][endpoint]") {
    for (const char* text : {"192.0.2.1:51820", "[2001:db8::1]:3478", "[fe80::1%lo]:1"}) {
        INFO(text);
        auto endpoint = Endpoint::parse(text);
        REQUIRE(endpoint);
        socklen_t length = 0;
        auto storage = endpoint->to_sockaddr(length);
        CHECK(length ==
              (endpoint->family() == Family::v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
        auto back = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&storage), length);
        REQUIRE(back);
        CHECK(*back == *endpoint);
    }
    auto v4 = *Endpoint::parse("192.0.2.1:80");
    socklen_t length = 0;
    auto storage = v4.to_sockaddr(length);
    CHECK_FALSE(Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&storage), length - 1));
    CHECK_FALSE(Endpoint::from_sockaddr(nullptr, length));
}

TEST_CASE("IpAddress helpers", "[net][endpoint]") {
    CHECK(IpAddress::loopback(Family::v4).to_string() == "127.0.0.1");
    CHECK(IpAddress::loopback(Family::v6).to_string() == "::1");
    CHECK(IpAddress::any(Family::v4).to_string() == "0.0.0.0");
    CHECK(IpAddress::any(Family::v6).to_string() == "::");
    CHECK(IpAddress::any(Family::v6).is_unspecified());
    CHECK_FALSE(IpAddress::loopback(Family::v6).is_unspecified());
    CHECK(IpAddress::parse("127.9.9.9")->is_loopback());
    CHECK(IpAddress::parse("::ffff:127.0.0.1")->is_loopback());
    CHECK_FALSE(IpAddress::parse("::2")->is_loopback());
    CHECK(IpAddress::v4(0xC0000201) == IpAddress::parse("192.0.2.1"));

    auto v4 = *IpAddress::parse("192.0.2.1");
    auto mapped = v4.mapped();
    CHECK(mapped.family == Family::v6);
    CHECK(mapped.to_string() == "::ffff:192.0.2.1");
    CHECK(mapped.unmapped() == v4);
    CHECK(v4.unmapped() == v4);
    auto v6 = *IpAddress::parse("2001:db8::1");
    CHECK(v6.mapped() == v6);
    CHECK(v6.unmapped() == v6);
}

TEST_CASE("split_host_port splits names and addresses, with a default port", "[net][endpoint]") {
    auto named = split_host_port("stun.example.net:3478");
    REQUIRE(named);
    CHECK(named->host == "stun.example.net");
    CHECK(named->port == 3478);

    CHECK_FALSE(split_host_port("stun.example.net"));
    auto defaulted = split_host_port("stun.example.net", 3478);
    REQUIRE(defaulted);
    CHECK(defaulted->host == "stun.example.net");
    CHECK(defaulted->port == 3478);

    auto explicit_port = split_host_port("stun.example.net:19302", 3478);
    REQUIRE(explicit_port);
    CHECK(explicit_port->port == 19302);

    auto bracketed = split_host_port("[2001:db8::1]:5349");
    REQUIRE(bracketed);
    CHECK(bracketed->host == "2001:db8::1");
    CHECK(bracketed->port == 5349);

    auto bracketed_default = split_host_port("[2001:db8::1]", 3478);
    REQUIRE(bracketed_default);
    CHECK(bracketed_default->host == "2001:db8::1");
    CHECK(bracketed_default->port == 3478);

    auto bare_v6 = split_host_port("2001:db8::1", 3478);
    REQUIRE(bare_v6);
    CHECK(bare_v6->host == "2001:db8::1");
    CHECK(bare_v6->port == 3478);

    CHECK_FALSE(split_host_port("a:b:c", 3478));
    CHECK_FALSE(split_host_port(":3478", 3478));
    CHECK_FALSE(split_host_port("", 3478));
    CHECK_FALSE(split_host_port("host:", 3478));
    CHECK_FALSE(split_host_port("host:65536", 3478));
    CHECK_FALSE(split_host_port("[2001:db8::1]x", 3478));
}

TEST_CASE("resolve handles numeric addresses and the family filter", "[net][endpoint]") {
    auto numeric = resolve({"192.0.2.1", 3478}, std::nullopt);
    REQUIRE(numeric.size() == 1);
    CHECK(numeric[0].to_string() == "192.0.2.1:3478");

    std::string error;
    CHECK(resolve({"192.0.2.1", 3478}, Family::v6, &error).empty());
    CHECK_FALSE(error.empty());

    auto zoned = resolve({"fe80::1%lo", 1}, Family::v6);
    REQUIRE(zoned.size() == 1);
    CHECK(zoned[0].to_string() == "[fe80::1%lo]:1");

    auto local = resolve({"localhost", 53}, Family::v4);
    REQUIRE_FALSE(local.empty());
    CHECK(local[0].address.is_loopback());
    CHECK(local[0].port == 53);
    for (const auto& endpoint : local) CHECK(endpoint.family() == Family::v4);

    error.clear();
    CHECK(resolve({"no-such-host.invalid", 1}, std::nullopt, &error).empty());
    CHECK_FALSE(error.empty());
}
