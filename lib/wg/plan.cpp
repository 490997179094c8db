#include "wg/plan.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <unordered_map>

namespace natkit::wg {

namespace {

struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept {
        std::size_t h = 0;
        std::memcpy(&h, key.data(), sizeof h);  // keys are uniformly random
        return h;
    }
};

std::vector<AllowedIp> sorted_unique(std::vector<AllowedIp> prefixes) {
    std::sort(prefixes.begin(), prefixes.end());
    prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
    return prefixes;
}

std::vector<AllowedIp> difference(const std::vector<AllowedIp>& a,
                                  const std::vector<AllowedIp>& b) {
    std::vector<AllowedIp> out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    return out;
}

std::string peer_path(std::size_t index) {
    return "peers[" + std::to_string(index) + "]";
}

class Planner {
  public:
    Planner(const std::vector<DesiredPeer>& desired, const Device& device,
            const PlanOptions& options, SystemTime now)
        : desired_(desired), device_(device), options_(options), now_(now) {
        for (std::size_t i = 0; i < device.peers.size(); ++i) {
            live_index_.emplace(device.peers[i].public_key, i);
            for (const auto& prefix : device.peers[i].allowed_ips) live_owner_[prefix] = i;
        }
        for (std::size_t i = 0; i < desired.size(); ++i) {
            desired_index_.emplace(desired[i].public_key, i);
            for (const auto& prefix : desired[i].allowed_ips) desired_owner_[prefix] = i;
        }
    }

    Plan run() {
        for (const auto& want : desired_) plan_peer(want);
        plan_removals();
        if (plan_.refusal) {
            plan_.change.peers.clear();
            return std::move(plan_);
        }
        auto& peers = plan_.change.peers;
        peers.insert(peers.end(), std::make_move_iterator(shrinks_.begin()),
                     std::make_move_iterator(shrinks_.end()));
        peers.insert(peers.end(), std::make_move_iterator(removals_.begin()),
                     std::make_move_iterator(removals_.end()));
        return std::move(plan_);
    }

  private:
    void plan_peer(const DesiredPeer& want) {
        auto wanted = sorted_unique(want.allowed_ips);
        auto found = live_index_.find(want.public_key);
        if (found == live_index_.end()) {
            plan_new_peer(want, wanted);
            return;
        }
        const Peer& live = device_.peers[found->second];
        PeerChange change;
        change.public_key = want.public_key;
        std::vector<std::string> fields;
        plan_endpoint(want, live, change, fields);
        if (want.persistent_keepalive && *want.persistent_keepalive != live.persistent_keepalive) {
            change.persistent_keepalive = want.persistent_keepalive;
            fields.emplace_back("persistent_keepalive");
        }
        plan_allowed_ips(want.public_key, wanted, sorted_unique(live.allowed_ips), change, fields);
        if (fields.empty()) {
            ++plan_.unchanged;
            return;
        }
        bool sends_something =
            change.endpoint || change.persistent_keepalive || !change.allowed_ips.empty();
        if (sends_something) plan_.change.peers.push_back(std::move(change));
        plan_.updated.push_back({want.public_key, std::move(fields)});
    }

    void plan_new_peer(const DesiredPeer& want, const std::vector<AllowedIp>& wanted) {
        note_moves(want.public_key, wanted);
        plan_.added.push_back(want.public_key);
        PeerChange change;
        change.public_key = want.public_key;
        change.endpoint = want.endpoint;
        change.persistent_keepalive = want.persistent_keepalive;
        change.allowed_ips = wanted;
        plan_.change.peers.push_back(std::move(change));
    }

    void plan_endpoint(const DesiredPeer& want, const Peer& live, PeerChange& change,
                       std::vector<std::string>& fields) {
        if (!want.endpoint || want.endpoint == live.endpoint) return;
        if (auto reason = want.endpoint_confirmed ? std::nullopt : guard_reason(live)) {
            plan_.kept_endpoints.push_back(
                {want.public_key, *live.endpoint, *want.endpoint, std::move(*reason)});
            return;
        }
        change.endpoint = want.endpoint;
        fields.emplace_back("endpoint");
    }

    // Why the device's endpoint must stay, or nullopt when it may be overwritten.
    std::optional<std::string> guard_reason(const Peer& live) const {
        if (options_.endpoint_policy == EndpointPolicy::always) return std::nullopt;
        if (!live.endpoint || !live.last_handshake) return std::nullopt;
        auto age = std::chrono::duration_cast<std::chrono::seconds>(now_ - *live.last_handshake);
        if (age >= options_.guard_window) return std::nullopt;
        return "handshake " + std::to_string(std::max<long long>(age.count(), 0)) +
               " s ago (guard " + std::to_string(options_.guard_window.count()) + " s)";
    }

    void plan_allowed_ips(const Key& key, const std::vector<AllowedIp>& wanted,
                          const std::vector<AllowedIp>& current, PeerChange& change,
                          std::vector<std::string>& fields) {
        auto gained = difference(wanted, current);
        auto lost = difference(current, wanted);
        if (gained.empty() && lost.empty()) return;
        fields.emplace_back("allowed_ips");
        note_moves(key, gained);
        change.allowed_ips = std::move(gained);
        bool drops_unwanted = std::any_of(lost.begin(), lost.end(), [&](const AllowedIp& p) {
            return !desired_owner_.contains(p);
        });
        if (drops_unwanted) {
            PeerChange shrink;
            shrink.public_key = key;
            shrink.replace_allowed_ips = true;
            shrink.allowed_ips = wanted;
            shrinks_.push_back(std::move(shrink));
        }
    }

    void note_moves(const Key& to, const std::vector<AllowedIp>& gained) {
        for (const auto& prefix : gained) {
            auto owner = live_owner_.find(prefix);
            if (owner == live_owner_.end()) continue;
            const Key& from = device_.peers[owner->second].public_key;
            if (from == to) continue;
            plan_.moved.push_back({prefix, from, to, desired_index_.contains(from)});
        }
    }

    void plan_removals() {
        for (const auto& live : device_.peers) {
            if (desired_index_.contains(live.public_key)) continue;
            if (!options_.prune) {
                ++plan_.not_in_set;
                continue;
            }
            plan_.removed.push_back(live.public_key);
            PeerChange removal;
            removal.public_key = live.public_key;
            removal.remove = true;
            removals_.push_back(std::move(removal));
        }
        if (options_.force || plan_.removed.empty()) return;
        if (desired_.empty()) {
            plan_.refusal = "the peer set is empty: refusing to remove all " +
                            std::to_string(plan_.removed.size()) +
                            " peers (a broken upstream must not wipe the mesh); pass --force "
                            "to do it anyway";
        } else if (plan_.removed.size() > options_.max_remove) {
            plan_.refusal = "pruning would remove " + std::to_string(plan_.removed.size()) +
                            " peers, more than --max-remove " +
                            std::to_string(options_.max_remove) +
                            "; raise --max-remove or pass --force if that is intended";
        }
    }

    const std::vector<DesiredPeer>& desired_;
    const Device& device_;
    const PlanOptions& options_;
    SystemTime now_;
    std::unordered_map<Key, std::size_t, KeyHash> live_index_;
    std::unordered_map<Key, std::size_t, KeyHash> desired_index_;
    std::map<AllowedIp, std::size_t> live_owner_;
    std::map<AllowedIp, std::size_t> desired_owner_;
    std::vector<PeerChange> shrinks_;
    std::vector<PeerChange> removals_;
    Plan plan_;
};

}  // namespace

std::optional<DesiredProblem> find_problem(const std::vector<DesiredPeer>& desired) {
    std::unordered_map<Key, std::size_t, KeyHash> keys;
    std::map<AllowedIp, std::size_t> owners;
    for (std::size_t i = 0; i < desired.size(); ++i) {
        auto [key_at, new_key] = keys.emplace(desired[i].public_key, i);
        if (!new_key) {
            return DesiredProblem{peer_path(i) + ".public_key", "the same public key as " +
                                                                    peer_path(key_at->second) +
                                                                    "; each peer may appear once"};
        }
        const auto& prefixes = desired[i].allowed_ips;
        for (std::size_t j = 0; j < prefixes.size(); ++j) {
            auto [owner, fresh] = owners.emplace(prefixes[j], i);
            if (fresh || owner->second == i) continue;
            return DesiredProblem{peer_path(i) + ".allowed_ips[" + std::to_string(j) + "]",
                                  prefixes[j].to_string() + " is also claimed by " +
                                      peer_path(owner->second) +
                                      "; a prefix can belong to one peer only"};
        }
    }
    return std::nullopt;
}

Plan make_plan(const std::vector<DesiredPeer>& desired, const Device& device,
               const PlanOptions& options, SystemTime now) {
    return Planner(desired, device, options, now).run();
}

}  // namespace natkit::wg
