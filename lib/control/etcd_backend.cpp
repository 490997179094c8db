#include "control/etcd_backend.hpp"

#include <set>
#include <utility>

#include "control/allocation.hpp"
#include "io/error.hpp"

namespace natkit::control {

namespace {

constexpr int kPageSize = 2000;
constexpr int kAllocationAttempts = 64;

std::int64_t as_int64(const io::json& value) {
    if (value.is_number_integer()) return value.get<std::int64_t>();
    if (value.is_string()) {
        try {
            return std::stoll(value.get<std::string>());
        } catch (const std::exception&) {
            return 0;
        }
    }
    return 0;
}

std::int64_t header_revision(const io::json& answer) {
    if (!answer.contains("header") || !answer["header"].contains("revision")) return 0;
    return as_int64(answer["header"]["revision"]);
}

const io::json& kvs_of(const io::json& answer) {
    static const io::json empty = io::json::array();
    auto it = answer.find("kvs");
    return it != answer.end() && it->is_array() ? *it : empty;
}

io::json put_request(const std::string& key, const std::string& value) {
    return {{"request_put", {{"key", to_base64(key)}, {"value", to_base64(value)}}}};
}

io::json absent(const std::string& key) {
    return {{"key", to_base64(key)},
            {"target", "CREATE"},
            {"result", "EQUAL"},
            {"create_revision", "0"}};
}

}  // namespace

EtcdBackend::EtcdBackend(EtcdConfig config, std::string prefix, std::string network, io::Log& log)
    : client_(std::move(config), log), base_(prefix + network + "/"), log_(log) {}

std::string EtcdBackend::node_key(const std::string& id) const {
    return base_ + "nodes/" + id;
}

std::optional<std::string> EtcdBackend::lease_of(const std::string& key) {
    auto answer = client_.call("kv/range", {{"key", to_base64(key)}, {"keys_only", true}});
    const auto& kvs = kvs_of(answer);
    if (kvs.empty() || !kvs[0].contains("lease")) return std::nullopt;
    auto lease = as_int64(kvs[0]["lease"]);
    return lease ? std::optional(std::to_string(lease)) : std::nullopt;
}

std::int64_t EtcdBackend::refresh_lease(const std::string& lease) {
    auto answer = client_.call("lease/keepalive", {{"ID", lease}});
    const auto& result = answer.contains("result") ? answer["result"] : answer;
    return result.contains("TTL") ? as_int64(result["TTL"]) : 0;
}

std::string EtcdBackend::grant_lease(std::chrono::seconds ttl) {
    auto answer = client_.call("lease/grant", {{"TTL", std::to_string(ttl.count())}});
    if (!answer.contains("ID")) {
        throw Error(ExitCode::failure, "etcd granted no lease: " + answer.dump());
    }
    return std::to_string(as_int64(answer["ID"]));
}

void EtcdBackend::publish(const std::string& id, const std::string& record,
                          std::chrono::seconds ttl) {
    auto key = node_key(id);
    auto lease = lease_of(key);
    std::optional<std::string> old_lease;
    // A lease of another TTL (an earlier --ttl) is replaced, and revoked once unused.
    if (lease && refresh_lease(*lease) != ttl.count())
        old_lease = std::exchange(lease, std::nullopt);
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!lease) lease = grant_lease(ttl);
        try {
            client_.call(
                "kv/put",
                {{"key", to_base64(key)}, {"value", to_base64(record)}, {"lease", *lease}});
            if (old_lease) client_.call("lease/revoke", {{"ID", *old_lease}});
            return;
        } catch (const Error& e) {
            // The lease expired between the keepalive and the put: take a new one.
            if (e.code() != ExitCode::failure || attempt > 0) throw;
            lease.reset();
        }
    }
}

bool EtcdBackend::keep_alive(const std::string& id) {
    auto lease = lease_of(node_key(id));
    return lease && refresh_lease(*lease) > 0;
}

std::vector<StoredNode> EtcdBackend::fetch() {
    std::vector<StoredNode> nodes;
    auto start = base_ + "nodes/";
    auto end = prefix_end(start);
    std::int64_t revision = 0;
    for (;;) {
        io::json request = {{"key", to_base64(start)},
                            {"range_end", to_base64(end)},
                            {"limit", std::to_string(kPageSize)}};
        if (revision) request["revision"] = std::to_string(revision);
        auto answer = client_.call("kv/range", request);
        if (!revision) revision = header_revision(answer);
        const auto& kvs = kvs_of(answer);
        for (const auto& kv : kvs) {
            nodes.push_back({from_base64(kv.value("key", io::json())),
                             from_base64(kv.value("value", io::json()))});
        }
        if (!answer.value("more", false) || kvs.empty()) break;
        start = nodes.back().where + std::string(1, '\0');
    }
    return nodes;
}

std::int64_t EtcdBackend::current_revision() {
    auto start = base_ + "nodes/";
    auto answer = client_.call("kv/range", {{"key", to_base64(start)},
                                            {"range_end", to_base64(prefix_end(start))},
                                            {"count_only", true}});
    return header_revision(answer);
}

void EtcdBackend::watch(const WatchCallback& callback) {
    auto revision = current_revision();
    auto next = callback(WatchEvent::changed);
    auto wake_at = [](const WatchNext& n) {
        return n.wake_after ? std::optional(std::chrono::steady_clock::now() + *n.wake_after)
                            : std::nullopt;
    };
    auto deadline = wake_at(next);
    auto start = base_ + "nodes/";
    while (!next.stop) {
        io::json request = {{"create_request",
                             {{"key", to_base64(start)},
                              {"range_end", to_base64(prefix_end(start))},
                              {"start_revision", std::to_string(revision + 1)}}}};
        try {
            client_.stream("watch", request, [&](const io::json* message) {
                if (message) {
                    if (message->contains("events")) {
                        for (const auto& event : (*message)["events"]) {
                            if (event.contains("kv") && event["kv"].contains("mod_revision")) {
                                revision =
                                    std::max(revision, as_int64(event["kv"]["mod_revision"]));
                            }
                        }
                        next = callback(WatchEvent::changed);
                        deadline = wake_at(next);
                    }
                } else if (deadline && std::chrono::steady_clock::now() >= *deadline) {
                    next = callback(WatchEvent::timer);
                    deadline = wake_at(next);
                }
                return next.stop ? StreamStep::stop : StreamStep::more;
            });
        } catch (const Error& e) {
            if (e.code() != ExitCode::unavailable) throw;
            log_.warning(std::string(e.what()) + "; reconnecting");
            // Catches up through a fetch, which fails over or gives up (exit 69) by itself.
            next = callback(WatchEvent::changed);
            deadline = wake_at(next);
        }
    }
}

net::IpAddress EtcdBackend::allocate(const std::string& id, const net::Prefix& range) {
    auto by_node = base_ + "alloc/node/" + id;
    auto by_address = base_ + "alloc/addr/";
    for (int attempt = 0; attempt < kAllocationAttempts; ++attempt) {
        auto mine = kvs_of(client_.call("kv/range", {{"key", to_base64(by_node)}}));
        std::optional<std::string> old_address;
        if (!mine.empty()) {
            auto text = from_base64(mine[0].value("value", io::json()));
            auto address = net::IpAddress::parse(text);
            if (address && range.contains(*address)) return *address;
            old_address = text;
        }
        auto taken_kvs =
            kvs_of(client_.call("kv/range", {{"key", to_base64(by_address)},
                                             {"range_end", to_base64(prefix_end(by_address))},
                                             {"keys_only", true}}));
        std::set<net::IpAddress> taken;
        for (const auto& kv : taken_kvs) {
            auto key = from_base64(kv.value("key", io::json()));
            if (auto address = net::IpAddress::parse(key.substr(by_address.size()))) {
                taken.insert(*address);
            }
        }
        auto address = first_free_address(range, taken);
        if (!address)
            throw Error(ExitCode::failure, "no free address left in " + range.to_string());
        auto text = address->to_string();
        io::json compare = io::json::array({absent(by_address + text)});
        if (mine.empty()) {
            compare.push_back(absent(by_node));
        } else {
            compare.push_back({{"key", to_base64(by_node)},
                               {"target", "MOD"},
                               {"result", "EQUAL"},
                               {"mod_revision", mine[0].value("mod_revision", io::json("0"))}});
        }
        io::json success =
            io::json::array({put_request(by_address + text, id), put_request(by_node, text)});
        auto answer = client_.call("kv/txn", {{"compare", compare}, {"success", success}});
        if (answer.value("succeeded", false)) {
            if (old_address) {
                client_.call("kv/deleterange", {{"key", to_base64(by_address + *old_address)}});
            }
            return *address;
        }
        log_.debug("address " + text + " was taken meanwhile; trying again");
    }
    throw unavailable_error("could not allocate an address in " + range.to_string() +
                            ": too much contention, try again");
}

}  // namespace natkit::control
