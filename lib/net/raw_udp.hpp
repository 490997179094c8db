// UDP for a local port that another socket (the WireGuard device) already holds, through raw
// sockets: the datagrams leave from that very port, so NATs map them as they map WireGuard's.
// Receives only STUN (payload carrying the magic cookie) addressed to that port.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "net/datagram_port.hpp"
#include "net/endpoint.hpp"
#include "net/fd.hpp"
#include "net/udp_packet.hpp"

namespace natkit::net {

class RawUdp final : public DatagramPort {
  public:
    // A SOCK_RAW/IPPROTO_UDP socket for `family`, filtered (classic BPF) to STUN datagrams for
    // `local_port`. With a specific `local_address`, sends leave from it and datagrams to other
    // addresses are dropped; otherwise each send uses the kernel's route source for its target.
    // Throws std::system_error (EPERM without CAP_NET_RAW), std::invalid_argument if
    // `local_address` is of the other family.
    static RawUdp open(Family family, std::uint16_t local_port,
                       std::optional<IpAddress> local_address = std::nullopt);

    std::error_code send_to(std::span<const std::uint8_t> payload, const Endpoint& to) override;
    std::optional<Received> receive_from(std::span<std::uint8_t> buffer) override;
    // Raw sockets get no ICMP errors here: always nullopt.
    std::optional<IcmpError> receive_error() override { return std::nullopt; }
    std::vector<int> fds() const override { return {fd_.get()}; }
    Endpoint local_endpoint() const override;
    std::string_view mode() const override { return "raw"; }

  private:
    RawUdp(Fd fd, Family family, std::uint16_t local_port, std::optional<IpAddress> local_address);

    std::optional<IpAddress> source_towards(const IpAddress& destination, std::uint16_t port) const;
    bool wanted(const UdpView& datagram) const;

    Fd fd_;
    Family family_;
    std::uint16_t local_port_;
    std::optional<IpAddress> local_address_;  // set only when specific (not unspecified)
    std::vector<std::uint8_t> packet_;        // receive buffer for whole IP packets
};

}  // namespace natkit::net
