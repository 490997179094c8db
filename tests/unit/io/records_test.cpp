#include "io/records.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "io/error.hpp"

using natkit::Error;
using natkit::ExitCode;
using namespace natkit;
using namespace natkit::io;

namespace {

net::Endpoint ep(const char* text) {
    auto endpoint = net::Endpoint::parse(text);
    REQUIRE(endpoint);
    return *endpoint;
}

StunBinding full_binding() {
    StunBinding b;
    b.server_name = "stun.example.net:3478";
    b.server = ep("198.51.100.1:3478");
    b.test = "mapping-2";
    b.local = ep("10.0.0.2:51820");
    b.mapped = ep("203.0.113.7:51820");
    b.response_origin = ep("198.51.100.1:3478");
    b.other_address = ep("[2001:db8::2]:3479");
    b.rtt_ms = 23.4;
    b.software = "Coturn-4.6.1";
    b.transport = "udp";
    b.mode = "raw";
    b.attempts = 2;
    b.extra = json::parse(R"({"trace":{"hops":[1,2]},"note":"kept"})");
    return b;
}

std::vector<std::string> keys(const json& j) {
    std::vector<std::string> result;
    for (const auto& [key, value] : j.items()) result.push_back(key);
    return result;
}

StunBinding parse(const std::string& text, std::size_t line = 7) {
    return stun_binding_from_json(InputRecord{json::parse(text), line}, "probe.json");
}

std::string parse_error(const std::string& text) {
    try {
        parse(text);
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        return e.what();
    }
    FAIL("no error for " << text);
    return "";
}

}  // namespace

TEST_CASE("stun.binding: to_json writes the fields in contract order, extra last") {
    auto j = to_json(full_binding());
    CHECK(keys(j) == std::vector<std::string>{"kind", "server", "server_name", "test", "local",
                                              "mapped", "response_origin", "other_address",
                                              "rtt_ms", "software", "transport", "mode", "attempts",
                                              "trace", "note"});
    CHECK(j["kind"] == "stun.binding");
    CHECK(j["other_address"] == "[2001:db8::2]:3479");
    CHECK(j["rtt_ms"] == 23.4);
    CHECK(j["trace"]["hops"][1] == 2);
}

TEST_CASE("stun.binding: a failure has error and detail, absent optionals are omitted") {
    StunBinding b;
    b.server_name = "stun.example.net:3478";
    b.attempts = 3;
    b.error = "unresolved";
    b.detail = "Name or service not known";
    CHECK(to_json(b).dump() ==
          R"({"kind":"stun.binding","server_name":"stun.example.net:3478","test":"binding",)"
          R"("transport":"udp","mode":"socket","attempts":3,"error":"unresolved",)"
          R"("detail":"Name or service not known"})");
}

TEST_CASE("stun.binding: rtt_ms is rounded to 0.1 ms") {
    StunBinding b;
    b.server_name = "x";
    b.rtt_ms = 23.456;
    CHECK(to_json(b)["rtt_ms"] == 23.5);
    b.rtt_ms = 0.04;
    CHECK(to_json(b)["rtt_ms"] == 0.0);
}

TEST_CASE("stun.binding: extra never overrides a known field") {
    StunBinding b;
    b.server_name = "x";
    b.extra = json::parse(R"({"kind":"other","mode":"raw","new":1})");
    auto j = to_json(b);
    CHECK(j["kind"] == "stun.binding");
    CHECK(j["mode"] == "socket");
    CHECK(j["new"] == 1);
}

TEST_CASE("stun.binding: round trip through JSON keeps every field and unknown ones") {
    auto original = full_binding();
    auto back = stun_binding_from_json(InputRecord{to_json(original), 1}, "stdin");
    CHECK(back == original);
    CHECK(to_json(back) == to_json(original));
}

TEST_CASE("stun.binding: reads the contract's example") {
    auto b = parse(
        R"({"kind":"stun.binding","server":"198.51.100.1:3478","server_name":"stun.example.net:3478",
     "test":"binding","local":"10.0.0.2:51820","mapped":"203.0.113.7:51820",
     "response_origin":"198.51.100.1:3478","other_address":"198.51.100.2:3479",
     "rtt_ms":23.4,"software":"Coturn-4.6.1","transport":"udp","mode":"socket","x-extra":[1]})");
    CHECK(b.server_name == "stun.example.net:3478");
    REQUIRE(b.mapped);
    CHECK(b.mapped->to_string() == "203.0.113.7:51820");
    CHECK(b.rtt_ms == 23.4);
    CHECK(b.attempts == 0);
    CHECK_FALSE(b.error);
    CHECK(b.extra == json::parse(R"({"x-extra":[1]})"));
}

TEST_CASE("stun.binding: defaults for absent fields, server_name defaults to server") {
    auto b = parse(
        R"({"kind":"stun.binding","server":"[2001:db8::1]:3478","error":"timeout","mapped":null})");
    CHECK(b.server_name == "[2001:db8::1]:3478");
    CHECK(b.test == "binding");
    CHECK(b.transport == "udp");
    CHECK(b.mode == "socket");
    CHECK_FALSE(b.mapped);
    CHECK(b.error == "timeout");
    CHECK(b.extra == json::object());
}

TEST_CASE("stun.binding: every field is validated, naming field and line") {
    struct Case {
        const char* fields;
        const char* field;
        const char* problem;
    };
    const Case cases[] = {
        {R"("kind":"nat.report")", "kind", "expected \"stun.binding\", got string \"nat.report\""},
        {R"("server":"stun.example.net:3478")", "server", "expected an endpoint like"},
        {R"("server_name":42)", "server_name", "expected a string, got number 42"},
        {R"("server_name":"")", "server_name", "must not be empty"},
        {R"("test":"mapping-9")", "test",
         "expected one of binding, mapping-2, mapping-3, filtering-2, filtering-3, hairpin, lifetime, got "
         "string \"mapping-9\""},
        {R"("local":"10.0.0.2")", "local", "expected an endpoint like"},
        {R"("mapped":"203.0.113.7:99999")", "mapped", "expected an endpoint like"},
        {R"("response_origin":true)", "response_origin", "expected an endpoint like"},
        {R"("other_address":[])", "other_address", "expected an endpoint like"},
        {R"("rtt_ms":-1)", "rtt_ms", "expected a round-trip time in ms (0 or more), got number -1"},
        {R"("rtt_ms":"23")", "rtt_ms", "expected a number, got string \"23\""},
        {R"("software":1)", "software", "expected a string, got number 1"},
        {R"("transport":"sctp")", "transport", "expected one of udp, tcp, tls, dtls"},
        {R"("mode":"kernel")", "mode", "expected one of socket, raw, got string \"kernel\""},
        {R"("attempts":-1)", "attempts", "expected a count of requests (0 or more), got number -1"},
        {R"("attempts":1.5)", "attempts", "expected an integer, got number 1.5"},
        {R"("attempts":"3")", "attempts", "expected an integer, got string \"3\""},
        {R"("attempts":4294967296)", "attempts", "expected a count of requests"},
        {R"("error":"oops")", "error", "expected one of timeout, unreachable, bad-response"},
        {R"("detail":{})", "detail", "expected a string, got an object"},
    };
    for (const auto& c : cases) {
        std::string text =
            std::string(R"({"kind":"stun.binding","server_name":"s:3478",)") + c.fields + "}";
        // A later key replaces an earlier one in the JSON object, so each case can override.
        INFO(text);
        auto message = parse_error(text);
        CHECK_THAT(message, Catch::StartsWith(std::string("probe.json:7: field '") + c.field +
                                              "': " + c.problem));
    }
}

TEST_CASE("stun.binding: server_name is needed when there is no server") {
    CHECK(parse_error(R"({"kind":"stun.binding","mapped":"203.0.113.7:51820"})") ==
          "probe.json:7: field 'server_name': missing (and no \"server\")");
}
