// A UDP port through an ordinary socket: the normal way to send and receive.
#pragma once

#include <optional>

#include "net/datagram_port.hpp"
#include "net/endpoint.hpp"
#include "net/fd.hpp"

namespace natkit::net {

class UdpSocket final : public DatagramPort {
  public:
    // Binds to `local` (port 0 picks an ephemeral port). An unspecified IPv6 address with
    // dual_stack also carries IPv4 (IPV6_V6ONLY=0), and sends to IPv4 endpoints are mapped.
    // ICMP errors are queued (IP_RECVERR / IPV6_RECVERR). Non-blocking, close-on-exec.
    // Throws std::system_error with the errno (EADDRINUSE, EACCES, EADDRNOTAVAIL ...) and a
    // message naming the address.
    static UdpSocket bind(const Endpoint& local, bool dual_stack = false);

    std::error_code send_to(std::span<const std::uint8_t> payload, const Endpoint& to) override;
    std::optional<Received> receive_from(std::span<std::uint8_t> buffer) override;
    std::optional<IcmpError> receive_error() override;
    std::vector<int> fds() const override { return {fd_.get()}; }
    Endpoint local_endpoint() const override { return local_; }
    std::string_view mode() const override { return "socket"; }

    int fd() const { return fd_.get(); }

  private:
    UdpSocket(Fd fd, const Endpoint& local) : fd_(std::move(fd)), local_(local) {}

    Fd fd_;
    Endpoint local_;
};

// The source address the kernel would pick to reach `to` (a route lookup: connect a throwaway
// UDP socket and read its name). nullopt when there is no route.
std::optional<IpAddress> source_address_towards(const Endpoint& to);

}  // namespace natkit::net
