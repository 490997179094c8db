#include "control/peer_sync.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <fstream>

#include "control/atomic_file.hpp"
#include "control/local_addresses.hpp"
#include "io/error.hpp"

namespace natkit::control {

namespace {

std::string host_name() {
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return {};
    return name;
}

void add_unique(std::vector<net::Endpoint>& list, const net::Endpoint& endpoint) {
    if (std::find(list.begin(), list.end(), endpoint) == list.end()) list.push_back(endpoint);
}

io::PublicKey public_key_of(const Identity& identity, const std::optional<wg::Device>& device) {
    if (identity.public_key) {
        auto key = io::parse_public_key(*identity.public_key);
        if (!key) {
            throw usage_error(
                "--public-key: expected a WireGuard public key (base64, 44 "
                "characters), got '" +
                *identity.public_key + "'");
        }
        return *key;
    }
    if (device && device->public_key) return *device->public_key;
    throw usage_error("this node needs a public key: give --public-key KEY or --interface IFACE");
}

std::uint16_t listen_port_of(const Identity& identity, const std::optional<wg::Device>& device) {
    if (identity.listen_port) {
        if (*identity.listen_port < 1 || *identity.listen_port > 65535) {
            throw usage_error("--listen-port must be 1 to 65535");
        }
        return static_cast<std::uint16_t>(*identity.listen_port);
    }
    if (device && device->listen_port) return device->listen_port;
    throw usage_error(
        "this node needs a listen port: give --listen-port PORT or --interface IFACE");
}

std::vector<net::Prefix> allowed_ips_of(const Identity& identity,
                                        const std::optional<net::IpAddress>& allocated) {
    std::vector<net::Prefix> result;
    for (const auto& text : identity.allowed_ips) {
        auto prefix = net::Prefix::parse(text);
        if (!prefix) throw usage_error("--allowed-ips: not a CIDR prefix: '" + text + "'");
        result.push_back(*prefix);
    }
    if (identity.interface && identity.allowed_ips.empty()) {
        result = interface_host_prefixes(*identity.interface);
    }
    if (allocated) {
        net::Prefix host{
            *allocated, static_cast<std::uint8_t>(allocated->family == net::Family::v4 ? 32 : 128)};
        if (std::find(result.begin(), result.end(), host) == result.end()) {
            result.insert(result.begin(), host);
        }
    }
    return result;
}

std::vector<net::Endpoint> candidates_of(const Identity& identity, const NatInput& nat,
                                         const std::vector<net::IpAddress>& local_addresses,
                                         std::uint16_t port) {
    std::vector<net::Endpoint> result;
    if (nat.public_endpoint) add_unique(result, *nat.public_endpoint);
    for (const auto& text : identity.candidates) {
        auto endpoint = net::Endpoint::parse(text);
        if (!endpoint) {
            throw usage_error("--candidate: expected an endpoint like 203.0.113.7:51820, got '" +
                              text + "'");
        }
        add_unique(result, *endpoint);
    }
    if (identity.local_candidates) {
        for (const auto& address : local_addresses) add_unique(result, {address, port});
    }
    return result;
}

io::json without_time(io::json set) {
    set.erase("generated_at");
    return set;
}

class Session {
  public:
    Session(const SyncOptions& options, SyncIo& io) : options_(options), io_(io) {}

    int run() {
        NatInput nat;
        if (reads_input() && io_.in) nat = read_nat_input(*io_.in, "stdin");
        auto device = read_device();
        auto id = self_id();
        try {
            backend_ = io_.open(options_.control, io_.log);
            switch (options_.command) {
                case Command::report:
                    io_.out(to_json(report(nat, device, id)));
                    return 0;
                case Command::fetch:
                    io_.out(to_json(fetch(id)));
                    return 0;
                case Command::sync:
                    report(nat, device, id);
                    io_.out(to_json(fetch(id)));
                    return 0;
                case Command::watch:
                    return watch(nat, device, id);
            }
        } catch (const Error& e) {
            if (e.code() != ExitCode::unavailable || !serves_stale()) throw;
            return serve_stale(e);
        }
        return 0;
    }

  private:
    bool reads_input() const {
        return options_.command == Command::report || options_.command == Command::sync ||
               (options_.command == Command::watch && options_.watch_report);
    }
    bool publishes() const { return reads_input(); }
    bool serves_stale() const {
        return options_.allow_stale && options_.cache_file && options_.command != Command::report;
    }

    std::optional<wg::Device> read_device() const {
        if (!options_.identity.interface || !publishes()) return std::nullopt;
        if (!io_.read_device) {
            throw Error(ExitCode::failure, "reading a WireGuard device is not available here");
        }
        return io_.read_device(*options_.identity.interface);
    }

    std::string self_id() const {
        auto id = options_.identity.id.value_or(host_name());
        if (!is_valid_name(id)) {
            throw usage_error("--id must be 1 to 64 of A-Z a-z 0-9 . _ - (got '" + id + "')");
        }
        return id;
    }

    NodeRecord report(const NatInput& nat, const std::optional<wg::Device>& device,
                      const std::string& id) {
        std::optional<net::IpAddress> allocated;
        if (options_.allocate) {
            auto range = net::Prefix::parse(*options_.allocate);
            if (!range)
                throw usage_error("--allocate: not a CIDR range: '" + *options_.allocate + "'");
            allocated = backend_->allocate(id, *range);
            io_.log.info("allocated " + allocated->to_string() + " from " + range->to_string());
        }
        auto skip = options_.identity.interface.value_or("");
        auto local = options_.identity.local_candidates ? candidate_addresses(skip)
                                                        : std::vector<net::IpAddress>{};
        auto record = make_node_record(options_, nat, device, local, allocated, id,
                                       std::chrono::system_clock::now());
        backend_->publish(id, to_json(record).dump(), options_.ttl);
        return record;
    }

    PeerSetQuery query(const std::string& id) const {
        PeerSetQuery q{options_.control.network, id, std::chrono::system_clock::now(),
                       std::nullopt};
        if (backend_->expires_by_timestamp()) q.ttl = options_.ttl;
        return q;
    }

    std::vector<NodeRecord> stored_nodes() {
        std::vector<NodeRecord> nodes;
        for (const auto& stored : backend_->fetch()) {
            if (auto node = parse_stored_node(stored.text, stored.where, io_.log)) {
                nodes.push_back(std::move(*node));
            }
        }
        return nodes;
    }

    io::PeerSet fetch(const std::string& id) {
        auto nodes = stored_nodes();
        auto set = build_peer_set(nodes, query(id), io_.log);
        save_cache(set);
        return set;
    }

    void save_cache(const io::PeerSet& set) {
        if (!options_.cache_file) return;
        try {
            write_file_atomically(*options_.cache_file, to_json(set).dump() + "\n");
        } catch (const Error& e) {
            io_.log.warning(std::string("cannot update the cache: ") + e.what());
        }
    }

    int serve_stale(const Error& why) {
        auto text = read_file(*options_.cache_file);
        if (!text)
            throw Error(why.code(), std::string(why.what()) + " (and no cache in " +
                                        *options_.cache_file + " yet)");
        auto value = io::json::parse(*text, nullptr, false);
        io::PeerSet set;
        try {
            set = io::peer_set_from_json(io::InputRecord{value, 1}, *options_.cache_file);
        } catch (const Error& e) {
            throw Error(why.code(),
                        std::string(why.what()) + " (and the cache is unusable: " + e.what() + ")");
        }
        set.stale = true;
        io_.log.warning(std::string(why.what()) + "; serving the cached set from " +
                        set.generated_at.value_or("an unknown time") + " (stale)");
        io_.out(to_json(set));
        return 0;
    }

    int watch(const NatInput& nat, const std::optional<wg::Device>& device, const std::string& id) {
        if (options_.watch_report) report(nat, device, id);
        auto keepalive_every = std::max(std::chrono::seconds(1), options_.ttl / 3);
        auto next_keepalive = std::chrono::steady_clock::now() + keepalive_every;
        std::optional<io::json> last;
        int printed = 0;
        backend_->watch([&](WatchEvent) {
            auto now = std::chrono::steady_clock::now();
            if (options_.watch_report && now >= next_keepalive) {
                if (!backend_->keep_alive(id)) report(nat, device, id);
                next_keepalive = now + keepalive_every;
            }
            auto nodes = stored_nodes();
            auto q = query(id);
            auto set = build_peer_set(nodes, q, io_.log);
            auto shown = without_time(to_json(set));
            if (!last || *last != shown) {
                save_cache(set);
                io_.out(to_json(set));
                last = std::move(shown);
                ++printed;
            }
            WatchNext next;
            next.stop = options_.count && printed >= *options_.count;
            std::optional<std::chrono::milliseconds> wake;
            if (auto expiry = next_expiry(nodes, q)) {
                wake = std::chrono::duration_cast<std::chrono::milliseconds>(*expiry - q.now) +
                       std::chrono::milliseconds(5);
            }
            if (options_.watch_report) {
                auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
                    next_keepalive - std::chrono::steady_clock::now());
                wake = wake ? std::min(*wake, until) : until;
            }
            next.wake_after = wake;
            return next;
        });
        return 0;
    }

    const SyncOptions& options_;
    SyncIo& io_;
    std::unique_ptr<Backend> backend_;
};

}  // namespace

std::optional<Command> parse_command(std::string_view name) {
    if (name == "report") return Command::report;
    if (name == "fetch") return Command::fetch;
    if (name == "sync") return Command::sync;
    if (name == "watch") return Command::watch;
    return std::nullopt;
}

NodeRecord make_node_record(const SyncOptions& options, const NatInput& nat,
                            const std::optional<wg::Device>& device,
                            const std::vector<net::IpAddress>& local_addresses,
                            const std::optional<net::IpAddress>& allocated, const std::string& id,
                            SystemTime now) {
    const auto& identity = options.identity;
    NodeRecord record;
    record.network = options.control.network;
    record.id = id;
    record.public_key = public_key_of(identity, device);
    record.listen_port = listen_port_of(identity, device);
    record.allowed_ips = allowed_ips_of(identity, allocated);
    record.endpoint = nat.public_endpoint;
    record.candidates = candidates_of(identity, nat, local_addresses, record.listen_port);
    record.nat = nat.nat;
    if (identity.persistent_keepalive) {
        if (*identity.persistent_keepalive < 0 || *identity.persistent_keepalive > 65535) {
            throw usage_error("--persistent-keepalive must be 0 to 65535");
        }
        record.persistent_keepalive = identity.persistent_keepalive;
    }
    record.updated_at = format_time(now);
    record.version = NATKIT_VERSION;
    return record;
}

int run_peer_sync(const SyncOptions& options, SyncIo& io) {
    if (options.ttl.count() < 1) throw usage_error("--ttl must be at least 1 second");
    if (options.allow_stale && !options.cache_file) {
        throw usage_error("--allow-stale needs --cache FILE");
    }
    return Session(options, io).run();
}

}  // namespace natkit::control
