// Kernel WireGuard's generic netlink messages (<linux/wireguard.h>), built and parsed as plain
// bytes: no socket here, so the splitting and merging rules are unit-tested and fuzzed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wg/device.hpp"

namespace natkit::wg::netlink {

// One netlink message (nlmsghdr first); sequence number 0 until the sender sets it.
using Message = std::vector<std::uint8_t>;

// wg(8)'s request size: every kernel accepts it.
inline constexpr std::size_t kDefaultMessageSize = 8192;
// Smaller buffers could not hold one allowed IP next to a peer's first part.
inline constexpr std::size_t kMinMessageSize = 512;

// CTRL_CMD_GETFAMILY for `family_name` ("wireguard").
Message encode_get_family(std::string_view family_name);
// The family id in a CTRL_CMD_NEWFAMILY reply; nullopt when absent or malformed.
std::optional<std::uint16_t> parse_family_id(std::span<const std::uint8_t> message);

// WG_CMD_GET_DEVICE dump request for `interface`.
Message encode_get_device(const std::string& interface, std::uint16_t family_id);

// WG_CMD_SET_DEVICE requests applying `change` in order, each at most `message_size` bytes
// (>= kMinMessageSize), as few as fit. A peer that does not fit is continued in the next
// message with its public key again and WGPEER_F_UPDATE_ONLY; its flags, preshared key,
// endpoint and keepalive go only in its first part. An empty change gives no message.
std::vector<Message> encode_set_device(const std::string& interface, std::uint16_t family_id,
                                       const DeviceChange& change,
                                       std::size_t message_size = kDefaultMessageSize);

// Merges the messages of one WG_CMD_GET_DEVICE dump into a Device: device attributes from
// whichever message has them, peers in order, consecutive parts of one peer coalesced,
// each peer's allowed IPs sorted and unique. Throws natkit::Error (failure) on a malformed
// message.
class DumpMerger {
  public:
    void add(std::span<const std::uint8_t> message);
    Device finish() &&;

  private:
    void add_peer(Peer&& peer);

    Device device_;
};

// A back-to-back stream of netlink messages (as recv() returns them), up to NLMSG_DONE.
// Throws natkit::Error (failure) on malformed bytes; NLMSG_ERROR is malformed here.
Device parse_dump(std::span<const std::uint8_t> bytes);

}  // namespace natkit::wg::netlink
