#include "io/secret_file.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "io/error.hpp"

using namespace natkit;
using namespace natkit::io;

namespace {

std::string secret(const std::string& content, mode_t mode) {
    auto path = std::filesystem::temp_directory_path() /
                ("natkit-secret-" + std::to_string(::getpid()) + "-" + std::to_string(mode));
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
    return path.string();
}

}  // namespace

TEST_CASE("secret files readable by others are refused unless told") {
    auto open = secret("hunter2\n", 0644);
    try {
        read_secret_file(open, false);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::no_permission);
        CHECK_THAT(std::string(e.what()), Catch::Contains("chmod 600"));
    }
    CHECK(read_secret_file(open, true) == "hunter2");
    auto closed = secret("hunter2\n", 0600);
    CHECK(read_secret_file(closed, false) == "hunter2");
    auto empty = secret("\n", 0600);
    CHECK_THROWS_AS(read_secret_file(empty, false), Error);
    CHECK_THROWS_AS(read_secret_file("/nonexistent/secret", false), Error);
    std::filesystem::remove(open);
    std::filesystem::remove(closed);
    std::filesystem::remove(empty);
}
