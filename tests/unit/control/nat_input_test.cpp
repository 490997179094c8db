#include "control/nat_input.hpp"

#include <catch2/catch.hpp>

#include <sstream>

#include "io/error.hpp"

using namespace natkit;
using namespace natkit::control;

TEST_CASE("the last nat.report on stdin wins; other kinds are passed over") {
    std::istringstream in(
        R"({"kind":"stun.binding","server_name":"x"})"
        "\n"
        R"({"kind":"nat.report","public":"203.0.113.1:1","mapping":"endpoint-independent"})"
        "\n"
        R"({"kind":"nat.report","public":"203.0.113.7:51820","local":"10.0.0.2:51820",)"
        R"("behind_nat":true,"mapping":"endpoint-independent","filtering":"address-dependent",)"
        R"("nat_type":"restricted-cone"})"
        "\n");
    auto input = read_nat_input(in, "stdin");
    REQUIRE(input.public_endpoint);
    CHECK(input.public_endpoint->to_string() == "203.0.113.7:51820");
    REQUIRE(input.nat);
    CHECK(input.nat->nat_type == "restricted-cone");
    CHECK(input.nat->extra["behind_nat"] == true);
}

TEST_CASE("a bad nat.report names line and field") {
    std::istringstream in("\n\n{\"kind\":\"nat.report\",\"public\":\"nowhere\"}\n");
    try {
        read_nat_input(in, "stdin");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        CHECK_THAT(std::string(e.what()), Catch::StartsWith("stdin:3: field 'public'"));
    }
    std::istringstream broken("{\"kind\":\"nat.report\",");
    CHECK_THROWS_AS(read_nat_input(broken, "stdin"), Error);
}
