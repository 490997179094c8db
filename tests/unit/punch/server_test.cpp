#include <catch2/catch.hpp>

#include "punch/server.hpp"
#include "stun/message.hpp"

using namespace natkit;
using namespace natkit::punch;

namespace {

const std::vector<std::uint8_t> kKey(32, 0x11);
constexpr std::uint64_t kNow = 1'790'000'000'000;

net::Endpoint ep(const char* text) {
    return *net::Endpoint::parse(text);
}

Server make_server(ServerConfig config = {}) {
    config.secret = kKey;
    std::uint8_t counter = 0;
    return Server(config, [counter](std::span<std::uint8_t> out) mutable {
        for (auto& b : out) b = ++counter;
    });
}

std::uint64_t next_nonce = 1;

std::vector<std::uint8_t> request(Type type, const std::string& id, const std::string& peer = "",
                                  std::uint64_t at = kNow, std::size_t pad = 512,
                                  std::uint8_t flags = 0) {
    Message m;
    m.type = type;
    m.flags = flags;
    m.network = "home";
    m.id = id;
    m.peer = peer;
    m.timestamp_ms = at;
    m.nonce = next_nonce++;
    m.pad_to = pad;
    if (type == Type::reg) m.candidates = {ep("10.0.0.2:51820")};
    return encode(m, kKey);
}

Message decoded(const Outgoing& o) {
    auto d = decode(o.bytes, kKey);
    REQUIRE(d.message);
    return *d.message;
}

}  // namespace

TEST_CASE("register answers with the observed endpoint") {
    auto server = make_server();
    auto out = server.handle(request(Type::reg, "a"), ep("203.0.113.3:51820"), kNow);
    REQUIRE(out.size() == 1);
    CHECK(out[0].to == ep("203.0.113.3:51820"));
    auto m = decoded(out[0]);
    CHECK(m.type == Type::registered);
    CHECK(m.observed == ep("203.0.113.3:51820"));
    CHECK(server.node_count() == 1);
}

TEST_CASE("connect introduces both nodes at once with one token") {
    auto server = make_server();
    server.handle(request(Type::reg, "a"), ep("203.0.113.3:51820"), kNow);
    server.handle(request(Type::reg, "b"), ep("203.0.113.4:40000"), kNow);
    auto out = server.handle(request(Type::connect, "a", "b"), ep("203.0.113.3:51820"), kNow);
    REQUIRE(out.size() == 2);
    auto to_a = decoded(out[0]);
    auto to_b = decoded(out[1]);
    CHECK(out[0].to == ep("203.0.113.3:51820"));
    CHECK(out[1].to == ep("203.0.113.4:40000"));
    CHECK(to_a.type == Type::introduce);
    CHECK(to_a.peer == "b");
    CHECK(to_a.observed == ep("203.0.113.4:40000"));
    CHECK(to_a.candidates == std::vector{ep("10.0.0.2:51820")});
    CHECK(to_b.peer == "a");
    CHECK(to_a.token == to_b.token);

    SECTION("asking again soon gives the same token") {
        auto again = server.handle(request(Type::connect, "b", "a"), ep("203.0.113.4:40000"), kNow);
        REQUIRE(again.size() == 2);
        CHECK(decoded(again[0]).token == to_a.token);
    }
}

TEST_CASE("connect to an unregistered peer says so") {
    auto server = make_server();
    server.handle(request(Type::reg, "a"), ep("203.0.113.3:51820"), kNow);
    auto out = server.handle(request(Type::connect, "a", "nobody"), ep("203.0.113.3:51820"), kNow);
    REQUIRE(out.size() == 1);
    CHECK(decoded(out[0]).type == Type::unknown_peer);
    CHECK(decoded(out[0]).peer == "nobody");
}

TEST_CASE("unauthenticated, stale and replayed packets get nothing and leave no state") {
    auto server = make_server();
    auto good = request(Type::reg, "a");
    auto forged = good;
    forged[30] ^= 1;
    CHECK(server.handle(forged, ep("203.0.113.3:1"), kNow).empty());
    CHECK(server.node_count() == 0);
    CHECK(server.handle(request(Type::reg, "a", "", kNow - 31'000), ep("203.0.113.3:1"), kNow)
              .empty());
    CHECK(server.handle(request(Type::reg, "a", "", kNow + 31'000), ep("203.0.113.3:1"), kNow)
              .empty());
    CHECK(server.node_count() == 0);
    CHECK(server.handle(good, ep("203.0.113.3:1"), kNow).size() == 1);
    CHECK(server.handle(good, ep("203.0.113.3:1"), kNow).empty());
    CHECK(server.stats().unauthenticated == 1);
    CHECK(server.stats().stale == 2);
    CHECK(server.stats().replayed == 1);
}

TEST_CASE("no answer is larger than its request") {
    auto server = make_server();
    auto small = request(Type::reg, "a", "", kNow, 0);
    auto answers = server.handle(small, ep("[2001:db8::1]:1"), kNow);
    for (const auto& o : answers) CHECK(o.bytes.size() <= small.size());
    server.handle(request(Type::reg, "b"), ep("203.0.113.4:1"), kNow);
    auto unpadded = request(Type::connect, "a", "b", kNow, 0);
    for (const auto& o : server.handle(unpadded, ep("[2001:db8::1]:1"), kNow)) {
        if (o.to == ep("[2001:db8::1]:1")) CHECK(o.bytes.size() <= unpadded.size());
    }
    CHECK(server.stats().dropped_larger >= 1);
}

TEST_CASE("STUN Binding requests get the minimal answer: XOR-MAPPED-ADDRESS alone") {
    auto server = make_server();
    stun::TransactionId id{};
    id.fill(7);
    auto bare = stun::encode(stun::binding_request(id));
    auto plain = server.handle(bare, ep("203.0.113.5:4000"), kNow);
    REQUIRE(plain.size() == 1);
    CHECK(plain[0].bytes.size() == 32);  // 20 + XOR-MAPPED-ADDRESS (IPv4)
    auto v6 = server.handle(bare, ep("[2001:db8::5]:4000"), kNow);
    REQUIRE(v6.size() == 1);
    CHECK(v6[0].bytes.size() == 44);
    auto request = stun::binding_request(id);
    request.padding_length = 16;
    auto padded = stun::encode(request);
    auto out = server.handle(padded, ep("203.0.113.5:4000"), kNow);
    REQUIRE(out.size() == 1);
    CHECK(out[0].bytes.size() <= padded.size());
    auto answer = stun::decode(out[0].bytes);
    REQUIRE(answer.message);
    CHECK(answer.message->transaction_id == id);
    CHECK(answer.message->xor_mapped_address == ep("203.0.113.5:4000"));
}

TEST_CASE("each source is rate limited") {
    ServerConfig config;
    config.rate_per_s = 1;
    config.burst = 3;
    auto server = make_server(config);
    int answered = 0;
    for (int i = 0; i < 10; ++i) {
        answered += !server.handle(request(Type::reg, "a"), ep("203.0.113.3:1"), kNow).empty();
    }
    CHECK(answered == 3);
    CHECK(server.handle(request(Type::reg, "z"), ep("203.0.113.9:1"), kNow).size() == 1);
    CHECK(server.handle(request(Type::reg, "a", "", kNow + 2000), ep("203.0.113.3:1"), kNow + 2000)
              .size() == 1);
}

TEST_CASE("registrations expire") {
    ServerConfig config;
    config.ttl_ms = 5000;
    auto server = make_server(config);
    server.handle(request(Type::reg, "a"), ep("203.0.113.3:1"), kNow);
    server.expire(kNow + 4999);
    CHECK(server.node_count() == 1);
    server.expire(kNow + 5000);
    CHECK(server.node_count() == 0);
}

TEST_CASE("the node limit is kept") {
    ServerConfig config;
    config.max_nodes = 2;
    auto server = make_server(config);
    for (const char* id : {"a", "b", "c"})
        server.handle(request(Type::reg, id), ep("203.0.113.3:1"), kNow);
    CHECK(server.node_count() == 2);
}

TEST_CASE("an introduction carries the mapping the peer registered with") {
    auto server = make_server();
    server.handle(
        request(Type::reg, "easy", "", kNow, 512, kFlagMappingIndependent | kFlagConfirmed),
        ep("203.0.113.3:51820"), kNow);
    server.handle(request(Type::reg, "hard", "", kNow, 512, kFlagMappingDependent),
                  ep("203.0.113.5:40000"), kNow);
    server.handle(request(Type::reg, "silent"), ep("203.0.113.6:40000"), kNow);
    auto out = server.handle(request(Type::connect, "easy", "hard"), ep("203.0.113.3:51820"), kNow);
    REQUIRE(out.size() == 2);
    CHECK(mapping_of_flags(decoded(out[0]).flags) == Mapping::dependent);  // to easy: hard's
    CHECK(decoded(out[1]).flags == kFlagMappingIndependent);  // to hard: easy's, nothing else
    out = server.handle(request(Type::connect, "hard", "silent"), ep("203.0.113.5:40000"), kNow);
    REQUIRE(out.size() == 2);
    CHECK(mapping_of_flags(decoded(out[0]).flags) == Mapping::unknown);
    CHECK(mapping_of_flags(decoded(out[1]).flags) == Mapping::dependent);
}

TEST_CASE("rate-limited messages leave no nonce; a full nonce cache refuses, never forgets") {
    ServerConfig config;
    config.rate_per_s = 1;
    config.burst = 2;
    config.max_nonces = 3;
    auto server = make_server(config);
    for (int i = 0; i < 4; ++i) server.handle(request(Type::reg, "a"), ep("203.0.113.3:1"), kNow);
    CHECK(server.stats().registrations == 2);
    CHECK(server.stats().rate_limited == 2);
    // Two nonces kept (the handled ones); one more fits, then the cache is full.
    CHECK(server.handle(request(Type::reg, "b"), ep("203.0.113.4:1"), kNow).size() == 1);
    CHECK(server.handle(request(Type::reg, "c"), ep("203.0.113.5:1"), kNow).empty());
    CHECK(server.stats().nonces_full == 1);
    server.expire(kNow + 2 * config.freshness_ms + 1);
    CHECK(server
              .handle(request(Type::reg, "c", "", kNow + 2 * config.freshness_ms + 1),
                      ep("203.0.113.5:1"), kNow + 2 * config.freshness_ms + 1)
              .size() == 1);
}

TEST_CASE("rate buckets are bounded: a new source past the limit is refused") {
    ServerConfig config;
    config.max_sources = 2;
    auto server = make_server(config);
    CHECK(server.handle(request(Type::reg, "a"), ep("203.0.113.3:1"), kNow).size() == 1);
    CHECK(server.handle(request(Type::reg, "b"), ep("203.0.113.4:1"), kNow).size() == 1);
    CHECK(server.handle(request(Type::reg, "c"), ep("203.0.113.5:1"), kNow).empty());
    CHECK(server.handle(request(Type::reg, "a"), ep("203.0.113.3:1"), kNow).size() == 1);
}
