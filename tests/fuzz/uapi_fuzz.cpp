// Arbitrary bytes as a UAPI reply: the parsers may only throw natkit::Error; a parsed device,
// printed back as a get reply, must parse to the same device.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "io/error.hpp"
#include "wg/uapi.hpp"

using namespace natkit::wg;

namespace {

std::string print_peer(const Peer& peer) {
    std::string out = "public_key=" + key_to_hex(peer.public_key) + "\n";
    if (peer.preshared_key) out += "preshared_key=" + key_to_hex(*peer.preshared_key) + "\n";
    if (peer.endpoint) out += "endpoint=" + peer.endpoint->to_string() + "\n";
    out += "persistent_keepalive_interval=" + std::to_string(peer.persistent_keepalive) + "\n";
    for (const auto& a : peer.allowed_ips) out += "allowed_ip=" + a.to_string() + "\n";
    return out;
}

std::string print(const UapiGetReply& reply) {
    std::string out = "listen_port=" + std::to_string(reply.device.listen_port) + "\n";
    for (const auto& peer : reply.device.peers) out += print_peer(peer);
    return out + "errno=" + std::to_string(reply.error) + "\n\n";
}

bool same(const Peer& a, const Peer& b) {
    return a.public_key == b.public_key && a.preshared_key == b.preshared_key &&
           a.endpoint == b.endpoint && a.persistent_keepalive == b.persistent_keepalive &&
           a.allowed_ips == b.allowed_ips;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        parse_set_reply(text);
    } catch (const natkit::Error&) {
    }
    UapiGetReply reply;
    try {
        reply = parse_get_reply(text);
    } catch (const natkit::Error&) {
        return 0;
    }
    for (const auto& peer : reply.device.peers) {
        if (!std::is_sorted(peer.allowed_ips.begin(), peer.allowed_ips.end())) __builtin_trap();
        if (std::adjacent_find(peer.allowed_ips.begin(), peer.allowed_ips.end()) !=
            peer.allowed_ips.end()) {
            __builtin_trap();
        }
    }
    auto again = parse_get_reply(print(reply));
    if (again.error != reply.error || again.device.peers.size() != reply.device.peers.size()) {
        __builtin_trap();
    }
    for (std::size_t i = 0; i < again.device.peers.size(); ++i) {
        if (!same(again.device.peers[i], reply.device.peers[i])) __builtin_trap();
    }
    return 0;
}
