// Fuzzes the raw-socket parsers: parse_ipv4_udp on the whole input, and parse_udp on the rest
// of the input after taking addresses from its start (32 bytes as two IPv6 addresses, or
// 8 bytes as two IPv4 addresses). Whatever parses must survive a build/parse round trip.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>

#include "net/udp_packet.hpp"

using namespace natkit::net;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

void check(const std::optional<UdpView>& view, std::span<const std::uint8_t> input) {
    if (!view) return;
    require(view->payload.data() >= input.data());
    require(view->payload.data() + view->payload.size() <= input.data() + input.size());
    require(view->payload.size() <= kMaxUdpPayload);

    auto segment = build_udp_segment(view->source, view->destination, view->payload);
    auto again = parse_udp(segment, view->source.address, view->destination.address);
    require(again.has_value());
    require(again->source == view->source);
    require(again->destination == view->destination);
    require(std::equal(again->payload.begin(), again->payload.end(), view->payload.begin(),
                       view->payload.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> input(data, size);
    check(parse_ipv4_udp(input), input);
    if (input.size() >= 8) {
        auto source = IpAddress::v4(input.subspan<0, 4>());
        auto destination = IpAddress::v4(input.subspan<4, 4>());
        check(parse_udp(input.subspan(8), source, destination), input);
    }
    if (input.size() >= 32) {
        auto source = IpAddress::v6(input.subspan<0, 16>());
        auto destination = IpAddress::v6(input.subspan<16, 16>());
        check(parse_udp(input.subspan(32), source, destination), input);
    }
    return 0;
}
