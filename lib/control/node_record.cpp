#include "control/node_record.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "io/error.hpp"

namespace natkit::control {

namespace {

constexpr std::array<std::string_view, 12> kNodeFields = {
    "kind",     "network",    "id",  "public_key",           "listen_port", "allowed_ips",
    "endpoint", "candidates", "nat", "persistent_keepalive", "updated_at",  "version"};

struct Fields {
    const io::InputRecord& r;
    const std::string& source;

    [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
        throw data_error(source, r.line, field, problem);
    }

    std::string name(const std::string& field) const {
        auto value = io::require_string(r, source, field);
        if (!is_valid_name(value)) {
            fail(field, "expected 1 to 64 of A-Z a-z 0-9 . _ - (not starting with '.'), got " +
                            io::describe(io::json(value)));
        }
        return value;
    }

    const io::json* array(const std::string& field) const {
        const io::json* value = io::find_field(r, source, field);
        if (!value || value->is_null()) return nullptr;
        if (!value->is_array()) fail(field, "expected an array, got " + io::describe(*value));
        return value;
    }

    std::vector<net::Endpoint> endpoints(const std::string& field) const {
        std::vector<net::Endpoint> result;
        if (const auto* list = array(field)) {
            for (std::size_t i = 0; i < list->size(); ++i) {
                result.push_back(
                    io::require_endpoint(r, source, field + "[" + std::to_string(i) + "]"));
            }
        }
        return result;
    }

    std::vector<net::Prefix> prefixes(const std::string& field) const {
        std::vector<net::Prefix> result;
        if (const auto* list = array(field)) {
            for (std::size_t i = 0; i < list->size(); ++i) {
                const auto& item = (*list)[i];
                auto prefix = item.is_string()
                                  ? net::Prefix::parse(item.get_ref<const std::string&>())
                                  : std::nullopt;
                if (!prefix) {
                    fail(field + "[" + std::to_string(i) + "]",
                         "expected a CIDR prefix like 10.66.0.2/32, got " + io::describe(item));
                }
                result.push_back(*prefix);
            }
        }
        return result;
    }

    std::int64_t integer(const std::string& field, std::int64_t low, std::int64_t high) const {
        auto value = io::optional_integer(r, source, field);
        if (!value) fail(field, "missing");
        if (*value < low || *value > high) {
            fail(field, "expected " + std::to_string(low) + " to " + std::to_string(high) +
                            ", got " + std::to_string(*value));
        }
        return *value;
    }
};

// The nat object is validated as a peer-set's is: through a one-peer peer-set.
std::optional<io::PeerNat> nat_of(const io::InputRecord& r, const std::string& source) {
    const io::json* nat = io::find_field(r, source, "nat");
    if (!nat || nat->is_null()) return std::nullopt;
    io::json set = {
        {"kind", "peer-set"},
        {"network", "n"},
        {"peers", {{{"id", "n"}, {"public_key", r.value.at("public_key")}, {"nat", *nat}}}}};
    try {
        return io::peer_set_from_json(io::InputRecord{set, r.line}, source).peers[0].nat;
    } catch (const Error& e) {
        std::string message = e.what();
        auto at = message.find("peers[0].");
        if (at != std::string::npos) message.erase(at, 9);
        throw Error(ExitCode::data, message);
    }
}

}  // namespace

bool is_valid_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name[0] == '.') return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

io::json to_json(const NodeRecord& n) {
    io::json j = io::json::object();
    j["kind"] = kNodeKind;
    j["network"] = n.network;
    j["id"] = n.id;
    j["public_key"] = io::format_public_key(n.public_key);
    j["listen_port"] = n.listen_port;
    j["allowed_ips"] = io::json::array();
    for (const auto& a : n.allowed_ips) j["allowed_ips"].push_back(a.to_string());
    if (n.endpoint) j["endpoint"] = n.endpoint->to_string();
    j["candidates"] = io::json::array();
    for (const auto& c : n.candidates) j["candidates"].push_back(c.to_string());
    if (n.nat) {
        io::json nat = {{"mapping", n.nat->mapping},
                        {"filtering", n.nat->filtering},
                        {"nat_type", n.nat->nat_type}};
        for (const auto& [key, value] : n.nat->extra.items()) {
            if (!nat.contains(key)) nat[key] = value;
        }
        j["nat"] = nat;
    }
    if (n.persistent_keepalive) j["persistent_keepalive"] = *n.persistent_keepalive;
    j["updated_at"] = n.updated_at;
    j["version"] = n.version;
    for (const auto& [key, value] : n.extra.items()) {
        if (!j.contains(key)) j[key] = value;
    }
    return j;
}

NodeRecord node_record_from_json(const io::InputRecord& r, const std::string& source) {
    Fields f{r, source};
    if (io::require_string(r, source, "kind") != kNodeKind) {
        f.fail("kind", std::string("expected \"") + kNodeKind + "\"");
    }
    NodeRecord n;
    n.network = f.name("network");
    n.id = f.name("id");
    auto key_text = io::require_string(r, source, "public_key");
    auto key = io::parse_public_key(key_text);
    if (!key) f.fail("public_key", "expected a WireGuard public key (base64, 44 characters)");
    n.public_key = *key;
    n.listen_port = static_cast<std::uint16_t>(f.integer("listen_port", 0, 65535));
    n.allowed_ips = f.prefixes("allowed_ips");
    n.endpoint = io::optional_endpoint(r, source, "endpoint");
    n.candidates = f.endpoints("candidates");
    n.nat = nat_of(r, source);
    if (io::find_field(r, source, "persistent_keepalive")) {
        n.persistent_keepalive = static_cast<int>(f.integer("persistent_keepalive", 0, 65535));
    }
    n.updated_at = io::require_string(r, source, "updated_at");
    if (!parse_time(n.updated_at)) {
        f.fail("updated_at", "expected an RFC 3339 UTC time like 2026-11-23T17:00:00Z");
    }
    n.version = io::optional_string(r, source, "version").value_or("");
    for (const auto& [k, value] : r.value.items()) {
        if (std::find(kNodeFields.begin(), kNodeFields.end(), k) == kNodeFields.end()) {
            n.extra[k] = value;
        }
    }
    return n;
}

std::optional<NodeRecord> parse_stored_node(std::string_view text, const std::string& where,
                                            io::Log& log) {
    auto value = io::json::parse(text, nullptr, false);
    if (value.is_discarded() || !value.is_object()) {
        log.warning("skipping " + where + ": not a JSON object");
        return std::nullopt;
    }
    try {
        return node_record_from_json(io::InputRecord{std::move(value), 1}, where);
    } catch (const Error& e) {
        log.warning(std::string("skipping invalid record: ") + e.what());
        return std::nullopt;
    }
}

io::PeerEntry to_peer_entry(const NodeRecord& n) {
    io::PeerEntry p;
    p.id = n.id;
    p.public_key = n.public_key;
    p.endpoint = n.endpoint;
    if (!p.endpoint && !n.candidates.empty()) p.endpoint = n.candidates.front();
    p.candidates = n.candidates;
    p.allowed_ips = n.allowed_ips;
    p.persistent_keepalive = n.persistent_keepalive;
    p.nat = n.nat;
    p.updated_at = n.updated_at;
    return p;
}

bool is_expired(const NodeRecord& node, const PeerSetQuery& query) {
    if (!query.ttl) return false;
    auto updated = parse_time(node.updated_at);
    return !updated || *updated + *query.ttl <= query.now;
}

io::PeerSet build_peer_set(const std::vector<NodeRecord>& nodes, const PeerSetQuery& query,
                           io::Log& log) {
    std::vector<const NodeRecord*> live;
    for (const auto& node : nodes) {
        if (node.id == query.self_id || is_expired(node, query)) continue;
        if (node.network != query.network) {
            log.warning("skipping record of node '" + node.id + "': it belongs to network '" +
                        node.network + "', not '" + query.network + "'");
            continue;
        }
        live.push_back(&node);
    }
    std::sort(live.begin(), live.end(),
              [](const NodeRecord* a, const NodeRecord* b) { return a->id < b->id; });
    io::PeerSet set;
    set.network = query.network;
    set.generated_at = format_time(query.now);
    std::set<std::string> ids;
    std::map<io::PublicKey, std::string> keys;
    for (const auto* node : live) {
        if (!ids.insert(node->id).second) continue;
        auto [holder, fresh] = keys.emplace(node->public_key, node->id);
        if (!fresh) {
            log.warning("skipping node '" + node->id + "': node '" + holder->second +
                        "' has the same public key");
            continue;
        }
        set.peers.push_back(to_peer_entry(*node));
    }
    return set;
}

std::optional<SystemTime> next_expiry(const std::vector<NodeRecord>& nodes,
                                      const PeerSetQuery& query) {
    if (!query.ttl) return std::nullopt;
    std::optional<SystemTime> next;
    for (const auto& node : nodes) {
        auto updated = parse_time(node.updated_at);
        if (!updated || node.id == query.self_id) continue;
        auto expiry = *updated + *query.ttl;
        if (expiry > query.now && (!next || expiry < *next)) next = expiry;
    }
    return next;
}

}  // namespace natkit::control
