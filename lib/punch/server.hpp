// The rendezvous server's logic (sans-IO): the caller hands it a datagram, its source and the
// time; it hands back the datagrams to send. Registrations, introductions, STUN Binding
// answers, freshness and replay checks, per-source rate limits, expiry.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/endpoint.hpp"
#include "punch/message.hpp"

namespace natkit::punch {

struct Outgoing {
    net::Endpoint to;
    std::vector<std::uint8_t> bytes;
};

struct ServerConfig {
    std::vector<std::uint8_t> secret;
    std::uint64_t ttl_ms = 60'000;        // a registration lives this long after its last refresh
    std::uint64_t freshness_ms = 30'000;  // accepted clock difference
    double rate_per_s = 50;               // per source address, after authentication
    double burst = 100;
    std::size_t max_nodes = 100'000;
    // Nonces of handled messages are kept 2 * freshness_ms (replay protection); past this many
    // the server refuses messages rather than forget one early. About 4 messages a node a minute.
    std::size_t max_nonces = 400'000;
    // Rate buckets (one per source address, STUN included); a new source past this is refused.
    std::size_t max_sources = 65'536;
    std::uint64_t introduction_reuse_ms = 10'000;  // a pair asking again gets the same token
};

struct ServerStats {
    std::uint64_t received = 0, unauthenticated = 0, stale = 0, replayed = 0, rate_limited = 0,
                  stun_answered = 0, registrations = 0, introductions = 0, dropped_larger = 0,
                  nonces_full = 0;
};

class Server {
  public:
    // `random` fills tokens (the IO glue passes a CSPRNG; tests a fixed one).
    using Random = std::function<void(std::span<std::uint8_t>)>;
    Server(ServerConfig config, Random random);

    // Never returns a datagram to `from` larger than `datagram`; a packet that fails
    // authentication or freshness gets nothing and leaves no state.
    std::vector<Outgoing> handle(std::span<const std::uint8_t> datagram, const net::Endpoint& from,
                                 std::uint64_t now_ms);
    // Drops expired registrations, introductions, nonces and idle rate buckets.
    void expire(std::uint64_t now_ms);

    std::size_t node_count() const { return nodes_.size(); }
    const ServerStats& stats() const { return stats_; }

  private:
    struct Node {
        net::Endpoint observed;
        std::vector<net::Endpoint> candidates;
        std::uint8_t mapping_flags = 0;  // as the node registered them
        std::uint64_t expires_ms = 0;
    };
    struct Introduction {
        Token token{};
        std::uint64_t created_ms = 0;
    };
    struct Bucket {
        double tokens = 0;
        std::uint64_t last_ms = 0;
    };

    std::vector<Outgoing> handle_stun(std::span<const std::uint8_t> datagram,
                                      const net::Endpoint& from);
    std::vector<Outgoing> handle_register(const Message& m, const net::Endpoint& from,
                                          std::uint64_t now_ms);
    std::vector<Outgoing> handle_connect(const Message& m, const net::Endpoint& from,
                                         std::uint64_t now_ms);
    bool fresh_and_new(const Message& m, std::uint64_t now_ms);  // checks, changes nothing
    void remember(const Message& m, std::uint64_t now_ms);
    bool within_rate(const net::IpAddress& source, std::uint64_t now_ms);
    std::vector<std::uint8_t> seal(Message m, std::uint64_t now_ms);

    ServerConfig config_;
    Random random_;
    std::unordered_map<std::string, Node> nodes_;        // key: network '\0' id
    std::map<std::string, Introduction> introductions_;  // key: network '\0' lo '\0' hi
    std::unordered_set<std::uint64_t> nonces_;
    std::deque<std::pair<std::uint64_t, std::uint64_t>> nonce_order_;  // (time, nonce)
    std::map<net::IpAddress, Bucket> buckets_;
    ServerStats stats_;
};

}  // namespace natkit::punch
