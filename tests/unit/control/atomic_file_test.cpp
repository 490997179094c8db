#include "control/atomic_file.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>

#include "io/error.hpp"

using namespace natkit;
using namespace natkit::control;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char name[] = "/tmp/natkit-atomic-XXXXXX";
        path = ::mkdtemp(name);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("atomic writes replace the whole file and leave no temporary behind") {
    TempDir dir;
    auto path = (dir.path / "record.json").string();
    CHECK_FALSE(read_file(path));
    write_file_atomically(path, "first");
    write_file_atomically(path, "second, longer");
    CHECK(read_file(path) == "second, longer");
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                        std::filesystem::directory_iterator()) == 1);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
}

TEST_CASE("directories are made as needed; a missing parent is unavailable") {
    TempDir dir;
    make_directories((dir.path / "a" / "b").string());
    CHECK(std::filesystem::is_directory(dir.path / "a" / "b"));
    try {
        write_file_atomically((dir.path / "missing" / "x").string(), "x");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::unavailable);
    }
}
