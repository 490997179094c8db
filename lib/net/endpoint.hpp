// IP addresses and endpoints as value types, parsed and printed exactly as wg(8) does.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace natkit::net {

enum class Family : std::uint8_t { v4, v6 };

// An IPv4 or IPv6 address. IPv4 uses the first 4 bytes of `bytes`.
struct IpAddress {
    Family family = Family::v4;
    std::array<std::uint8_t, 16> bytes{};
    std::uint32_t scope_id = 0;  // IPv6 link-local zone, 0 when none

    static IpAddress v4(std::uint32_t host_order);
    static IpAddress v4(std::span<const std::uint8_t, 4> network_order);
    static IpAddress v6(std::span<const std::uint8_t, 16> network_order, std::uint32_t scope = 0);
    static IpAddress any(Family family);
    static IpAddress loopback(Family family);

    std::span<const std::uint8_t> octets() const {
        return {bytes.data(), family == Family::v4 ? 4u : 16u};
    }
    bool is_unspecified() const;
    bool is_loopback() const;
    bool is_v4_mapped() const;   // ::ffff:a.b.c.d
    IpAddress unmapped() const;  // ::ffff:a.b.c.d -> a.b.c.d; anything else unchanged
    IpAddress mapped() const;    // a.b.c.d -> ::ffff:a.b.c.d; anything else unchanged

    std::string to_string() const;  // 203.0.113.7, 2001:db8::7, fe80::1%eth0
    static std::optional<IpAddress> parse(std::string_view text);  // numeric only

    friend bool operator==(const IpAddress&, const IpAddress&) = default;
    friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

// An address and a UDP port.
struct Endpoint {
    IpAddress address;
    std::uint16_t port = 0;

    Family family() const { return address.family; }

    // As wg(8) prints: 203.0.113.7:51820, [2001:db8::7]:51820
    std::string to_string() const;
    // Numeric "IPv4:port" or "[IPv6]:port" (wg(8)'s syntax). No name resolution.
    static std::optional<Endpoint> parse(std::string_view text);

    sockaddr_storage to_sockaddr(socklen_t& length) const;
    static std::optional<Endpoint> from_sockaddr(const sockaddr* address, socklen_t length);

    friend bool operator==(const Endpoint&, const Endpoint&) = default;
    friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

// "host:port", "[v6]:port", or, when default_port is given, a bare "host" / "v6" / "[v6]".
struct HostPort {
    std::string host;
    std::uint16_t port = 0;
};
std::optional<HostPort> split_host_port(std::string_view text,
                                        std::optional<std::uint16_t> default_port = std::nullopt);

// Resolves a host name or numeric address (getaddrinfo), keeping the resolver's order.
// `family` restricts the answers; empty result and `error` set when nothing resolved.
std::vector<Endpoint> resolve(const HostPort& where, std::optional<Family> family,
                              std::string* error = nullptr);

}  // namespace natkit::net
