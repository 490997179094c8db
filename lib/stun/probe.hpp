// stun-probe's engine: Binding requests to many servers in parallel from one local port,
// each answer reported as it arrives. The IO glue around ClientTransaction.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/log.hpp"
#include "io/records.hpp"
#include "net/datagram_port.hpp"
#include "net/endpoint.hpp"
#include "stun/transaction.hpp"

namespace natkit::stun {

// A server as the user named it, and where it resolved to.
struct ProbeTarget {
    std::string name;                      // "stun.example.net:3478"
    std::optional<net::Endpoint> address;  // empty when it did not resolve
    std::string resolve_error;
};

// Parses "host[:port]" / "[v6][:port]" (default port 3478) and resolves it. Throws a usage
// error for a malformed name; a name that does not resolve gives a target without address.
ProbeTarget resolve_target(const std::string& name, std::optional<net::Family> family);
// Every name of `words` (see split_server_list), resolved.
std::vector<ProbeTarget> resolve_targets(const std::vector<std::string>& words,
                                         std::optional<net::Family> family);

enum class SocketMode { automatic, socket, raw };

struct LocalPortRequest {
    std::optional<net::IpAddress> address;  // --bind ADDR
    std::uint16_t port = 0;                 // -p / --source-port, or --bind's port
    std::optional<net::Family> family;      // -4 / -6
    SocketMode mode = SocketMode::automatic;
};

// The local port every request is sent from: one dual-stack socket, or, when the port is
// held by another socket (WireGuard), raw sockets per address family.
class LocalPort {
  public:
    // Throws natkit::Error: no_permission (raw mode without CAP_NET_RAW, privileged port),
    // usage (raw mode without a port), failure (other bind errors).
    static LocalPort open(const LocalPortRequest& request, io::Log& log);

    net::DatagramPort* for_family(net::Family family) const;
    std::vector<net::DatagramPort*> all() const;
    std::string_view mode() const;
    std::uint16_t port() const { return port_; }
    // The local endpoint used towards `server`: the bound address, or the route's source.
    std::optional<net::Endpoint> local_towards(const net::Endpoint& server) const;

  private:
    std::unique_ptr<net::DatagramPort> v4_;
    std::unique_ptr<net::DatagramPort> v6_;  // may carry IPv4 too (dual-stack socket)
    bool dual_stack_ = false;
    std::optional<net::IpAddress> bound_address_;
    std::uint16_t port_ = 0;
};

// Builds the request from the command line's words: --bind ADDR[:PORT], -p PORT, -4/-6,
// --mode auto|socket|raw. Throws a usage error naming the option on bad input.
LocalPortRequest local_port_request(const std::optional<std::string>& bind,
                                    std::optional<int> source_port,
                                    std::optional<net::Family> family, const std::string& mode);

// A number option that must be at least 1: returns it, or throws a usage error naming it.
int positive(int value, const std::string& option);

// Public servers used when none is named (overridable with `server` in the config file or
// NATKIT_SERVER).
const std::vector<std::string>& default_servers();

// Server names may come as several words or comma-separated lists (NATKIT_SERVER="a,b").
std::vector<std::string> split_server_list(const std::vector<std::string>& words);

struct ProbeOptions {
    std::chrono::milliseconds timeout{2000};  // overall deadline of one round
    RetransmitPolicy retransmit;
    bool first = false;  // stop at the first answer
    int count = 1;       // rounds, one after the other, from the same local port
};

using BindingSink = std::function<void(const io::StunBinding&)>;

// The parts of a stun.binding record a finished transaction tells: attempts, mapped,
// response_origin, other_address, software, rtt_ms, and error + detail when it failed.
void fill_from_transaction(io::StunBinding& record, const ClientTransaction& tx);

// One round: a Binding request to every target at once; `emit` gets one record per target,
// answers as they arrive, failures (timeout, unreachable ...) when they are known. With
// `first`, only the first answer is emitted. Returns the number of targets that answered.
int probe_round(const LocalPort& port, const std::vector<ProbeTarget>& targets,
                const ProbeOptions& options, const BindingSink& emit, io::Log& log);

// `options.count` rounds; returns the number of answers over all rounds.
int probe(const LocalPort& port, const std::vector<ProbeTarget>& targets,
          const ProbeOptions& options, const BindingSink& emit, io::Log& log);

}  // namespace natkit::stun
