#include "io/cli.hpp"

#include <catch2/catch.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "io/error.hpp"

namespace po = boost::program_options;
using natkit::Error;
using natkit::ExitCode;
using namespace natkit::io;

namespace {

// A config file in the temporary directory, removed at the end of the test.
class TempFile {
  public:
    explicit TempFile(const std::string& contents) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "natkit-cli-test-XXXXXX").string();
        int fd = ::mkstemp(pattern.data());
        REQUIRE(fd >= 0);
        ::close(fd);
        path_ = pattern;
        std::ofstream(path_) << contents;
    }
    ~TempFile() { std::filesystem::remove(path_); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// A stun-probe-like tool with one int option, one string option and positional servers.
struct Tool {
    Cli cli{{"stun-probe", "stun-probe [OPTIONS] [SERVER...]", "Sends STUN Binding requests."}};
    std::ostringstream out;

    Tool() {
        // clang-format off
        cli.options().add_options()
            ("server", po::value<std::vector<std::string>>(), "STUN server")
            ("timeout", po::value<int>()->default_value(2000), "deadline in ms")
            ("source-port,p", po::value<int>(), "local port")
            ("first", po::bool_switch(), "stop at the first answer");
        // clang-format on
        cli.positional().add("server", -1);
        cli.set_default_config("/nonexistent/natkit-test.conf");
    }

    std::optional<po::variables_map> parse(std::vector<std::string> args,
                                           std::vector<std::string> env = {}) {
        std::vector<const char*> argv{"stun-probe"};
        for (const auto& a : args) argv.push_back(a.c_str());
        std::vector<const char*> envp;
        for (const auto& e : env) envp.push_back(e.c_str());
        envp.push_back(nullptr);
        return cli.parse(static_cast<int>(argv.size()), argv.data(), envp.data(), out);
    }

    int timeout(std::vector<std::string> args, std::vector<std::string> env = {}) {
        auto vm = parse(std::move(args), std::move(env));
        REQUIRE(vm);
        return (*vm)["timeout"].as<int>();
    }

    std::string usage_error(std::vector<std::string> args, std::vector<std::string> env = {}) {
        try {
            parse(std::move(args), std::move(env));
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::usage);
            return e.what();
        }
        FAIL("no usage error");
        return "";
    }
};

}  // namespace

TEST_CASE("cli: tool options and positional arguments from argv") {
    Tool t;
    auto vm = t.parse({"-p", "51820", "--first", "stun.a:3478", "stun.b"});
    REQUIRE(vm);
    CHECK((*vm)["source-port"].as<int>() == 51820);
    CHECK((*vm)["first"].as<bool>());
    CHECK((*vm)["server"].as<std::vector<std::string>>() ==
          std::vector<std::string>{"stun.a:3478", "stun.b"});
    CHECK((*vm)["timeout"].as<int>() == 2000);
    CHECK(t.cli.common().verbosity == 0);
    CHECK_FALSE(t.cli.common().format.pretty);
    CHECK_FALSE(t.cli.common().format.text);
    CHECK(t.out.str().empty());
}

TEST_CASE("cli: argv beats environment beats config file beats default") {
    TempFile config("timeout = 100\n");
    std::string use_config = "NATKIT_CONFIG=" + config.path();
    Tool t;
    CHECK(t.timeout({"--timeout", "300"}, {use_config, "NATKIT_TIMEOUT=200"}) == 300);
    CHECK(Tool().timeout({}, {use_config, "NATKIT_TIMEOUT=200"}) == 200);
    CHECK(Tool().timeout({}, {use_config}) == 100);
    CHECK(Tool().timeout({"--config", config.path()}) == 100);
    CHECK(Tool().timeout({}) == 2000);
}

TEST_CASE("cli: environment variable names map to option names") {
    Tool t;
    auto vm = t.parse({}, {"NATKIT_SOURCE_PORT=4242", "NATKIT_FIRST=1", "NATKIT_UNRELATED=x",
                           "NATKIT_HELP=1", "NATKIT_VERSION=1", "HOME=/root", "NATKIT_NOEQUALS"});
    REQUIRE(vm);
    CHECK((*vm)["source-port"].as<int>() == 4242);
    CHECK((*vm)["first"].as<bool>());
    CHECK(t.out.str().empty());
}

TEST_CASE("cli: a bad value in the environment names the variable") {
    auto message = Tool().usage_error({}, {"NATKIT_TIMEOUT=soon"});
    CHECK_THAT(message, Catch::StartsWith("NATKIT_TIMEOUT: ") && Catch::Contains("soon"));
}

TEST_CASE("cli: config file sections") {
    TempFile config(
        "# shared by every tool\n"
        "timeout = 7\n"
        "pretty = true\n"
        "rendezvous = punch.example.net\n"
        "[nat-classify]\n"
        "timeout = 9\n"
        "peer = other.json\n"
        "[stun-probe]\n"
        "timeout = 5\n"
        "server = stun.a:3478\n"
        "server = stun.b:3478\n");
    Tool t;
    auto vm = t.parse({"--config", config.path()});
    REQUIRE(vm);
    CHECK((*vm)["timeout"].as<int>() == 5);
    CHECK((*vm)["server"].as<std::vector<std::string>>() ==
          std::vector<std::string>{"stun.a:3478", "stun.b:3478"});
    CHECK(t.cli.common().format.pretty);
}

TEST_CASE("cli: unsectioned options apply when the tool's section does not set them") {
    TempFile config("timeout = 7\n[stun-probe]\nfirst = true\n");
    Tool t;
    auto vm = t.parse({"--config", config.path()});
    REQUIRE(vm);
    CHECK((*vm)["timeout"].as<int>() == 7);
    CHECK((*vm)["first"].as<bool>());
}

TEST_CASE("cli: an unknown option in the tool's own section names the file") {
    TempFile config("[stun-probe]\nrendezvous = x\n");
    auto message = Tool().usage_error({"--config", config.path()});
    CHECK_THAT(message, Catch::StartsWith(config.path() + ": unknown option 'rendezvous'") &&
                            Catch::Contains("[stun-probe]"));
}

TEST_CASE("cli: bad config files are usage errors naming the file") {
    TempFile syntax("timeout 5\n");
    CHECK_THAT(Tool().usage_error({"--config", syntax.path()}), Catch::StartsWith(syntax.path()));
    TempFile value("[stun-probe]\ntimeout = soon\n");
    CHECK_THAT(Tool().usage_error({"--config", value.path()}),
               Catch::StartsWith(value.path() + ": ") && Catch::Contains("soon"));
    CHECK_THAT(Tool().usage_error({"--config", "/nonexistent/natkit.conf"}),
               Catch::Contains("'/nonexistent/natkit.conf' does not exist"));
    CHECK_THAT(Tool().usage_error({}, {"NATKIT_CONFIG=/nonexistent/x.conf"}),
               Catch::Contains("'/nonexistent/x.conf' does not exist"));
}

TEST_CASE("cli: the default config file is read when it exists") {
    TempFile config("[stun-probe]\ntimeout = 11\n");
    Tool t;
    t.cli.set_default_config(config.path());
    CHECK(t.timeout({}) == 11);
    Tool none;
    none.cli.set_default_config(config.path());
    CHECK(none.timeout({"--config", ""}) == 2000);
}

TEST_CASE("cli: --config on argv beats NATKIT_CONFIG") {
    TempFile from_argv("timeout = 1\n");
    TempFile from_env("timeout = 2\n");
    CHECK(Tool().timeout({"--config", from_argv.path()}, {"NATKIT_CONFIG=" + from_env.path()}) ==
          1);
}

TEST_CASE("cli: unknown options and bad values are usage errors pointing to --help") {
    Tool t;
    auto message = t.usage_error({"--bogus"});
    CHECK_THAT(message, Catch::Contains("--bogus") && Catch::EndsWith("; see 'stun-probe --help'"));
    CHECK_THAT(Tool().usage_error({"--timeout", "soon"}),
               Catch::Contains("soon") && Catch::EndsWith("; see 'stun-probe --help'"));
    CHECK_THAT(Tool().usage_error({"--timeout"}), Catch::Contains("--timeout"));
    // No guessing of abbreviations: scripts must not break when options are added.
    CHECK_THAT(Tool().usage_error({"--time", "5"}), Catch::Contains("--time"));
}

TEST_CASE("cli: --help prints usage, summary and options, and stops") {
    Tool t;
    CHECK_FALSE(t.parse({"--help"}));
    Tool short_flag;
    CHECK_FALSE(short_flag.parse({"-h"}));
    auto help = t.out.str();
    CHECK(short_flag.out.str() == help);
    CHECK_THAT(help, Catch::StartsWith("Usage: stun-probe [OPTIONS] [SERVER...]\n\n"
                                       "Sends STUN Binding requests.\n"));
    CHECK_THAT(help, Catch::Contains("--timeout") && Catch::Contains("--source-port") &&
                         Catch::Contains("--pretty") && Catch::Contains("--verbose") &&
                         Catch::Contains("NATKIT_"));
}

TEST_CASE("cli: --version prints name and version, and stops") {
    Tool t;
    CHECK_FALSE(t.parse({"--version"}));
    CHECK(t.out.str() == std::string("stun-probe (natkit) ") + NATKIT_VERSION + "\n");
}

TEST_CASE("cli: -v is repeatable, -q is quiet") {
    auto verbosity = [](std::vector<std::string> args, std::vector<std::string> env = {}) {
        Tool t;
        REQUIRE(t.parse(std::move(args), std::move(env)));
        return t.cli.common().verbosity;
    };
    CHECK(verbosity({}) == 0);
    CHECK(verbosity({"-v"}) == 1);
    CHECK(verbosity({"-vv"}) == 2);
    CHECK(verbosity({"-v", "--verbose", "-v"}) == 3);
    CHECK(verbosity({"-q"}) == -1);
    CHECK(verbosity({}, {"NATKIT_VERBOSE=1"}) == 1);
    CHECK(verbosity({}, {"NATKIT_QUIET=yes"}) == -1);
    CHECK(verbosity({"-vv"}, {"NATKIT_QUIET=1"}) == 2);
    CHECK_THAT(Tool().usage_error({"-q", "-v"}), Catch::Contains("exclude each other"));
}

TEST_CASE("cli: --pretty and --text select the output format") {
    Tool pretty;
    REQUIRE(pretty.parse({"--pretty"}));
    CHECK(pretty.cli.common().format.pretty);
    CHECK_FALSE(pretty.cli.common().format.text);
    Tool text;
    REQUIRE(text.parse({"--text"}, {"NATKIT_PRETTY=1"}));
    CHECK(text.cli.common().format.text);
    CHECK_FALSE(text.cli.common().format.pretty);
    CHECK_THAT(Tool().usage_error({"--pretty", "--text"}), Catch::Contains("exclude each other"));
}
