// One local UDP port, reached through a normal socket or through raw sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "net/endpoint.hpp"

namespace natkit::net {

// A datagram copied to the start of the caller's buffer. IPv4-mapped sources come back as IPv4.
struct Received {
    std::size_t size = 0;
    Endpoint from;
};

// An ICMP error (IP_RECVERR / IPV6_RECVERR): the destination of the datagram that caused it,
// and the errno it maps to (ECONNREFUSED for port unreachable, EHOSTUNREACH, EMSGSIZE ...).
struct IcmpError {
    Endpoint destination;
    int error = 0;
};

class DatagramPort {
  public:
    virtual ~DatagramPort() = default;

    // Non-blocking. {} on success, else the errno (system_category).
    virtual std::error_code send_to(std::span<const std::uint8_t> payload, const Endpoint& to) = 0;
    // Copies one datagram's payload to the start of `buffer` (truncated to its size);
    // nullopt when nothing is pending.
    virtual std::optional<Received> receive_from(std::span<std::uint8_t> buffer) = 0;
    // Drains one queued ICMP error; nullopt when none.
    virtual std::optional<IcmpError> receive_error() = 0;
    // The descriptors to poll for readability (POLLERR included).
    virtual std::vector<int> fds() const = 0;
    virtual Endpoint local_endpoint() const = 0;
    // "socket" or "raw", as in the stun.binding record's `mode`.
    virtual std::string_view mode() const = 0;

  protected:
    DatagramPort() = default;
    DatagramPort(const DatagramPort&) = default;
    DatagramPort(DatagramPort&&) = default;
    DatagramPort& operator=(const DatagramPort&) = default;
    DatagramPort& operator=(DatagramPort&&) = default;
};

}  // namespace natkit::net
