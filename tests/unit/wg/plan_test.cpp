#include "wg/plan.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>

using namespace natkit::wg;
using natkit::net::Endpoint;
using natkit::net::Prefix;
using namespace std::chrono_literals;

namespace {

const SystemTime kNow = SystemTime(std::chrono::seconds(1'800'000'000));

Key key_of(std::uint8_t n) {
    Key key{};
    key.fill(n);
    return key;
}

Prefix prefix(const std::string& text) {
    return *Prefix::parse(text);
}

std::vector<Prefix> prefixes(std::initializer_list<const char*> texts) {
    std::vector<Prefix> out;
    for (auto t : texts) out.push_back(prefix(t));
    std::sort(out.begin(), out.end());
    return out;
}

Endpoint endpoint(const char* text) {
    return *Endpoint::parse(text);
}

DesiredPeer want(std::uint8_t n, std::initializer_list<const char*> ips,
                 std::optional<const char*> at = std::nullopt, std::optional<int> keepalive = {}) {
    DesiredPeer p;
    p.public_key = key_of(n);
    p.allowed_ips = prefixes(ips);
    if (at) p.endpoint = endpoint(*at);
    if (keepalive) p.persistent_keepalive = static_cast<std::uint16_t>(*keepalive);
    return p;
}

Peer live(std::uint8_t n, std::initializer_list<const char*> ips,
          std::optional<const char*> at = std::nullopt, std::uint16_t keepalive = 0) {
    Peer p;
    p.public_key = key_of(n);
    p.allowed_ips = prefixes(ips);
    if (at) p.endpoint = endpoint(*at);
    p.persistent_keepalive = keepalive;
    return p;
}

Device device_of(std::vector<Peer> peers) {
    Device d;
    d.name = "wg0";
    d.peers = std::move(peers);
    return d;
}

// WireGuard's own set semantics: adding a prefix takes it from whoever holds it.
struct Simulator {
    std::map<Key, Peer> peers;
    std::map<Prefix, Key> owner;

    explicit Simulator(const Device& device) {
        for (const auto& p : device.peers) {
            peers[p.public_key] = p;
            for (const auto& a : p.allowed_ips) owner[a] = p.public_key;
        }
    }

    void drop(const Key& key, const Prefix& a) {
        auto& ips = peers[key].allowed_ips;
        ips.erase(std::remove(ips.begin(), ips.end(), a), ips.end());
        if (owner.count(a) && owner[a] == key) owner.erase(a);
    }

    void apply(const PeerChange& c) {
        if (c.remove) {
            for (auto a : peers[c.public_key].allowed_ips) drop(c.public_key, a);
            peers.erase(c.public_key);
            return;
        }
        auto& p = peers[c.public_key];
        p.public_key = c.public_key;
        if (c.endpoint) p.endpoint = c.endpoint;
        if (c.persistent_keepalive) p.persistent_keepalive = *c.persistent_keepalive;
        if (c.replace_allowed_ips) {
            for (auto a : std::vector(p.allowed_ips)) drop(c.public_key, a);
        }
        for (const auto& a : c.allowed_ips) {
            if (owner.count(a)) drop(owner[a], a);
            owner[a] = c.public_key;
            peers[c.public_key].allowed_ips.push_back(a);
        }
        std::sort(peers[c.public_key].allowed_ips.begin(), peers[c.public_key].allowed_ips.end());
    }
};

bool contains_key(const std::vector<Key>& keys, std::uint8_t n) {
    return std::find(keys.begin(), keys.end(), key_of(n)) != keys.end();
}

}  // namespace

TEST_CASE("plan: an empty device gets every desired peer, in one change") {
    auto plan = make_plan({want(1, {"10.0.0.1/32"}, "203.0.113.1:51820", 25), want(2, {})},
                          device_of({}), {}, kNow);
    CHECK(plan.added.size() == 2);
    REQUIRE(plan.change.peers.size() == 2);
    const auto& first = plan.change.peers[0];
    CHECK(first.public_key == key_of(1));
    CHECK(first.endpoint == endpoint("203.0.113.1:51820"));
    CHECK(first.persistent_keepalive == 25);
    CHECK(first.allowed_ips == prefixes({"10.0.0.1/32"}));
    CHECK_FALSE(first.replace_allowed_ips);
    CHECK_FALSE(first.remove);
}

TEST_CASE("plan: unchanged peers are not sent at all") {
    auto device = device_of({live(1, {"10.0.0.1/32"}, "203.0.113.1:51820", 25),
                             live(2, {"10.0.0.2/32", "10.9.0.0/16"})});
    auto plan = make_plan({want(1, {"10.0.0.1/32"}, "203.0.113.1:51820", 25),
                           want(2, {"10.9.0.0/16", "10.0.0.2/32"})},
                          device, {}, kNow);
    CHECK(plan.change.empty());
    CHECK(plan.unchanged == 2);
    CHECK(plan.updated.empty());
    CHECK(plan.added.empty());
}

TEST_CASE("plan: absent fields leave the device's values alone") {
    auto device = device_of({live(1, {"10.0.0.1/32"}, "203.0.113.1:51820", 25)});
    auto plan = make_plan({want(1, {"10.0.0.1/32"})}, device, {}, kNow);
    CHECK(plan.change.empty());
    CHECK(plan.unchanged == 1);
}

TEST_CASE("plan: only the fields that differ are sent and reported") {
    auto device = device_of({live(1, {"10.0.0.1/32"}, "203.0.113.1:51820", 25)});
    SECTION("endpoint") {
        auto plan = make_plan({want(1, {"10.0.0.1/32"}, "203.0.113.7:4000", 25)}, device, {}, kNow);
        REQUIRE(plan.change.peers.size() == 1);
        CHECK(plan.change.peers[0].endpoint == endpoint("203.0.113.7:4000"));
        CHECK_FALSE(plan.change.peers[0].persistent_keepalive);
        CHECK(plan.change.peers[0].allowed_ips.empty());
        REQUIRE(plan.updated.size() == 1);
        CHECK(plan.updated[0].fields == std::vector<std::string>{"endpoint"});
    }
    SECTION("keepalive") {
        auto plan = make_plan({want(1, {"10.0.0.1/32"}, {}, 0)}, device, {}, kNow);
        REQUIRE(plan.change.peers.size() == 1);
        CHECK(plan.change.peers[0].persistent_keepalive == 0);
        CHECK_FALSE(plan.change.peers[0].endpoint);
        CHECK(plan.updated[0].fields == std::vector<std::string>{"persistent_keepalive"});
    }
    SECTION("an added prefix is sent alone, without replacing the others") {
        auto plan = make_plan({want(1, {"10.0.0.1/32", "10.5.0.0/16"})}, device, {}, kNow);
        REQUIRE(plan.change.peers.size() == 1);
        CHECK(plan.change.peers[0].allowed_ips == prefixes({"10.5.0.0/16"}));
        CHECK_FALSE(plan.change.peers[0].replace_allowed_ips);
        CHECK(plan.updated[0].fields == std::vector<std::string>{"allowed_ips"});
    }
    SECTION("a dropped prefix replaces the list with the desired one") {
        auto plan = make_plan({want(1, {})}, device, {}, kNow);
        REQUIRE(plan.change.peers.size() == 1);
        CHECK(plan.change.peers[0].replace_allowed_ips);
        CHECK(plan.change.peers[0].allowed_ips.empty());
    }
}

TEST_CASE("plan: the endpoint guard keeps an endpoint with a recent handshake") {
    auto peer = live(1, {"10.0.0.1/32"}, "198.51.100.9:3333");
    peer.last_handshake = kNow - 20s;
    auto device = device_of({peer});
    auto desired = std::vector{want(1, {"10.0.0.1/32"}, "203.0.113.7:51820")};

    auto guarded = make_plan(desired, device, {}, kNow);
    CHECK(guarded.change.empty());
    CHECK(guarded.unchanged == 1);
    REQUIRE(guarded.kept_endpoints.size() == 1);
    CHECK(guarded.kept_endpoints[0].endpoint == endpoint("198.51.100.9:3333"));
    CHECK(guarded.kept_endpoints[0].desired == endpoint("203.0.113.7:51820"));
    CHECK_THAT(guarded.kept_endpoints[0].reason, Catch::Contains("20 s ago"));

    PlanOptions always;
    always.endpoint_policy = EndpointPolicy::always;
    auto forced = make_plan(desired, device, always, kNow);
    REQUIRE(forced.change.peers.size() == 1);
    CHECK(forced.change.peers[0].endpoint == endpoint("203.0.113.7:51820"));
    CHECK(forced.kept_endpoints.empty());

    device.peers[0].last_handshake = kNow - 135s;  // the window is over
    CHECK(make_plan(desired, device, {}, kNow).change.peers.size() == 1);
    device.peers[0].last_handshake.reset();  // never shook hands
    CHECK(make_plan(desired, device, {}, kNow).change.peers.size() == 1);
}

TEST_CASE("plan: an endpoint punch just confirmed is not guarded (NAT rebinding heals)") {
    auto peer = live(1, {"10.0.0.1/32"}, "198.51.100.9:3333");
    peer.last_handshake = kNow - 20s;  // before the peer's NAT moved
    auto device = device_of({peer});
    auto desired = std::vector{want(1, {"10.0.0.1/32"}, "203.0.113.7:51820")};
    desired[0].endpoint_confirmed = true;
    auto plan = make_plan(desired, device, {}, kNow);
    REQUIRE(plan.change.peers.size() == 1);
    CHECK(plan.change.peers[0].endpoint == endpoint("203.0.113.7:51820"));
    CHECK(plan.kept_endpoints.empty());
}

TEST_CASE("plan: the guard still lets other fields through") {
    auto peer = live(1, {"10.0.0.1/32"}, "198.51.100.9:3333");
    peer.last_handshake = kNow - 1s;
    auto plan = make_plan({want(1, {"10.0.0.1/32", "10.0.0.2/32"}, "203.0.113.7:51820")},
                          device_of({peer}), {}, kNow);
    REQUIRE(plan.change.peers.size() == 1);
    CHECK_FALSE(plan.change.peers[0].endpoint);
    CHECK(plan.change.peers[0].allowed_ips == prefixes({"10.0.0.2/32"}));
    CHECK(plan.kept_endpoints.size() == 1);
}

TEST_CASE("plan: peers not in the set stay unless pruning") {
    auto device = device_of({live(1, {}), live(2, {}), live(3, {})});
    auto kept = make_plan({want(1, {})}, device, {}, kNow);
    CHECK(kept.change.empty());
    CHECK(kept.not_in_set == 2);
    CHECK(kept.removed.empty());

    PlanOptions prune;
    prune.prune = true;
    auto pruned = make_plan({want(1, {})}, device, prune, kNow);
    CHECK(pruned.removed.size() == 2);
    REQUIRE(pruned.change.peers.size() == 2);
    CHECK(pruned.change.peers[0].remove);
    CHECK(pruned.change.peers[1].remove);
    CHECK_FALSE(pruned.refusal);
}

TEST_CASE("plan: pruning beyond --max-remove or to an empty set is refused without --force") {
    std::vector<Peer> peers;
    for (std::uint8_t n = 1; n <= 12; ++n) peers.push_back(live(n, {}));
    auto device = device_of(peers);
    PlanOptions prune;
    prune.prune = true;

    auto too_many = make_plan({want(1, {})}, device, prune, kNow);  // 11 > 10
    REQUIRE(too_many.refusal);
    CHECK_THAT(*too_many.refusal, Catch::Contains("--max-remove 10"));
    CHECK(too_many.change.empty());

    auto empty = make_plan({}, device_of({live(1, {})}), prune, kNow);
    REQUIRE(empty.refusal);
    CHECK_THAT(*empty.refusal, Catch::Contains("empty"));
    CHECK(empty.change.empty());

    prune.max_remove = 11;
    CHECK_FALSE(make_plan({want(1, {})}, device, prune, kNow).refusal);
    prune.max_remove = 10;
    prune.force = true;
    CHECK(make_plan({want(1, {})}, device, prune, kNow).change.peers.size() == 11);
    CHECK(make_plan({}, device, prune, kNow).change.peers.size() == 12);
}

TEST_CASE("plan: a prefix moving between peers is added to its new owner first") {
    auto device = device_of({live(1, {"10.0.0.0/24", "10.1.0.0/24"}), live(2, {"10.2.0.0/24"})});
    auto plan = make_plan({want(1, {"10.1.0.0/24"}), want(2, {"10.0.0.0/24", "10.2.0.0/24"})},
                          device, {}, kNow);
    // Peer 1 loses 10.0.0.0/24 only to peer 2: peer 2's add moves it; peer 1 is not sent.
    REQUIRE(plan.change.peers.size() == 1);
    CHECK(plan.change.peers[0].public_key == key_of(2));
    CHECK(plan.change.peers[0].allowed_ips == prefixes({"10.0.0.0/24"}));
    REQUIRE(plan.moved.size() == 1);
    CHECK(plan.moved[0].from == key_of(1));
    CHECK(plan.moved[0].to == key_of(2));
    CHECK(plan.moved[0].from_in_set);
    CHECK(plan.updated.size() == 2);
}

TEST_CASE("plan: a prefix taken from a peer outside the set is reported") {
    auto device = device_of({live(9, {"10.0.0.0/24"})});
    auto plan = make_plan({want(1, {"10.0.0.0/24"})}, device, {}, kNow);
    REQUIRE(plan.moved.size() == 1);
    CHECK(plan.moved[0].from == key_of(9));
    CHECK_FALSE(plan.moved[0].from_in_set);
}

TEST_CASE("plan: two peers claiming one prefix, or one key twice, is a problem") {
    auto claimed =
        find_problem({want(1, {"10.0.0.0/24"}), want(2, {"10.1.0.0/24", "10.0.0.0/24"})});
    REQUIRE(claimed);
    CHECK(claimed->field == "peers[1].allowed_ips[0]");  // the list is sorted by want()
    CHECK_THAT(claimed->message, Catch::Contains("10.0.0.0/24") && Catch::Contains("peers[0]"));

    auto twice = find_problem({want(1, {}), want(2, {}), want(1, {})});
    REQUIRE(twice);
    CHECK(twice->field == "peers[2].public_key");

    CHECK_FALSE(find_problem({want(1, {"10.0.0.0/24"}), want(2, {"10.0.0.0/25"})}));
}

TEST_CASE("plan: random sets converge and no wanted prefix is ever without an owner") {
    std::mt19937 random(GENERATE(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u));
    auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
    auto pool_prefix = [](int i) {
        return prefix("10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24");
    };
    // The live device: peers 1..30 hold random prefixes from a pool of 200.
    std::map<int, std::vector<Prefix>> live_ips, want_ips;
    for (int i = 0; i < 200; ++i) {
        if (pick(3)) live_ips[1 + pick(30)].push_back(pool_prefix(i));
        if (pick(3)) want_ips[1 + pick(40)].push_back(pool_prefix(i));
    }
    Device device;
    for (int n = 1; n <= 30; ++n) {
        Peer p = live(static_cast<std::uint8_t>(n), {});
        p.allowed_ips = live_ips[n];
        std::sort(p.allowed_ips.begin(), p.allowed_ips.end());
        p.persistent_keepalive = static_cast<std::uint16_t>(pick(2) * 25);
        device.peers.push_back(p);
    }
    std::vector<DesiredPeer> desired;
    for (int n = 1; n <= 40; ++n) {
        if (n <= 30 && pick(5) == 0) continue;  // some live peers are not in the set
        DesiredPeer p = want(static_cast<std::uint8_t>(n), {}, {}, pick(2) * 25);
        p.allowed_ips = want_ips[n];
        desired.push_back(p);
    }
    std::shuffle(desired.begin(), desired.end(), random);
    REQUIRE_FALSE(find_problem(desired));

    PlanOptions options;
    options.prune = true;
    options.force = true;
    auto plan = make_plan(desired, device, options, kNow);

    std::set<Prefix> wanted;
    for (const auto& p : desired) wanted.insert(p.allowed_ips.begin(), p.allowed_ips.end());
    Simulator sim(device);
    std::set<Prefix> owned_before;
    for (const auto& [a, k] : sim.owner) owned_before.insert(a);
    for (const auto& change : plan.change.peers) {
        sim.apply(change);
        for (const auto& a : wanted) {
            if (owned_before.count(a)) CHECK(sim.owner.count(a) == 1);
        }
    }
    REQUIRE(sim.peers.size() == desired.size());
    for (const auto& p : desired) {
        REQUIRE(sim.peers.count(p.public_key) == 1);
        const auto& got = sim.peers[p.public_key];
        CHECK(got.allowed_ips == p.allowed_ips);
        CHECK(got.persistent_keepalive == p.persistent_keepalive.value_or(0));
    }

    // Applying the same set again changes nothing.
    Device after;
    for (const auto& [k, p] : sim.peers) after.peers.push_back(p);
    auto again = make_plan(desired, after, options, kNow);
    CHECK(again.change.empty());
    CHECK(again.unchanged == desired.size());
    CHECK(contains_key(plan.added, 31) == std::any_of(desired.begin(), desired.end(), [](auto& p) {
              return p.public_key == key_of(31);
          }));
}
