// This host's addresses worth offering as endpoint candidates, and an interface's addresses.
#pragma once

#include <string>
#include <vector>

#include "net/endpoint.hpp"
#include "net/prefix.hpp"

namespace natkit::control {

// Addresses of interfaces that are up, except loopback, link-local and `skip_interface`
// (the WireGuard device itself): IPv4, and global IPv6 (2000::/3). In getifaddrs order.
std::vector<net::IpAddress> candidate_addresses(const std::string& skip_interface);
// The addresses on `interface`, as host prefixes (/32, /128): a node's overlay addresses.
std::vector<net::Prefix> interface_host_prefixes(const std::string& interface);

}  // namespace natkit::control
