#include "net/event_loop.hpp"

#include <poll.h>

#include <cerrno>
#include <climits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace natkit::net {

void EventLoop::watch(int fd, Callback on_ready) {
    watchers_[fd] = std::make_shared<Callback>(std::move(on_ready));
}

void EventLoop::unwatch(int fd) {
    watchers_.erase(fd);
}

EventLoop::TimerId EventLoop::call_at(Clock::time_point when, Callback callback) {
    TimerId id = next_id_++;
    timers_.emplace(TimerKey{when, id}, std::move(callback));
    deadlines_.emplace(id, when);
    return id;
}

void EventLoop::cancel(TimerId id) {
    auto found = deadlines_.find(id);
    if (found == deadlines_.end()) return;
    timers_.erase(TimerKey{found->second, id});
    deadlines_.erase(found);
}

void EventLoop::run() {
    while (!stop_requested_ && !idle()) {
        fire_due_timers();
        if (stop_requested_ || idle()) break;
        poll_and_dispatch();
    }
    stop_requested_ = false;
}

void EventLoop::fire_due_timers() {
    auto now = Clock::now();
    while (!stop_requested_ && !timers_.empty() && timers_.begin()->first.first <= now) {
        auto due = timers_.extract(timers_.begin());
        deadlines_.erase(due.key().second);
        due.mapped()();
    }
}

int EventLoop::poll_timeout_ms() const {
    if (timers_.empty()) return -1;
    auto wait = timers_.begin()->first.first - Clock::now();
    if (wait <= Clock::duration::zero()) return 0;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

void EventLoop::poll_and_dispatch() {
    std::vector<pollfd> polled;
    polled.reserve(watchers_.size());
    for (const auto& [fd, callback] : watchers_) polled.push_back({fd, POLLIN, 0});
    if (::poll(polled.data(), polled.size(), poll_timeout_ms()) < 0) {
        if (errno == EINTR) return;
        throw std::system_error(errno, std::system_category(), "poll() failed in the event loop");
    }
    for (const auto& entry : polled) {
        if (entry.revents == 0) continue;
        // Earlier callbacks may have unwatched or replaced it; keep the callback alive while
        // it runs even if it unwatches itself.
        auto found = watchers_.find(entry.fd);
        if (found == watchers_.end()) continue;
        if ((entry.revents & POLLNVAL) != 0) {
            throw std::logic_error("event loop: fd " + std::to_string(entry.fd) +
                                   " was closed while watched; unwatch it before closing");
        }
        auto callback = found->second;
        (*callback)();
        if (stop_requested_) return;
    }
}

}  // namespace natkit::net
