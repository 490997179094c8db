// An IP prefix (CIDR), normalised: address bits beyond `length` are zero.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/endpoint.hpp"

namespace natkit::net {

struct Prefix {
    IpAddress address;
    std::uint8_t length = 0;

    // "10.66.0.0/16", "fd00::1/128"; a bare address is a host prefix (/32, /128).
    // Host bits are cleared ("10.0.0.1/24" -> "10.0.0.0/24"), as wg(8) does.
    static std::optional<Prefix> parse(std::string_view text);
    std::string to_string() const;
    bool contains(const IpAddress& address) const;
    // The `index`-th address of the prefix (0 = the network address); nullopt past its end.
    std::optional<IpAddress> nth(std::uint64_t index) const;

    friend bool operator==(const Prefix&, const Prefix&) = default;
    friend auto operator<=>(const Prefix&, const Prefix&) = default;
};

}  // namespace natkit::net
