#include "net/udp_packet.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "net/fd.hpp"
#include "net/udp_socket.hpp"

using namespace natkit::net;

namespace {

using Bytes = std::vector<std::uint8_t>;

IpAddress ip(const char* text) {
    auto address = IpAddress::parse(text);
    REQUIRE(address);
    return *address;
}

Endpoint ep(const char* text) {
    auto endpoint = Endpoint::parse(text);
    REQUIRE(endpoint);
    return *endpoint;
}

// 10.0.0.1:4660 -> 10.0.0.2:80, payload "ab". Worked by hand:
// pseudo-header 0a00+0001+0a00+0002+0011+000a = 141e; UDP header 1234+0050+000a = 128e;
// payload 6162; sum 880e; checksum ~880e = 77f1.
// IPv4 header (DF, TTL 64): 4500+001e+0000+4000+4011+0a00+0001+0a00+0002 = d932 -> 26cd.
const Bytes kKnownIpv4Packet = {
    0x45, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
    0x26, 0xcd, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,  // IPv4 header
    0x12, 0x34, 0x00, 0x50, 0x00, 0x0a, 0x77, 0xf1,              // UDP header
    'a',  'b',
};
constexpr std::size_t kUdpAt = 20;

// The same datagram over IPv6 from ::1 to ::1: pseudo-header 0001+0001+000a+0011 = 001d;
// with 128e and 6162 the sum is 740d; checksum 8bf2.
const Bytes kKnownIpv6Segment = {0x12, 0x34, 0x00, 0x50, 0x00, 0x0a, 0x8b, 0xf2, 'a', 'b'};

std::uint16_t read16(const Bytes& bytes, std::size_t at) {
    return static_cast<std::uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

void write16(Bytes& bytes, std::size_t at, std::uint16_t value) {
    bytes[at] = static_cast<std::uint8_t>(value >> 8);
    bytes[at + 1] = static_cast<std::uint8_t>(value);
}

// Recomputes the IPv4 header checksum, so a test changes one field at a time.
void fix_header_checksum(Bytes& packet) {
    std::size_t header_length = (packet[0] & 0x0F) * 4u;
    write16(packet, 10, 0);
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < header_length && i + 1 < packet.size(); i += 2) {
        sum += read16(packet, i);
    }
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    write16(packet, 10, static_cast<std::uint16_t>(~sum));
}

Bytes stun_payload(std::uint8_t tag) {
    Bytes payload = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
    for (int i = 0; i < 12; ++i) payload.push_back(tag);
    return payload;
}

}  // namespace

TEST_CASE("udp_checksum matches hand-computed values", "[net][udp_packet]") {
    std::span<const std::uint8_t> segment(kKnownIpv4Packet.data() + kUdpAt, 10);
    CHECK(udp_checksum(ip("10.0.0.1"), ip("10.0.0.2"), segment) == 0x77f1);
    // IPv4-mapped addresses count as IPv4.
    CHECK(udp_checksum(ip("::ffff:10.0.0.1"), ip("10.0.0.2"), segment) == 0x77f1);
    CHECK(udp_checksum(ip("::1"), ip("::1"), kKnownIpv6Segment) == 0x8bf2);
    CHECK_THROWS_AS(udp_checksum(ip("10.0.0.1"), ip("::1"), segment), std::invalid_argument);
}

TEST_CASE("udp_checksum ignores the checksum field and never returns 0", "[net][udp_packet]") {
    Bytes segment(kKnownIpv4Packet.begin() + kUdpAt, kKnownIpv4Packet.end());
    write16(segment, 6, 0xBEEF);
    CHECK(udp_checksum(ip("10.0.0.1"), ip("10.0.0.2"), segment) == 0x77f1);
    // Payload d953 brings the sum to ffff: the computed 0 goes out as ffff.
    segment[8] = 0xd9;
    segment[9] = 0x53;
    CHECK(udp_checksum(ip("10.0.0.1"), ip("10.0.0.2"), segment) == 0xFFFF);
}

TEST_CASE("build_udp_segment writes ports, length and checksum", "[net][udp_packet]") {
    Bytes payload = {'a', 'b'};
    auto segment = build_udp_segment(ep("10.0.0.1:4660"), ep("10.0.0.2:80"), payload);
    CHECK(segment == Bytes(kKnownIpv4Packet.begin() + kUdpAt, kKnownIpv4Packet.end()));
    CHECK(build_udp_segment(ep("[::1]:4660"), ep("[::1]:80"), payload) == kKnownIpv6Segment);

    auto empty = build_udp_segment(ep("10.0.0.1:1"), ep("10.0.0.2:2"), {});
    CHECK(empty.size() == 8);
    CHECK(read16(empty, 4) == 8);

    Bytes largest(kMaxUdpPayload);
    CHECK(build_udp_segment(ep("10.0.0.1:1"), ep("10.0.0.2:2"), largest).size() == 65535);
    Bytes too_large(kMaxUdpPayload + 1);
    CHECK_THROWS_AS(build_udp_segment(ep("10.0.0.1:1"), ep("10.0.0.2:2"), too_large),
                    std::length_error);
    CHECK_THROWS_AS(build_udp_segment(ep("10.0.0.1:1"), ep("[::1]:2"), payload),
                    std::invalid_argument);
}

TEST_CASE("parse_ipv4_udp reads a known packet", "[net][udp_packet]") {
    auto view = parse_ipv4_udp(kKnownIpv4Packet);
    REQUIRE(view);
    CHECK(view->source == ep("10.0.0.1:4660"));
    CHECK(view->destination == ep("10.0.0.2:80"));
    CHECK(Bytes(view->payload.begin(), view->payload.end()) == Bytes{'a', 'b'});
    CHECK(view->payload.data() == kKnownIpv4Packet.data() + 28);
}

TEST_CASE("parse_ipv4_udp accepts what the wire allows", "[net][udp_packet]") {
    SECTION("no UDP checksum (0) over IPv4") {
        auto packet = kKnownIpv4Packet;
        write16(packet, kUdpAt + 6, 0);
        CHECK(parse_ipv4_udp(packet));
    }
    SECTION("bytes past the total length") {
        auto packet = kKnownIpv4Packet;
        packet.push_back(0xEE);
        auto view = parse_ipv4_udp(packet);
        REQUIRE(view);
        CHECK(view->payload.size() == 2);
    }
    SECTION("IP options (IHL 6)") {
        auto packet = kKnownIpv4Packet;
        packet.insert(packet.begin() + 20, {0x01, 0x01, 0x01, 0x00});  // NOP NOP NOP EOL
        packet[0] = 0x46;
        write16(packet, 2, 34);
        fix_header_checksum(packet);
        auto view = parse_ipv4_udp(packet);
        REQUIRE(view);
        CHECK(view->destination.port == 80);
        CHECK(Bytes(view->payload.begin(), view->payload.end()) == Bytes{'a', 'b'});
    }
    SECTION("checksum left to offload: the pseudo-header sum only") {
        auto packet = kKnownIpv4Packet;
        write16(packet, kUdpAt + 6, 0x141e);
        CHECK(parse_ipv4_udp(packet));
    }
    SECTION("DF set and an identification") {
        auto packet = kKnownIpv4Packet;
        write16(packet, 4, 0xABCD);
        fix_header_checksum(packet);
        CHECK(parse_ipv4_udp(packet));
    }
}

TEST_CASE("parse_ipv4_udp rejects malformed packets", "[net][udp_packet]") {
    auto packet = kKnownIpv4Packet;
    SECTION("too short for an IP header") {
        packet.resize(19);
    }
    SECTION("too short for the UDP header") {
        packet.resize(27);
    }
    SECTION("empty") {
        packet.clear();
    }
    SECTION("IP version 6") {
        packet[0] = 0x65;
        fix_header_checksum(packet);
    }
    SECTION("IHL below 5") {
        packet[0] = 0x44;
        fix_header_checksum(packet);
    }
    SECTION("IHL past the packet") {
        packet[0] = 0x4F;
        fix_header_checksum(packet);
    }
    SECTION("total length past the packet") {
        write16(packet, 2, 31);
        fix_header_checksum(packet);
    }
    SECTION("total length without room for UDP") {
        write16(packet, 2, 27);
        fix_header_checksum(packet);
    }
    SECTION("not UDP") {
        packet[9] = 6;
        fix_header_checksum(packet);
    }
    SECTION("more fragments follow") {
        write16(packet, 6, 0x2000);
        fix_header_checksum(packet);
    }
    SECTION("a later fragment") {
        write16(packet, 6, 0x0001);
        fix_header_checksum(packet);
    }
    SECTION("bad IP header checksum") {
        packet[10] ^= 0x01;
    }
    SECTION("UDP length below 8") {
        write16(packet, kUdpAt + 4, 7);
    }
    SECTION("UDP length past the IP payload") {
        write16(packet, kUdpAt + 4, 11);
    }
    SECTION("bad UDP checksum") {
        packet.back() ^= 0x01;
    }
    SECTION("wrong address for the checksum") {
        packet[19] = 3;
        fix_header_checksum(packet);
    }
    CHECK_FALSE(parse_ipv4_udp(packet));
}

TEST_CASE("parse_udp reads IPv6 segments with a mandatory checksum", "[net][udp_packet]") {
    auto view = parse_udp(kKnownIpv6Segment, ip("::1"), ip("::1"));
    REQUIRE(view);
    CHECK(view->source == ep("[::1]:4660"));
    CHECK(view->destination == ep("[::1]:80"));
    CHECK(Bytes(view->payload.begin(), view->payload.end()) == Bytes{'a', 'b'});

    auto segment = kKnownIpv6Segment;
    write16(segment, 6, 0);
    CHECK_FALSE(parse_udp(segment, ip("::1"), ip("::1")));  // 0 is not allowed over IPv6
    write16(segment, 6, 0x001d);
    CHECK(parse_udp(segment, ip("::1"), ip("::1")));  // pseudo-header sum only (offload)

    CHECK_FALSE(parse_udp(kKnownIpv6Segment, ip("::1"), ip("::2")));
    CHECK_FALSE(parse_udp(kKnownIpv6Segment, ip("::1"), ip("127.0.0.1")));
    CHECK_FALSE(parse_udp(std::span(kKnownIpv6Segment).first(7), ip("::1"), ip("::1")));
    segment = kKnownIpv6Segment;
    write16(segment, 4, 12);
    CHECK_FALSE(parse_udp(segment, ip("::1"), ip("::1")));
}

TEST_CASE("build then parse round-trips", "[net][udp_packet]") {
    auto payload = GENERATE(Bytes{}, Bytes{0x42}, stun_payload(7), Bytes(1500, 0xA5));
    auto [from, to] = GENERATE(std::pair{"192.0.2.1:51820", "198.51.100.7:3478"},
                               std::pair{"[2001:db8::1]:51820", "[2001:db8::2]:3478"},
                               std::pair{"[fe80::1%lo]:1", "[fe80::2%lo]:65535"});
    auto source = ep(from);
    auto destination = ep(to);
    auto segment = build_udp_segment(source, destination, payload);
    auto view = parse_udp(segment, source.address, destination.address);
    REQUIRE(view);
    CHECK(view->source == source);
    CHECK(view->destination == destination);
    CHECK(Bytes(view->payload.begin(), view->payload.end()) == payload);
}

namespace {

// A classic BPF interpreter for the instructions stun_port_filter uses, so the program can be
// checked on packets the kernel would never hand a raw socket (fragments, odd headers).
std::uint32_t run_filter(const std::vector<sock_filter>& program, const Bytes& packet) {
    auto load = [&](std::size_t at, std::size_t size, std::uint32_t& out) {
        if (at + size > packet.size()) return false;
        out = 0;
        for (std::size_t i = 0; i < size; ++i) out = out << 8 | packet[at + i];
        return true;
    };
    std::uint32_t a = 0;
    std::uint32_t x = 0;
    for (std::size_t pc = 0; pc < program.size(); ++pc) {
        const auto& op = program[pc];
        std::size_t size = BPF_SIZE(op.code) == BPF_W ? 4 : BPF_SIZE(op.code) == BPF_H ? 2 : 1;
        switch (BPF_CLASS(op.code)) {
            case BPF_LD: {
                std::size_t at = op.k + (BPF_MODE(op.code) == BPF_IND ? x : 0);
                if (!load(at, size, a)) return 0;
                break;
            }
            case BPF_LDX: {
                REQUIRE(BPF_MODE(op.code) == BPF_MSH);
                if (!load(op.k, 1, x)) return 0;
                x = (x & 0x0F) * 4;
                break;
            }
            case BPF_JMP: {
                bool taken = BPF_OP(op.code) == BPF_JEQ ? a == op.k : (a & op.k) != 0;
                REQUIRE((BPF_OP(op.code) == BPF_JEQ || BPF_OP(op.code) == BPF_JSET));
                pc += taken ? op.jt : op.jf;
                break;
            }
            case BPF_RET:
                return op.k;
            default:
                FAIL("unexpected BPF instruction");
        }
    }
    FAIL("BPF program ran off its end");
    return 0;
}

Bytes ipv4_packet(const Bytes& segment) {
    const std::array<std::uint8_t, 20> header = {0x45, 0, 0,  0, 0, 0, 0x40, 0, 64, 17,
                                                 0,    0, 10, 0, 0, 1, 10,   0, 0,  2};
    Bytes packet(header.size() + segment.size());
    std::copy(header.begin(), header.end(), packet.begin());
    std::copy(segment.begin(), segment.end(), packet.begin() + header.size());
    write16(packet, 2, static_cast<std::uint16_t>(packet.size()));
    fix_header_checksum(packet);
    return packet;
}

}  // namespace

TEST_CASE("stun_port_filter passes STUN to the port and nothing else", "[net][udp_packet]") {
    auto stun = build_udp_segment(ep("10.0.0.1:3478"), ep("10.0.0.2:51820"), stun_payload(1));
    auto other_port = build_udp_segment(ep("10.0.0.1:3478"), ep("10.0.0.2:51821"), stun_payload(1));
    Bytes wireguard_like(32, 0x04);
    auto not_stun = build_udp_segment(ep("10.0.0.1:3478"), ep("10.0.0.2:51820"), wireguard_like);
    auto short_payload = build_udp_segment(ep("10.0.0.1:3478"), ep("10.0.0.2:51820"),
                                           Bytes{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4});

    SECTION("IPv6: from the UDP header") {
        auto filter = stun_port_filter(Family::v6, 51820);
        CHECK(run_filter(filter, stun) != 0);
        CHECK(run_filter(filter, other_port) == 0);
        CHECK(run_filter(filter, not_stun) == 0);
        CHECK(run_filter(filter, short_payload) == 0);
    }
    SECTION("IPv4: from the IP header") {
        auto filter = stun_port_filter(Family::v4, 51820);
        CHECK(run_filter(filter, ipv4_packet(stun)) != 0);
        CHECK(run_filter(filter, ipv4_packet(other_port)) == 0);
        CHECK(run_filter(filter, ipv4_packet(not_stun)) == 0);
        CHECK(run_filter(filter, ipv4_packet(short_payload)) == 0);

        auto with_options = ipv4_packet(stun);  // the ports move by the options' length
        with_options.insert(with_options.begin() + 20, {1, 1, 1, 0});
        with_options[0] = 0x46;
        CHECK(run_filter(filter, with_options) != 0);

        auto first_fragment = ipv4_packet(stun);
        write16(first_fragment, 6, 0x2000);
        CHECK(run_filter(filter, first_fragment) != 0);
        auto later_fragment = ipv4_packet(stun);
        write16(later_fragment, 6, 0x2001);
        CHECK(run_filter(filter, later_fragment) == 0);

        auto tcp = ipv4_packet(stun);
        tcp[9] = 6;
        CHECK(run_filter(filter, tcp) == 0);
    }
}

namespace {

bool wait_readable(int fd) {
    pollfd entry{fd, POLLIN, 0};
    return ::poll(&entry, 1, 5000) == 1;
}

Fd raw_udp_socket(Family family) {
    Fd fd(::socket(family == Family::v4 ? AF_INET : AF_INET6,
                   SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
    REQUIRE(fd);
    return fd;
}

Bytes receive_raw(int fd) {
    Bytes packet(65536);
    auto size = ::recv(fd, packet.data(), packet.size(), MSG_DONTWAIT);
    if (size < 0) return {};
    packet.resize(static_cast<std::size_t>(size));
    return packet;
}

void send_raw(int fd, const Bytes& segment, const Endpoint& to) {
    socklen_t length = 0;
    auto address = Endpoint{to.address, 0}.to_sockaddr(length);
    REQUIRE(::sendto(fd, segment.data(), segment.size(), 0, reinterpret_cast<sockaddr*>(&address),
                     length) == static_cast<ssize_t>(segment.size()));
}

}  // namespace

TEST_CASE("stun_port_filter works attached to a raw socket", "[net][udp_packet][root]") {
    auto family = GENERATE(Family::v4, Family::v6);
    auto loopback = IpAddress::loopback(family);
    auto target = UdpSocket::bind({loopback, 0});
    auto other = UdpSocket::bind({loopback, 0});
    auto sender = UdpSocket::bind({loopback, 0});
    auto port = target.local_endpoint().port;

    auto raw = raw_udp_socket(family);
    auto program = stun_port_filter(family, port);
    sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
    REQUIRE(::setsockopt(raw.get(), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) == 0);
    while (!receive_raw(raw.get()).empty()) {
    }

    // Two that must be filtered out, then the one that must pass: if the filter let
    // anything else through, it would arrive first.
    CHECK_FALSE(sender.send_to(Bytes(20, 0x04), target.local_endpoint()));
    CHECK_FALSE(sender.send_to(stun_payload(2), other.local_endpoint()));
    CHECK_FALSE(sender.send_to(stun_payload(3), target.local_endpoint()));
    REQUIRE(wait_readable(raw.get()));
    auto packet = receive_raw(raw.get());
    auto view =
        family == Family::v4 ? parse_ipv4_udp(packet) : parse_udp(packet, loopback, loopback);
    REQUIRE(view);
    CHECK(view->source == sender.local_endpoint());
    CHECK(view->destination.port == port);
    CHECK(Bytes(view->payload.begin(), view->payload.end()) == stun_payload(3));
    CHECK(receive_raw(raw.get()).empty());
}

TEST_CASE("the kernel agrees with udp_checksum", "[net][udp_packet][root]") {
    auto family = GENERATE(Family::v4, Family::v6);
    auto loopback = IpAddress::loopback(family);
    auto receiver = UdpSocket::bind({loopback, 0});
    auto sender = raw_udp_socket(family);
    Endpoint source{loopback, 40000};
    socklen_t length = 0;
    auto address = Endpoint{loopback, 0}.to_sockaddr(length);
    REQUIRE(::bind(sender.get(), reinterpret_cast<sockaddr*>(&address), length) == 0);

    // The kernel drops a datagram with a bad checksum, so the good one must come first.
    auto bad = build_udp_segment(source, receiver.local_endpoint(), Bytes{'b', 'a', 'd'});
    bad[6] ^= 0x10;
    auto good = build_udp_segment(source, receiver.local_endpoint(), Bytes{'g', 'o', 'o', 'd'});
    send_raw(sender.get(), bad, receiver.local_endpoint());
    send_raw(sender.get(), good, receiver.local_endpoint());

    REQUIRE(wait_readable(receiver.fd()));
    std::array<std::uint8_t, 16> buffer{};
    auto received = receiver.receive_from(buffer);
    REQUIRE(received);
    CHECK(received->from == source);
    CHECK(Bytes(buffer.begin(), buffer.begin() + received->size) == Bytes{'g', 'o', 'o', 'd'});
    CHECK_FALSE(receiver.receive_from(buffer));
}
