#include "nat/verdict.hpp"

#include <catch2/catch.hpp>

using namespace natkit::nat;

namespace {
NatReport of(const char* type) {
    NatReport r;
    r.nat_type = type;
    return r;
}
std::string verdict(const char* a, const char* b) {
    return pair_verdict(of(a), of(b)).verdict;
}
}  // namespace

TEST_CASE("pair verdicts follow the rules of the man page, in both orders") {
    struct Row {
        const char* a;
        const char* b;
        const char* expected;
    };
    const std::vector<Row> rows{
        {"udp-blocked", "open", "relay"},
        {"udp-blocked", "full-cone", "relay"},
        {"open", "symmetric", "direct"},
        {"full-cone", "symmetric", "direct"},
        {"full-cone", "port-restricted-cone", "direct"},
        {"restricted-cone", "port-restricted-cone", "punch"},
        {"port-restricted-cone", "port-restricted-cone", "punch"},
        {"restricted-cone", "restricted-cone", "punch"},
        {"restricted-cone", "symmetric", "punch"},
        {"port-restricted-cone", "symmetric", "punch-with-prediction"},
        {"symmetric", "symmetric", "relay"},
        {"unknown", "port-restricted-cone", "punch-with-prediction"},
        {"unknown", "open", "direct"},
        {"unknown", "udp-blocked", "relay"},
    };
    for (const auto& row : rows) {
        INFO(row.a << " + " << row.b);
        CHECK(verdict(row.a, row.b) == row.expected);
        CHECK(verdict(row.b, row.a) == row.expected);
    }
}

TEST_CASE("the verdict names the peer's type and says why") {
    auto v = pair_verdict(of("port-restricted-cone"), of("symmetric"));
    CHECK(v.peer_nat_type == "symmetric");
    CHECK_FALSE(v.rule.empty());
}
