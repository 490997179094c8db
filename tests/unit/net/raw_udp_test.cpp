#include "net/raw_udp.hpp"

#include <linux/capability.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "net/udp_socket.hpp"

using namespace natkit::net;

namespace {

using Bytes = std::vector<std::uint8_t>;

bool wait_readable(int fd) {
    pollfd entry{fd, POLLIN, 0};
    return ::poll(&entry, 1, 5000) == 1;
}

// A STUN-looking datagram: Binding request header with the magic cookie and a tagged
// transaction ID.
Bytes stun(std::uint8_t tag) {
    Bytes payload = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
    for (int i = 0; i < 12; ++i) payload.push_back(tag);
    return payload;
}

std::pair<Bytes, Endpoint> receive(DatagramPort& port) {
    REQUIRE(wait_readable(port.fds().front()));
    Bytes buffer(2048);
    auto received = port.receive_from(buffer);
    REQUIRE(received);
    buffer.resize(received->size);
    return {buffer, received->from};
}

}  // namespace

TEST_CASE("RawUdp sends from a port another socket holds", "[net][raw_udp][root]") {
    auto family = GENERATE(Family::v4, Family::v6);
    auto loopback = IpAddress::loopback(family);
    auto holder = UdpSocket::bind({loopback, 0});
    auto port = holder.local_endpoint().port;
    auto peer = UdpSocket::bind({loopback, 0});

    auto raw = RawUdp::open(family, port);
    CHECK(raw.mode() == "raw");
    CHECK(raw.local_endpoint() == Endpoint{IpAddress::any(family), port});
    CHECK(raw.fds().size() == 1);
    CHECK_FALSE(raw.receive_error());

    CHECK_FALSE(raw.send_to(stun(1), peer.local_endpoint()));
    auto [payload, from] = receive(peer);
    CHECK(payload == stun(1));
    CHECK(from == Endpoint{loopback, port});

    SECTION("and receives only STUN to that port") {
        auto other = UdpSocket::bind({loopback, 0});
        // If anything but the last one passed, it would arrive first.
        CHECK_FALSE(peer.send_to(Bytes(32, 0x04), {loopback, port}));  // not STUN
        CHECK_FALSE(peer.send_to(stun(2), other.local_endpoint()));    // another port
        CHECK_FALSE(
            peer.send_to(Bytes{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4}, {loopback, port}));
        CHECK_FALSE(peer.send_to(stun(3), {loopback, port}));
        auto [reply, reply_from] = receive(raw);
        CHECK(reply == stun(3));
        CHECK(reply_from == peer.local_endpoint());
        std::array<std::uint8_t, 64> buffer{};
        CHECK_FALSE(raw.receive_from(buffer));
    }
    SECTION("and truncates to the caller's buffer") {
        CHECK_FALSE(peer.send_to(stun(4), {loopback, port}));
        REQUIRE(wait_readable(raw.fds().front()));
        std::array<std::uint8_t, 8> buffer{};
        auto received = raw.receive_from(buffer);
        REQUIRE(received);
        CHECK(received->size == 8);
        CHECK(buffer[7] == 0x42);
    }
}

TEST_CASE("RawUdp with a local address sends from it and drops other destinations",
          "[net][raw_udp][root]") {
    auto holder = UdpSocket::bind({IpAddress::any(Family::v4), 0});
    auto port = holder.local_endpoint().port;
    auto peer = UdpSocket::bind({IpAddress::loopback(Family::v4), 0});
    auto mine = *IpAddress::parse("127.0.0.1");
    auto elsewhere = *IpAddress::parse("127.0.0.2");

    auto raw = RawUdp::open(Family::v4, port, mine);
    CHECK(raw.local_endpoint() == Endpoint{mine, port});

    CHECK_FALSE(raw.send_to(stun(1), peer.local_endpoint()));
    CHECK(receive(peer).second == Endpoint{mine, port});

    CHECK_FALSE(peer.send_to(stun(2), {elsewhere, port}));
    CHECK_FALSE(peer.send_to(stun(3), {mine, port}));
    auto [reply, from] = receive(raw);
    CHECK(reply == stun(3));
    CHECK(from == peer.local_endpoint());
}

TEST_CASE("RawUdp refuses what it cannot send", "[net][raw_udp][root]") {
    auto holder = UdpSocket::bind({IpAddress::loopback(Family::v4), 0});
    auto port = holder.local_endpoint().port;
    CHECK_THROWS_AS(RawUdp::open(Family::v4, port, IpAddress::loopback(Family::v6)),
                    std::invalid_argument);

    auto raw = RawUdp::open(Family::v4, port);
    CHECK(raw.send_to(stun(1), *Endpoint::parse("[::1]:9")) ==
          std::error_code(EAFNOSUPPORT, std::system_category()));
    CHECK(raw.send_to(Bytes(kMaxUdpPayload + 1), *Endpoint::parse("127.0.0.1:9")) ==
          std::error_code(EMSGSIZE, std::system_category()));

    // An unspecified local address means "any": the route picks the source.
    auto any = RawUdp::open(Family::v4, port, IpAddress::any(Family::v4));
    CHECK(any.local_endpoint() == Endpoint{IpAddress::any(Family::v4), port});
}

namespace {

// In a child process: drops CAP_NET_RAW from the effective set, then tries RawUdp::open.
// Exits 0 when it threw std::system_error with EPERM.
int open_without_cap_net_raw(std::uint16_t port) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, data) != 0) return 2;
    data[CAP_NET_RAW / 32].effective &= ~(1u << (CAP_NET_RAW % 32));
    if (::syscall(SYS_capset, &header, data) != 0) return 3;
    try {
        RawUdp::open(Family::v4, port);
    } catch (const std::system_error& error) {
        return error.code() == std::error_code(EPERM, std::system_category()) ? 0 : 4;
    }
    return 5;
}

}  // namespace

TEST_CASE("RawUdp reports EPERM without CAP_NET_RAW", "[net][raw_udp][root]") {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) ::_exit(open_without_cap_net_raw(3478));
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
