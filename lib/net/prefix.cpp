#include "net/prefix.hpp"

#include <charconv>

namespace natkit::net {

namespace {

unsigned max_length(Family family) {
    return family == Family::v4 ? 32 : 128;
}

IpAddress masked(IpAddress address, unsigned length) {
    auto total = max_length(address.family);
    for (unsigned bit = length; bit < total; ++bit) {
        address.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    }
    return address;
}

}  // namespace

std::optional<Prefix> Prefix::parse(std::string_view text) {
    auto slash = text.find('/');
    auto address = IpAddress::parse(text.substr(0, slash));
    if (!address || address->scope_id != 0) return std::nullopt;
    unsigned length = max_length(address->family);
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3) return std::nullopt;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
        if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
        if (length > max_length(address->family)) return std::nullopt;
    }
    return Prefix{masked(*address, length), static_cast<std::uint8_t>(length)};
}

std::string Prefix::to_string() const {
    return address.to_string() + "/" + std::to_string(length);
}

bool Prefix::contains(const IpAddress& other) const {
    auto candidate = other.family == address.family ? other : other.unmapped();
    if (candidate.family != address.family) return false;
    return masked(candidate, length).bytes == address.bytes;
}

std::optional<IpAddress> Prefix::nth(std::uint64_t index) const {
    unsigned host_bits = max_length(address.family) - length;
    if (host_bits < 64 && index >> host_bits != 0) return std::nullopt;
    IpAddress out = address;
    int byte = static_cast<int>(out.octets().size()) - 1;
    unsigned carry = 0;
    while (byte >= 0 && (index != 0 || carry != 0)) {
        unsigned sum = out.bytes[byte] + static_cast<unsigned>(index & 0xff) + carry;
        out.bytes[byte] = static_cast<std::uint8_t>(sum);
        carry = sum >> 8;
        index >>= 8;
        --byte;
    }
    return out;
}

}  // namespace natkit::net
