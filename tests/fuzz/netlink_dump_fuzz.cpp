// Arbitrary bytes as a WG_CMD_GET_DEVICE dump (lib/wg/netlink_codec): parse_dump may only
// throw natkit::Error. Whatever parses must survive a round trip through encode_set_device:
// the peers read back from the SET messages (split at the smallest message size) are equal.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "io/error.hpp"
#include "wg/netlink_codec.hpp"

using namespace natkit::wg;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

DeviceChange as_change(const Device& device) {
    DeviceChange change;
    for (const Peer& peer : device.peers) {
        PeerChange p;
        p.public_key = peer.public_key;
        p.preshared_key = peer.preshared_key;
        p.endpoint = peer.endpoint;
        p.persistent_keepalive = peer.persistent_keepalive;
        p.replace_allowed_ips = true;
        p.allowed_ips = peer.allowed_ips;
        change.peers.push_back(std::move(p));
    }
    return change;
}

void check_round_trip(const Device& device) {
    const auto messages =
        netlink::encode_set_device("wg0", 0x20, as_change(device), netlink::kMinMessageSize);
    std::vector<std::uint8_t> bytes;
    for (const auto& message : messages) {
        require(message.size() <= netlink::kMinMessageSize);
        bytes.insert(bytes.end(), message.begin(), message.end());
    }
    const Device again = netlink::parse_dump(bytes);
    require(again.peers.size() == device.peers.size());
    for (std::size_t i = 0; i < device.peers.size(); ++i) {
        const Peer& a = device.peers[i];
        const Peer& b = again.peers[i];
        require(a.public_key == b.public_key && a.preshared_key == b.preshared_key);
        require(a.endpoint == b.endpoint && a.persistent_keepalive == b.persistent_keepalive);
        require(a.allowed_ips == b.allowed_ips);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Device device;
    try {
        device = netlink::parse_dump(std::span<const std::uint8_t>(data, size));
    } catch (const natkit::Error&) {
        return 0;
    }
    check_round_trip(device);
    return 0;
}
