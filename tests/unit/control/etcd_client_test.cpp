#include "control/etcd_client.hpp"

#include <catch2/catch.hpp>

#include "io/error.hpp"

using namespace natkit;
using namespace natkit::control;

TEST_CASE("etcd URLs name every member") {
    CHECK(etcd_members("etcd://h1:2379,h2") ==
          std::vector<std::string>{"http://h1:2379", "http://h2:2379"});
    CHECK(etcd_members("etcds://10.0.0.1:1234/") ==
          std::vector<std::string>{"https://10.0.0.1:1234"});
    CHECK(etcd_members("etcd://[fd00::1]:2379") ==
          std::vector<std::string>{"http://[fd00::1]:2379"});
    CHECK_THROWS_AS(etcd_members("etcd://"), Error);
    CHECK_THROWS_AS(etcd_members("etcd://h1,,h2"), Error);
    CHECK_THROWS_AS(etcd_members("etcd://h1/path"), Error);
    CHECK_THROWS_AS(etcd_members("http://h1"), Error);
}

TEST_CASE("prefix ranges end at the prefix with its last byte plus one") {
    CHECK(prefix_end("/natkit/home/nodes/") == "/natkit/home/nodes0");
    CHECK(prefix_end("a\xff") == "b");
    CHECK(prefix_end("\xff") == std::string(1, '\0'));
}

TEST_CASE("keys and values travel as base64") {
    CHECK(to_base64("/natkit/") == "L25hdGtpdC8=");
    CHECK(from_base64(io::json("L25hdGtpdC8=")) == "/natkit/");
    CHECK(from_base64(io::json(5)).empty());
}

TEST_CASE("an unreachable cluster is exit 69, after trying every member") {
    std::ostringstream err;
    io::Log log(err, "test", 2);
    EtcdConfig config;
    config.members = {"http://127.0.0.1:1", "http://127.0.0.1:2"};
    config.timeout = std::chrono::milliseconds(500);
    EtcdClient client(config, log);
    try {
        client.call("kv/range", {{"key", "YQ=="}});
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::unavailable);
        CHECK_THAT(std::string(e.what()),
                   Catch::Contains("127.0.0.1:1") && Catch::Contains("127.0.0.1:2"));
    }
}
