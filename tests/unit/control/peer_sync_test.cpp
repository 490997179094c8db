#include "control/peer_sync.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <sstream>

#include "io/error.hpp"

using namespace natkit;
using namespace natkit::control;
using namespace std::chrono_literals;

namespace {

constexpr const char* kKeyA = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
constexpr const char* kKeyB = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

// An in-memory control plane that can be switched off.
struct FakeStore {
    std::map<std::string, std::string> records;
    bool down = false;
    int opened = 0;
};

class FakeBackend : public Backend {
  public:
    explicit FakeBackend(FakeStore& store) : store_(store) {}
    void publish(const std::string& id, const std::string& record, std::chrono::seconds) override {
        check();
        store_.records[id] = record;
    }
    bool keep_alive(const std::string&) override { return false; }
    std::vector<StoredNode> fetch() override {
        check();
        std::vector<StoredNode> nodes;
        for (const auto& [id, text] : store_.records) nodes.push_back({id, text});
        return nodes;
    }
    void watch(const WatchCallback& callback) override {
        check();
        while (!callback(WatchEvent::changed).stop) {
        }
    }
    net::IpAddress allocate(const std::string&, const net::Prefix& range) override {
        check();
        return *range.nth(1);
    }
    bool expires_by_timestamp() const override { return false; }

  private:
    void check() const {
        if (store_.down) throw unavailable_error("the fake control plane is down");
    }
    FakeStore& store_;
};

struct Harness {
    FakeStore store;
    std::ostringstream err;
    io::Log log{err, "peer-sync", 0};
    std::vector<io::json> out;
    std::istringstream in;
    SyncIo io{nullptr,
              [this](const io::json& j) { out.push_back(j); },
              log,
              {},
              [this](const ControlOptions&, io::Log&) {
                  ++store.opened;
                  return std::make_unique<FakeBackend>(store);
              }};

    int run(SyncOptions options, const std::string& input = "") {
        in.str(input);
        io.in = &in;
        return run_peer_sync(options, io);
    }
};

SyncOptions node_options(Command command, const std::string& id, const char* key) {
    SyncOptions o;
    o.command = command;
    o.identity.id = id;
    o.identity.public_key = key;
    o.identity.listen_port = 51820;
    o.identity.local_candidates = false;
    return o;
}

struct TempFile {
    std::string path = (std::filesystem::temp_directory_path() /
                        ("natkit-cache-" + std::to_string(::getpid()) + ".json"))
                           .string();
    ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("sync publishes this node and prints the others") {
    Harness h;
    REQUIRE(h.run(node_options(Command::report, "b", kKeyB)) == 0);
    CHECK(h.out.at(0)["kind"] == "peer-sync.node");
    h.out.clear();
    auto nat =
        R"({"kind":"nat.report","public":"203.0.113.7:51820","mapping":"endpoint-independent","filtering":"address-and-port-dependent","nat_type":"port-restricted-cone"})";
    REQUIRE(h.run(node_options(Command::sync, "a", kKeyA), nat) == 0);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0]["kind"] == "peer-set");
    REQUIRE(h.out[0]["peers"].size() == 1);
    CHECK(h.out[0]["peers"][0]["id"] == "b");
    auto a = io::json::parse(h.store.records.at("a"));
    CHECK(a["endpoint"] == "203.0.113.7:51820");
    CHECK(a["candidates"][0] == "203.0.113.7:51820");
    CHECK(a["nat"]["nat_type"] == "port-restricted-cone");
}

TEST_CASE("bad stdin is exit 65 before the control plane is touched") {
    Harness h;
    try {
        h.run(node_options(Command::sync, "a", kKeyA), "{\"kind\":\"nat.report\"}\n{oops\n");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        CHECK_THAT(std::string(e.what()), Catch::Contains("stdin:2"));
    }
    CHECK(h.store.opened == 0);
    CHECK(h.out.empty());
}

TEST_CASE("an unreachable control plane is exit 69 with nothing printed") {
    Harness h;
    h.store.down = true;
    for (auto command : {Command::report, Command::fetch, Command::sync, Command::watch}) {
        try {
            h.run(node_options(command, "a", kKeyA));
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::unavailable);
        }
    }
    CHECK(h.out.empty());
}

TEST_CASE("--allow-stale serves the cached set, marked stale") {
    Harness h;
    TempFile cache;
    h.run(node_options(Command::report, "b", kKeyB));
    auto options = node_options(Command::fetch, "a", kKeyA);
    options.cache_file = cache.path;
    h.out.clear();
    REQUIRE(h.run(options) == 0);
    CHECK_FALSE(h.out.at(0).contains("stale"));
    h.store.down = true;
    h.out.clear();
    CHECK_THROWS_AS(h.run(options), Error);  // a cache alone is not permission to serve it
    CHECK(h.out.empty());
    options.allow_stale = true;
    REQUIRE(h.run(options) == 0);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0]["stale"] == true);
    CHECK(h.out[0]["peers"][0]["id"] == "b");
    CHECK_THAT(h.err.str(), Catch::Contains("stale"));
}

TEST_CASE("--allow-stale without a cache yet is still exit 69") {
    Harness h;
    TempFile cache;
    h.store.down = true;
    auto options = node_options(Command::fetch, "a", kKeyA);
    options.cache_file = cache.path;
    options.allow_stale = true;
    try {
        h.run(options);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::unavailable);
        CHECK_THAT(std::string(e.what()), Catch::Contains("no cache"));
    }
}

TEST_CASE("identity must be complete") {
    Harness h;
    auto options = node_options(Command::report, "a", kKeyA);
    options.identity.public_key.reset();
    CHECK_THROWS_AS(h.run(options), Error);
    options = node_options(Command::report, "a/b", kKeyA);
    CHECK_THROWS_AS(h.run(options), Error);
    options = node_options(Command::report, "a", "short");
    CHECK_THROWS_AS(h.run(options), Error);
}

TEST_CASE("the node record: public endpoint first, allocated address in allowed_ips") {
    auto options = node_options(Command::report, "a", kKeyA);
    options.identity.candidates = {"192.168.1.5:51820", "203.0.113.7:51820"};
    options.identity.allowed_ips = {"10.66.0.9/32"};
    options.identity.local_candidates = true;
    NatInput nat;
    nat.public_endpoint = net::Endpoint::parse("203.0.113.7:51820");
    auto record = make_node_record(options, nat, std::nullopt, {*net::IpAddress::parse("10.0.0.2")},
                                   net::IpAddress::parse("10.66.0.1"), "a",
                                   *parse_time("2026-11-23T17:00:00Z"));
    auto j = to_json(record);
    CHECK(j["candidates"] ==
          io::json::parse(R"(["203.0.113.7:51820","192.168.1.5:51820","10.0.0.2:51820"])"));
    CHECK(j["allowed_ips"] == io::json::parse(R"(["10.66.0.1/32","10.66.0.9/32"])"));
    CHECK(j["updated_at"] == "2026-11-23T17:00:00Z");
}

TEST_CASE("identity can come from the WireGuard device") {
    auto options = node_options(Command::report, "a", kKeyA);
    options.identity.public_key.reset();
    options.identity.listen_port.reset();
    wg::Device device;
    device.public_key = *io::parse_public_key(kKeyB);
    device.listen_port = 41000;
    auto record = make_node_record(options, {}, device, {}, std::nullopt, "a",
                                   *parse_time("2026-11-23T17:00:00Z"));
    CHECK(io::format_public_key(record.public_key) == kKeyB);
    CHECK(record.listen_port == 41000);
}

TEST_CASE("watch prints a set only when it changes and stops after --count") {
    Harness h;
    h.run(node_options(Command::report, "b", kKeyB));
    h.out.clear();
    auto options = node_options(Command::watch, "a", kKeyA);
    options.count = 1;
    REQUIRE(h.run(options) == 0);
    CHECK(h.out.size() == 1);
}
