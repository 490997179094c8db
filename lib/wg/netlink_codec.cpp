#include "wg/netlink_codec.hpp"

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/if.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "io/error.hpp"

namespace natkit::wg::netlink {

namespace {

using Bytes = std::span<const std::uint8_t>;

Error malformed(const std::string& what) {
    return {ExitCode::failure, "malformed WireGuard netlink message from the kernel: " + what};
}

// ---- building -------------------------------------------------------------------------

nlmsghdr* start_message(Message& buffer, std::uint16_t type, std::uint16_t flags,
                        std::uint8_t command, std::uint8_t version) {
    std::fill(buffer.begin(), buffer.end(), 0);
    nlmsghdr* header = mnl_nlmsg_put_header(buffer.data());
    header->nlmsg_type = type;
    header->nlmsg_flags = flags;
    auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(header, sizeof(genlmsghdr)));
    genl->cmd = command;
    genl->version = version;
    return header;
}

void finish_message(Message& buffer, const nlmsghdr* header) {
    buffer.resize(header->nlmsg_len);
}

void check_interface(const std::string& interface) {
    if (interface.empty() || interface.size() >= IFNAMSIZ) {
        throw Error(ExitCode::usage, "interface name '" + interface + "' is not valid (1 to " +
                                         std::to_string(IFNAMSIZ - 1) + " characters)");
    }
}

nlmsghdr* start_device_message(Message& buffer, const std::string& interface,
                               std::uint16_t family_id, std::uint16_t flags, std::uint8_t command) {
    nlmsghdr* header = start_message(buffer, family_id, flags, command, WG_GENL_VERSION);
    mnl_attr_put_strz(header, WGDEVICE_A_IFNAME, interface.c_str());
    return header;
}

// Where encode_set_device is in the change: peer index, allowed-IP index within it.
struct Cursor {
    std::size_t peer = 0;
    std::size_t allowed_ip = 0;
    bool first_part = true;

    void next_peer() {
        ++peer;
        allowed_ip = 0;
        first_part = true;
    }
};

std::uint32_t peer_flags(const PeerChange& change, bool first_part) {
    if (!first_part) return WGPEER_F_UPDATE_ONLY;
    if (change.remove) return WGPEER_F_REMOVE_ME;
    std::uint32_t flags = 0;
    if (change.update_only) flags |= WGPEER_F_UPDATE_ONLY;
    if (change.replace_allowed_ips) flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
    return flags;
}

bool put_first_part_fields(nlmsghdr* header, std::size_t limit, const PeerChange& change) {
    if (change.remove) return true;
    if (change.preshared_key) {
        const Key key = change.preshared_key->value_or(Key{});
        if (!mnl_attr_put_check(header, limit, WGPEER_A_PRESHARED_KEY, key.size(), key.data())) {
            return false;
        }
    }
    if (change.endpoint) {
        socklen_t length = 0;
        const sockaddr_storage address = change.endpoint->to_sockaddr(length);
        if (!mnl_attr_put_check(header, limit, WGPEER_A_ENDPOINT, length, &address)) return false;
    }
    if (change.persistent_keepalive &&
        !mnl_attr_put_u16_check(header, limit, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
                                *change.persistent_keepalive)) {
        return false;
    }
    return true;
}

bool put_peer_header(nlmsghdr* header, std::size_t limit, const PeerChange& change,
                     bool first_part) {
    const std::uint32_t flags = peer_flags(change, first_part);
    return mnl_attr_put_check(header, limit, WGPEER_A_PUBLIC_KEY, change.public_key.size(),
                              change.public_key.data()) &&
           (flags == 0 || mnl_attr_put_u32_check(header, limit, WGPEER_A_FLAGS, flags)) &&
           (!first_part || put_first_part_fields(header, limit, change));
}

bool put_allowed_ip(nlmsghdr* header, std::size_t limit, const AllowedIp& prefix) {
    nlattr* nest = mnl_attr_nest_start_check(header, limit, 0);
    if (nest == nullptr) return false;
    const bool v4 = prefix.address.family == net::Family::v4;
    const auto octets = prefix.address.octets();
    if (!mnl_attr_put_u16_check(header, limit, WGALLOWEDIP_A_FAMILY, v4 ? AF_INET : AF_INET6) ||
        !mnl_attr_put_check(header, limit, WGALLOWEDIP_A_IPADDR, octets.size(), octets.data()) ||
        !mnl_attr_put_u8_check(header, limit, WGALLOWEDIP_A_CIDR_MASK, prefix.length)) {
        mnl_attr_nest_cancel(header, nest);
        return false;
    }
    mnl_attr_nest_end(header, nest);
    return true;
}

// Puts as much of the cursor's peer as fits. True when the peer is complete; false when the
// message is full (the cursor then says where the next message continues). `progressed` is
// set when anything of the peer went in.
bool put_peer(nlmsghdr* header, std::size_t limit, const PeerChange& change, Cursor& cursor,
              bool& progressed) {
    nlattr* peer_nest = mnl_attr_nest_start_check(header, limit, 0);
    if (peer_nest == nullptr) return false;
    if (!put_peer_header(header, limit, change, cursor.first_part)) {
        mnl_attr_nest_cancel(header, peer_nest);
        return false;
    }
    progressed = true;
    cursor.first_part = false;
    const auto& prefixes = change.allowed_ips;
    if (change.remove || cursor.allowed_ip >= prefixes.size()) {
        mnl_attr_nest_end(header, peer_nest);
        return true;
    }
    nlattr* ips_nest = mnl_attr_nest_start_check(header, limit, WGPEER_A_ALLOWEDIPS);
    if (ips_nest != nullptr) {
        while (cursor.allowed_ip < prefixes.size() &&
               put_allowed_ip(header, limit, prefixes[cursor.allowed_ip])) {
            ++cursor.allowed_ip;
        }
        mnl_attr_nest_end(header, ips_nest);
    }
    mnl_attr_nest_end(header, peer_nest);
    return cursor.allowed_ip == prefixes.size();
}

// ---- parsing ----------------------------------------------------------------------------

// Calls f(type, payload) for each well-formed attribute in `bytes`.
template <typename F>
void for_each_attribute(Bytes bytes, F&& f) {
    if (bytes.size() < sizeof(nlattr)) return;
    const auto* attr = reinterpret_cast<const nlattr*>(bytes.data());
    int remaining = static_cast<int>(bytes.size());
    while (mnl_attr_ok(attr, remaining)) {
        const auto* payload = static_cast<const std::uint8_t*>(mnl_attr_get_payload(attr));
        f(mnl_attr_get_type(attr), Bytes{payload, mnl_attr_get_payload_len(attr)});
        const int step = static_cast<int>(MNL_ALIGN(attr->nla_len));
        if (step >= remaining) return;
        remaining -= step;
        attr = mnl_attr_next(attr);
    }
}

template <typename T>
T read_scalar(Bytes payload, const char* what) {
    if (payload.size() < sizeof(T)) throw malformed(std::string(what) + " is too short");
    T value{};
    std::memcpy(&value, payload.data(), sizeof(T));
    return value;
}

Key read_key(Bytes payload, const char* what) {
    if (payload.size() != kKeySize) throw malformed(std::string(what) + " is not 32 bytes");
    Key key{};
    std::copy(payload.begin(), payload.end(), key.begin());
    return key;
}

net::Endpoint read_endpoint(Bytes payload) {
    sockaddr_storage storage{};
    if (payload.size() > sizeof(storage)) throw malformed("endpoint is too long");
    std::memcpy(&storage, payload.data(), payload.size());
    auto endpoint = net::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage),
                                                 static_cast<socklen_t>(payload.size()));
    if (!endpoint) throw malformed("endpoint is not an IPv4 or IPv6 socket address");
    return *endpoint;
}

std::optional<SystemTime> read_handshake(Bytes payload) {
    if (payload.size() != sizeof(__kernel_timespec)) {
        throw malformed("last handshake time has the wrong size");
    }
    const auto time = read_scalar<__kernel_timespec>(payload, "last handshake time");
    if (time.tv_sec == 0 && time.tv_nsec == 0) return std::nullopt;
    constexpr long long kMaxSeconds = 1LL << 33;  // year 2242; keeps nanoseconds in range
    if (time.tv_sec < 0 || time.tv_sec > kMaxSeconds || time.tv_nsec < 0 ||
        time.tv_nsec >= 1'000'000'000) {
        throw malformed("last handshake time is out of range");
    }
    const auto since_epoch =
        std::chrono::seconds(time.tv_sec) + std::chrono::nanoseconds(time.tv_nsec);
    return SystemTime(std::chrono::duration_cast<SystemTime::duration>(since_epoch));
}

void clear_host_bits(AllowedIp& prefix) {
    const auto octets = prefix.address.octets();
    for (std::size_t i = 0; i < octets.size(); ++i) {
        const std::size_t first_bit = i * 8;
        std::uint8_t keep = 0xff;
        if (first_bit >= prefix.length) {
            keep = 0;
        } else if (prefix.length - first_bit < 8) {
            keep = static_cast<std::uint8_t>(0xff << (8 - (prefix.length - first_bit)));
        }
        prefix.address.bytes[i] &= keep;
    }
}

AllowedIp read_allowed_ip(Bytes bytes) {
    std::optional<std::uint16_t> family;
    std::optional<Bytes> address;
    std::optional<std::uint8_t> length;
    for_each_attribute(bytes, [&](std::uint16_t type, Bytes payload) {
        if (type == WGALLOWEDIP_A_FAMILY) family = read_scalar<std::uint16_t>(payload, "family");
        if (type == WGALLOWEDIP_A_IPADDR) address = payload;
        if (type == WGALLOWEDIP_A_CIDR_MASK) length = read_scalar<std::uint8_t>(payload, "cidr");
    });
    if (!family || !address || !length) throw malformed("allowed IP without family/addr/cidr");
    AllowedIp prefix;
    if (*family == AF_INET && address->size() == 4 && *length <= 32) {
        prefix.address = net::IpAddress::v4(address->first<4>());
    } else if (*family == AF_INET6 && address->size() == 16 && *length <= 128) {
        prefix.address = net::IpAddress::v6(address->first<16>());
    } else {
        throw malformed("allowed IP with a bad family, address size or cidr");
    }
    prefix.length = *length;
    clear_host_bits(prefix);
    return prefix;
}

Peer read_peer(Bytes bytes) {
    Peer peer;
    bool has_key = false;
    for_each_attribute(bytes, [&](std::uint16_t type, Bytes payload) {
        switch (type) {
            case WGPEER_A_PUBLIC_KEY:
                peer.public_key = read_key(payload, "peer public key");
                has_key = true;
                break;
            case WGPEER_A_PRESHARED_KEY: {
                const Key key = read_key(payload, "preshared key");
                peer.preshared_key = is_zero(key) ? std::nullopt : std::optional<Key>(key);
                break;
            }
            case WGPEER_A_ENDPOINT:
                peer.endpoint = read_endpoint(payload);
                break;
            case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
                peer.persistent_keepalive = read_scalar<std::uint16_t>(payload, "keepalive");
                break;
            case WGPEER_A_LAST_HANDSHAKE_TIME:
                peer.last_handshake = read_handshake(payload);
                break;
            case WGPEER_A_RX_BYTES:
                peer.rx_bytes = read_scalar<std::uint64_t>(payload, "rx bytes");
                break;
            case WGPEER_A_TX_BYTES:
                peer.tx_bytes = read_scalar<std::uint64_t>(payload, "tx bytes");
                break;
            case WGPEER_A_ALLOWEDIPS:
                for_each_attribute(payload, [&](std::uint16_t, Bytes ip) {
                    peer.allowed_ips.push_back(read_allowed_ip(ip));
                });
                break;
            default:
                break;
        }
    });
    if (!has_key) throw malformed("peer without a public key");
    return peer;
}

// The genetlink attributes of a message, after checking its headers against its size.
Bytes genl_attributes(Bytes message) {
    if (message.size() < MNL_NLMSG_HDRLEN + GENL_HDRLEN) throw malformed("message is truncated");
    nlmsghdr header{};
    std::memcpy(&header, message.data(), sizeof(header));
    if (header.nlmsg_len < MNL_NLMSG_HDRLEN + GENL_HDRLEN || header.nlmsg_len > message.size()) {
        throw malformed("message length does not match its header");
    }
    return message.subspan(MNL_NLMSG_HDRLEN + GENL_HDRLEN,
                           header.nlmsg_len - MNL_NLMSG_HDRLEN - GENL_HDRLEN);
}

// Attribute parsing reads nlattr headers in place: give it 4-byte aligned bytes.
template <typename F>
auto with_aligned(Bytes bytes, F&& f) {
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(nlmsghdr) == 0) return f(bytes);
    std::vector<std::uint32_t> copy((bytes.size() + 3) / 4);
    std::memcpy(copy.data(), bytes.data(), bytes.size());
    return f(Bytes{reinterpret_cast<const std::uint8_t*>(copy.data()), bytes.size()});
}

}  // namespace

Message encode_get_family(std::string_view family_name) {
    Message buffer(MNL_NLMSG_HDRLEN + GENL_HDRLEN + MNL_ATTR_HDRLEN + MNL_ALIGN(GENL_NAMSIZ));
    if (family_name.size() >= GENL_NAMSIZ) throw std::invalid_argument("family name too long");
    nlmsghdr* header =
        start_message(buffer, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
    const std::string name(family_name);
    mnl_attr_put_strz(header, CTRL_ATTR_FAMILY_NAME, name.c_str());
    finish_message(buffer, header);
    return buffer;
}

std::optional<std::uint16_t> parse_family_id(std::span<const std::uint8_t> message) {
    try {
        return with_aligned(message, [](Bytes aligned) {
            std::optional<std::uint16_t> id;
            for_each_attribute(genl_attributes(aligned), [&](std::uint16_t type, Bytes payload) {
                if (type == CTRL_ATTR_FAMILY_ID && payload.size() >= 2) {
                    id = read_scalar<std::uint16_t>(payload, "family id");
                }
            });
            return id;
        });
    } catch (const Error&) {
        return std::nullopt;
    }
}

Message encode_get_device(const std::string& interface, std::uint16_t family_id) {
    check_interface(interface);
    Message buffer(MNL_NLMSG_HDRLEN + GENL_HDRLEN + MNL_ATTR_HDRLEN + MNL_ALIGN(IFNAMSIZ));
    nlmsghdr* header = start_device_message(
        buffer, interface, family_id, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, WG_CMD_GET_DEVICE);
    finish_message(buffer, header);
    return buffer;
}

std::vector<Message> encode_set_device(const std::string& interface, std::uint16_t family_id,
                                       const DeviceChange& change, std::size_t message_size) {
    check_interface(interface);
    if (message_size < kMinMessageSize) {
        throw std::invalid_argument("netlink message size below kMinMessageSize");
    }
    std::vector<Message> messages;
    Cursor cursor;
    while (cursor.peer < change.peers.size()) {
        Message buffer(message_size);
        nlmsghdr* header = start_device_message(buffer, interface, family_id,
                                                NLM_F_REQUEST | NLM_F_ACK, WG_CMD_SET_DEVICE);
        nlattr* peers = mnl_attr_nest_start(header, WGDEVICE_A_PEERS);
        bool progressed = false;
        while (cursor.peer < change.peers.size() &&
               put_peer(header, message_size, change.peers[cursor.peer], cursor, progressed)) {
            cursor.next_peer();
        }
        if (!progressed) throw std::logic_error("netlink: a peer part does not fit a message");
        mnl_attr_nest_end(header, peers);
        finish_message(buffer, header);
        messages.push_back(std::move(buffer));
    }
    return messages;
}

void DumpMerger::add(std::span<const std::uint8_t> message) {
    with_aligned(message, [this](Bytes aligned) {
        for_each_attribute(genl_attributes(aligned), [this](std::uint16_t type, Bytes payload) {
            switch (type) {
                case WGDEVICE_A_IFNAME: {
                    const auto* text = reinterpret_cast<const char*>(payload.data());
                    device_.name.assign(text, strnlen(text, payload.size()));
                    break;
                }
                case WGDEVICE_A_PUBLIC_KEY:
                    device_.public_key = read_key(payload, "device public key");
                    break;
                case WGDEVICE_A_LISTEN_PORT:
                    device_.listen_port = read_scalar<std::uint16_t>(payload, "listen port");
                    break;
                case WGDEVICE_A_FWMARK:
                    device_.fwmark = read_scalar<std::uint32_t>(payload, "fwmark");
                    break;
                case WGDEVICE_A_PEERS:
                    for_each_attribute(
                        payload, [this](std::uint16_t, Bytes peer) { add_peer(read_peer(peer)); });
                    break;
                default:
                    break;
            }
        });
    });
}

void DumpMerger::add_peer(Peer&& peer) {
    if (!device_.peers.empty() && device_.peers.back().public_key == peer.public_key) {
        auto& into = device_.peers.back().allowed_ips;
        into.insert(into.end(), peer.allowed_ips.begin(), peer.allowed_ips.end());
        return;
    }
    device_.peers.push_back(std::move(peer));
}

Device DumpMerger::finish() && {
    for (auto& peer : device_.peers) {
        auto& ips = peer.allowed_ips;
        std::sort(ips.begin(), ips.end());
        ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
    }
    return std::move(device_);
}

Device parse_dump(std::span<const std::uint8_t> bytes) {
    DumpMerger merger;
    while (bytes.size() >= sizeof(nlmsghdr)) {
        nlmsghdr header{};
        std::memcpy(&header, bytes.data(), sizeof(header));
        if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > bytes.size()) {
            throw malformed("message length does not match its header");
        }
        if (header.nlmsg_type == NLMSG_DONE) break;
        if (header.nlmsg_type == NLMSG_ERROR) throw malformed("unexpected error message");
        if (header.nlmsg_type >= NLMSG_MIN_TYPE) merger.add(bytes.first(header.nlmsg_len));
        bytes = bytes.subspan(std::min<std::size_t>(MNL_ALIGN(header.nlmsg_len), bytes.size()));
    }
    return std::move(merger).finish();
}

}  // namespace natkit::wg::netlink
