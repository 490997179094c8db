#include "net/endpoint.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>

namespace natkit::net {

namespace {

constexpr std::array<std::uint8_t, 12> kV4MappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5) return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

}  // namespace

IpAddress IpAddress::v4(std::uint32_t host_order) {
    IpAddress a;
    a.family = Family::v4;
    a.bytes[0] = static_cast<std::uint8_t>(host_order >> 24);
    a.bytes[1] = static_cast<std::uint8_t>(host_order >> 16);
    a.bytes[2] = static_cast<std::uint8_t>(host_order >> 8);
    a.bytes[3] = static_cast<std::uint8_t>(host_order);
    return a;
}

IpAddress IpAddress::v4(std::span<const std::uint8_t, 4> network_order) {
    IpAddress a;
    a.family = Family::v4;
    std::copy(network_order.begin(), network_order.end(), a.bytes.begin());
    return a;
}

IpAddress IpAddress::v6(std::span<const std::uint8_t, 16> network_order, std::uint32_t scope) {
    IpAddress a;
    a.family = Family::v6;
    std::copy(network_order.begin(), network_order.end(), a.bytes.begin());
    a.scope_id = scope;
    return a;
}

IpAddress IpAddress::any(Family family) {
    IpAddress a;
    a.family = family;
    return a;
}

IpAddress IpAddress::loopback(Family family) {
    IpAddress a;
    a.family = family;
    if (family == Family::v4) {
        a.bytes[0] = 127;
        a.bytes[3] = 1;
    } else {
        a.bytes[15] = 1;
    }
    return a;
}

bool IpAddress::is_unspecified() const {
    auto o = octets();
    return std::all_of(o.begin(), o.end(), [](std::uint8_t b) { return b == 0; });
}

bool IpAddress::is_loopback() const {
    if (family == Family::v4) return bytes[0] == 127;
    if (is_v4_mapped()) return bytes[12] == 127;
    return *this == loopback(Family::v6);
}

bool IpAddress::is_v4_mapped() const {
    return family == Family::v6 &&
           std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes.begin());
}

IpAddress IpAddress::unmapped() const {
    if (!is_v4_mapped()) return *this;
    IpAddress a;
    a.family = Family::v4;
    std::copy(bytes.begin() + 12, bytes.end(), a.bytes.begin());
    return a;
}

IpAddress IpAddress::mapped() const {
    if (family == Family::v6) return *this;
    IpAddress a;
    a.family = Family::v6;
    std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), a.bytes.begin());
    std::copy(bytes.begin(), bytes.begin() + 4, a.bytes.begin() + 12);
    return a;
}

std::string IpAddress::to_string() const {
    char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 1] = {};
    inet_ntop(family == Family::v4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof text);
    std::string out(text);
    if (family == Family::v6 && scope_id != 0) {
        char name[IF_NAMESIZE] = {};
        out += '%';
        out += if_indextoname(scope_id, name) ? std::string(name) : std::to_string(scope_id);
    }
    return out;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.empty() || text.size() > INET6_ADDRSTRLEN + IF_NAMESIZE) return std::nullopt;
    // inet_pton and if_nametoindex stop at a NUL: "1.2.3.4\0junk" must not pass as 1.2.3.4.
    if (text.find('\0') != std::string_view::npos) return std::nullopt;
    std::string owned(text);
    IpAddress a;
    if (inet_pton(AF_INET, owned.c_str(), a.bytes.data()) == 1) {
        a.family = Family::v4;
        return a;
    }
    std::string zone;
    if (auto percent = owned.find('%'); percent != std::string::npos) {
        zone = owned.substr(percent + 1);
        owned.resize(percent);
        if (zone.empty()) return std::nullopt;
    }
    if (inet_pton(AF_INET6, owned.c_str(), a.bytes.data()) != 1) return std::nullopt;
    a.family = Family::v6;
    if (!zone.empty()) {
        unsigned index = 0;
        auto [end, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), index);
        if (ec == std::errc{} && end == zone.data() + zone.size()) {
            a.scope_id = index;
        } else {
            a.scope_id = if_nametoindex(zone.c_str());
            if (a.scope_id == 0) return std::nullopt;
        }
    }
    return a;
}

std::string Endpoint::to_string() const {
    if (address.family == Family::v6) {
        return "[" + address.to_string() + "]:" + std::to_string(port);
    }
    return address.to_string() + ":" + std::to_string(port);
}

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
    auto hp = split_host_port(text);
    if (!hp) return std::nullopt;
    auto address = IpAddress::parse(hp->host);
    if (!address) return std::nullopt;
    // wg(8) brackets IPv6 and never brackets IPv4.
    bool bracketed = !text.empty() && text.front() == '[';
    if (bracketed != (address->family == Family::v6)) return std::nullopt;
    return Endpoint{*address, hp->port};
}

std::optional<HostPort> split_host_port(std::string_view text,
                                        std::optional<std::uint16_t> default_port) {
    if (text.empty()) return std::nullopt;
    if (text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close == 1) return std::nullopt;
        HostPort hp{std::string(text.substr(1, close - 1)), 0};
        auto rest = text.substr(close + 1);
        if (rest.empty()) {
            if (!default_port) return std::nullopt;
            hp.port = *default_port;
            return hp;
        }
        if (rest.front() != ':') return std::nullopt;
        auto port = parse_port(rest.substr(1));
        if (!port) return std::nullopt;
        hp.port = *port;
        return hp;
    }
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
        // No colon, or a bare IPv6 address: only valid with a default port.
        if (!default_port) return std::nullopt;
        if (colon != std::string_view::npos && !IpAddress::parse(text)) return std::nullopt;
        return HostPort{std::string(text), *default_port};
    }
    if (colon == 0) return std::nullopt;
    auto port = parse_port(text.substr(colon + 1));
    if (!port) return std::nullopt;
    return HostPort{std::string(text.substr(0, colon)), *port};
}

sockaddr_storage Endpoint::to_sockaddr(socklen_t& length) const {
    sockaddr_storage storage{};
    if (address.family == Family::v4) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        std::memcpy(&sin->sin_addr, address.bytes.data(), 4);
        length = sizeof(sockaddr_in);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        std::memcpy(&sin6->sin6_addr, address.bytes.data(), 16);
        sin6->sin6_scope_id = address.scope_id;
        length = sizeof(sockaddr_in6);
    }
    return storage;
}

std::optional<Endpoint> Endpoint::from_sockaddr(const sockaddr* sa, socklen_t length) {
    if (sa == nullptr) return std::nullopt;
    if (sa->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        sockaddr_in sin{};
        std::memcpy(&sin, sa, sizeof sin);
        std::array<std::uint8_t, 4> raw{};
        std::memcpy(raw.data(), &sin.sin_addr, 4);
        return Endpoint{IpAddress::v4(raw), ntohs(sin.sin_port)};
    }
    if (sa->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, sa, sizeof sin6);
        std::array<std::uint8_t, 16> raw{};
        std::memcpy(raw.data(), &sin6.sin6_addr, 16);
        return Endpoint{IpAddress::v6(raw, sin6.sin6_scope_id), ntohs(sin6.sin6_port)};
    }
    return std::nullopt;
}

std::vector<Endpoint> resolve(const HostPort& where, std::optional<Family> family,
                              std::string* error) {
    std::vector<Endpoint> out;
    // Numeric addresses (including zones) need no resolver.
    if (auto numeric = IpAddress::parse(where.host)) {
        if (!family || numeric->family == *family) {
            out.push_back({*numeric, where.port});
        } else if (error) {
            *error = "address family does not match -4/-6";
        }
        return out;
    }
    addrinfo hints{};
    hints.ai_family = !family ? AF_UNSPEC : (*family == Family::v4 ? AF_INET : AF_INET6);
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    addrinfo* raw = nullptr;
    int rc = getaddrinfo(where.host.c_str(), nullptr, &hints, &raw);
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(raw, &freeaddrinfo);
    if (rc != 0) {
        if (error) *error = gai_strerror(rc);
        return out;
    }
    for (auto* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
        auto ep = Endpoint::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
        if (!ep) continue;
        ep->port = where.port;
        if (std::find(out.begin(), out.end(), *ep) == out.end()) out.push_back(*ep);
    }
    if (out.empty() && error) *error = "no address of the requested family";
    return out;
}

}  // namespace natkit::net
