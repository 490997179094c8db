#include "wg/netlink_codec.hpp"

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <random>

#include "io/error.hpp"

using namespace natkit;
using namespace natkit::wg;
using netlink::Message;

namespace {

constexpr std::uint16_t kFamily = 0x21;

Key key_of(std::uint32_t n) {
    Key key{};
    std::memcpy(key.data(), &n, sizeof(n));
    key[31] = 0x5a;
    return key;
}

AllowedIp prefix(const char* text) {
    return *net::Prefix::parse(text);
}

// `count` distinct prefixes, IPv4 and IPv6 mixed, sorted.
std::vector<AllowedIp> prefixes(std::uint32_t seed, std::size_t count) {
    std::vector<AllowedIp> out;
    for (std::size_t i = 0; i < count; ++i) {
        const auto n = static_cast<std::uint32_t>(seed * 100000 + i);
        AllowedIp p;
        if (i % 3 == 2) {
            std::array<std::uint8_t, 16> bytes{0xfd, 0, 0, 0, 0, 0, 0, 0};
            std::memcpy(bytes.data() + 8, &n, sizeof(n));
            p = {net::IpAddress::v6(bytes), 128};
        } else {
            p = {net::IpAddress::v4(0x0a000000u + n), 32};
        }
        out.push_back(p);
    }
    std::sort(out.begin(), out.end());
    return out;
}

PeerChange full_peer(std::uint32_t n, std::size_t ip_count) {
    PeerChange change;
    change.public_key = key_of(n);
    change.preshared_key = std::optional<Key>(key_of(n + 1000000));
    change.endpoint = n % 2 ? *net::Endpoint::parse("[2001:db8::7]:51820")
                            : *net::Endpoint::parse("203.0.113.7:" + std::to_string(1000 + n));
    change.persistent_keepalive = static_cast<std::uint16_t>(n % 60);
    change.replace_allowed_ips = true;
    change.allowed_ips = prefixes(n, ip_count);
    return change;
}

std::vector<std::uint8_t> concatenate(const std::vector<Message>& messages) {
    std::vector<std::uint8_t> out;
    for (const auto& m : messages) out.insert(out.end(), m.begin(), m.end());
    return out;
}

// What one message says about one peer, read independently of the code under test.
struct PeerPart {
    Key key{};
    std::uint32_t flags = 0;
    bool has_preshared_key = false, has_endpoint = false, has_keepalive = false;
    std::size_t allowed_ips = 0;
};

std::vector<const nlattr*> children(const void* start, std::size_t length) {
    std::vector<const nlattr*> out;
    auto* attr = static_cast<const nlattr*>(start);
    int remaining = static_cast<int>(length);
    while (mnl_attr_ok(attr, remaining)) {
        out.push_back(attr);
        remaining -= static_cast<int>(MNL_ALIGN(attr->nla_len));
        attr = mnl_attr_next(attr);
    }
    return out;
}

std::vector<const nlattr*> children(const nlattr* nest) {
    return children(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest));
}

std::vector<PeerPart> peer_parts(const Message& message) {
    auto* header = reinterpret_cast<const nlmsghdr*>(message.data());
    REQUIRE(header->nlmsg_len == message.size());
    REQUIRE(header->nlmsg_type == kFamily);
    REQUIRE(header->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK));
    auto* genl = static_cast<const genlmsghdr*>(mnl_nlmsg_get_payload(header));
    REQUIRE(genl->cmd == WG_CMD_SET_DEVICE);
    std::vector<PeerPart> parts;
    bool has_name = false;
    for (const nlattr* attr : children(mnl_nlmsg_get_payload_offset(header, GENL_HDRLEN),
                                       header->nlmsg_len - MNL_NLMSG_HDRLEN - GENL_HDRLEN)) {
        if (mnl_attr_get_type(attr) == WGDEVICE_A_IFNAME) {
            has_name = std::string(mnl_attr_get_str(attr)) == "wg0";
        }
        if (mnl_attr_get_type(attr) != WGDEVICE_A_PEERS) continue;
        for (const nlattr* peer : children(attr)) {
            PeerPart part;
            for (const nlattr* field : children(peer)) {
                switch (mnl_attr_get_type(field)) {
                    case WGPEER_A_PUBLIC_KEY:
                        std::memcpy(part.key.data(), mnl_attr_get_payload(field), kKeySize);
                        break;
                    case WGPEER_A_FLAGS:
                        part.flags = mnl_attr_get_u32(field);
                        break;
                    case WGPEER_A_PRESHARED_KEY:
                        part.has_preshared_key = true;
                        break;
                    case WGPEER_A_ENDPOINT:
                        part.has_endpoint = true;
                        break;
                    case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
                        part.has_keepalive = true;
                        break;
                    case WGPEER_A_ALLOWEDIPS:
                        part.allowed_ips = children(field).size();
                        break;
                    default:
                        FAIL("unexpected peer attribute");
                }
            }
            parts.push_back(part);
        }
    }
    REQUIRE(has_name);
    return parts;
}

void require_same_peers(const std::vector<PeerChange>& sent, const Device& read) {
    REQUIRE(read.peers.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const Peer& peer = read.peers[i];
        CHECK(peer.public_key == sent[i].public_key);
        CHECK(peer.preshared_key == sent[i].preshared_key.value_or(std::nullopt));
        CHECK(peer.endpoint == sent[i].endpoint);
        CHECK(peer.persistent_keepalive == sent[i].persistent_keepalive.value_or(0));
        CHECK(peer.allowed_ips == sent[i].allowed_ips);
    }
}

}  // namespace

TEST_CASE("netlink: a small change is one SET_DEVICE message that reads back the same") {
    DeviceChange change;
    for (std::uint32_t n = 0; n < 5; ++n) change.peers.push_back(full_peer(n, 3));
    const auto messages = netlink::encode_set_device("wg0", kFamily, change);
    REQUIRE(messages.size() == 1);
    const auto parts = peer_parts(messages[0]);
    REQUIRE(parts.size() == 5);
    CHECK(parts[0].flags == WGPEER_F_REPLACE_ALLOWEDIPS);
    require_same_peers(change.peers, netlink::parse_dump(messages[0]));
    CHECK(netlink::parse_dump(messages[0]).name == "wg0");
}

TEST_CASE("netlink: an empty change is no message") {
    CHECK(netlink::encode_set_device("wg0", kFamily, {}).empty());
}

TEST_CASE("netlink: a peer with many allowed IPs is split as <linux/wireguard.h> prescribes") {
    const std::size_t size = GENERATE(as<std::size_t>{}, 512, 1000, 4096, 8192);
    DeviceChange change;
    change.peers.push_back(full_peer(1, 2));
    change.peers.push_back(full_peer(2, 1000));
    change.peers.push_back(full_peer(3, 5));
    const auto messages = netlink::encode_set_device("wg0", kFamily, change, size);
    REQUIRE(messages.size() > 1);

    std::vector<PeerPart> parts;
    for (const auto& message : messages) {
        CHECK(message.size() <= size);
        const auto in_message = peer_parts(message);
        REQUIRE_FALSE(in_message.empty());
        parts.insert(parts.end(), in_message.begin(), in_message.end());
    }
    std::map<Key, std::size_t> ips_per_peer;
    for (const auto& part : parts) {
        const bool first = !ips_per_peer.contains(part.key);
        ips_per_peer[part.key] += part.allowed_ips;
        if (first) {
            CHECK(part.flags == WGPEER_F_REPLACE_ALLOWEDIPS);
            CHECK((part.has_preshared_key && part.has_endpoint && part.has_keepalive));
        } else {
            CHECK(part.flags == WGPEER_F_UPDATE_ONLY);
            CHECK_FALSE((part.has_preshared_key || part.has_endpoint || part.has_keepalive));
        }
    }
    CHECK(ips_per_peer.size() == 3);
    const std::size_t big_ips = ips_per_peer[key_of(2)];
    CHECK(big_ips == 1000);
    require_same_peers(change.peers, netlink::parse_dump(concatenate(messages)));
}

TEST_CASE("netlink: peers are packed into as few messages as fit") {
    const std::size_t size = GENERATE(as<std::size_t>{}, 512, 2048, 8192);
    DeviceChange change;
    std::mt19937 random(7);
    for (std::uint32_t n = 0; n < 400; ++n) change.peers.push_back(full_peer(n, random() % 40));
    const auto messages = netlink::encode_set_device("wg0", kFamily, change, size);
    // Every message but the last is full: the next item (one allowed IP, or a peer's first
    // part of at most ~120 bytes) did not fit.
    for (std::size_t i = 0; i + 1 < messages.size(); ++i) CHECK(messages[i].size() > size - 128);
    CHECK(messages.back().size() <= size);
    require_same_peers(change.peers, netlink::parse_dump(concatenate(messages)));
}

TEST_CASE("netlink: remove sends only the key and WGPEER_F_REMOVE_ME") {
    DeviceChange change;
    PeerChange remove = full_peer(9, 50);
    remove.remove = true;
    change.peers.push_back(remove);
    const auto messages = netlink::encode_set_device("wg0", kFamily, change);
    REQUIRE(messages.size() == 1);
    const auto parts = peer_parts(messages[0]);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].key == key_of(9));
    CHECK(parts[0].flags == WGPEER_F_REMOVE_ME);
    CHECK_FALSE((parts[0].has_endpoint || parts[0].has_preshared_key || parts[0].has_keepalive));
    CHECK(parts[0].allowed_ips == 0);
}

TEST_CASE("netlink: only the fields a PeerChange sets are sent; a cleared psk is all zeros") {
    PeerChange change;
    change.public_key = key_of(4);
    change.update_only = true;
    change.preshared_key = std::optional<Key>();
    DeviceChange device_change{{change}};
    const auto messages = netlink::encode_set_device("wg0", kFamily, device_change);
    const auto parts = peer_parts(messages.at(0));
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].flags == WGPEER_F_UPDATE_ONLY);
    CHECK(parts[0].has_preshared_key);
    CHECK_FALSE((parts[0].has_endpoint || parts[0].has_keepalive || parts[0].allowed_ips));
    const Device read = netlink::parse_dump(messages[0]);
    REQUIRE(read.peers.size() == 1);
    CHECK_FALSE(read.peers[0].preshared_key.has_value());
}

TEST_CASE("netlink: bad arguments are refused") {
    CHECK_THROWS_AS(netlink::encode_get_device("a-name-too-long-x", kFamily), Error);
    CHECK_THROWS_AS(netlink::encode_get_device("", kFamily), Error);
    DeviceChange change{{full_peer(1, 1)}};
    CHECK_THROWS_AS(netlink::encode_set_device("wg0", kFamily, change, 100), std::invalid_argument);
}

TEST_CASE("netlink: GET_DEVICE request is a dump for the interface") {
    const Message message = netlink::encode_get_device("wg7", kFamily);
    auto* header = reinterpret_cast<const nlmsghdr*>(message.data());
    CHECK(header->nlmsg_len == message.size());
    CHECK(header->nlmsg_type == kFamily);
    CHECK((header->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP);
    CHECK(static_cast<const genlmsghdr*>(mnl_nlmsg_get_payload(header))->cmd == WG_CMD_GET_DEVICE);
    auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(header, GENL_HDRLEN));
    CHECK(mnl_attr_get_type(attr) == WGDEVICE_A_IFNAME);
    CHECK(std::string(mnl_attr_get_str(attr)) == "wg7");
}

namespace {

// A kernel-style dump message: device attributes (when `first`) and the given peer parts.
Message dump_message(bool first,
                     const std::vector<std::pair<std::uint32_t, std::vector<AllowedIp>>>& peers) {
    Message buffer(16384);
    nlmsghdr* header = mnl_nlmsg_put_header(buffer.data());
    header->nlmsg_type = kFamily;
    header->nlmsg_flags = NLM_F_MULTI;
    auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(header, GENL_HDRLEN));
    genl->cmd = WG_CMD_GET_DEVICE;
    mnl_attr_put_strz(header, WGDEVICE_A_IFNAME, "wg0");
    if (first) {
        const Key key = key_of(77);
        mnl_attr_put(header, WGDEVICE_A_PUBLIC_KEY, key.size(), key.data());
        mnl_attr_put_u16(header, WGDEVICE_A_LISTEN_PORT, 51820);
        mnl_attr_put_u32(header, WGDEVICE_A_FWMARK, 0x51);
    }
    nlattr* list = mnl_attr_nest_start(header, WGDEVICE_A_PEERS);
    for (const auto& [n, ips] : peers) {
        nlattr* peer = mnl_attr_nest_start(header, 0);
        const Key key = key_of(n);
        mnl_attr_put(header, WGPEER_A_PUBLIC_KEY, key.size(), key.data());
        if (first) {
            __kernel_timespec when{1700000000, 5};
            mnl_attr_put(header, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(when), &when);
            mnl_attr_put_u64(header, WGPEER_A_RX_BYTES, 1234);
            mnl_attr_put_u64(header, WGPEER_A_TX_BYTES, 5678);
        }
        nlattr* ip_list = mnl_attr_nest_start(header, WGPEER_A_ALLOWEDIPS);
        for (const auto& ip : ips) {
            nlattr* one = mnl_attr_nest_start(header, 0);
            const bool v4 = ip.address.family == net::Family::v4;
            mnl_attr_put_u16(header, WGALLOWEDIP_A_FAMILY, v4 ? AF_INET : AF_INET6);
            mnl_attr_put(header, WGALLOWEDIP_A_IPADDR, ip.address.octets().size(),
                         ip.address.octets().data());
            mnl_attr_put_u8(header, WGALLOWEDIP_A_CIDR_MASK, ip.length);
            mnl_attr_nest_end(header, one);
        }
        mnl_attr_nest_end(header, ip_list);
        mnl_attr_nest_end(header, peer);
    }
    mnl_attr_nest_end(header, list);
    buffer.resize(header->nlmsg_len);
    return buffer;
}

}  // namespace

TEST_CASE("netlink: dump parts of one peer are merged, device attributes kept") {
    const auto a = prefixes(1, 10), b = prefixes(2, 10);
    std::vector<AllowedIp> b_first(b.begin(), b.begin() + 4), b_rest(b.begin() + 4, b.end());
    netlink::DumpMerger merger;
    merger.add(dump_message(true, {{1, a}, {2, b_first}}));
    merger.add(dump_message(false, {{2, b_rest}, {3, {prefix("10.9.0.0/16")}}}));
    merger.add(dump_message(false, {{3, {prefix("fd00::/8"), prefix("10.9.0.0/16")}}}));
    const Device device = std::move(merger).finish();
    CHECK(device.name == "wg0");
    CHECK(device.public_key == key_of(77));
    CHECK(device.listen_port == 51820);
    CHECK(device.fwmark == 0x51);
    REQUIRE(device.peers.size() == 3);
    CHECK(device.peers[0].allowed_ips == a);
    CHECK(device.peers[1].allowed_ips == b);
    CHECK(device.peers[2].allowed_ips ==
          std::vector<AllowedIp>{prefix("10.9.0.0/16"), prefix("fd00::/8")});
    CHECK(device.peers[0].rx_bytes == 1234);
    CHECK(device.peers[0].tx_bytes == 5678);
    REQUIRE(device.peers[0].last_handshake.has_value());
    CHECK(std::chrono::duration_cast<std::chrono::seconds>(
              device.peers[0].last_handshake->time_since_epoch())
              .count() == 1700000000);
    CHECK_FALSE(device.peers[1].endpoint.has_value());
}

TEST_CASE("netlink: parse_dump stops at NLMSG_DONE and rejects malformed bytes") {
    auto bytes = dump_message(true, {{1, prefixes(1, 3)}});
    nlmsghdr done{};
    done.nlmsg_len = MNL_NLMSG_HDRLEN + sizeof(int);
    done.nlmsg_type = NLMSG_DONE;
    const auto* raw = reinterpret_cast<const std::uint8_t*>(&done);
    bytes.insert(bytes.end(), raw, raw + sizeof(done));
    bytes.insert(bytes.end(), 4, 0);
    const auto tail = dump_message(false, {{9, {}}});
    bytes.insert(bytes.end(), tail.begin(), tail.end());
    CHECK(netlink::parse_dump(bytes).peers.size() == 1);

    auto truncated = dump_message(true, {{1, prefixes(1, 3)}});
    truncated.resize(truncated.size() - 1);
    CHECK_THROWS_AS(netlink::parse_dump(truncated), Error);

    auto bad_cidr = dump_message(false, {{1, {prefix("10.0.0.0/8")}}});
    bad_cidr[bad_cidr.size() - 4] = 33;  // the last attribute is the CIDR mask (u8)
    CHECK_THROWS_AS(netlink::parse_dump(bad_cidr), Error);

    // Every prefix of a valid stream either parses or throws natkit::Error.
    const auto valid = dump_message(true, {{1, prefixes(1, 20)}, {2, prefixes(2, 3)}});
    for (std::size_t n = 0; n < valid.size(); ++n) {
        try {
            netlink::parse_dump({valid.data(), n});
        } catch (const Error&) {
        }
    }
}

TEST_CASE("netlink: parse_family_id reads CTRL_ATTR_FAMILY_ID") {
    Message request = netlink::encode_get_family("wireguard");
    auto* header = reinterpret_cast<nlmsghdr*>(request.data());
    CHECK(header->nlmsg_type == GENL_ID_CTRL);
    CHECK_FALSE(netlink::parse_family_id(request).has_value());
    request.resize(request.size() + 8);
    header = reinterpret_cast<nlmsghdr*>(request.data());
    mnl_attr_put_u16(header, CTRL_ATTR_FAMILY_ID, 0x1d);
    CHECK(netlink::parse_family_id(request) == std::uint16_t{0x1d});
}
