// A node's record in the control plane (`peer-sync.node`): what `report` publishes and what
// `fetch` turns into the entries of a `peer-set`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/clock.hpp"
#include "io/log.hpp"
#include "io/peer_set.hpp"

namespace natkit::control {

inline constexpr const char* kNodeKind = "peer-sync.node";

struct NodeRecord {
    std::string network;
    std::string id;
    io::PublicKey public_key{};
    std::uint16_t listen_port = 0;
    std::vector<net::Prefix> allowed_ips;   // overlay addresses
    std::optional<net::Endpoint> endpoint;  // public endpoint (from the nat.report)
    std::vector<net::Endpoint> candidates;  // every endpoint worth trying, best first
    std::optional<io::PeerNat> nat;
    std::optional<int> persistent_keepalive;
    std::string updated_at;               // RFC 3339 UTC
    std::string version;                  // of the peer-sync that wrote it
    io::json extra = io::json::object();  // unknown fields, kept
};

// Names that are safe as file names and etcd key parts: 1..64 of [A-Za-z0-9._-], no leading '.'.
bool is_valid_name(std::string_view name);

io::json to_json(const NodeRecord& node);
// Validates every field; throws natkit::data_error naming source, line and field.
NodeRecord node_record_from_json(const io::InputRecord& record, const std::string& source);
// A stored record's text; nullopt (and a warning naming `where`) when it fails validation.
std::optional<NodeRecord> parse_stored_node(std::string_view text, const std::string& where,
                                            io::Log& log);

io::PeerEntry to_peer_entry(const NodeRecord& node);

struct PeerSetQuery {
    std::string network;
    std::string self_id;  // left out of the set
    SystemTime now;
    std::optional<std::chrono::seconds> ttl;  // records older than this are expired
};

bool is_expired(const NodeRecord& node, const PeerSetQuery& query);
// The live peers, sorted by id: self, expired records, records of another network and second
// holders of a public key are left out (with a warning for the last two).
io::PeerSet build_peer_set(const std::vector<NodeRecord>& nodes, const PeerSetQuery& query,
                           io::Log& log);
// When the next live record expires (to wake a watch), nullopt when none can.
std::optional<SystemTime> next_expiry(const std::vector<NodeRecord>& nodes,
                                      const PeerSetQuery& query);

}  // namespace natkit::control
