// UDP segments and IPv4 packets as raw sockets see them, and the BPF filter for STUN replies.
// Pure functions over byte spans: no sockets here.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "net/endpoint.hpp"

namespace natkit::net {

inline constexpr std::uint32_t kStunMagicCookie = 0x2112A442;
inline constexpr std::size_t kUdpHeaderSize = 8;
inline constexpr std::size_t kMaxUdpPayload = 65535 - kUdpHeaderSize;

// The UDP checksum over the pseudo-header and `udp_segment`, its checksum field taken as zero.
// A computed 0 is returned as 0xFFFF (0 on the wire means "no checksum").
// IPv4-mapped addresses count as IPv4. Throws std::invalid_argument if the families differ.
std::uint16_t udp_checksum(const IpAddress& source, const IpAddress& destination,
                           std::span<const std::uint8_t> udp_segment);

// An 8-byte UDP header (ports, length, checksum) followed by `payload`.
// Throws std::length_error if the payload exceeds kMaxUdpPayload.
std::vector<std::uint8_t> build_udp_segment(const Endpoint& source, const Endpoint& destination,
                                            std::span<const std::uint8_t> payload);

// A parsed datagram; `payload` points into the parsed bytes.
struct UdpView {
    Endpoint source;
    Endpoint destination;
    std::span<const std::uint8_t> payload;
};

// An IPv4 packet from its IP header on (as IPv4 raw sockets deliver it). Checks version, IHL,
// header checksum, total length, protocol 17, not a fragment, UDP length and UDP checksum
// (0 = none is allowed for IPv4). Bytes past the total length are ignored.
std::optional<UdpView> parse_ipv4_udp(std::span<const std::uint8_t> packet);

// A UDP segment without its IP header (as IPv6 raw sockets deliver it), with the addresses
// taken from elsewhere (recvmsg and IPV6_PKTINFO). The checksum is mandatory for IPv6.
std::optional<UdpView> parse_udp(std::span<const std::uint8_t> segment, const IpAddress& source,
                                 const IpAddress& destination);

// Both parsers also accept a checksum field holding just the pseudo-header sum: the kernel
// leaves that for checksum offload (CHECKSUM_PARTIAL) in packets that local sockets send over
// loopback or veth, and raw sockets see them before any device fills it in.

// A classic BPF program for a SOCK_RAW/IPPROTO_UDP socket of `family` that passes only UDP to
// `port` whose payload carries kStunMagicCookie at offset 4. For IPv4 it reads the IP header
// (IHL-aware) and drops non-first fragments; for IPv6 it starts at the UDP header.
std::vector<sock_filter> stun_port_filter(Family family, std::uint16_t port);

}  // namespace natkit::net
