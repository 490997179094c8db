// The punch client's IO glue: registers with the rendezvous server from the local port (socket
// or raw), asks for each peer, runs a Session per introduction, and reports what answered.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/log.hpp"
#include "io/ndjson.hpp"
#include "io/peer_set.hpp"
#include "net/endpoint.hpp"
#include "punch/session.hpp"
#include "stun/probe.hpp"

namespace natkit::punch {

struct ClientOptions {
    std::string id;
    std::string network;
    std::vector<std::uint8_t> secret;
    net::Endpoint server;
    std::vector<net::Endpoint> extra_candidates;  // --candidate, after the local address
    std::uint64_t register_timeout_ms = 2000;     // no answer: rendezvous unreachable (69)
    std::uint64_t window_ms = 10'000;             // how long to wait for a peer to show up
    std::uint64_t keepalive_ms = 15'000;          // re-registration: keeps the mapping, notices
                                                  // rebinding (--follow punches again then)
    SessionConfig session;                        // session.own.mapping goes into registrations
    std::map<std::string, Mapping>
        peer_mappings;  // from a peer-set, where an introduction is silent
};

struct PeerResult {
    std::string peer;
    std::optional<net::Endpoint> local;
    std::optional<net::Endpoint> remote;
    std::string outcome;  // direct | punched | relay | unreachable
    int attempts = 0;
    std::uint64_t elapsed_ms = 0;
    std::uint32_t ports_swept = 0;  // probes of the port sweep (see SessionConfig)
};

// One-shot: registers, punches to every peer in `peers` at once, returns one result per peer
// (in the same order), calling `on_result` for each as it finishes. Throws
// natkit::Error(unavailable) when the server does not answer.
using ResultSink = std::function<void(const PeerResult&)>;
std::vector<PeerResult> punch_peers(const stun::LocalPort& port, const ClientOptions& options,
                                    const std::vector<std::string>& peers, io::Log& log,
                                    const ResultSink& on_result = {});

// --follow: stays registered and answers introductions (a session per peer that asks; each
// result to `on_result`), punching `peers` once at the start. With `input_fd` (stdin; -1 for
// none) it also reads NDJSON as it arrives: each peer-set of our network has its peers punched
// (again when a peer's key, endpoint or candidates change, or a failed one after 30 s) and is
// written to `on_record` with what answered once none of them is pending, and again whenever a
// later result changes it; a nat.report sets this node's own mapping; other records pass
// through. Ends when that input ends (after it delivered anything) and no session is left;
// never when there was no input at all. Bad input throws natkit::data_error (65).
using RecordSink = std::function<void(const io::json&)>;
void follow(const stun::LocalPort& port, const ClientOptions& options,
            const std::vector<std::string>& peers, int input_fd, io::Log& log,
            const RecordSink& on_record, const ResultSink& on_result);

// The peer-set with each handled peer's endpoint (when one answered) and path set.
io::PeerSet apply_results(io::PeerSet set, const std::vector<PeerResult>& results);

// The punch.result record.
io::json to_json(const PeerResult& result);

// Every record of the client's input, read and validated before anything is sent;
// peer-sets typed (the others are passed through as they are).
struct ClientInput {
    std::vector<io::InputRecord> records;
    std::vector<std::optional<io::PeerSet>> sets;  // one per record
    std::optional<OwnNat> own_nat;                 // from the last nat.report record, if any
};

// This node's NAT from a nat.report record (nat-classify's output): `mapping` and `filtering`.
OwnNat own_nat_of_report(const io::InputRecord& record, const std::string& source);
// The last nat.report in a file (`--nat-report FILE`); data_error when it holds none.
OwnNat read_nat_report(const std::string& path);
ClientInput read_client_input(std::istream& in, const std::string& source);

// The one-shot client over its input: each peer-set's peers (all but this node) are punched
// and the set is written back with apply_results(); other records pass through unchanged.
// A peer-set's own network wins over options.network (warned about when `network_given`).
void punch_sets(const stun::LocalPort& port, const ClientOptions& options, const ClientInput& input,
                bool network_given, io::RecordWriter& out, io::Log& log,
                const ResultSink& on_result);

}  // namespace natkit::punch
