#include "net/udp_socket.hpp"

#include <poll.h>

#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

using namespace natkit::net;

namespace {

using Bytes = std::vector<std::uint8_t>;

bool wait_for(int fd, short events) {
    pollfd entry{fd, events, 0};
    return ::poll(&entry, 1, 5000) == 1 && (entry.revents & events) != 0;
}

Endpoint loopback(Family family, std::uint16_t port = 0) {
    return {IpAddress::loopback(family), port};
}

// Waits for one datagram on `socket` and returns its payload and source.
std::pair<Bytes, Endpoint> receive(UdpSocket& socket) {
    REQUIRE(wait_for(socket.fd(), POLLIN));
    Bytes buffer(2048);
    auto received = socket.receive_from(buffer);
    REQUIRE(received);
    buffer.resize(received->size);
    return {buffer, received->from};
}

// A port that nothing listens on: bound once, then released.
Endpoint closed_port(Family family) {
    return UdpSocket::bind(loopback(family)).local_endpoint();
}

}  // namespace

TEST_CASE("UdpSocket sends and receives on loopback", "[net][udp_socket]") {
    auto family = GENERATE(Family::v4, Family::v6);
    auto a = UdpSocket::bind(loopback(family));
    auto b = UdpSocket::bind(loopback(family));
    CHECK(a.mode() == "socket");
    CHECK(a.local_endpoint().address == IpAddress::loopback(family));
    CHECK(a.local_endpoint().port != 0);
    CHECK(a.fds() == std::vector<int>{a.fd()});

    Bytes hello = {'h', 'e', 'l', 'l', 'o'};
    CHECK_FALSE(a.send_to(hello, b.local_endpoint()));
    auto [payload, from] = receive(b);
    CHECK(payload == hello);
    CHECK(from == a.local_endpoint());

    std::array<std::uint8_t, 8> buffer{};
    CHECK_FALSE(b.receive_from(buffer));
    CHECK_FALSE(b.receive_error());

    SECTION("an empty datagram") {
        CHECK_FALSE(b.send_to({}, a.local_endpoint()));
        REQUIRE(wait_for(a.fd(), POLLIN));
        auto empty = a.receive_from(buffer);
        REQUIRE(empty);
        CHECK(empty->size == 0);
        CHECK(empty->from == b.local_endpoint());
    }
    SECTION("a datagram larger than the buffer is truncated") {
        CHECK_FALSE(b.send_to(Bytes(100, 0x5A), a.local_endpoint()));
        REQUIRE(wait_for(a.fd(), POLLIN));
        auto truncated = a.receive_from(buffer);
        REQUIRE(truncated);
        CHECK(truncated->size == buffer.size());
        CHECK(buffer[7] == 0x5A);
    }
    SECTION("the socket still works after a move") {
        auto moved = std::move(a);
        CHECK_FALSE(moved.send_to(hello, b.local_endpoint()));
        CHECK(receive(b).second == moved.local_endpoint());
    }
}

TEST_CASE("UdpSocket dual-stack carries IPv4 and reports it as IPv4", "[net][udp_socket]") {
    auto dual = UdpSocket::bind({IpAddress::any(Family::v6), 0}, true);
    auto v4 = UdpSocket::bind(loopback(Family::v4));
    Endpoint dual_v4{IpAddress::loopback(Family::v4), dual.local_endpoint().port};

    Bytes ping = {'p', 'i', 'n', 'g'};
    CHECK_FALSE(v4.send_to(ping, dual_v4));
    auto [payload, from] = receive(dual);
    CHECK(payload == ping);
    CHECK(from == v4.local_endpoint());  // not [::ffff:127.0.0.1]
    CHECK(from.family() == Family::v4);

    Bytes pong = {'p', 'o', 'n', 'g'};
    CHECK_FALSE(dual.send_to(pong, v4.local_endpoint()));  // mapped for us
    auto [reply, reply_from] = receive(v4);
    CHECK(reply == pong);
    CHECK(reply_from == dual_v4);

    auto v6 = UdpSocket::bind(loopback(Family::v6));
    CHECK_FALSE(v6.send_to(ping, {IpAddress::loopback(Family::v6), dual.local_endpoint().port}));
    CHECK(receive(dual).second == v6.local_endpoint());
}

TEST_CASE("UdpSocket without dual-stack keeps to its family", "[net][udp_socket]") {
    auto v6_only = UdpSocket::bind({IpAddress::any(Family::v6), 0});
    auto v4 = UdpSocket::bind(loopback(Family::v4));
    Bytes ping = {'p'};
    CHECK(v6_only.send_to(ping, v4.local_endpoint()));  // IPV6_V6ONLY: no IPv4 route
    auto error = v4.send_to(ping, loopback(Family::v6, v6_only.local_endpoint().port));
    CHECK(error == std::error_code(EAFNOSUPPORT, std::system_category()));

    // An IPv4-mapped destination on an IPv4 socket is taken as IPv4.
    auto other = UdpSocket::bind(loopback(Family::v4));
    Endpoint mapped{other.local_endpoint().address.mapped(), other.local_endpoint().port};
    CHECK_FALSE(v4.send_to(ping, mapped));
    CHECK(receive(other).second == v4.local_endpoint());
}

TEST_CASE("UdpSocket::bind reports errno and the address", "[net][udp_socket]") {
    auto held = UdpSocket::bind(loopback(Family::v4));
    auto expect_error = [](const Endpoint& where, int expected) {
        try {
            UdpSocket::bind(where);
            FAIL("bind to " << where.to_string() << " succeeded");
        } catch (const std::system_error& error) {
            CHECK(error.code() == std::error_code(expected, std::system_category()));
            CHECK_THAT(error.what(), Catch::Contains(where.to_string()));
        }
    };
    expect_error(held.local_endpoint(), EADDRINUSE);
    expect_error(*Endpoint::parse("198.51.100.1:0"), EADDRNOTAVAIL);
    expect_error(*Endpoint::parse("[2001:db8::dead]:0"), EADDRNOTAVAIL);
}

TEST_CASE("UdpSocket reports ICMP port unreachable through receive_error", "[net][udp_socket]") {
    auto family = GENERATE(Family::v4, Family::v6);
    auto socket = UdpSocket::bind(loopback(family));
    auto closed = closed_port(family);

    CHECK_FALSE(socket.send_to(Bytes{1, 2, 3}, closed));
    REQUIRE(wait_for(socket.fd(), POLLERR));
    auto error = socket.receive_error();
    REQUIRE(error);
    CHECK(error->destination == closed);
    CHECK(error->error == ECONNREFUSED);
    CHECK_FALSE(socket.receive_error());
}

TEST_CASE("A dual-stack socket reports IPv4 errors with IPv4 destinations", "[net][udp_socket]") {
    auto dual = UdpSocket::bind({IpAddress::any(Family::v6), 0}, true);
    auto closed = closed_port(Family::v4);
    CHECK_FALSE(dual.send_to(Bytes{1}, closed));
    REQUIRE(wait_for(dual.fd(), POLLERR));
    auto error = dual.receive_error();
    REQUIRE(error);
    CHECK(error->destination == closed);
    CHECK(error->error == ECONNREFUSED);
}

TEST_CASE("A pending ICMP error fails neither the next send nor the next receive",
          "[net][udp_socket]") {
    auto family = GENERATE(Family::v4, Family::v6);
    auto socket = UdpSocket::bind(loopback(family));
    auto peer = UdpSocket::bind(loopback(family));
    auto closed = closed_port(family);

    SECTION("send") {
        CHECK_FALSE(socket.send_to(Bytes{1}, closed));
        REQUIRE(wait_for(socket.fd(), POLLERR));  // the error is pending, not yet read
        CHECK_FALSE(socket.send_to(Bytes{2}, peer.local_endpoint()));
        CHECK(receive(peer).first == Bytes{2});
    }
    SECTION("receive") {
        CHECK_FALSE(socket.send_to(Bytes{3}, closed));
        REQUIRE(wait_for(socket.fd(), POLLERR));
        CHECK_FALSE(peer.send_to(Bytes{4}, socket.local_endpoint()));
        auto [payload, from] = receive(socket);
        CHECK(payload == Bytes{4});
        CHECK(from == peer.local_endpoint());
    }
    // The details stay queued until read.
    auto error = socket.receive_error();
    REQUIRE(error);
    CHECK(error->destination == closed);
    CHECK(error->error == ECONNREFUSED);
    CHECK_FALSE(socket.receive_error());
}

TEST_CASE("source_address_towards asks the routing table", "[net][udp_socket]") {
    CHECK(source_address_towards(*Endpoint::parse("127.0.0.1:9")) ==
          IpAddress::loopback(Family::v4));
    CHECK(source_address_towards(*Endpoint::parse("[::1]:9")) == IpAddress::loopback(Family::v6));
    CHECK(source_address_towards(*Endpoint::parse("127.0.0.1:0")) ==
          IpAddress::loopback(Family::v4));
    CHECK(source_address_towards(*Endpoint::parse("[::ffff:127.0.0.1]:9")) ==
          IpAddress::loopback(Family::v4));
    // A route through a real interface gives one of this host's addresses.
    if (auto outside = source_address_towards(*Endpoint::parse("192.0.2.200:9"))) {
        CHECK(outside->family == Family::v4);
        CHECK_NOTHROW(UdpSocket::bind({*outside, 0}));
    }
}
