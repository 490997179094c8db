#include "net/event_loop.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/fd.hpp"

using natkit::net::Clock;
using natkit::net::EventLoop;
using natkit::net::Fd;
using namespace std::chrono_literals;

namespace {

struct Pipe {
    Fd read;
    Fd write;
};

Pipe make_pipe() {
    int ends[2] = {-1, -1};
    REQUIRE(::pipe2(ends, O_CLOEXEC | O_NONBLOCK) == 0);
    return {Fd(ends[0]), Fd(ends[1])};
}

void put(const Fd& fd, char byte) {
    REQUIRE(::write(fd.get(), &byte, 1) == 1);
}

}  // namespace

TEST_CASE("EventLoop fires timers in deadline order", "[net][event_loop]") {
    EventLoop loop;
    std::vector<std::string> fired;
    auto now = Clock::now();
    loop.call_at(now + 3ms, [&] { fired.push_back("third"); });
    loop.call_at(now - 1h, [&] { fired.push_back("first"); });
    loop.call_at(now + 1ms, [&] { fired.push_back("second"); });
    loop.call_at(now + 3ms, [&] { fired.push_back("fourth (same deadline, set later)"); });
    loop.run();  // returns once no timer is left
    CHECK(fired == std::vector<std::string>{"first", "second", "third",
                                            "fourth (same deadline, set later)"});
    CHECK(loop.idle());
    CHECK(Clock::now() >= now + 3ms);
}

TEST_CASE("EventLoop cancels timers, also from callbacks", "[net][event_loop]") {
    EventLoop loop;
    std::vector<int> fired;
    auto now = Clock::now();
    auto cancelled_early = loop.call_at(now, [&] { fired.push_back(1); });
    EventLoop::TimerId cancelled_late = 0;
    loop.call_at(now + 1ms, [&] {
        fired.push_back(2);
        loop.cancel(cancelled_late);
    });
    cancelled_late = loop.call_at(now + 2ms, [&] { fired.push_back(3); });
    auto kept = loop.call_at(now + 2ms, [&] { fired.push_back(4); });
    loop.cancel(cancelled_early);
    loop.cancel(9999);  // unknown: ignored
    loop.run();
    CHECK(fired == std::vector<int>{2, 4});
    loop.cancel(kept);  // already fired: ignored
    CHECK(loop.idle());
}

TEST_CASE("EventLoop timers can set timers", "[net][event_loop]") {
    EventLoop loop;
    int count = 0;
    std::function<void()> again = [&] {
        if (++count < 5) loop.call_at(Clock::now() + 1ms, again);
    };
    loop.call_at(Clock::now(), again);
    loop.run();
    CHECK(count == 5);
}

TEST_CASE("EventLoop stops and can run again", "[net][event_loop]") {
    EventLoop loop;
    std::vector<int> fired;
    auto now = Clock::now();
    loop.call_at(now - 2ms, [&] {
        fired.push_back(1);
        loop.stop();
    });
    loop.call_at(now - 1ms, [&] { fired.push_back(2); });  // due, but after stop()
    loop.run();
    CHECK(fired == std::vector<int>{1});
    CHECK_FALSE(loop.idle());
    loop.run();
    CHECK(fired == std::vector<int>{1, 2});

    SECTION("a stop() before run() returns at once") {
        loop.call_at(now, [&] { fired.push_back(3); });
        loop.stop();
        loop.run();
        CHECK(fired == std::vector<int>{1, 2});
        loop.run();
        CHECK(fired == std::vector<int>{1, 2, 3});
    }
}

TEST_CASE("EventLoop calls back when an fd is readable", "[net][event_loop]") {
    EventLoop loop;
    auto pipe = make_pipe();
    std::string got;
    loop.watch(pipe.read.get(), [&] {
        char byte = 0;
        while (::read(pipe.read.get(), &byte, 1) == 1) got += byte;
        if (got.size() == 2) loop.unwatch(pipe.read.get());
    });
    auto now = Clock::now();
    loop.call_at(now + 1ms, [&] { put(pipe.write, 'a'); });
    loop.call_at(now + 2ms, [&] { put(pipe.write, 'b'); });
    loop.run();  // returns once the fd is unwatched and no timer is left
    CHECK(got == "ab");
    CHECK(loop.idle());
}

TEST_CASE("EventLoop calls back on hang-up", "[net][event_loop]") {
    EventLoop loop;
    auto pipe = make_pipe();
    bool hung_up = false;
    loop.watch(pipe.read.get(), [&] {
        char byte = 0;
        if (::read(pipe.read.get(), &byte, 1) == 0) {
            hung_up = true;
            loop.unwatch(pipe.read.get());
        }
    });
    pipe.write.reset();
    loop.run();
    CHECK(hung_up);
}

TEST_CASE("EventLoop callbacks may unwatch and replace watchers", "[net][event_loop]") {
    EventLoop loop;
    auto first = make_pipe();
    auto second = make_pipe();
    put(first.write, 'x');
    put(second.write, 'y');

    SECTION("unwatching another ready fd in the same round skips it") {
        int calls = 0;
        auto unwatch_both = [&] {
            ++calls;
            loop.unwatch(first.read.get());
            loop.unwatch(second.read.get());
        };
        loop.watch(first.read.get(), unwatch_both);
        loop.watch(second.read.get(), unwatch_both);
        loop.run();
        CHECK(calls == 1);
    }
    SECTION("a callback that unwatches itself keeps its captures until it returns") {
        std::string seen;
        std::string label(64, 'L');  // heap-allocated, so a dangling read would show
        loop.watch(first.read.get(), [&, label] {
            loop.unwatch(first.read.get());
            seen = label;
        });
        loop.run();
        CHECK(seen == std::string(64, 'L'));
    }
    SECTION("watching again replaces the callback") {
        std::vector<int> calls;
        loop.watch(first.read.get(), [&] { calls.push_back(1); });
        loop.watch(first.read.get(), [&] {
            calls.push_back(2);
            loop.unwatch(first.read.get());
        });
        loop.run();
        CHECK(calls == std::vector<int>{2});
    }
}

TEST_CASE("EventLoop with nothing to do returns at once", "[net][event_loop]") {
    EventLoop loop;
    CHECK(loop.idle());
    loop.run();
    CHECK(loop.idle());
}

TEST_CASE("EventLoop refuses an fd closed while watched", "[net][event_loop]") {
    EventLoop loop;
    auto pipe = make_pipe();
    int closed = pipe.read.get();
    loop.watch(closed, [] {});
    pipe.read.reset();
    CHECK_THROWS_AS(loop.run(), std::logic_error);
}
