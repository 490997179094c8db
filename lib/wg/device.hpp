// The WireGuard device model shared by wg-apply's plan and its backends (netlink, UAPI),
// and by peer-sync when it reads this node's identity from the device.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/endpoint.hpp"
#include "net/prefix.hpp"

namespace natkit::wg {

inline constexpr std::size_t kKeySize = 32;
using Key = std::array<std::uint8_t, kKeySize>;

// WireGuard base64 (44 characters, 32 bytes, '=' padded), as wg(8) prints keys.
std::optional<Key> key_from_base64(std::string_view text);
std::string key_to_base64(const Key& key);
// Lower-case hex (64 characters), as the UAPI protocol carries keys.
std::optional<Key> key_from_hex(std::string_view text);
std::string key_to_hex(const Key& key);
bool is_zero(const Key& key);
// The Curve25519 public key of a private key (what `wg pubkey` prints).
Key public_key_of(const Key& private_key);

// An allowed-IP prefix (normalised CIDR).
using AllowedIp = net::Prefix;

using SystemTime = std::chrono::system_clock::time_point;

struct Peer {
    Key public_key{};
    std::optional<Key> preshared_key;  // absent = none (all-zero on the wire)
    std::optional<net::Endpoint> endpoint;
    std::uint16_t persistent_keepalive = 0;  // seconds, 0 = off
    std::vector<AllowedIp> allowed_ips;      // kept sorted and unique by the code that builds it

    // Read from a live device only; never written.
    std::optional<SystemTime> last_handshake;
    std::uint64_t rx_bytes = 0;
    std::uint64_t tx_bytes = 0;
};

struct Device {
    std::string name;
    std::optional<Key> public_key;
    std::uint16_t listen_port = 0;
    std::uint32_t fwmark = 0;
    std::vector<Peer> peers;
};

// One peer's part of a change, in WireGuard's own set semantics (WGPEER_F_* / UAPI keys).
struct PeerChange {
    Key public_key{};
    bool remove = false;       // remove the peer (nothing else applies)
    bool update_only = false;  // fail rather than create (never used to create)
    std::optional<std::optional<Key>> preshared_key;  // set: a key, or nullopt to clear
    std::optional<net::Endpoint> endpoint;
    std::optional<std::uint16_t> persistent_keepalive;
    bool replace_allowed_ips = false;    // drop the peer's prefixes before adding these
    std::vector<AllowedIp> allowed_ips;  // prefixes to add (after replace, if set)
};

// What a backend writes: peers in order. Backends may split it into several messages but
// must apply every PeerChange exactly as described.
struct DeviceChange {
    std::vector<PeerChange> peers;
    bool empty() const { return peers.empty(); }
};

}  // namespace natkit::wg
