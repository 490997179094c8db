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

struct SessionConfig {
    std::uint64_t timeout_ms = 3000;  // give up this long after the introduction
    std::uint64_t interval_ms = 50;   // between probe rounds
    std::uint64_t linger_ms = 1000;   // after our confirmation, wait for the peer's
};

struct Send {
    net::Endpoint to;
    Message message;  // timestamp and nonce are stamped by the caller
};

enum class Outcome { running, punched, failed };

class Session {
  public:
    // `introduction` is the server's introduce message (peer, observed, candidates, token).
    Session(std::string self_id, const Message& introduction, std::uint64_t now_ms,
            SessionConfig config = {});

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
    // From the introduction to the confirmation (or to giving up).
    std::uint64_t elapsed_ms() const { return confirmed_ms_ - started_ms_; }
    const std::vector<net::Endpoint>& targets() const { return targets_; }

  private:
    Send probe_to(const net::Endpoint& to);
    void add_target(const net::Endpoint& e);

    std::string self_;
    std::string peer_;
    Token token_;
    SessionConfig config_;
    std::vector<net::Endpoint> targets_;
    std::optional<net::Endpoint> remote_;
    Outcome outcome_ = Outcome::running;
    bool finished_ = false;
    bool peer_confirmed_ = false;
    std::uint64_t started_ms_;
    std::uint64_t confirmed_ms_ = 0;
    std::uint64_t next_ms_;
    std::uint32_t seq_ = 0;
    int rounds_ = 0;
};

}  // namespace natkit::punch
