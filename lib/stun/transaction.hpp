// A STUN client transaction over UDP, sans-IO (RFC 8489 section 6.2.1): the caller hands
// in datagrams and the current time; the transaction says what to send and when.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/endpoint.hpp"
#include "stun/message.hpp"

namespace natkit::stun {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

struct RetransmitPolicy {
    std::chrono::milliseconds initial_rto{500};  // RFC 8489 default RTO
    int max_sends = 7;                           // Rc
    int last_wait_factor = 16;                   // Rm: wait Rm * RTO after the last send
};

enum class Outcome {
    pending,
    success,         // a success response with a reflexive address
    error_response,  // the server answered with an error response
    bad_response,    // the server answered, but the answer is unusable
    unreachable,     // an ICMP error said the server cannot be reached
    timeout,         // no answer within the retransmission schedule
};
std::string_view outcome_name(Outcome outcome);  // "timeout", "error-response", ...

class ClientTransaction {
  public:
    // `request` must carry `id` as its transaction ID. The first send is due at `now`.
    // Responses are accepted only from `server`, unless `accept_from` names other sources
    // (RFC 5780 CHANGE-REQUEST tests are answered from the alternate address).
    ClientTransaction(net::Endpoint server, TransactionId id, std::vector<std::uint8_t> request,
                      RetransmitPolicy policy, TimePoint now,
                      std::vector<net::Endpoint> accept_from = {});

    // Bytes to send now when a (re)transmission is due, else empty. Turns into `timeout`
    // once the last send has gone unanswered for Rm * RTO.
    std::span<const std::uint8_t> poll(TimePoint now);
    // When poll() must next be called; TimePoint::max() once finished.
    TimePoint deadline() const;

    // Offers a received datagram. Returns true if it belongs to this transaction and
    // finished it; anything else (other IDs, wrong source, not STUN) is ignored.
    bool on_datagram(std::span<const std::uint8_t> datagram, const net::Endpoint& from,
                     TimePoint now);
    // Accept answers from any source; the caller validates response_source() (RFC 5780
    // CHANGE-REQUEST tests, where an answer from the wrong address is itself a finding).
    void accept_any_source() { accept_any_source_ = true; }
    // The answer is expected on another port (RESPONSE-PORT): none is accepted here; the
    // caller finishes the transaction with on_delivered() or lets it expire.
    void accept_no_answer() { accept_no_answer_ = true; }
    // An ICMP error for the server's address: the transaction fails as `unreachable`.
    void on_unreachable(std::string detail);
    // The request was seen arriving where it was sent (the hairpin test has no response).
    void on_delivered(TimePoint now);
    // The caller's overall deadline has passed.
    void expire();

    bool finished() const { return outcome_ != Outcome::pending; }
    Outcome outcome() const { return outcome_; }
    const std::optional<Message>& response() const { return response_; }
    const std::optional<net::Endpoint>& response_source() const { return response_source_; }
    const std::string& detail() const { return detail_; }
    int sends() const { return sends_; }
    // Round-trip time. After retransmissions it is measured from the latest send, which
    // never overstates it (Karn's ambiguity resolved towards the lower bound).
    std::optional<Duration> rtt() const { return rtt_; }
    const net::Endpoint& server() const { return server_; }
    const TransactionId& id() const { return id_; }

  private:
    bool accepts_source(const net::Endpoint& from) const;
    void finish(Outcome outcome, std::string detail);

    net::Endpoint server_;
    TransactionId id_;
    std::vector<std::uint8_t> request_;
    RetransmitPolicy policy_;
    std::vector<net::Endpoint> accept_from_;
    bool accept_any_source_ = false;
    bool accept_no_answer_ = false;
    TimePoint next_;
    TimePoint last_send_{};
    Duration rto_;
    int sends_ = 0;
    Outcome outcome_ = Outcome::pending;
    std::optional<Message> response_;
    std::optional<net::Endpoint> response_source_;
    std::optional<Duration> rtt_;
    std::string detail_;
};

// A fresh random transaction ID (RFC 8489: uniformly random, from a CSPRNG).
TransactionId random_transaction_id();

}  // namespace natkit::stun
