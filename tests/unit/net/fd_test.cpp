#include "net/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <utility>

using natkit::net::Fd;

namespace {

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

}  // namespace

TEST_CASE("Fd closes what it owns", "[net][fd]") {
    int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(raw >= 0);
    {
        Fd fd(raw);
        CHECK(fd);
        CHECK(fd.get() == raw);
    }
    CHECK_FALSE(is_open(raw));
}

TEST_CASE("Fd moves ownership", "[net][fd]") {
    Fd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int raw = a.get();
    Fd b(std::move(a));
    CHECK_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from state is specified
    CHECK(b.get() == raw);

    Fd c(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int other = c.get();
    c = std::move(b);
    CHECK(c.get() == raw);
    CHECK_FALSE(is_open(other));
    CHECK(is_open(raw));
}

TEST_CASE("Fd release and reset", "[net][fd]") {
    Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int raw = fd.release();
    CHECK_FALSE(fd);
    CHECK(is_open(raw));

    fd.reset(raw);
    CHECK(fd.get() == raw);
    fd.reset(raw);  // resetting to the same descriptor keeps it open
    CHECK(is_open(raw));
    fd.reset();
    CHECK_FALSE(fd);
    CHECK_FALSE(is_open(raw));
    CHECK_FALSE(Fd());
}
