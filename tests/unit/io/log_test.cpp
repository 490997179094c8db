#include "io/log.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using natkit::io::Level;
using natkit::io::Log;

namespace {

std::string everything_at(int verbosity) {
    std::ostringstream err;
    Log log(err, "stun-probe", verbosity);
    log.error("e");
    log.warning("w");
    log.info("i");
    log.debug("d");
    return err.str();
}

}  // namespace

TEST_CASE("log: lines name the tool and the level") {
    CHECK(everything_at(2) ==
          "stun-probe: error: e\nstun-probe: warning: w\nstun-probe: i\nstun-probe: debug: d\n");
}

TEST_CASE("log: verbosity selects the levels") {
    CHECK(everything_at(-1) == "stun-probe: error: e\n");
    CHECK(everything_at(0) == "stun-probe: error: e\nstun-probe: warning: w\n");
    CHECK(everything_at(1) == "stun-probe: error: e\nstun-probe: warning: w\nstun-probe: i\n");
    CHECK(everything_at(3) == everything_at(2));
}

TEST_CASE("log: enabled() tells whether a level would be written") {
    std::ostringstream err;
    Log quiet(err, "t", -1);
    CHECK(quiet.enabled(Level::error));
    CHECK_FALSE(quiet.enabled(Level::warning));
    Log verbose(err, "t", 1);
    CHECK(verbose.enabled(Level::info));
    CHECK_FALSE(verbose.enabled(Level::debug));
    CHECK(err.str().empty());
}
