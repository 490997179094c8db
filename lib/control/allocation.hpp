// Choosing an overlay address from a range (pure): the first one nobody holds.
#pragma once

#include <optional>
#include <set>

#include "net/prefix.hpp"

namespace natkit::control {

// Skips the network address and, for IPv4 prefixes shorter than /31, the broadcast address.
// Looks at most at `limit` addresses; nullopt when they are all taken.
std::optional<net::IpAddress> first_free_address(const net::Prefix& range,
                                                 const std::set<net::IpAddress>& taken,
                                                 std::uint64_t limit = 1u << 20);

}  // namespace natkit::control
