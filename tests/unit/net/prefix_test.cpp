#include "net/prefix.hpp"

#include <catch2/catch.hpp>

using natkit::net::IpAddress;
using natkit::net::Prefix;

TEST_CASE("prefix: parse, normalise and print") {
    CHECK(Prefix::parse("10.66.0.0/16")->to_string() == "10.66.0.0/16");
    CHECK(Prefix::parse("10.66.1.7/16")->to_string() == "10.66.0.0/16");
    CHECK(Prefix::parse("10.66.1.7")->to_string() == "10.66.1.7/32");
    CHECK(Prefix::parse("fd00::1/64")->to_string() == "fd00::/64");
    CHECK(Prefix::parse("::/0")->to_string() == "::/0");
    CHECK(Prefix::parse("0.0.0.0/0")->to_string() == "0.0.0.0/0");
    CHECK(Prefix::parse("10.0.0.129/25")->to_string() == "10.0.0.128/25");
}

TEST_CASE("prefix: bad input") {
    for (auto bad : {"", "/", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/a",
                     "10.0.0/8", "fe80::1%1/64", "10.0.0.0/8/8", "10.0.0.0/0008"}) {
        INFO(bad);
        CHECK_FALSE(Prefix::parse(bad));
    }
}

TEST_CASE("prefix: contains and nth") {
    auto p = *Prefix::parse("10.66.0.0/30");
    CHECK(p.contains(*IpAddress::parse("10.66.0.3")));
    CHECK_FALSE(p.contains(*IpAddress::parse("10.66.0.4")));
    CHECK_FALSE(p.contains(*IpAddress::parse("fd00::1")));
    CHECK(p.nth(0)->to_string() == "10.66.0.0");
    CHECK(p.nth(3)->to_string() == "10.66.0.3");
    CHECK_FALSE(p.nth(4));
    auto wide = *Prefix::parse("10.66.0.0/16");
    CHECK(wide.nth(256 + 5)->to_string() == "10.66.1.5");
    auto v6 = *Prefix::parse("fd00::/120");
    CHECK(v6.nth(255)->to_string() == "fd00::ff");
    CHECK_FALSE(v6.nth(256));
}
