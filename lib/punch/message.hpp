// punch's wire messages (rendezvous and peer-to-peer), authenticated with HMAC-SHA256 under the
// network's shared secret. Pure: encoding and decoding are functions over byte spans.
//
// Layout (big-endian):  0 'N'  1 version  2 type  3 flags  4 STUN magic cookie (so the raw-socket
// BPF filter passes it)  8 timestamp (Unix ms, u64)  16 nonce (u64)  24 body  ... zero padding
// ... last 16 bytes: HMAC-SHA256 of everything before, truncated.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/endpoint.hpp"

namespace natkit::punch {

inline constexpr std::uint8_t kMarker = 'N';
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::uint32_t kCookie = 0x2112A442;
inline constexpr std::size_t kHeaderSize = 24;
inline constexpr std::size_t kMacSize = 16;
inline constexpr std::size_t kMaxName = 64;  // network, id and peer names
inline constexpr std::size_t kMaxCandidates = 8;
inline constexpr std::size_t kMaxMessage = 1200;
inline constexpr std::uint16_t kDefaultPort = 3480;

enum class Type : std::uint8_t {
    reg = 1,           // node -> server: network, id, candidates (also the keepalive)
    registered = 2,    // server -> node: observed, ttl_s
    connect = 3,       // node -> server: network, id, peer
    introduce = 4,     // server -> both nodes: peer, observed, candidates, token
    unknown_peer = 5,  // server -> node: peer (not registered, yet)
    probe = 6,         // node -> node: token, id, seq (flags: confirmed)
    probe_ack = 7,     // node -> node: token, seq, observed (where the probe came from)
};

inline constexpr std::uint8_t kFlagConfirmed = 0x01;  // probe: the sender has a confirmed path
// reg: the sender's own NAT mapping behaviour; introduce: the introduced peer's (RFC 4787).
inline constexpr std::uint8_t kFlagMappingIndependent = 0x02;
inline constexpr std::uint8_t kFlagMappingDependent = 0x04;  // address(-and-port)-dependent
inline constexpr std::uint8_t kMappingFlags = kFlagMappingIndependent | kFlagMappingDependent;

// What a node knows of a NAT's mapping: enough to decide who sweeps ports (see Session).
enum class Mapping : std::uint8_t { unknown, independent, dependent };
std::uint8_t mapping_flags(Mapping mapping);
Mapping mapping_of_flags(std::uint8_t flags);
// RFC 4787 words as nat-classify writes them: endpoint-independent, address-dependent,
// address-and-port-dependent; anything else is unknown.
Mapping mapping_of_word(std::string_view word);

using Token = std::array<std::uint8_t, 16>;

struct Message {
    Type type = Type::reg;
    std::uint8_t flags = 0;
    std::uint64_t timestamp_ms = 0;
    std::uint64_t nonce = 0;
    std::string network;                    // reg, connect
    std::string id;                         // reg, connect, probe
    std::string peer;                       // connect, introduce, unknown_peer
    std::vector<net::Endpoint> candidates;  // reg, introduce
    std::optional<net::Endpoint> observed;  // registered, introduce, probe_ack
    Token token{};                          // introduce, probe, probe_ack
    std::uint32_t seq = 0;                  // probe, probe_ack
    std::uint16_t ttl_s = 0;                // registered
    std::size_t pad_to = 0;                 // encode: zero-pad the message to this many bytes

    friend bool operator==(const Message& a, const Message& b);
};

struct DecodeResult {
    std::optional<Message> message;
    std::string error;  // "not a punch message", "bad authentication", "truncated" ...
};

// Does it look like a punch message (marker, version and cookie)? Cheap, for demultiplexing.
bool looks_like_punch(std::span<const std::uint8_t> datagram);

// Throws std::invalid_argument for a name over kMaxName bytes, more than kMaxCandidates, or a
// message over kMaxMessage bytes.
std::vector<std::uint8_t> encode(const Message& message, std::span<const std::uint8_t> key);

// Checks the MAC first (constant time), then parses strictly: every length bounds-checked,
// names within kMaxName, only zero bytes after the body.
DecodeResult decode(std::span<const std::uint8_t> datagram, std::span<const std::uint8_t> key);

// The 16-byte truncated HMAC-SHA256 of `bytes`.
std::array<std::uint8_t, kMacSize> mac_of(std::span<const std::uint8_t> bytes,
                                          std::span<const std::uint8_t> key);

std::string_view type_name(Type type);

}  // namespace natkit::punch
