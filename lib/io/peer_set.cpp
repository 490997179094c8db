#include "io/peer_set.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <string_view>

#include "io/base64.hpp"
#include "io/error.hpp"

namespace natkit::io {

namespace {

constexpr std::string_view kPeerSet = "peer-set";
constexpr std::array<std::string_view, 5> kSetFields = {"kind", "network", "generated_at", "stale",
                                                        "peers"};
constexpr std::array<std::string_view, 9> kPeerFields = {
    "id",  "public_key", "endpoint",  "candidates", "allowed_ips", "persistent_keepalive",
    "nat", "path",       "updated_at"};
constexpr std::array<std::string_view, 3> kNatFields = {"mapping", "filtering", "nat_type"};
constexpr std::array<std::string_view, 4> kBehaviours = {
    "endpoint-independent", "address-dependent", "address-and-port-dependent", "unknown"};
constexpr std::array<std::string_view, 7> kNatTypes = {
    "open",      "full-cone",   "restricted-cone", "port-restricted-cone",
    "symmetric", "udp-blocked", "unknown"};
constexpr std::array<std::string_view, 4> kPaths = {"direct", "punched", "relay", "unreachable"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

template <std::size_t N>
json unknown_fields(const json& object, const std::array<std::string_view, N>& known) {
    json extra = json::object();
    for (const auto& [key, value] : object.items()) {
        if (!contains(known, key)) extra[key] = value;
    }
    return extra;
}

void merge_extra(json& j, const json& extra) {
    if (!extra.is_object()) return;
    for (const auto& [key, value] : extra.items()) {
        if (!j.contains(key)) j[key] = value;
    }
}

template <std::size_t N>
std::string list_of(const std::array<std::string_view, N>& names) {
    std::string list;
    for (auto name : names) list += (list.empty() ? "" : ", ") + std::string(name);
    return list;
}

struct Reader {
    const InputRecord& r;
    const std::string& source;

    [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
        throw data_error(source, r.line, field, problem);
    }

    const json& object_at(const std::string& field) const {
        const json& value = require_field(r, source, field);
        if (!value.is_object()) fail(field, "expected an object, got " + describe(value));
        return value;
    }

    const json* array_at(const std::string& field) const {
        const json* value = find_field(r, source, field);
        if (!value || value->is_null()) return nullptr;
        if (!value->is_array()) fail(field, "expected an array, got " + describe(*value));
        return value;
    }

    template <std::size_t N>
    std::optional<std::string> word(const std::string& field,
                                    const std::array<std::string_view, N>& allowed) const {
        auto value = optional_string(r, source, field);
        if (value && !contains(allowed, *value)) {
            fail(field, "expected one of " + list_of(allowed) + ", got " + describe(json(*value)));
        }
        return value;
    }

    std::optional<std::string> timestamp(const std::string& field) const {
        auto value = optional_string(r, source, field);
        if (value && !is_rfc3339_utc(*value)) {
            fail(field, "expected an RFC 3339 UTC time like 2026-11-23T17:00:00Z, got " +
                            describe(json(*value)));
        }
        return value;
    }

    PublicKey key(const std::string& field) const {
        auto text = require_string(r, source, field);
        auto key = parse_public_key(text);
        if (!key) {
            fail(field, "expected a WireGuard public key (base64, 44 characters, 32 bytes), got " +
                            describe(json(text)));
        }
        return *key;
    }

    std::vector<net::Endpoint> endpoints(const std::string& field) const {
        std::vector<net::Endpoint> result;
        const json* list = array_at(field);
        if (!list) return result;
        for (std::size_t i = 0; i < list->size(); ++i) {
            result.push_back(require_endpoint(r, source, field + "[" + std::to_string(i) + "]"));
        }
        return result;
    }

    std::vector<net::Prefix> prefixes(const std::string& field) const {
        std::vector<net::Prefix> result;
        const json* list = array_at(field);
        if (!list) return result;
        for (std::size_t i = 0; i < list->size(); ++i) {
            auto path = field + "[" + std::to_string(i) + "]";
            const json& item = (*list)[i];
            auto prefix = item.is_string() ? net::Prefix::parse(item.get_ref<const std::string&>())
                                           : std::nullopt;
            if (!prefix) {
                fail(path, "expected a CIDR prefix like 10.66.0.2/32 or fd00::2/128, got " +
                               describe(item));
            }
            result.push_back(*prefix);
        }
        return result;
    }

    std::optional<int> keepalive(const std::string& field) const {
        auto value = optional_integer(r, source, field);
        if (value && (*value < 0 || *value > 65535)) {
            fail(field, "expected seconds between 0 and 65535, got " + describe(json(*value)));
        }
        return value ? std::optional<int>(static_cast<int>(*value)) : std::nullopt;
    }

    std::optional<PeerNat> nat(const std::string& field) const {
        const json* value = find_field(r, source, field);
        if (!value || value->is_null()) return std::nullopt;
        const json& object = object_at(field);
        PeerNat nat;
        nat.mapping = word(field + ".mapping", kBehaviours).value_or("unknown");
        nat.filtering = word(field + ".filtering", kBehaviours).value_or("unknown");
        nat.nat_type = word(field + ".nat_type", kNatTypes).value_or("unknown");
        nat.extra = unknown_fields(object, kNatFields);
        return nat;
    }

    PeerEntry peer(const std::string& at) const {
        const json& object = object_at(at);
        PeerEntry p;
        p.id = require_string(r, source, at + ".id");
        if (p.id.empty()) fail(at + ".id", "must not be empty");
        p.public_key = key(at + ".public_key");
        p.endpoint = optional_endpoint(r, source, at + ".endpoint");
        p.candidates = endpoints(at + ".candidates");
        p.allowed_ips = prefixes(at + ".allowed_ips");
        p.persistent_keepalive = keepalive(at + ".persistent_keepalive");
        p.nat = nat(at + ".nat");
        p.path = word(at + ".path", kPaths);
        p.updated_at = timestamp(at + ".updated_at");
        p.extra = unknown_fields(object, kPeerFields);
        return p;
    }

    std::vector<PeerEntry> peers() const {
        std::vector<PeerEntry> result;
        const json* list = array_at("peers");
        if (!list) fail("peers", "missing; a peer-set needs a \"peers\" array (may be empty)");
        std::map<std::string, std::size_t> ids;
        std::map<PublicKey, std::size_t> keys;
        for (std::size_t i = 0; i < list->size(); ++i) {
            auto at = "peers[" + std::to_string(i) + "]";
            result.push_back(peer(at));
            const auto& p = result.back();
            if (auto [it, fresh] = ids.emplace(p.id, i); !fresh) {
                fail(at + ".id", "duplicate id " + describe(json(p.id)) + " (also peers[" +
                                     std::to_string(it->second) + "])");
            }
            if (auto [it, fresh] = keys.emplace(p.public_key, i); !fresh) {
                fail(at + ".public_key",
                     "duplicate public key (also peers[" + std::to_string(it->second) + "])");
            }
        }
        return result;
    }
};

bool digits(std::string_view text, std::size_t from, std::size_t count) {
    if (from + count > text.size()) return false;
    for (std::size_t i = from; i < from + count; ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
    }
    return true;
}

int number(std::string_view text, std::size_t from, std::size_t count) {
    int value = 0;
    for (std::size_t i = from; i < from + count; ++i) value = value * 10 + (text[i] - '0');
    return value;
}

json peer_to_json(const PeerEntry& p) {
    json j = json::object();
    j["id"] = p.id;
    j["public_key"] = format_public_key(p.public_key);
    if (p.endpoint) j["endpoint"] = p.endpoint->to_string();
    j["candidates"] = json::array();
    for (const auto& c : p.candidates) j["candidates"].push_back(c.to_string());
    j["allowed_ips"] = json::array();
    for (const auto& a : p.allowed_ips) j["allowed_ips"].push_back(a.to_string());
    if (p.persistent_keepalive) j["persistent_keepalive"] = *p.persistent_keepalive;
    if (p.nat) {
        json nat = {{"mapping", p.nat->mapping},
                    {"filtering", p.nat->filtering},
                    {"nat_type", p.nat->nat_type}};
        merge_extra(nat, p.nat->extra);
        j["nat"] = nat;
    }
    if (p.path) j["path"] = *p.path;
    if (p.updated_at) j["updated_at"] = *p.updated_at;
    merge_extra(j, p.extra);
    return j;
}

}  // namespace

bool is_rfc3339_utc(std::string_view t) {
    // YYYY-MM-DDTHH:MM:SS[.frac]Z
    if (t.size() < 20 || !digits(t, 0, 4) || t[4] != '-' || !digits(t, 5, 2) || t[7] != '-' ||
        !digits(t, 8, 2) || (t[10] != 'T' && t[10] != 't') || !digits(t, 11, 2) || t[13] != ':' ||
        !digits(t, 14, 2) || t[16] != ':' || !digits(t, 17, 2)) {
        return false;
    }
    std::size_t i = 19;
    if (t[i] == '.') {
        std::size_t start = ++i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
        if (i == start) return false;
    }
    if (i + 1 != t.size() || (t[i] != 'Z' && t[i] != 'z')) return false;
    int month = number(t, 5, 2), day = number(t, 8, 2);
    int hour = number(t, 11, 2), minute = number(t, 14, 2), second = number(t, 17, 2);
    return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
           second <= 60;
}

std::optional<PublicKey> parse_public_key(std::string_view text) {
    if (text.size() != 44) return std::nullopt;
    auto bytes = base64_decode(text);
    if (!bytes || bytes->size() != 32) return std::nullopt;
    PublicKey key{};
    std::copy(bytes->begin(), bytes->end(), key.begin());
    return key;
}

std::string format_public_key(const PublicKey& key) {
    return base64_encode(key);
}

json to_json(const PeerSet& set) {
    json j = json::object();
    j["kind"] = kPeerSet;
    j["network"] = set.network;
    if (set.generated_at) j["generated_at"] = *set.generated_at;
    if (set.stale) j["stale"] = true;
    j["peers"] = json::array();
    for (const auto& p : set.peers) j["peers"].push_back(peer_to_json(p));
    merge_extra(j, set.extra);
    return j;
}

PeerSet peer_set_from_json(const InputRecord& record, const std::string& source) {
    Reader read{record, source};
    auto kind = require_string(record, source, "kind");
    if (kind != kPeerSet) {
        read.fail("kind", "expected \"peer-set\", got " + describe(json(kind)));
    }
    PeerSet set;
    set.network = require_string(record, source, "network");
    set.generated_at = read.timestamp("generated_at");
    set.stale = optional_bool(record, source, "stale").value_or(false);
    set.peers = read.peers();
    set.extra = unknown_fields(record.value, kSetFields);
    return set;
}

}  // namespace natkit::io
