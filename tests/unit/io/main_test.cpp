#include "io/main.hpp"

#include <catch2/catch.hpp>

#include <boost/program_options/errors.hpp>
#include <cerrno>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "io/error.hpp"

using natkit::io::run_main;

namespace {

struct Outcome {
    int code;
    std::string err;
};

template <typename F>
Outcome run(F body) {
    std::ostringstream err;
    int code = run_main("tool", err, body);
    return {code, err.str()};
}

}  // namespace

TEST_CASE("run_main: returns the body's exit code and prints nothing") {
    auto outcome = run([] { return 0; });
    CHECK(outcome.code == 0);
    CHECK(outcome.err.empty());
    CHECK(run([] { return 3; }).code == 3);
}

TEST_CASE("run_main: natkit::Error gives its own exit code and message") {
    auto data = run([]() -> int { throw natkit::data_error("stdin", 4, "mapped", "missing"); });
    CHECK(data.code == 65);
    CHECK(data.err == "tool: stdin:4: field 'mapped': missing\n");
    CHECK(run([]() -> int { throw natkit::usage_error("bad"); }).code == 2);
    CHECK(run([]() -> int { throw natkit::unavailable_error("etcd down"); }).code == 69);
    CHECK(run([]() -> int { throw natkit::permission_error("no"); }).code == 77);
    CHECK(run([]() -> int { throw natkit::Error(natkit::ExitCode::failure, "x"); }).code == 1);
}

TEST_CASE("run_main: a program_options error is a usage error") {
    auto outcome = run([]() -> int { throw boost::program_options::unknown_option("--bogus"); });
    CHECK(outcome.code == 2);
    CHECK_THAT(outcome.err, Catch::StartsWith("tool: ") && Catch::Contains("--bogus") &&
                                Catch::EndsWith("see 'tool --help'\n"));
}

TEST_CASE("run_main: EPERM and EACCES mean missing privileges") {
    for (int errno_value : {EPERM, EACCES}) {
        auto outcome = run([errno_value]() -> int {
            throw std::system_error(errno_value, std::system_category(), "raw socket");
        });
        CHECK(outcome.code == 77);
        CHECK_THAT(outcome.err, Catch::StartsWith("tool: raw socket") &&
                                    Catch::EndsWith("(needs root or CAP_NET_RAW/CAP_NET_ADMIN)\n"));
    }
}

TEST_CASE("run_main: other exceptions are failures") {
    auto refused = run(
        []() -> int { throw std::system_error(ECONNREFUSED, std::system_category(), "connect"); });
    CHECK(refused.code == 1);
    CHECK_THAT(refused.err, Catch::StartsWith("tool: connect"));
    auto runtime = run([]() -> int { throw std::runtime_error("boom"); });
    CHECK(runtime.code == 1);
    CHECK(runtime.err == "tool: boom\n");
    auto strange = run([]() -> int { throw 42; });
    CHECK(strange.code == 1);
    CHECK(strange.err == "tool: unknown error\n");
}

TEST_CASE("run_main: an error stream that throws does not let the exception out") {
    std::ostringstream broken;
    broken.setstate(std::ios::badbit);
    CHECK_THROWS(broken.exceptions(std::ios::badbit));  // every write now throws
    int code = run_main("tool", broken, []() -> int { throw std::runtime_error("x"); });
    CHECK(code == 1);
}
