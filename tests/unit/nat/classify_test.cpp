#include "nat/classify.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

#include "io/error.hpp"

using namespace natkit;
using namespace natkit::nat;

namespace {

net::Endpoint ep(const char* text) {
    return *net::Endpoint::parse(text);
}

// What stun-probe --behavior prints against coturn on 198.51.100.1/.2 (ports 3478/3479),
// from a node at 10.0.3.2 behind a NAT at 203.0.113.3.
struct Lab {
    std::vector<Observation> records;

    Lab& add(const char* test, const char* server, const char* local,
             std::optional<const char*> mapped, std::optional<const char*> source = {},
             std::optional<const char*> error = {}) {
        io::StunBinding b;
        b.server_name = "198.51.100.1";
        b.server = ep(server);
        b.test = test;
        b.local = ep(local);
        if (mapped) b.mapped = ep(*mapped);
        if (source) b.response_source = ep(*source);
        if (mapped) b.other_address = ep("198.51.100.2:3479");
        if (error) b.error = *error;
        records.push_back({b, records.size() + 1});
        return *this;
    }
    Lab& mapping(const char* m1, const char* m2, const char* m3) {
        return add("binding", "198.51.100.1:3478", "10.0.3.2:4000", m1)
            .add("mapping-2", "198.51.100.2:3478", "10.0.3.2:4000", m2)
            .add("mapping-3", "198.51.100.2:3479", "10.0.3.2:4000", m3);
    }
    Lab& filtering2(bool answered, const char* from = "198.51.100.2:3479") {
        return answered
                   ? add("filtering-2", "198.51.100.1:3478", "10.0.3.2:5001", "203.0.113.3:5001",
                         from)
                   : add("filtering-2", "198.51.100.1:3478", "10.0.3.2:5001", {}, {}, "timeout");
    }
    Lab& filtering3(bool answered, const char* from = "198.51.100.1:3479") {
        return answered
                   ? add("filtering-3", "198.51.100.1:3478", "10.0.3.2:5002", "203.0.113.3:5002",
                         from)
                   : add("filtering-3", "198.51.100.1:3478", "10.0.3.2:5002", {}, {}, "timeout");
    }
    NatReport classify() const { return nat::classify(records, "test"); }
};

const char* kSame = "203.0.113.3:4000";

}  // namespace

TEST_CASE("full cone: one mapping, the change-address-and-port answer gets in") {
    auto r = Lab{}.mapping(kSame, kSame, kSame).filtering2(true).filtering3(true).classify();
    CHECK(r.mapping == "endpoint-independent");
    CHECK(r.filtering == "endpoint-independent");
    CHECK(r.nat_type == "full-cone");
    CHECK(r.behind_nat == true);
    CHECK(r.port_preserving == true);
    CHECK(r.public_endpoint == ep(kSame));
    CHECK(r.local == ep("10.0.3.2:4000"));
    CHECK(r.servers_used == 1);
    CHECK(r.reasons.empty());
}

TEST_CASE("restricted and port-restricted cone") {
    auto rc = Lab{}.mapping(kSame, kSame, kSame).filtering2(false).filtering3(true).classify();
    CHECK(rc.filtering == "address-dependent");
    CHECK(rc.nat_type == "restricted-cone");
    auto pr = Lab{}.mapping(kSame, kSame, kSame).filtering2(false).filtering3(false).classify();
    CHECK(pr.filtering == "address-and-port-dependent");
    CHECK(pr.nat_type == "port-restricted-cone");
}

TEST_CASE("symmetric: address-dependent and address-and-port-dependent mapping") {
    auto ad = Lab{}.mapping(kSame, "203.0.113.3:4100", "203.0.113.3:4100").classify();
    CHECK(ad.mapping == "address-dependent");
    CHECK(ad.nat_type == "symmetric");
    auto apd = Lab{}.mapping(kSame, "203.0.113.3:4100", "203.0.113.3:4200").classify();
    CHECK(apd.mapping == "address-and-port-dependent");
    CHECK(apd.nat_type == "symmetric");
    CHECK(apd.port_preserving == true);
    auto moved =
        Lab{}.mapping("203.0.113.3:61000", "203.0.113.3:61001", "203.0.113.3:61002").classify();
    CHECK(moved.port_preserving == false);
}

TEST_CASE("no NAT: the host sees itself") {
    Lab lab;
    lab.add("binding", "198.51.100.1:3478", "203.0.113.10:4000", "203.0.113.10:4000")
        .add("mapping-2", "198.51.100.2:3478", "203.0.113.10:4000", "203.0.113.10:4000")
        .add("mapping-3", "198.51.100.2:3479", "203.0.113.10:4000", "203.0.113.10:4000")
        .filtering2(true)
        .filtering3(true);
    auto r = lab.classify();
    CHECK(r.behind_nat == false);
    CHECK(r.nat_type == "open");
}

TEST_CASE("a CHANGE-REQUEST answered from the wrong address is never endpoint-independent") {
    // The server says OTHER-ADDRESS 198.51.100.2:3479 but answers from its primary address.
    auto r = Lab{}
                 .mapping(kSame, kSame, kSame)
                 .filtering2(true, "198.51.100.1:3478")
                 .filtering3(true, "198.51.100.1:3478")
                 .classify();
    CHECK(r.filtering == "unknown");
    CHECK(r.nat_type == "unknown");
    REQUIRE(r.reasons.size() == 1);
    CHECK_THAT(r.reasons[0], Catch::Contains("does not really support RFC 5780"));
    // Same for the change-port test, when the address+port one got no answer.
    auto r3 = Lab{}
                  .mapping(kSame, kSame, kSame)
                  .filtering2(false)
                  .filtering3(true, "198.51.100.2:3479")
                  .classify();
    CHECK(r3.filtering == "unknown");
}

TEST_CASE("partial answers: what cannot be decided is unknown, with a reason") {
    SECTION("mapping tests II and III unanswered") {
        Lab lab;
        lab.add("binding", "198.51.100.1:3478", "10.0.3.2:4000", kSame)
            .add("mapping-2", "198.51.100.2:3478", "10.0.3.2:4000", {}, {}, "timeout")
            .filtering2(false)
            .filtering3(false);
        auto r = lab.classify();
        CHECK(r.mapping == "unknown");
        CHECK(r.filtering == "address-and-port-dependent");
        CHECK(r.nat_type == "unknown");
        CHECK_FALSE(r.reasons.empty());
    }
    SECTION("no filtering tests at all") {
        auto r = Lab{}.mapping(kSame, kSame, kSame).classify();
        CHECK(r.mapping == "endpoint-independent");
        CHECK(r.filtering == "unknown");
        CHECK(r.nat_type == "unknown");
        CHECK_THAT(r.reasons.at(0), Catch::Contains("--behavior"));
    }
    SECTION("the change-port test failed with an error response") {
        Lab lab;
        lab.mapping(kSame, kSame, kSame).filtering2(false);
        lab.add("filtering-3", "198.51.100.1:3478", "10.0.3.2:5002", {}, {}, "error-response");
        CHECK(lab.classify().filtering == "unknown");
    }
}

TEST_CASE("nobody answered: UDP blocked") {
    Lab lab;
    lab.add("binding", "198.51.100.1:3478", "10.0.7.2:4000", {}, {}, "timeout")
        .filtering2(false)
        .filtering3(false);
    auto r = lab.classify();
    CHECK(r.nat_type == "udp-blocked");
    CHECK(r.mapping == "unknown");
    CHECK(r.filtering == "unknown");
    CHECK_FALSE(r.public_endpoint);
}

TEST_CASE("plain probes of servers without RFC 5780 still give the mapping") {
    auto probe = [](const char* server, const char* mapped) {
        io::StunBinding b;
        b.server_name = server;
        b.server = ep(server);
        b.local = ep("10.0.5.2:4000");
        b.mapped = ep(mapped);
        return b;
    };
    SECTION("one mapping for two server addresses") {
        std::vector<Observation> o{{probe("198.51.100.1:3478", kSame), 1},
                                   {probe("198.51.100.3:3478", kSame), 2}};
        auto r = classify(o, "test");
        CHECK(r.mapping == "endpoint-independent");
        CHECK(r.filtering == "unknown");
        CHECK(r.servers_used == 2);
    }
    SECTION("a mapping per server address: symmetric, RFC 4787 word unknown") {
        std::vector<Observation> o{{probe("198.51.100.1:3478", "203.0.113.5:1000"), 1},
                                   {probe("198.51.100.3:3478", "203.0.113.5:2000"), 2}};
        auto r = classify(o, "test");
        CHECK(r.mapping == "unknown");
        CHECK(r.nat_type == "symmetric");
        CHECK_FALSE(r.reasons.empty());
    }
    SECTION("one server address only") {
        std::vector<Observation> o{{probe("198.51.100.1:3478", kSame), 1}};
        auto r = classify(o, "test");
        CHECK(r.mapping == "unknown");
        CHECK(r.nat_type == "unknown");
    }
}

TEST_CASE("mapping records from different local ports are bad input naming the line") {
    Lab lab;
    lab.mapping(kSame, kSame, kSame);
    lab.add("mapping-3", "198.51.100.2:3479", "10.0.3.2:4001", kSame);
    try {
        lab.classify();
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        CHECK_THAT(e.what(), Catch::StartsWith("test:4: field 'local'"));
    }
}

TEST_CASE("filtering and hairpin tests may use their own ports") {
    auto r = Lab{}.mapping(kSame, kSame, kSame).filtering2(false).filtering3(false).classify();
    CHECK(r.nat_type == "port-restricted-cone");  // no error for ports 5001/5002
}

TEST_CASE("hairpinning") {
    Lab yes;
    yes.mapping(kSame, kSame, kSame).add("hairpin", kSame, "10.0.3.2:5003", {});
    CHECK(yes.classify().hairpinning == true);
    Lab no;
    no.mapping(kSame, kSame, kSame).add("hairpin", kSame, "10.0.3.2:5003", {}, {}, "timeout");
    CHECK(no.classify().hairpinning == false);
    CHECK_FALSE(Lab{}.mapping(kSame, kSame, kSame).classify().hairpinning);
}

TEST_CASE("the same records give the same report") {
    auto lab = Lab{}.mapping(kSame, kSame, kSame).filtering2(false).filtering3(true);
    CHECK(to_json(lab.classify()) == to_json(lab.classify()));
}

TEST_CASE("binding lifetime: the longest idle time that still worked, the shortest that did not") {
    auto lifetime = [](Lab& lab, std::int64_t idle, std::optional<const char*> error) {
        lab.add("lifetime", "198.51.100.1:3478", "10.0.3.2:6000", {}, {}, error);
        lab.records.back().record.idle_ms = idle;
    };
    Lab lab;
    lab.mapping(kSame, kSame, kSame);
    lifetime(lab, 1000, {});
    lifetime(lab, 2000, {});
    lifetime(lab, 4000, "timeout");
    auto r = lab.classify();
    CHECK(r.lifetime_alive_ms == 2000);
    CHECK(r.lifetime_gone_ms == 4000);
    CHECK(to_json(r)["binding_lifetime"]["gone_after_ms"] == 4000);

    Lab odd;
    odd.mapping(kSame, kSame, kSame);
    lifetime(odd, 1000, "timeout");
    lifetime(odd, 2000, {});
    auto inconsistent = odd.classify();
    CHECK_FALSE(inconsistent.lifetime_alive_ms);
    CHECK_FALSE(inconsistent.reasons.empty());

    Lab ignored;
    ignored.mapping(kSame, kSame, kSame);
    lifetime(ignored, 1000, "unsupported");
    auto reasons = ignored.classify().reasons;
    CHECK(std::any_of(reasons.begin(), reasons.end(), [](const std::string& reason) {
        return reason.find("binding lifetime: the server") != std::string::npos ||
               reason == "binding lifetime: unsupported";
    }));
}
