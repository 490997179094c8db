// One hole-punching attempt towards one peer, after the rendezvous introduced both (sans-IO):
// the caller hands it received messages and the time; it hands back messages to send and when
// to call it again. Probes go to every candidate at once and to wherever the peer's packets
// really come from; the endpoint kept is the source of the first acknowledgement.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/endpoint.hpp"
#include "punch/message.hpp"

namespace natkit::punch {

// What a node knows of its own NAT (from its nat.report).
struct OwnNat {
    Mapping mapping = Mapping::unknown;
    // Only a filter that checks the source port (port-restricted cone) needs the sweep: a full
    // or restricted cone lets the symmetric peer in once we have sent to its address.
    bool filter_checks_ports = true;
};

struct SessionConfig {
    std::uint64_t timeout_ms = 3000;  // give up this long after the introduction
    std::uint64_t interval_ms = 50;   // between probe rounds
    std::uint64_t linger_ms = 1000;   // after our confirmation, wait for the peer's
    OwnNat own;
    // The port sweep. A peer whose NAT maps per destination (symmetric) reaches us from a public
    // port nobody can observe, and a port-restricted NAT in front of us drops it until we have
    // sent to exactly that port. So when our mapping is endpoint-independent, our filter checks
    // ports and the peer's mapping is not endpoint-independent, we probe the peer's public address
    // on up to `sweep_ports` ports, nearest the port the rendezvous saw first (port prediction for
    // sequential allocators), at `sweep_rate` probes per second, starting `sweep_delay_ms` after
    // the introduction (an easier path answers first) and stopping at the first packet from the
    // peer. The sweeper waits as long as the sweep takes on top of timeout_ms, the swept side twice
    // that (a node sweeps one peer at a time, so ours may come second). 0 ports: never sweep.
    std::uint32_t sweep_ports = 64512;
    std::uint32_t sweep_rate = 16000;
    std::uint64_t sweep_delay_ms = 200;
};

inline constexpr std::uint16_t kSweepLowest = 1024;  // NATs do not map to the ports below

// The i-th port (from 0) of a sweep around `base`: base+1, base-1, base+2, base-2 ... within
// [kSweepLowest, 65535], going on along one side once the other is used up; nullopt past them.
std::optional<std::uint16_t> sweep_port(std::uint16_t base, std::uint32_t index);

// What kind of path an endpoint gives, best (0) first: the same site (a private IPv4 address,
// an IPv6 unique-local or link-local one), global IPv6 (no NAT on the way), public IPv4.
int path_rank(const net::Endpoint& endpoint);

// What one side does in a pair, from both mappings (see SessionConfig).
enum class Role { plain, sweeper, swept };
Role role_of(const OwnNat& own, Mapping peer, const SessionConfig& config);

struct Send {
    net::Endpoint to;
    Message message;  // timestamp and nonce are stamped by the caller
};

enum class Outcome { running, punched, failed };

class Session {
  public:
    // `introduction` is the server's introduce message (peer, observed, candidates, token).
    // The peer's mapping comes from the introduction's flags, or `peer_hint` where the peer did
    // not say (from the peer-set's `nat`).
    Session(std::string self_id, const Message& introduction, std::uint64_t now_ms,
            SessionConfig config = {}, Mapping peer_hint = Mapping::unknown);

    std::vector<Send> on_timer(std::uint64_t now_ms);
    // A message from the peer (probe or probe_ack with this session's token) from `from`.
    std::vector<Send> on_message(const Message& message, const net::Endpoint& from,
                                 std::uint64_t now_ms);

    std::uint64_t next_deadline_ms() const { return next_ms_; }
    Outcome outcome() const { return outcome_; }
    bool finished() const { return finished_; }
    const std::optional<net::Endpoint>& remote() const { return remote_; }
    const std::string& peer() const { return peer_; }
    const Token& token() const { return token_; }
    int attempts() const { return rounds_; }
    Role role() const { return role_; }
    std::uint32_t ports_swept() const { return swept_; }
    // From the introduction to the confirmation (or to giving up).
    std::uint64_t elapsed_ms() const { return confirmed_ms_ - started_ms_; }
    const std::vector<net::Endpoint>& targets() const { return targets_; }

  private:
    Send probe_to(const net::Endpoint& to);
    void add_target(const net::Endpoint& e);
    void sweep(std::uint64_t now_ms, std::vector<Send>& out);
    // Confirmed, and no better path can still answer: on the best kind already, none of the
    // targets is better, or the grace for a better one is over.
    bool settled(std::uint64_t now_ms) const;
    std::uint64_t sweep_ms() const {
        return std::uint64_t{config_.sweep_ports} * 1000 / config_.sweep_rate;
    }

    std::string self_;
    std::string peer_;
    Token token_;
    SessionConfig config_;
    std::vector<net::Endpoint> targets_;
    std::optional<net::Endpoint> remote_;
    Outcome outcome_ = Outcome::running;
    bool finished_ = false;
    bool peer_confirmed_ = false;
    bool heard_ = false;  // a packet from the peer arrived: the sweep has done its job
    Role role_ = Role::plain;
    std::optional<net::Endpoint> sweep_base_;  // the peer's public endpoint at the rendezvous
    std::uint32_t swept_ = 0;
    std::uint64_t started_ms_;
    std::uint64_t confirmed_ms_ = 0;
    std::uint64_t next_ms_;
    std::uint64_t next_round_ms_;  // the next probe round to every target
    std::uint64_t deadline_ms_;    // give up then
    std::uint32_t seq_ = 0;
    int rounds_ = 0;
};

}  // namespace natkit::punch
