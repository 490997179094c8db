#include "io/cli.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string_view>
#include <vector>

namespace po = boost::program_options;

namespace natkit::io {

namespace {

constexpr std::string_view kEnvPrefix = "NATKIT_";

// Options that only make sense on the command line.
bool argv_only(const std::string& name) {
    return name == "help" || name == "version";
}

bool has_option(const po::options_description& all, const std::string& name) {
    return !argv_only(name) && all.find_nothrow(name, false, false, false) != nullptr;
}

// NATKIT_SOURCE_PORT -> source-port
std::string option_name_for(std::string_view variable) {
    std::string name(variable.substr(kEnvPrefix.size()));
    for (auto& c : name) {
        c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return name;
}

po::option option_of(const std::string& name, const std::string& value) {
    po::option option(name, {value});
    option.original_tokens = {name, value};
    return option;
}

// Stores options together, so that repeated values of a multi-value option add up.
void store_options(const po::options_description& all, std::vector<po::option> options,
                   po::variables_map& vm) {
    po::parsed_options parsed(&all);
    parsed.options = std::move(options);
    po::store(parsed, vm);
}

// Counts the occurrences of a repeatable switch (-vv) and keeps only the first for storing.
std::size_t take_repeats(po::parsed_options& parsed, const std::string& key) {
    auto& options = parsed.options;
    auto first = std::find_if(options.begin(), options.end(),
                              [&](const po::option& o) { return o.string_key == key; });
    if (first == options.end()) return 0;
    auto repeats = std::remove_if(first + 1, options.end(),
                                  [&](const po::option& o) { return o.string_key == key; });
    std::size_t count = 1 + static_cast<std::size_t>(options.end() - repeats);
    options.erase(repeats, options.end());
    return count;
}

std::set<std::string> keys_of(const po::parsed_options& parsed) {
    std::set<std::string> keys;
    for (const auto& option : parsed.options) keys.insert(option.string_key);
    return keys;
}

std::string wrapped(const std::string& text, std::size_t width) {
    std::istringstream words(text);
    std::string result, line, word;
    while (words >> word) {
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            result += line + "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    return result + line;
}

}  // namespace

Cli::Cli(ToolInfo info) : info_(std::move(info)) {}

Error Cli::usage(const std::string& problem) const {
    return usage_error(problem + "; see '" + info_.name + " --help'");
}

po::options_description Cli::common_description() const {
    po::options_description common("Common options");
    auto config_help = "read options from FILE (default " + default_config_ + " if it exists)";
    // clang-format off
    common.add_options()
        ("help,h", po::bool_switch(), "show this help and exit")
        ("version", po::bool_switch(), "show the version and exit")
        ("config", po::value<std::string>()->value_name("FILE"), config_help.c_str())
        ("verbose,v", po::bool_switch(), "log more to stderr (-vv: debug messages too)")
        ("quiet,q", po::bool_switch(), "log errors only")
        ("pretty", po::bool_switch(), "indent the JSON output")
        ("text", po::bool_switch(), "print a short human summary instead of JSON");
    // clang-format on
    return common;
}

std::string Cli::help() const {
    po::options_description all;  // printed together, so the columns line up
    if (!tool_options_.options().empty()) all.add(tool_options_);
    all.add(common_description());
    std::ostringstream text;
    text << "Usage: " << info_.usage << "\n\n"
         << wrapped(info_.summary, 79) << "\n"
         << all << "\n"
         << wrapped(
                "Options can also be set in environment variables NATKIT_<OPTION> (upper "
                "case, '-' as '_', e.g. NATKIT_TIMEOUT=500, NATKIT_PRETTY=1) and in the "
                "config file, unsectioned or in a section [" +
                    info_.name +
                    "]. The command line wins over the environment, which wins over the "
                    "file.",
                79)
         << "\n";
    return text.str();
}

std::optional<po::variables_map> Cli::parse(int argc, const char* const* argv,
                                            const char* const* environ, std::ostream& out) {
    po::options_description all;
    all.add(tool_options_).add(common_description());
    po::variables_map vm;
    try {
        auto style =
            po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        auto parsed = po::command_line_parser(argc, argv)
                          .options(all)
                          .positional(positional_)
                          .style(style)
                          .run();
        auto verbose_count = take_repeats(parsed, "verbose");
        take_repeats(parsed, "quiet");
        auto on_argv = keys_of(parsed);
        po::store(parsed, vm);
        if (vm["help"].as<bool>()) {
            out << help() << std::flush;
            return std::nullopt;
        }
        if (vm["version"].as<bool>()) {
            out << info_.name << " (natkit) " << NATKIT_VERSION << "\n" << std::flush;
            return std::nullopt;
        }
        store_environment(all, environ, vm);
        store_config(all, vm);
        po::notify(vm);
        set_common(vm, on_argv, verbose_count);
    } catch (const po::error& e) {
        throw usage(e.what());
    }
    return vm;
}

void Cli::store_environment(const po::options_description& all, const char* const* environ,
                            po::variables_map& vm) const {
    for (auto entry = environ; entry && *entry; ++entry) {
        std::string_view variable(*entry);
        auto equals = variable.find('=');
        if (!variable.starts_with(kEnvPrefix) || equals == std::string_view::npos) continue;
        auto name = option_name_for(variable.substr(0, equals));
        if (!has_option(all, name)) continue;
        try {
            store_options(all, {option_of(name, std::string(variable.substr(equals + 1)))}, vm);
        } catch (const po::error& e) {
            throw usage(std::string(variable.substr(0, equals)) + ": " + e.what());
        }
    }
}

namespace {

std::vector<po::option> read_config_file(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw usage_error("config file '" + path + "' is a directory");
    }
    std::ifstream file(path);
    if (!file) {
        throw usage_error("cannot read config file '" + path + "': " + std::strerror(errno));
    }
    try {
        return po::parse_config_file(file, po::options_description(), true).options;
    } catch (const po::error& e) {
        throw usage_error(path + ": " + e.what());
    }
}

}  // namespace

void Cli::store_config(const po::options_description& all, po::variables_map& vm) const {
    std::string path;
    if (vm.count("config")) {
        path = vm["config"].as<std::string>();
        if (path.empty()) return;
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
            throw usage("config file '" + path + "' does not exist");
        }
    } else {
        std::error_code ec;
        if (default_config_.empty() || !std::filesystem::exists(default_config_, ec)) return;
        path = default_config_;
    }
    std::vector<po::option> own_section, unsectioned;
    for (const auto& option : read_config_file(path)) {
        const auto& key = option.string_key;
        auto value = option.value.empty() ? std::string() : option.value.front();
        auto dot = key.find('.');
        if (dot == std::string::npos) {
            if (has_option(all, key) && key != "config") {
                unsectioned.push_back(option_of(key, value));
            }
        } else if (key.substr(0, dot) == info_.name) {
            auto name = key.substr(dot + 1);
            if (!has_option(all, name) || name == "config") {
                throw usage(path + ": unknown option '" + name + "' in section [" + info_.name +
                            "]");
            }
            own_section.push_back(option_of(name, value));
        }
    }
    try {
        store_options(all, std::move(own_section), vm);
        store_options(all, std::move(unsectioned), vm);
    } catch (const po::error& e) {
        throw usage(path + ": " + e.what());
    }
}

void Cli::set_common(const po::variables_map& vm, const std::set<std::string>& on_argv,
                     std::size_t verbose_count) {
    // Two switches that exclude each other: one given on argv overrides the other from the
    // environment or the config file; both from the same place are an error.
    auto pick = [&](const std::string& a, const std::string& b) {
        bool from_argv = on_argv.count(a) > 0 || on_argv.count(b) > 0;
        auto on = [&](const std::string& name) {
            return vm[name].as<bool>() && (!from_argv || on_argv.count(name) > 0);
        };
        if (on(a) && on(b)) throw usage("--" + a + " and --" + b + " exclude each other");
        return std::pair(on(a), on(b));
    };
    auto [quiet, verbose] = pick("quiet", "verbose");
    auto [pretty, text] = pick("pretty", "text");
    common_.format = OutputFormat{pretty, text};
    if (quiet) {
        common_.verbosity = -1;
    } else if (verbose) {
        common_.verbosity = static_cast<int>(std::max<std::size_t>(verbose_count, 1));
    } else {
        common_.verbosity = 0;
    }
}

}  // namespace natkit::io
