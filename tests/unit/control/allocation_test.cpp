#include "control/allocation.hpp"

#include <catch2/catch.hpp>

using namespace natkit;
using namespace natkit::control;

namespace {
net::IpAddress ip(const char* text) {
    return *net::IpAddress::parse(text);
}
net::Prefix range(const char* text) {
    return *net::Prefix::parse(text);
}
}  // namespace

TEST_CASE("the first free address skips the network and broadcast addresses") {
    CHECK(first_free_address(range("10.66.0.0/24"), {}) == ip("10.66.0.1"));
    CHECK(first_free_address(range("10.66.0.0/24"), {ip("10.66.0.1"), ip("10.66.0.2")}) ==
          ip("10.66.0.3"));
    std::set<net::IpAddress> taken;
    for (int i = 1; i <= 253; ++i) taken.insert(ip(("10.66.0." + std::to_string(i)).c_str()));
    CHECK(first_free_address(range("10.66.0.0/24"), taken) == ip("10.66.0.254"));
    taken.insert(ip("10.66.0.254"));
    CHECK_FALSE(first_free_address(range("10.66.0.0/24"), taken));
}

TEST_CASE("tiny and IPv6 ranges") {
    CHECK(first_free_address(range("10.0.0.4/31"), {}) == ip("10.0.0.4"));
    CHECK(first_free_address(range("10.0.0.4/32"), {}) == ip("10.0.0.4"));
    CHECK(first_free_address(range("fd00::/64"), {ip("fd00::1")}) == ip("fd00::2"));
    CHECK_FALSE(first_free_address(range("fd00::/64"), {ip("fd00::1")}, 1));
}
