// The plan: what to write so a live device matches a desired peer set, with the fewest changes.
// Pure: the caller hands in the desired peers, the device as read and the current time.
//
// Allowed-IP moves. WireGuard gives a prefix to the last peer that adds it (adding a prefix that
// another peer holds moves it, atomically). The change is therefore ordered in three phases:
//   1. peers that are new or changed, with only the prefixes they GAIN, added without
//      replace-allowed-ips: a prefix moving from peer A to peer B passes straight from A to B;
//   2. peers that must drop prefixes nobody in the set wants: replace-allowed-ips with their
//      whole desired list (everything they keep is already theirs, so nothing desired is ever
//      without an owner);
//   3. removed peers (only with prune), whose wanted prefixes have already moved in phase 1.
// Two desired peers claiming one prefix is bad input (find_problem); a prefix taken from a peer
// outside the set is reported in `moved` with from_in_set = false.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "wg/device.hpp"

namespace natkit::wg {

// One peer as the peer set wants it. Absent fields leave the device's value alone.
struct DesiredPeer {
    Key public_key{};
    std::optional<net::Endpoint> endpoint;
    std::optional<std::uint16_t> persistent_keepalive;
    std::vector<AllowedIp> allowed_ips;  // the peer's whole list
    // punch had an answer from this endpoint just now (the peer-set's path is punched or
    // direct): it is fresher evidence than a handshake, so the endpoint guard does not apply.
    bool endpoint_confirmed = false;
};

enum class EndpointPolicy { guard, always };

inline constexpr std::chrono::seconds kDefaultGuardWindow{135};  // wireguard-tools' reresolve-dns
inline constexpr std::size_t kDefaultMaxRemove = 10;

struct PlanOptions {
    EndpointPolicy endpoint_policy = EndpointPolicy::guard;
    std::chrono::seconds guard_window = kDefaultGuardWindow;
    bool prune = false;
    std::size_t max_remove = kDefaultMaxRemove;
    bool force = false;  // allows pruning more than max_remove, and pruning to an empty set
};

struct PeerUpdate {
    Key public_key{};
    std::vector<std::string> fields;  // "endpoint", "persistent_keepalive", "allowed_ips"
};

struct KeptEndpoint {
    Key public_key{};
    net::Endpoint endpoint;  // the device's, kept
    net::Endpoint desired;   // what the set asked for
    std::string reason;      // "handshake 12 s ago (guard 135 s)"
};

struct MovedPrefix {
    AllowedIp prefix;
    Key from{};
    Key to{};
    bool from_in_set = true;  // false: taken from a peer the set does not mention
};

struct Plan {
    DeviceChange change;
    std::vector<Key> added;
    std::vector<Key> removed;
    std::vector<PeerUpdate> updated;
    std::size_t unchanged = 0;
    std::size_t not_in_set = 0;  // device peers absent from the set and left alone
    std::vector<KeptEndpoint> kept_endpoints;
    std::vector<MovedPrefix> moved;
    // Set when the plan would prune beyond what the options allow; then `change` is empty.
    std::optional<std::string> refusal;
};

// A problem with the desired set itself: the field path ("peers[3].allowed_ips[1]") and what.
struct DesiredProblem {
    std::string field;
    std::string message;
};

// Duplicate public keys, or one prefix claimed by two peers. Sorts and de-duplicates nothing.
std::optional<DesiredProblem> find_problem(const std::vector<DesiredPeer>& desired);

// Requires find_problem(desired) to be empty. Allowed-IP lists need not be sorted.
Plan make_plan(const std::vector<DesiredPeer>& desired, const Device& device,
               const PlanOptions& options, SystemTime now);

}  // namespace natkit::wg
