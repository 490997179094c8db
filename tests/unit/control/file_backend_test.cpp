#include "control/file_backend.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "io/error.hpp"

using namespace natkit;
using namespace natkit::control;
using namespace std::chrono_literals;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char name[] = "/tmp/natkit-file-backend-XXXXXX";
        path = ::mkdtemp(name);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("published records are fetched back; temporary files are never seen") {
    TempDir dir;
    FileBackend backend(dir.path.string(), "home");
    CHECK(backend.fetch().empty());
    backend.publish("a", R"({"id":"a"})", 90s);
    backend.publish("b", R"({"id":"b"})", 90s);
    backend.publish("a", R"({"id":"a","v":2})", 90s);
    std::ofstream(dir.path / "home" / "nodes" / ".b.json.tmp.1.2") << "{torn";
    auto nodes = backend.fetch();
    REQUIRE(nodes.size() == 2);
    std::set<std::string> texts;
    for (const auto& n : nodes) texts.insert(n.text);
    CHECK(texts.count("{\"id\":\"a\",\"v\":2}\n") == 1);
    CHECK_FALSE(backend.keep_alive("a"));
    CHECK(backend.expires_by_timestamp());
}

TEST_CASE("a missing control directory is an unavailable control plane") {
    FileBackend backend("/nonexistent/natkit", "home");
    try {
        backend.fetch();
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::unavailable);
    }
    CHECK_THROWS_AS(backend.publish("a", "{}", 90s), Error);
}

TEST_CASE("concurrent writers never produce a torn record") {
    TempDir dir;
    FileBackend backend(dir.path.string(), "home");
    std::string big_a(20000, 'a'), big_b(20000, 'b');
    std::atomic<bool> done{false};
    std::atomic<int> torn{0}, reads{0};
    std::thread reader([&] {
        FileBackend mine(dir.path.string(), "home");
        while (!done) {
            for (const auto& n : mine.fetch()) {
                if (n.text != big_a + "\n" && n.text != big_b + "\n") ++torn;
                ++reads;
            }
        }
    });
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&, w] {
            FileBackend mine(dir.path.string(), "home");
            for (int i = 0; i < 100; ++i) mine.publish("same", (w + i) % 2 ? big_a : big_b, 90s);
        });
    }
    for (auto& t : writers) t.join();
    done = true;
    reader.join();
    CHECK(torn == 0);
    CHECK(reads > 0);
    CHECK(backend.fetch().size() == 1);
}

TEST_CASE("allocation is unique under concurrency and stable per node") {
    TempDir dir;
    auto range = *net::Prefix::parse("10.66.0.0/24");
    std::vector<net::IpAddress> got(16);
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
        threads.emplace_back([&, i] {
            FileBackend mine(dir.path.string(), "home");
            got[static_cast<std::size_t>(i)] = mine.allocate("n" + std::to_string(i), range);
        });
    }
    for (auto& t : threads) t.join();
    std::set<net::IpAddress> unique(got.begin(), got.end());
    CHECK(unique.size() == 16);
    FileBackend backend(dir.path.string(), "home");
    CHECK(backend.allocate("n3", range) == got[3]);
    auto full = *net::Prefix::parse("10.9.0.0/30");  // two usable addresses
    backend.allocate("x", full);
    backend.allocate("y", full);
    CHECK_THROWS_AS(backend.allocate("z", full), Error);
}

TEST_CASE("watch reports a change through inotify and wakes on its timer") {
    TempDir dir;
    FileBackend backend(dir.path.string(), "home");
    std::vector<WatchEvent> events;
    std::thread writer;
    backend.watch([&](WatchEvent event) {
        events.push_back(event);
        WatchNext next;
        if (events.size() == 1) {
            writer = std::thread([&] {
                FileBackend mine(dir.path.string(), "home");
                mine.publish("a", "{}", 90s);
            });
            return next;  // no timer: only the write can wake us
        }
        if (events.size() == 2) next.wake_after = 10ms;
        next.stop = events.size() == 3;
        return next;
    });
    writer.join();
    REQUIRE(events.size() == 3);
    CHECK(events[0] == WatchEvent::changed);
    CHECK(events[1] == WatchEvent::changed);
    CHECK(events[2] == WatchEvent::timer);
}
