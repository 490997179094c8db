// The peer-sync commands: report this node, fetch the live peers, sync (both), watch.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "control/backend.hpp"
#include "control/nat_input.hpp"
#include "control/node_record.hpp"
#include "io/log.hpp"
#include "io/ndjson.hpp"
#include "wg/device.hpp"

namespace natkit::control {

enum class Command { report, fetch, sync, watch };
// "report" ... "watch"; nullopt for anything else.
std::optional<Command> parse_command(std::string_view name);

struct Identity {
    std::optional<std::string> id;          // default: the host name
    std::optional<std::string> public_key;  // base64; or from the device
    std::optional<int> listen_port;         // or from the device
    std::vector<std::string> allowed_ips;   // or the interface's addresses, or --allocate
    std::optional<int> persistent_keepalive;
    std::optional<std::string> interface;  // the WireGuard device to read identity from
    std::vector<std::string> candidates;   // extra endpoint candidates
    bool local_candidates = true;          // offer local interface addresses
};

struct SyncOptions {
    Command command = Command::fetch;
    ControlOptions control;
    std::chrono::seconds ttl{90};
    Identity identity;
    std::optional<std::string> allocate;  // CIDR
    std::optional<std::string> cache_file;
    bool allow_stale = false;
    bool watch_report = false;  // watch: publish this node too and keep its record alive
    std::optional<int> count;   // watch: stop after this many sets
};

using DeviceReader = std::function<wg::Device(const std::string& interface)>;
using BackendOpener = std::function<std::unique_ptr<Backend>(const ControlOptions&, io::Log&)>;

struct SyncIo {
    std::istream* in = nullptr;  // nat.report input for report/sync (nullptr: none)
    std::function<void(const io::json&)> out;
    io::Log& log;
    DeviceReader read_device;  // may be empty when no --interface is used
    BackendOpener open = open_backend;
};

// Runs the command; returns the exit code. Throws natkit::Error for the contract's failures.
// Nothing is written to `out` unless the control plane answered (or a stale cache is served).
int run_peer_sync(const SyncOptions& options, SyncIo& io);

// The node record `report` would publish (pure apart from the clock and local addresses passed).
NodeRecord make_node_record(const SyncOptions& options, const NatInput& nat,
                            const std::optional<wg::Device>& device,
                            const std::vector<net::IpAddress>& local_addresses,
                            const std::optional<net::IpAddress>& allocated, const std::string& id,
                            SystemTime now);

}  // namespace natkit::control
