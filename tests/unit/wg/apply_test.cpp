#include "wg/apply.hpp"

#include <sstream>

#include <catch2/catch.hpp>

#include "io/error.hpp"

using namespace natkit;
using namespace natkit::wg;

namespace {

// Keeps a device in memory and counts writes.
class FakeBackend final : public Backend {
  public:
    Device device;
    int writes = 0;

    Device read(const std::string& interface) override {
        if (interface != "wg0") throw Error(ExitCode::failure, "no interface " + interface);
        return device;
    }
    void write(const std::string&, const DeviceChange& change) override {
        ++writes;
        for (const auto& c : change.peers) {
            auto found = std::find_if(device.peers.begin(), device.peers.end(),
                                      [&](const Peer& p) { return p.public_key == c.public_key; });
            if (c.remove) {
                device.peers.erase(found);
                continue;
            }
            if (found == device.peers.end()) {
                device.peers.emplace_back().public_key = c.public_key;
                found = device.peers.end() - 1;
            }
            if (c.endpoint) found->endpoint = c.endpoint;
            if (c.persistent_keepalive) found->persistent_keepalive = *c.persistent_keepalive;
            if (c.replace_allowed_ips) found->allowed_ips.clear();
            for (const auto& a : c.allowed_ips) found->allowed_ips.push_back(a);
            std::sort(found->allowed_ips.begin(), found->allowed_ips.end());
        }
    }
    std::string_view name() const override { return "fake"; }
};

std::string key_text(std::uint8_t n) {
    Key key{};
    key.fill(n);
    return key_to_base64(key);
}

std::string peer_json(std::uint8_t n, const std::string& ips, const std::string& extra = "") {
    return R"({"id":"n)" + std::to_string(n) + R"(","public_key":")" + key_text(n) +
           R"(","allowed_ips":[)" + ips + "]" + extra + "}";
}

std::string set_json(const std::vector<std::string>& peers) {
    std::string out = R"({"kind":"peer-set","network":"home","peers":[)";
    for (std::size_t i = 0; i < peers.size(); ++i) out += (i ? "," : "") + peers[i];
    return out + "]}\n";
}

struct Run {
    std::string output;
    std::string log;
};

Run run(FakeBackend& backend, const std::string& input, ApplyOptions options = {}) {
    if (options.interface.empty()) options.interface = "wg0";
    std::istringstream in(input);
    std::ostringstream out, err;
    io::NdjsonReader reader(in);
    io::RecordWriter writer(out, {});
    io::Log log(err, "wg-apply", 0);
    run_apply(reader, backend, options, writer, log);
    return {out.str(), err.str()};
}

io::json only_record(const std::string& output) {
    std::istringstream lines(output);
    std::string line;
    std::vector<io::json> records;
    while (std::getline(lines, line)) records.push_back(io::json::parse(line));
    REQUIRE(records.size() == 1);
    return records[0];
}

int exit_code_of(const std::function<void()>& body) {
    try {
        body();
    } catch (const Error& e) {
        return static_cast<int>(e.code());
    }
    return 0;
}

}  // namespace

TEST_CASE("apply: a set is written and reported; the same set again writes nothing") {
    FakeBackend backend;
    auto input = set_json({peer_json(1, R"("10.0.0.1/32")", R"(,"endpoint":"203.0.113.1:51820")"),
                           peer_json(2, R"("10.0.0.2/32")")});
    auto first = only_record(run(backend, input).output);
    CHECK(first["kind"] == "wg.apply");
    CHECK(first["interface"] == "wg0");
    CHECK(first["network"] == "home");
    CHECK(first["backend"] == "fake");
    CHECK(first["dry_run"] == false);
    CHECK(first["added"] == io::json::array({key_text(1), key_text(2)}));
    CHECK(first["writes"] == 2);
    CHECK(backend.device.peers.size() == 2);
    CHECK(backend.writes == 1);

    auto second = only_record(run(backend, input).output);
    CHECK(second["added"].empty());
    CHECK(second["unchanged"] == 2);
    CHECK(second["writes"] == 0);
    CHECK(backend.writes == 1);  // the empty change never reaches the device
}

TEST_CASE("apply: --dry-run reports the plan and writes nothing") {
    FakeBackend backend;
    ApplyOptions options;
    options.dry_run = true;
    auto record = only_record(run(backend, set_json({peer_json(1, "")}), options).output);
    CHECK(record["dry_run"] == true);
    CHECK(record["added"].size() == 1);
    CHECK(backend.writes == 0);
    CHECK(backend.device.peers.empty());
}

TEST_CASE("apply: without --follow the whole input is validated before anything is written") {
    FakeBackend backend;
    auto good = set_json({peer_json(1, "")});
    auto bad = set_json({peer_json(1, R"("10.0.0.0/24")"), peer_json(2, R"("10.0.0.0/24")")});
    try {
        run(backend, good + bad);
        FAIL("accepted a prefix claimed twice");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        CHECK_THAT(e.what(), Catch::Contains("stdin:2: field 'peers[1].allowed_ips[0]'"));
    }
    CHECK(backend.writes == 0);
}

TEST_CASE("apply: a bad key is bad input naming line and field") {
    FakeBackend backend;
    std::string bad =
        R"({"kind":"peer-set","network":"x","peers":[{"id":"a","public_key":"nope"}]})";
    CHECK(exit_code_of([&] { run(backend, "\n" + bad + "\n"); }) == 65);
    try {
        run(backend, "\n" + bad + "\n");
    } catch (const Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("stdin:2") && Catch::Contains("peers[0].public_key"));
    }
    CHECK(backend.writes == 0);
}

TEST_CASE("apply: other kinds are passed over; no peer-set at all is bad input") {
    FakeBackend backend;
    auto output = run(backend, "{\"kind\":\"nat.report\"}\n" + set_json({peer_json(1, "")}));
    CHECK(only_record(output.output)["added"].size() == 1);
    CHECK(exit_code_of([&] { run(backend, "{\"kind\":\"nat.report\"}\n"); }) == 65);
}

TEST_CASE("apply: without --follow only the last set is applied; with it, each") {
    FakeBackend backend;
    auto input = set_json({peer_json(1, "")}) + set_json({peer_json(2, "")});
    auto last = only_record(run(backend, input).output);
    CHECK(last["added"] == io::json::array({key_text(2)}));

    FakeBackend follower;
    ApplyOptions options;
    options.follow = true;
    auto output = run(follower, input, options).output;
    CHECK(std::count(output.begin(), output.end(), '\n') == 2);
    CHECK(follower.device.peers.size() == 2);
    CHECK(follower.writes == 2);
}

TEST_CASE("apply: a refused prune and a missing interface fail (exit 1) and write nothing") {
    FakeBackend backend;
    for (std::uint8_t n = 1; n <= 3; ++n) backend.device.peers.emplace_back().public_key[0] = n;
    ApplyOptions options;
    options.plan.prune = true;
    options.plan.max_remove = 2;
    CHECK(exit_code_of([&] { run(backend, set_json({peer_json(9, "")}), options); }) == 1);
    CHECK(exit_code_of([&] { run(backend, set_json({}), options); }) == 1);
    CHECK(backend.writes == 0);
    options.interface = "wg7";
    CHECK(exit_code_of([&] { run(backend, set_json({peer_json(9, "")}), options); }) == 1);
    CHECK(backend.writes == 0);
}

TEST_CASE("apply: kept endpoints are in the record") {
    FakeBackend backend;
    auto& peer = backend.device.peers.emplace_back();
    peer.public_key.fill(1);
    peer.endpoint = net::Endpoint::parse("198.51.100.9:3333");
    peer.last_handshake = std::chrono::system_clock::now() - std::chrono::seconds(5);
    auto record = only_record(
        run(backend, set_json({peer_json(1, "", R"(,"endpoint":"203.0.113.1:51820")")})).output);
    REQUIRE(record["kept_endpoints"].size() == 1);
    CHECK(record["kept_endpoints"][0]["public_key"] == key_text(1));
    CHECK(record["kept_endpoints"][0]["endpoint"] == "198.51.100.9:3333");
    CHECK(record["kept_endpoints"][0]["reason"].get<std::string>().find("handshake") == 0);
    CHECK(backend.device.peers[0].endpoint == net::Endpoint::parse("198.51.100.9:3333"));
}

TEST_CASE("apply: a peer's endpoint is confirmed when punch says punched or direct") {
    auto confirmed = [](const std::string& path) {
        std::istringstream in(set_json({peer_json(
            1, R"("10.0.0.1/32")", R"(,"endpoint":"203.0.113.7:51820","path":")" + path + "\"")}));
        io::NdjsonReader reader(in);
        auto record = reader.next();
        auto set = io::peer_set_from_json(*record, "stdin");
        return desired_peers(set, "stdin", record->line).at(0).endpoint_confirmed;
    };
    CHECK(confirmed("punched"));
    CHECK(confirmed("direct"));
    CHECK_FALSE(confirmed("relay"));
    CHECK_FALSE(confirmed("unreachable"));
}
