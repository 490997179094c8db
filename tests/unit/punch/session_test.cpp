#include <catch2/catch.hpp>

#include "punch/session.hpp"

using namespace natkit;
using namespace natkit::punch;

namespace {

net::Endpoint ep(const char* text) {
    return *net::Endpoint::parse(text);
}

Message introduction(const char* peer, const char* observed) {
    Message m;
    m.type = Type::introduce;
    m.peer = peer;
    m.observed = ep(observed);
    m.candidates = {ep("10.0.0.9:51820")};
    m.token.fill(9);
    return m;
}

}  // namespace

TEST_CASE("the first round probes every candidate") {
    Session s("a", introduction("b", "203.0.113.4:51820"), 0);
    auto out = s.on_timer(0);
    REQUIRE(out.size() == 2);
    CHECK(out[0].to == ep("203.0.113.4:51820"));
    CHECK(out[1].to == ep("10.0.0.9:51820"));
    CHECK(out[0].message.type == Type::probe);
    CHECK(out[0].message.id == "a");
    CHECK(s.on_timer(10).empty());
    CHECK(s.on_timer(50).size() == 2);
}

TEST_CASE("two sessions wired together punch and agree") {
    Session a("a", introduction("b", "203.0.113.4:40000"), 0);
    Session b("b", introduction("a", "203.0.113.3:51820"), 0);
    // a's probes are lost (b's NAT has no hole yet); b's first probe gets through.
    a.on_timer(0);
    auto from_b = b.on_timer(0);
    auto replies = a.on_message(from_b[0].message, ep("203.0.113.4:40000"), 1);
    REQUIRE(replies.size() == 2);
    CHECK(replies[0].message.type == Type::probe_ack);
    CHECK(replies[0].message.observed == ep("203.0.113.4:40000"));
    auto b_out = b.on_message(replies[0].message, ep("203.0.113.3:51820"), 2);
    CHECK(b.outcome() == Outcome::punched);
    CHECK(b.remote() == ep("203.0.113.3:51820"));
    for (auto& m : b_out) a.on_message(m.message, ep("203.0.113.4:40000"), 3);
    auto a_out =
        a.on_message(b.on_message(replies[1].message, ep("203.0.113.3:51820"), 3)[0].message,
                     ep("203.0.113.4:40000"), 3);
    CHECK(a.outcome() == Outcome::punched);
    CHECK(a.remote() == ep("203.0.113.4:40000"));
    CHECK(a.elapsed_ms() == 3);
}

TEST_CASE("the endpoint kept is where the peer's packets really came from") {
    Session a("a", introduction("b", "203.0.113.5:1111"), 0);
    Message probe;
    probe.type = Type::probe;
    probe.id = "b";
    probe.token.fill(9);
    auto out = a.on_message(probe, ep("203.0.113.5:2222"), 5);
    REQUIRE(out.size() == 2);
    CHECK(out[0].to == ep("203.0.113.5:2222"));
    CHECK(out[1].to == ep("203.0.113.5:2222"));
    CHECK(out[1].message.type == Type::probe);
    CHECK(a.on_timer(60).size() == 3);  // the new source joined the targets
}

TEST_CASE("messages with another token or from another id are ignored") {
    Session a("a", introduction("b", "203.0.113.5:1111"), 0);
    Message probe;
    probe.type = Type::probe;
    probe.id = "b";
    probe.token.fill(8);
    CHECK(a.on_message(probe, ep("203.0.113.5:1111"), 1).empty());
    probe.token.fill(9);
    probe.id = "mallory";
    CHECK(a.on_message(probe, ep("203.0.113.5:1111"), 1).empty());
    Message ack;
    ack.type = Type::probe_ack;
    ack.token.fill(8);
    a.on_message(ack, ep("203.0.113.5:1111"), 1);
    CHECK(a.outcome() == Outcome::running);
}

TEST_CASE("without an answer the session gives up at its timeout") {
    SessionConfig config;
    config.timeout_ms = 500;
    Session a("a", introduction("b", "203.0.113.5:1111"), 1000, config);
    std::uint64_t t = 1000;
    while (!a.finished() && t < 5000) {
        a.on_timer(t);
        t += 10;
    }
    CHECK(a.outcome() == Outcome::failed);
    CHECK(a.finished());
    CHECK(t <= 1000 + 500 + 10);
    CHECK(a.attempts() == 10);
}

TEST_CASE("after confirming, the session lingers until the peer confirms too") {
    Session a("a", introduction("b", "203.0.113.5:1111"), 0);
    Message ack;
    ack.type = Type::probe_ack;
    ack.token.fill(9);
    auto out = a.on_message(ack, ep("203.0.113.5:1111"), 10);
    REQUIRE(out.size() == 1);
    CHECK(out[0].message.flags == kFlagConfirmed);
    CHECK_FALSE(a.finished());
    CHECK(a.on_timer(60).size() == 1);
    Message probe;
    probe.type = Type::probe;
    probe.id = "b";
    probe.flags = kFlagConfirmed;
    probe.token.fill(9);
    a.on_message(probe, ep("203.0.113.5:1111"), 70);
    CHECK(a.finished());
    CHECK(a.outcome() == Outcome::punched);
}
