#include "io/text.hpp"

#include <catch2/catch.hpp>

using namespace natkit::io;

TEST_CASE("text: stun.binding with an answer") {
    CHECK(
        to_text(json::parse(
            R"({"kind":"stun.binding","server":"198.51.100.1:3478","server_name":"stun.example.net:3478",
                  "test":"binding","mapped":"203.0.113.7:51820","rtt_ms":23.4,"software":"Coturn-4.6.1"})")) ==
        "198.51.100.1:3478  mapped 203.0.113.7:51820  rtt 23.4 ms  (Coturn-4.6.1)");
    CHECK(
        to_text(json::parse(
            R"({"kind":"stun.binding","server":"198.51.100.1:3478","test":"mapping-2","mapped":"203.0.113.7:51820","rtt_ms":7})")) ==
        "198.51.100.1:3478  mapping-2  mapped 203.0.113.7:51820  rtt 7 ms");
}

TEST_CASE("text: stun.binding failures") {
    CHECK(
        to_text(json::parse(
            R"({"kind":"stun.binding","server":"198.51.100.1:3478","error":"timeout","attempts":3})")) ==
        "198.51.100.1:3478  timeout after 3 attempts");
    CHECK(
        to_text(json::parse(
            R"({"kind":"stun.binding","server":"198.51.100.1:3478","error":"unreachable","attempts":1,
                  "detail":"ICMP port unreachable"})")) ==
        "198.51.100.1:3478  unreachable after 1 attempt (ICMP port unreachable)");
    CHECK(
        to_text(json::parse(
            R"({"kind":"stun.binding","server_name":"stun.invalid:3478","error":"unresolved","attempts":0})")) ==
        "stun.invalid:3478  unresolved");
}

TEST_CASE("text: nat.report") {
    CHECK(to_text(json::parse(
              R"({"kind":"nat.report","local":"10.0.0.2:51820","public":"203.0.113.7:51820",
                  "behind_nat":true,"mapping":"endpoint-independent",
                  "filtering":"address-and-port-dependent","nat_type":"port-restricted-cone",
                  "port_preserving":true,"hairpinning":false,"servers_used":2,"elapsed_ms":310})")) ==
          "nat port-restricted-cone  public 203.0.113.7:51820  local 10.0.0.2:51820  "
          "mapping endpoint-independent  filtering address-and-port-dependent  port-preserving  "
          "2 servers  310 ms");
    CHECK(
        to_text(json::parse(
            R"({"kind":"nat.report","public":"203.0.113.7:51820","behind_nat":false,"nat_type":"open","servers_used":1})")) ==
        "no NAT  public 203.0.113.7:51820  1 server");
}

TEST_CASE("text: peer-set is a block, one line per peer") {
    CHECK(to_text(json::parse(
              R"({"kind":"peer-set","network":"home","generated_at":"2026-11-23T17:00:00Z",
                  "peers":[{"id":"node-b","public_key":"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
                            "endpoint":"203.0.113.9:51820","path":"direct",
                            "nat":{"nat_type":"port-restricted-cone"}},
                           {"public_key":"HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="}]})")) ==
          "peer-set home: 2 peers  generated 2026-11-23T17:00:00Z\n"
          "  node-b  203.0.113.9:51820  direct  nat port-restricted-cone\n"
          "  HIgo9xNz...  no endpoint");
    CHECK(to_text(json::parse(R"({"kind":"peer-set","network":"empty","peers":[]})")) ==
          "peer-set empty: 0 peers");
}

TEST_CASE("text: punch.result") {
    CHECK(to_text(json::parse(
              R"({"kind":"punch.result","peer":"node-b","local":"10.0.0.2:51820",
                  "remote":"203.0.113.9:51820","outcome":"punched","attempts":3,"elapsed_ms":140})")) ==
          "node-b  punched  203.0.113.9:51820 from 10.0.0.2:51820  3 attempts  140 ms");
}

TEST_CASE("text: wg.apply") {
    CHECK(to_text(json::parse(
              R"({"kind":"wg.apply","interface":"wg0","backend":"netlink","dry_run":false,
                  "added":["k1"],"removed":[],"updated":[{"public_key":"k2","fields":["endpoint"]}],
                  "unchanged":41,"elapsed_ms":3.1})")) ==
          "wg0 (netlink)  added 1  removed 0  updated 1  unchanged 41  3.1 ms");
    CHECK(
        to_text(json::parse(
            R"({"kind":"wg.apply","interface":"wg1","dry_run":true,"added":[],"removed":["a","b"],"updated":[]})")) ==
        "wg1  added 0  removed 2  updated 0  (dry run)");
}

TEST_CASE("text: unknown kinds as key=value") {
    CHECK(
        to_text(json::parse(
            R"({"kind":"x.custom","name":"a b","port":7,"ok":true,"list":[1,2],"plain":"word"})")) ==
        R"(x.custom: name="a b" port=7 ok=true list=[1,2] plain=word)");
}

TEST_CASE("text: never throws on odd records") {
    CHECK(to_text(json::parse("[1,2]")) == "[1,2]");
    CHECK(to_text(json::parse(R"({"x":1})")) == "record: x=1");
    CHECK(
        to_text(json::parse(
            R"({"kind":"stun.binding","server":5,"mapped":{"a":1},"rtt_ms":"fast","attempts":"x","error":null})")) ==
        R"(5  mapped {"a":1}  rtt "fast" ms)");
    CHECK_NOTHROW(to_text(json::parse(R"({"kind":"peer-set","peers":{"a":1}})")));
    CHECK_NOTHROW(to_text(json::parse(R"({"kind":"peer-set","peers":[1,null,{"nat":5}]})")));
    CHECK_NOTHROW(to_text(json::parse(R"({"kind":"wg.apply","added":5,"interface":[]})")));
    CHECK_NOTHROW(to_text(json::parse(R"({"kind":"nat.report","behind_nat":"yes"})")));
}
