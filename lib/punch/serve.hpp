// `punch serve`: the rendezvous server's IO glue (UDP sockets, the event loop, the clock).
#pragma once

#include <vector>

#include "io/log.hpp"
#include "net/endpoint.hpp"
#include "punch/server.hpp"

namespace natkit::punch {

struct ServeOptions {
    std::vector<net::Endpoint> listen;  // empty: [::]:3480 dual-stack
    ServerConfig config;
    int stats_interval_s = 0;  // log the counters this often at info level (0: never)
};

// Runs until killed. Throws natkit::Error when a listen address cannot be bound.
void serve(const ServeOptions& options, io::Log& log);

// Fills `bytes` from the system CSPRNG (throws std::runtime_error if it fails).
void random_bytes(std::span<std::uint8_t> bytes);
// Unix time in milliseconds.
std::uint64_t unix_ms();

}  // namespace natkit::punch
