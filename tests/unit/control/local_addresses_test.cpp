#include "control/local_addresses.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace natkit;
using namespace natkit::control;

TEST_CASE("candidates never include loopback, unspecified or link-local addresses") {
    for (const auto& address : candidate_addresses("")) {
        CHECK_FALSE(address.is_loopback());
        CHECK_FALSE(address.is_unspecified());
        if (address.family == net::Family::v4) {
            CHECK_FALSE((address.bytes[0] == 169 && address.bytes[1] == 254));
        } else {
            CHECK((address.bytes[0] & 0xe0) == 0x20);
        }
    }
}

TEST_CASE("an interface's addresses are host prefixes") {
    auto prefixes = interface_host_prefixes("lo");
    auto loopback = net::Prefix{net::IpAddress::loopback(net::Family::v4), 32};
    CHECK(std::find(prefixes.begin(), prefixes.end(), loopback) != prefixes.end());
    CHECK(interface_host_prefixes("no-such-interface0").empty());
}
