#include <catch2/catch.hpp>

#include "punch/session.hpp"

#include <algorithm>

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
    CHECK_FALSE(a.finished());  // its LAN candidate may still answer, for 2 probe intervals
    a.on_timer(110);
    CHECK(a.finished());
    CHECK(a.outcome() == Outcome::punched);
}

TEST_CASE("sweep ports alternate around the base and cover the range once") {
    CHECK(sweep_port(40000, 0) == 40001);
    CHECK(sweep_port(40000, 1) == 39999);
    CHECK(sweep_port(40000, 2) == 40002);
    CHECK(sweep_port(40000, 3) == 39998);
    // Near the bottom, the sweep goes on upwards once the ports below are used up.
    CHECK(sweep_port(1030, 11) == 1024);
    CHECK(sweep_port(1030, 12) == 1037);
    CHECK(sweep_port(65530, 9) == 65525);
    CHECK(sweep_port(65530, 10) == 65524);
    for (std::uint16_t base : {std::uint16_t{1024}, std::uint16_t{33333}, std::uint16_t{65535}}) {
        std::vector<bool> seen(65536, false);
        std::uint32_t i = 0;
        for (; auto port = sweep_port(base, i); ++i) {
            REQUIRE(*port >= kSweepLowest);
            REQUIRE(*port != base);
            REQUIRE_FALSE(seen[*port]);
            seen[*port] = true;
        }
        CHECK(i == 65535 - kSweepLowest);  // every port of the range but the base
    }
}

TEST_CASE("who sweeps: the endpoint-independent side, towards a peer that maps per destination") {
    SessionConfig c;
    using M = Mapping;
    OwnNat port_restricted{M::independent, true}, cone{M::independent, false};
    OwnNat symmetric{M::dependent, true}, unknown{};
    CHECK(role_of(port_restricted, M::dependent, c) == Role::sweeper);
    CHECK(role_of(cone, M::dependent, c) == Role::plain);  // the peer's probes get in anyway
    CHECK(role_of(symmetric, M::independent, c) == Role::swept);
    CHECK(role_of(symmetric, M::dependent, c) == Role::plain);
    CHECK(role_of(port_restricted, M::independent, c) == Role::plain);
    CHECK(role_of(unknown, M::dependent, c) == Role::plain);
    CHECK(role_of(port_restricted, M::unknown, c) == Role::plain);
    c.sweep_ports = 0;
    CHECK(role_of(port_restricted, M::dependent, c) == Role::plain);
}

namespace {

Message hard_introduction() {
    auto m = introduction("hard", "203.0.113.5:40000");
    m.flags = kFlagMappingDependent;
    return m;
}

SessionConfig easy_config() {
    SessionConfig c;
    c.own = {Mapping::independent, true};
    c.sweep_ports = 5000;
    c.sweep_rate = 10000;  // 10 a millisecond: the sweep takes 500 ms
    c.sweep_delay_ms = 200;
    return c;
}

std::size_t sweeps_in(const std::vector<Send>& out) {
    return static_cast<std::size_t>(std::count_if(out.begin(), out.end(), [](const Send& s) {
        return s.to.address == ep("203.0.113.5:1").address && s.to.port != 40000;
    }));
}

}  // namespace

TEST_CASE(
    "the sweeper probes the peer's public address port by port, at the rate, after the delay") {
    Session s("easy", hard_introduction(), 0, easy_config());
    CHECK(s.role() == Role::sweeper);
    CHECK(sweeps_in(s.on_timer(0)) == 0);    // the plain round first
    CHECK(sweeps_in(s.on_timer(100)) == 0);  // still within the delay
    auto first = s.on_timer(200);
    REQUIRE(sweeps_in(first) == 1);
    CHECK(first.back().to == ep("203.0.113.5:40001"));
    auto batch = s.on_timer(300);  // 100 ms at 10 a millisecond
    CHECK(sweeps_in(batch) == 1000);
    CHECK(batch.back().to ==
          *std::optional(net::Endpoint{ep("203.0.113.5:1").address, *sweep_port(40000, 1000)}));
    // One message for a batch, so the caller seals it once.
    CHECK(std::all_of(batch.end() - 1000, batch.end(),
                      [&](const Send& x) { return x.message == batch.back().message; }));
    CHECK(s.ports_swept() == 1001);
    CHECK(sweeps_in(s.on_timer(2000)) == 5000 - 1001);  // never more than sweep_ports
    CHECK(sweeps_in(s.on_timer(2100)) == 0);
}

TEST_CASE("the sweep stops at the first packet from the peer") {
    Session s("easy", hard_introduction(), 0, easy_config());
    s.on_timer(0);
    s.on_timer(250);
    Message probe;
    probe.type = Type::probe;
    probe.id = "hard";
    probe.token = s.token();
    probe.seq = 1;
    auto replies = s.on_message(probe, ep("203.0.113.5:52001"), 251);
    REQUIRE_FALSE(replies.empty());
    CHECK(replies[0].message.type == Type::probe_ack);
    CHECK(replies[0].to == ep("203.0.113.5:52001"));
    auto swept = s.ports_swept();
    CHECK(sweeps_in(s.on_timer(400)) <= 1);  // only the plain round's probe to 52001
    CHECK(s.ports_swept() == swept);
}

TEST_CASE("a sweep pair waits as long as the sweep takes; a plain pair gives up at the timeout") {
    auto c = easy_config();
    c.timeout_ms = 1000;
    Session sweeper("easy", hard_introduction(), 0, c);
    auto hard = c;
    hard.own = {Mapping::dependent, true};
    auto easy_intro = introduction("easy", "203.0.113.3:51820");
    easy_intro.flags = kFlagMappingIndependent;
    Session swept("hard", easy_intro, 0, hard);
    CHECK(swept.role() == Role::swept);
    Session plain("hard", hard_introduction(), 0, hard);  // dependent x dependent
    CHECK(plain.role() == Role::plain);
    for (std::uint64_t t = 0; t <= 1000; t += 50) {
        sweeper.on_timer(t);
        swept.on_timer(t);
        plain.on_timer(t);
    }
    CHECK(plain.outcome() == Outcome::failed);
    CHECK(plain.elapsed_ms() == 1000);
    CHECK_FALSE(sweeper.finished());
    CHECK_FALSE(swept.finished());
    for (std::uint64_t t = 1050; t <= 1700; t += 50) {  // 1000 + 200 delay + 500 sweep
        sweeper.on_timer(t);
        swept.on_timer(t);
    }
    CHECK(sweeper.outcome() == Outcome::failed);
    CHECK(sweeper.elapsed_ms() == 1700);
    CHECK_FALSE(swept.finished());  // room for a sweep of another peer first
    for (std::uint64_t t = 1750; t <= 2200; t += 50) swept.on_timer(t);
    CHECK(swept.outcome() == Outcome::failed);
    CHECK(swept.elapsed_ms() == 2200);
}

TEST_CASE("a silent introduction falls back to the peer-set's hint") {
    Session s("easy", introduction("hard", "203.0.113.5:40000"), 0, easy_config(),
              Mapping::dependent);
    CHECK(s.role() == Role::sweeper);
    Session t("easy", introduction("hard", "203.0.113.5:40000"), 0, easy_config());
    CHECK(t.role() == Role::plain);
}

TEST_CASE("path ranks: the same site, then global IPv6, then public IPv4") {
    CHECK(path_rank(ep("10.1.2.3:1")) == 0);
    CHECK(path_rank(ep("172.20.0.1:1")) == 0);
    CHECK(path_rank(ep("172.32.0.1:1")) == 2);
    CHECK(path_rank(ep("192.168.1.20:1")) == 0);
    CHECK(path_rank(ep("[fd00::1]:1")) == 0);
    CHECK(path_rank(ep("[fe80::1]:1")) == 0);
    CHECK(path_rank(ep("[2001:db8::9]:1")) == 1);
    CHECK(path_rank(ep("203.0.113.9:1")) == 2);
    CHECK(path_rank(ep("[::ffff:192.168.1.2]:1")) == 0);
}

TEST_CASE("a better kind of path that answers soon after the first is preferred") {
    auto intro = introduction("b", "203.0.113.4:51820");  // candidate 10.0.0.9:51820 too
    Message ack;
    ack.type = Type::probe_ack;
    ack.token = intro.token;
    Message confirmed;
    confirmed.type = Type::probe;
    confirmed.id = "b";
    confirmed.token = intro.token;
    confirmed.flags = kFlagConfirmed;

    SECTION("the LAN answers after the public endpoint: the LAN is kept") {
        Session s("a", intro, 0);
        s.on_timer(0);
        s.on_message(ack, ep("203.0.113.4:51820"), 5);
        CHECK(s.outcome() == Outcome::punched);
        s.on_message(confirmed, ep("203.0.113.4:51820"), 6);
        CHECK_FALSE(s.finished());  // the LAN candidate may still answer
        s.on_message(ack, ep("10.0.0.9:51820"), 7);
        CHECK(s.remote() == ep("10.0.0.9:51820"));
        CHECK(s.finished());
        CHECK(s.elapsed_ms() == 5);
    }
    SECTION("only the public endpoint answers: done after the grace") {
        Session s("a", intro, 0);
        s.on_timer(0);
        s.on_message(ack, ep("203.0.113.4:51820"), 5);
        s.on_message(confirmed, ep("203.0.113.4:51820"), 6);
        s.on_timer(50);
        CHECK_FALSE(s.finished());
        s.on_timer(105);
        CHECK(s.finished());
        CHECK(s.remote() == ep("203.0.113.4:51820"));
    }
    SECTION("a worse kind answering later changes nothing") {
        Session s("a", intro, 0);
        s.on_timer(0);
        s.on_message(ack, ep("10.0.0.9:51820"), 5);
        s.on_message(ack, ep("203.0.113.4:51820"), 6);
        CHECK(s.remote() == ep("10.0.0.9:51820"));
        s.on_message(confirmed, ep("10.0.0.9:51820"), 7);
        CHECK(s.finished());
    }
}
