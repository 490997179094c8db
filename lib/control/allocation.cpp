#include "control/allocation.hpp"

namespace natkit::control {

namespace {

std::uint64_t size_of(const net::Prefix& range) {
    unsigned bits = (range.address.family == net::Family::v4 ? 32u : 128u) - range.length;
    return bits >= 63 ? (std::uint64_t{1} << 63) : (std::uint64_t{1} << bits);
}

}  // namespace

std::optional<net::IpAddress> first_free_address(const net::Prefix& range,
                                                 const std::set<net::IpAddress>& taken,
                                                 std::uint64_t limit) {
    std::uint64_t size = size_of(range);
    bool v4 = range.address.family == net::Family::v4;
    std::uint64_t first = size <= 2 ? 0 : 1;
    std::uint64_t end = v4 && size > 2 ? size - 1 : size;
    for (std::uint64_t i = first; i < end && i - first < limit; ++i) {
        auto address = range.nth(i);
        if (!address) break;
        if (!taken.contains(*address)) return address;
    }
    return std::nullopt;
}

}  // namespace natkit::control
