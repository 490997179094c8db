#include "control/node_record.hpp"

#include <catch2/catch.hpp>

#include <sstream>

#include "io/error.hpp"

using namespace natkit;
using namespace natkit::control;
using namespace std::chrono_literals;

namespace {

constexpr const char* kKeyA = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
constexpr const char* kKeyB = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

NodeRecord node(const std::string& id, const char* key, const std::string& updated_at) {
    NodeRecord n;
    n.network = "home";
    n.id = id;
    n.public_key = *io::parse_public_key(key);
    n.listen_port = 51820;
    n.allowed_ips = {*net::Prefix::parse("10.66.0.2/32")};
    n.candidates = {*net::Endpoint::parse("192.168.1.20:51820")};
    n.updated_at = updated_at;
    n.version = "0.1.0";
    return n;
}

SystemTime at(const char* text) {
    return *parse_time(text);
}

struct Quiet {
    std::ostringstream err;
    io::Log log{err, "test", 0};
};

}  // namespace

TEST_CASE("node records round-trip through JSON, unknown fields kept") {
    auto n = node("node-b", kKeyA, "2026-11-23T17:00:00Z");
    n.endpoint = net::Endpoint::parse("203.0.113.9:51820");
    n.nat = io::PeerNat{"endpoint-independent", "address-dependent", "restricted-cone",
                        io::json{{"hairpinning", false}}};
    n.persistent_keepalive = 25;
    n.extra["future"] = io::json{{"x", 1}};
    auto j = to_json(n);
    CHECK(j["kind"] == kNodeKind);
    auto back = node_record_from_json(io::InputRecord{j, 1}, "k");
    CHECK(to_json(back) == j);
    CHECK(back.extra["future"]["x"] == 1);
    CHECK(back.nat->extra["hairpinning"] == false);
}

TEST_CASE("invalid node records name the field") {
    auto j = to_json(node("a", kKeyA, "2026-11-23T17:00:00Z"));
    auto error_of = [](io::json value) {
        try {
            node_record_from_json(io::InputRecord{value, 1}, "nodes/a");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::data);
            return std::string(e.what());
        }
        return std::string("no error");
    };
    auto bad = j;
    bad["public_key"] = "nope";
    CHECK_THAT(error_of(bad), Catch::Contains("'public_key'"));
    bad = j;
    bad["id"] = "../etc";
    CHECK_THAT(error_of(bad), Catch::Contains("'id'"));
    bad = j;
    bad["listen_port"] = 70000;
    CHECK_THAT(error_of(bad), Catch::Contains("'listen_port'"));
    bad = j;
    bad["allowed_ips"] = {"10.0.0.0/99"};
    CHECK_THAT(error_of(bad), Catch::Contains("'allowed_ips[0]'"));
    bad = j;
    bad["nat"] = {{"mapping", "odd"}};
    CHECK_THAT(error_of(bad), Catch::Contains("'nat.mapping'"));
    bad = j;
    bad["updated_at"] = "now";
    CHECK_THAT(error_of(bad), Catch::Contains("'updated_at'"));
    bad = j;
    bad["kind"] = "peer-set";
    CHECK_THAT(error_of(bad), Catch::Contains("'kind'"));
}

TEST_CASE("stored records that fail validation are skipped with a warning") {
    Quiet q;
    CHECK_FALSE(parse_stored_node("{\"kind\":", "nodes/x.json", q.log));
    CHECK_FALSE(parse_stored_node("{\"kind\":\"peer-sync.node\"}", "nodes/y.json", q.log));
    CHECK_THAT(q.err.str(), Catch::Contains("nodes/x.json") && Catch::Contains("nodes/y.json"));
    auto good = to_json(node("a", kKeyA, "2026-11-23T17:00:00Z")).dump();
    CHECK(parse_stored_node(good, "nodes/a.json", q.log));
}

TEST_CASE("the peer set leaves out self, expired records and second holders of a key") {
    Quiet q;
    std::vector<NodeRecord> nodes = {
        node("z", kKeyA, "2026-11-23T17:00:00Z"), node("me", kKeyB, "2026-11-23T17:00:00Z"),
        node("old", kKeyB, "2026-11-23T16:00:00Z"), node("b", kKeyB, "2026-11-23T17:00:50Z"),
        node("c", kKeyA, "2026-11-23T17:00:30Z")};
    PeerSetQuery query{"home", "me", at("2026-11-23T17:01:00Z"), 90s};
    auto set = build_peer_set(nodes, query, q.log);
    REQUIRE(set.peers.size() == 2);
    CHECK(set.peers[0].id == "b");
    CHECK(set.peers[1].id == "c");  // z has c's key and comes later in id order
    CHECK_THAT(q.err.str(), Catch::Contains("'z'"));
    CHECK(set.generated_at == "2026-11-23T17:01:00Z");
    CHECK(set.peers[0].endpoint->to_string() == "192.168.1.20:51820");  // first candidate
}

TEST_CASE("without a TTL (etcd leases) nothing expires by timestamp") {
    Quiet q;
    std::vector<NodeRecord> nodes = {node("old", kKeyA, "2020-01-01T00:00:00Z")};
    PeerSetQuery query{"home", "me", at("2026-11-23T17:01:00Z"), std::nullopt};
    CHECK(build_peer_set(nodes, query, q.log).peers.size() == 1);
    CHECK_FALSE(next_expiry(nodes, query));
}

TEST_CASE("records of another network are skipped") {
    Quiet q;
    auto other = node("x", kKeyA, "2026-11-23T17:00:00Z");
    other.network = "work";
    PeerSetQuery query{"home", "me", at("2026-11-23T17:00:10Z"), 90s};
    CHECK(build_peer_set({other}, query, q.log).peers.empty());
    CHECK_THAT(q.err.str(), Catch::Contains("work"));
}

TEST_CASE("next expiry is the earliest live record's") {
    std::vector<NodeRecord> nodes = {node("a", kKeyA, "2026-11-23T17:00:30Z"),
                                     node("b", kKeyB, "2026-11-23T17:00:10Z")};
    PeerSetQuery query{"home", "me", at("2026-11-23T17:00:40Z"), 60s};
    CHECK(next_expiry(nodes, query) == at("2026-11-23T17:01:10Z"));
    query.now = at("2026-11-23T17:01:20Z");
    CHECK(next_expiry(nodes, query) == at("2026-11-23T17:01:30Z"));
}

TEST_CASE("names are safe as file names and key parts") {
    CHECK(is_valid_name("node-b.example_1"));
    CHECK_FALSE(is_valid_name(""));
    CHECK_FALSE(is_valid_name(".hidden"));
    CHECK_FALSE(is_valid_name("a/b"));
    CHECK_FALSE(is_valid_name(std::string(65, 'a')));
}

TEST_CASE("times format and parse as RFC 3339 UTC") {
    auto t = at("2026-11-23T17:00:05Z");
    CHECK(format_time(t) == "2026-11-23T17:00:05Z");
    CHECK(format_time(*parse_time("2026-11-23T17:00:05.75Z")) == "2026-11-23T17:00:05Z");
    CHECK_FALSE(parse_time("2026-11-23T17:00:05+02:00"));
}
