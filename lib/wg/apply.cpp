#include "wg/apply.hpp"

#include <chrono>
#include <cmath>
#include <future>

#include "io/error.hpp"

namespace natkit::wg {

namespace {

constexpr std::string_view kPeerSetKind = "peer-set";

struct ValidSet {
    std::string network;
    std::vector<DesiredPeer> peers;
};

ValidSet validate(const io::InputRecord& record, const std::string& source) {
    auto set = io::peer_set_from_json(record, source);
    return {set.network, desired_peers(set, source, record.line)};
}

bool is_peer_set(const io::InputRecord& record) {
    return record.value["kind"].get_ref<const std::string&>() == kPeerSetKind;
}

io::json keys_json(const std::vector<Key>& keys) {
    auto list = io::json::array();
    for (const auto& key : keys) list.push_back(key_to_base64(key));
    return list;
}

io::json updated_json(const std::vector<PeerUpdate>& updated) {
    auto list = io::json::array();
    for (const auto& update : updated) {
        list.push_back(
            {{"public_key", key_to_base64(update.public_key)}, {"fields", update.fields}});
    }
    return list;
}

io::json kept_json(const std::vector<KeptEndpoint>& kept) {
    auto list = io::json::array();
    for (const auto& k : kept) {
        list.push_back({{"public_key", key_to_base64(k.public_key)},
                        {"endpoint", k.endpoint.to_string()},
                        {"desired", k.desired.to_string()},
                        {"reason", k.reason}});
    }
    return list;
}

io::json moved_json(const std::vector<MovedPrefix>& moved) {
    auto list = io::json::array();
    for (const auto& m : moved) {
        list.push_back({{"prefix", m.prefix.to_string()},
                        {"from", key_to_base64(m.from)},
                        {"to", key_to_base64(m.to)},
                        {"from_in_set", m.from_in_set}});
    }
    return list;
}

double round_tenth(double value) {
    return std::round(value * 10.0) / 10.0;
}

class Applier {
  public:
    Applier(Backend& backend, const ApplyOptions& options, io::RecordWriter& out, io::Log& log)
        : backend_(backend), options_(options), out_(out), log_(log) {}

    void apply(const ValidSet& set) {
        auto start = std::chrono::steady_clock::now();
        apply(set, backend_.read(options_.interface), start);
    }

    // `device` as read from the backend, from `start`, just before or while the input was read.
    void apply(const ValidSet& set, const Device& device,
               std::chrono::steady_clock::time_point start) {
        auto plan = make_plan(set.peers, device, options_.plan, std::chrono::system_clock::now());
        if (plan.refusal) throw Error(ExitCode::failure, *plan.refusal);
        warn_about_moves(plan);
        if (!options_.dry_run && !plan.change.empty())
            backend_.write(options_.interface, plan.change);
        std::chrono::duration<double, std::milli> elapsed =
            std::chrono::steady_clock::now() - start;
        log_.info(summary(plan));
        out_.write(apply_record(plan, options_.interface, backend_.name(), set.network,
                                options_.dry_run, elapsed.count()));
    }

  private:
    void warn_about_moves(const Plan& plan) {
        for (const auto& m : plan.moved) {
            if (m.from_in_set) continue;
            log_.warning(m.prefix.to_string() + " moves from " + key_to_base64(m.from) +
                         " (a peer not in the set) to " + key_to_base64(m.to));
        }
    }

    std::string summary(const Plan& plan) const {
        return options_.interface + ": " + std::to_string(plan.added.size()) + " added, " +
               std::to_string(plan.updated.size()) + " updated, " +
               std::to_string(plan.removed.size()) + " removed, " + std::to_string(plan.unchanged) +
               " unchanged" + (options_.dry_run ? " (dry run)" : "");
    }

    Backend& backend_;
    const ApplyOptions& options_;
    io::RecordWriter& out_;
    io::Log& log_;
};

}  // namespace

std::vector<DesiredPeer> desired_peers(const io::PeerSet& set, const std::string& source,
                                       std::size_t line) {
    std::vector<DesiredPeer> peers;
    peers.reserve(set.peers.size());
    for (const auto& entry : set.peers) {
        DesiredPeer peer;
        peer.public_key = entry.public_key;
        peer.endpoint = entry.endpoint;
        peer.allowed_ips = entry.allowed_ips;
        peer.endpoint_confirmed =
            entry.path && (*entry.path == "punched" || *entry.path == "direct");
        if (entry.persistent_keepalive) {
            peer.persistent_keepalive = static_cast<std::uint16_t>(*entry.persistent_keepalive);
        }
        peers.push_back(std::move(peer));
    }
    if (auto problem = find_problem(peers)) {
        throw data_error(source, line, problem->field, problem->message);
    }
    return peers;
}

io::json apply_record(const Plan& plan, const std::string& interface, std::string_view backend,
                      const std::string& network, bool dry_run, double elapsed_ms) {
    io::json record = {{"kind", "wg.apply"}, {"interface", interface}};
    if (!network.empty()) record["network"] = network;
    record["backend"] = backend;
    record["dry_run"] = dry_run;
    record["added"] = keys_json(plan.added);
    record["removed"] = keys_json(plan.removed);
    record["updated"] = updated_json(plan.updated);
    record["unchanged"] = plan.unchanged;
    record["not_in_set"] = plan.not_in_set;
    record["kept_endpoints"] = kept_json(plan.kept_endpoints);
    record["moved_allowed_ips"] = moved_json(plan.moved);
    record["writes"] = dry_run ? 0 : plan.change.peers.size();
    record["elapsed_ms"] = round_tenth(elapsed_ms);
    return record;
}

void run_apply(io::NdjsonReader& input, Backend& backend, const ApplyOptions& options,
               io::RecordWriter& out, io::Log& log) {
    Applier applier(backend, options, out, log);
    // Without --follow the device is read while the input is parsed: both take about as long
    // as each other on big sets, and reading is harmless should the input turn out bad.
    std::future<Device> device;
    auto start = std::chrono::steady_clock::now();
    if (!options.follow) {
        device = std::async(std::launch::async, [&] { return backend.read(options.interface); });
    }
    std::optional<ValidSet> last;
    std::size_t sets = 0;
    while (auto record = input.next()) {
        if (!is_peer_set(*record)) continue;
        ++sets;
        last = validate(*record, input.source());
        if (options.follow) applier.apply(*last);
    }
    if (sets == 0) {
        throw Error(ExitCode::data, input.source() + ": no peer-set record in the input");
    }
    if (!options.follow) {
        if (sets > 1) log.info("applying the last of " + std::to_string(sets) + " peer-sets");
        applier.apply(*last, device.get(), start);
    }
}

}  // namespace natkit::wg
