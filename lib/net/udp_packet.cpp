#include "net/udp_packet.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace natkit::net {

namespace {

constexpr std::uint8_t kProtocolUdp = IPPROTO_UDP;
constexpr std::size_t kIpv4MinHeader = 20;

std::uint16_t read16(std::span<const std::uint8_t> bytes, std::size_t at) {
    return static_cast<std::uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

void write16(std::span<std::uint8_t> bytes, std::size_t at, std::uint16_t value) {
    bytes[at] = static_cast<std::uint8_t>(value >> 8);
    bytes[at + 1] = static_cast<std::uint8_t>(value);
}

// Adds big-endian 16-bit words (an odd last byte padded with zero) to a running sum.
std::uint64_t add_words(std::uint64_t sum, std::span<const std::uint8_t> bytes) {
    std::size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) sum += read16(bytes, i);
    if (i < bytes.size()) sum += static_cast<std::uint64_t>(bytes[i]) << 8;
    return sum;
}

// The one's-complement sum folded to 16 bits (not inverted).
std::uint16_t fold(std::uint64_t sum) {
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

std::uint64_t pseudo_header_sum(const IpAddress& source, const IpAddress& destination,
                                std::size_t udp_length) {
    if (source.family != destination.family) {
        throw std::invalid_argument("UDP checksum: source and destination families differ");
    }
    std::uint64_t sum = add_words(0, source.octets());
    sum = add_words(sum, destination.octets());
    sum += kProtocolUdp;
    sum += udp_length & 0xFFFF;
    sum += udp_length >> 16;
    return sum;
}

bool checksum_matches(std::uint16_t stored, const IpAddress& source, const IpAddress& destination,
                      std::span<const std::uint8_t> segment) {
    if (stored == udp_checksum(source, destination, segment)) return true;
    // Offload pending (CHECKSUM_PARTIAL): the field holds the pseudo-header sum only.
    return stored == fold(pseudo_header_sum(source, destination, segment.size()));
}

// `segment` starts at the UDP header and may carry trailing bytes past the UDP length.
std::optional<UdpView> parse_segment(std::span<const std::uint8_t> segment, const IpAddress& source,
                                     const IpAddress& destination) {
    if (segment.size() < kUdpHeaderSize || source.family != destination.family) {
        return std::nullopt;
    }
    std::size_t length = read16(segment, 4);
    if (length < kUdpHeaderSize || length > segment.size()) return std::nullopt;
    segment = segment.first(length);
    std::uint16_t stored = read16(segment, 6);
    if (stored == 0) {
        if (source.family == Family::v6) return std::nullopt;
    } else if (!checksum_matches(stored, source, destination, segment)) {
        return std::nullopt;
    }
    return UdpView{{source, read16(segment, 0)},
                   {destination, read16(segment, 2)},
                   segment.subspan(kUdpHeaderSize)};
}

}  // namespace

std::uint16_t udp_checksum(const IpAddress& source, const IpAddress& destination,
                           std::span<const std::uint8_t> udp_segment) {
    std::uint64_t sum =
        pseudo_header_sum(source.unmapped(), destination.unmapped(), udp_segment.size());
    sum = add_words(sum, udp_segment.first(std::min<std::size_t>(6, udp_segment.size())));
    if (udp_segment.size() > kUdpHeaderSize) {
        sum = add_words(sum, udp_segment.subspan(kUdpHeaderSize));
    }
    auto checksum = static_cast<std::uint16_t>(~fold(sum));
    return checksum == 0 ? 0xFFFF : checksum;
}

std::vector<std::uint8_t> build_udp_segment(const Endpoint& source, const Endpoint& destination,
                                            std::span<const std::uint8_t> payload) {
    if (payload.size() > kMaxUdpPayload) {
        throw std::length_error("UDP payload of " + std::to_string(payload.size()) +
                                " bytes exceeds the maximum of " + std::to_string(kMaxUdpPayload));
    }
    std::vector<std::uint8_t> segment(kUdpHeaderSize + payload.size());
    write16(segment, 0, source.port);
    write16(segment, 2, destination.port);
    write16(segment, 4, static_cast<std::uint16_t>(segment.size()));
    std::copy(payload.begin(), payload.end(), segment.begin() + kUdpHeaderSize);
    write16(segment, 6, udp_checksum(source.address, destination.address, segment));
    return segment;
}

std::optional<UdpView> parse_ipv4_udp(std::span<const std::uint8_t> packet) {
    if (packet.size() < kIpv4MinHeader || packet[0] >> 4 != 4) return std::nullopt;
    std::size_t header_length = (packet[0] & 0x0F) * 4u;
    if (header_length < kIpv4MinHeader || header_length > packet.size()) return std::nullopt;
    std::size_t total_length = read16(packet, 2);
    if (total_length < header_length + kUdpHeaderSize || total_length > packet.size()) {
        return std::nullopt;
    }
    bool fragment = (read16(packet, 6) & 0x3FFF) != 0;  // more-fragments flag or an offset
    if (fragment || packet[9] != kProtocolUdp) return std::nullopt;
    if (fold(add_words(0, packet.first(header_length))) != 0xFFFF) return std::nullopt;
    auto source = IpAddress::v4(packet.subspan<12, 4>());
    auto destination = IpAddress::v4(packet.subspan<16, 4>());
    return parse_segment(packet.subspan(header_length, total_length - header_length), source,
                         destination);
}

std::optional<UdpView> parse_udp(std::span<const std::uint8_t> segment, const IpAddress& source,
                                 const IpAddress& destination) {
    return parse_segment(segment, source.unmapped(), destination.unmapped());
}

std::vector<sock_filter> stun_port_filter(Family family, std::uint16_t port) {
    constexpr std::uint32_t keep = 0xFFFFFFFF;
    if (family == Family::v6) {
        // Starts at the UDP header.
        return {
            BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),                        // destination port
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 3),              //   else drop
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12),                       // payload bytes 4..7
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kStunMagicCookie, 0, 1),  //   else drop
            BPF_STMT(BPF_RET | BPF_K, keep),
            BPF_STMT(BPF_RET | BPF_K, 0),
        };
    }
    // Starts at the IPv4 header.
    return {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),                        // protocol
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kProtocolUdp, 0, 8),      //   else drop
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),                        // flags and fragment offset
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1FFF, 6, 0),           //   non-first fragment: drop
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),                       // x = IP header length
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),                        // destination port
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 3),              //   else drop
        BPF_STMT(BPF_LD | BPF_W | BPF_IND, 12),                       // payload bytes 4..7
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kStunMagicCookie, 0, 1),  //   else drop
        BPF_STMT(BPF_RET | BPF_K, keep),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
}

}  // namespace natkit::net
