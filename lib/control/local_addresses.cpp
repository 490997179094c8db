#include "control/local_addresses.hpp"

#include <ifaddrs.h>
#include <net/if.h>

#include <memory>

namespace natkit::control {

namespace {

using Addresses = std::unique_ptr<ifaddrs, void (*)(ifaddrs*)>;

Addresses interface_addresses() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) list = nullptr;
    return Addresses(list, ::freeifaddrs);
}

std::optional<net::IpAddress> address_of(const ifaddrs* entry) {
    if (!entry->ifa_addr) return std::nullopt;
    auto family = entry->ifa_addr->sa_family;
    socklen_t size = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (family != AF_INET && family != AF_INET6) return std::nullopt;
    auto endpoint = net::Endpoint::from_sockaddr(entry->ifa_addr, size);
    if (!endpoint) return std::nullopt;
    return endpoint->address;
}

bool is_candidate(const net::IpAddress& address) {
    if (address.is_loopback() || address.is_unspecified()) return false;
    if (address.family == net::Family::v4) {
        return !(address.bytes[0] == 169 && address.bytes[1] == 254);
    }
    return (address.bytes[0] & 0xe0) == 0x20;  // global unicast 2000::/3
}

}  // namespace

std::vector<net::IpAddress> candidate_addresses(const std::string& skip_interface) {
    std::vector<net::IpAddress> result;
    auto list = interface_addresses();
    for (const auto* entry = list.get(); entry; entry = entry->ifa_next) {
        if (!(entry->ifa_flags & IFF_UP) || (entry->ifa_flags & IFF_LOOPBACK)) continue;
        if (entry->ifa_name && skip_interface == entry->ifa_name) continue;
        auto address = address_of(entry);
        if (address && is_candidate(*address)) result.push_back(*address);
    }
    return result;
}

std::vector<net::Prefix> interface_host_prefixes(const std::string& interface) {
    std::vector<net::Prefix> result;
    auto list = interface_addresses();
    for (const auto* entry = list.get(); entry; entry = entry->ifa_next) {
        if (!entry->ifa_name || interface != entry->ifa_name) continue;
        auto address = address_of(entry);
        if (!address || (address->family == net::Family::v6 && address->bytes[0] == 0xfe)) {
            continue;
        }
        auto length = static_cast<std::uint8_t>(address->family == net::Family::v4 ? 32 : 128);
        address->scope_id = 0;
        result.push_back(net::Prefix{*address, length});
    }
    return result;
}

}  // namespace natkit::control
