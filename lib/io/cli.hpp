// The command-line layer every tool shares, over Boost.Program_options: common options, --help,
// --version, NATKIT_* environment variables and the config file.
#pragma once

#include <iosfwd>
#include <optional>
#include <set>
#include <string>

#include <boost/program_options.hpp>

#include "io/error.hpp"
#include "io/ndjson.hpp"

namespace natkit::io {

struct ToolInfo {
    std::string name;     // "stun-probe"
    std::string usage;    // "stun-probe [OPTIONS] [SERVER...]"
    std::string summary;  // one paragraph for --help
};

struct CommonOptions {
    OutputFormat format;
    int verbosity = 0;  // -1 (-q), 0, 1 (-v), 2 (-vv) ...
};

inline constexpr const char* kDefaultConfigFile = "/etc/natkit/natkit.conf";

class Cli {
  public:
    explicit Cli(ToolInfo info);

    boost::program_options::options_description& options() { return tool_options_; }
    boost::program_options::positional_options_description& positional() { return positional_; }
    // The config file read when neither --config nor NATKIT_CONFIG names one (if it exists).
    void set_default_config(std::string path) { default_config_ = std::move(path); }

    // Precedence: argv, then NATKIT_<OPTION> environment variables (upper case, '-' as '_'; only
    // options this tool has; NATKIT_CONFIG is --config), then the config file: --config FILE,
    // else the default file if it exists. In the file, options in the section named after the
    // tool ([stun-probe]) come before unsectioned ones; unknown options in the tool's section
    // are a usage error, unknown unsectioned ones are ignored (other tools may use them).
    // --help and --version print to `out` and return nullopt. Errors throw natkit::Error
    // (ExitCode::usage). `environ` is a null-terminated "NAME=VALUE" array like main's envp.
    std::optional<boost::program_options::variables_map> parse(int argc, const char* const* argv,
                                                               const char* const* environ,
                                                               std::ostream& out);
    const CommonOptions& common() const { return common_; }
    std::string help() const;

  private:
    boost::program_options::options_description common_description() const;
    void store_environment(const boost::program_options::options_description& all,
                           const char* const* environ,
                           boost::program_options::variables_map& vm) const;
    void store_config(const boost::program_options::options_description& all,
                      boost::program_options::variables_map& vm) const;
    void set_common(const boost::program_options::variables_map& vm,
                    const std::set<std::string>& on_argv, std::size_t verbose_count);
    Error usage(const std::string& problem) const;

    ToolInfo info_;
    boost::program_options::options_description tool_options_{"Options"};
    boost::program_options::positional_options_description positional_;
    std::string default_config_ = kDefaultConfigFile;
    CommonOptions common_;
};

}  // namespace natkit::io
