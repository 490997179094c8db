// The `peer-set` record (see man/natkit.7 and ../shared/design/contracts.md): produced by
// peer-sync, refined by punch, consumed by wg-apply. Typed and validated here, in one place.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/ndjson.hpp"
#include "net/endpoint.hpp"
#include "net/prefix.hpp"

namespace natkit::io {

using PublicKey = std::array<std::uint8_t, 32>;

// WireGuard base64 key (44 characters, 32 bytes).
std::optional<PublicKey> parse_public_key(std::string_view text);
std::string format_public_key(const PublicKey& key);

struct PeerNat {
    std::string mapping;    // RFC 4787 words, or "unknown"
    std::string filtering;
    std::string nat_type;   // classic names
    json extra = json::object();
};

struct PeerEntry {
    std::string id;
    PublicKey public_key{};
    std::optional<net::Endpoint> endpoint;
    std::vector<net::Endpoint> candidates;
    std::vector<net::Prefix> allowed_ips;
    std::optional<int> persistent_keepalive;  // seconds, 0..65535
    std::optional<PeerNat> nat;
    std::optional<std::string> path;          // direct | punched | relay | unreachable
    std::optional<std::string> updated_at;    // RFC 3339 UTC
    json extra = json::object();              // unknown fields, passed through
};

struct PeerSet {
    std::string network;
    std::optional<std::string> generated_at;
    bool stale = false;                       // served from a cache (peer-sync --allow-stale)
    std::vector<PeerEntry> peers;
    json extra = json::object();
};

// "2026-11-23T17:00:00Z", optionally with a fraction of a second; UTC ('Z') only.
bool is_rfc3339_utc(std::string_view text);

json to_json(const PeerSet& set);
// Validates everything (field types, keys, endpoints, CIDRs, duplicate ids and keys) and
// throws data_error naming the line and the field path, e.g. "peers[3].public_key".
PeerSet peer_set_from_json(const InputRecord& record, const std::string& source);

}  // namespace natkit::io
