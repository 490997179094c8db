// A move-only owner of one file descriptor: closed when the owner goes away.
#pragma once

#include <unistd.h>

#include <utility>

namespace natkit::net {

class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }

    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

    // Gives up ownership without closing.
    int release() { return std::exchange(fd_, -1); }

    // Closes the current descriptor (if any) and owns `fd` instead.
    void reset(int fd = -1) {
        int old = std::exchange(fd_, fd);
        if (old >= 0 && old != fd) ::close(old);
    }

  private:
    int fd_ = -1;
};

}  // namespace natkit::net
