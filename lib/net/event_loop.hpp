// A small single-threaded poll() loop: descriptors to watch and deadlines to meet.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>

namespace natkit::net {

using Clock = std::chrono::steady_clock;

class EventLoop {
  public:
    using Callback = std::function<void()>;
    using TimerId = std::uint64_t;

    // Calls `on_ready` whenever `fd` is readable or has POLLERR/POLLHUP pending (the callback
    // must consume it). Watching a watched fd replaces its callback. Unwatch before closing.
    void watch(int fd, Callback on_ready);
    void unwatch(int fd);

    // Calls `callback` once at `when` (or as soon as possible after); equal deadlines fire in
    // the order they were set. Ids are never reused; cancelling a fired timer does nothing.
    TimerId call_at(Clock::time_point when, Callback callback);
    void cancel(TimerId id);

    // Makes run() return after the current callback. A stop() before run() makes the next
    // run() return at once.
    void stop() { stop_requested_ = true; }

    // Dispatches until stop(), or until nothing is watched and no timer is pending.
    // Everything above may be called from inside callbacks. Throws std::system_error if
    // poll() fails, std::logic_error if a watched fd was closed.
    void run();

    bool idle() const { return watchers_.empty() && timers_.empty(); }

  private:
    using TimerKey = std::pair<Clock::time_point, TimerId>;

    void fire_due_timers();
    int poll_timeout_ms() const;
    void poll_and_dispatch();

    std::map<int, std::shared_ptr<Callback>> watchers_;
    std::map<TimerKey, Callback> timers_;
    std::unordered_map<TimerId, Clock::time_point> deadlines_;
    TimerId next_id_ = 1;
    bool stop_requested_ = false;
};

}  // namespace natkit::net
