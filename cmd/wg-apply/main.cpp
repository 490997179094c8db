// wg-apply: bring a WireGuard interface to a peer set with the fewest changes.
#include <iostream>

#include "io/cli.hpp"
#include "io/log.hpp"
#include "io/main.hpp"
#include "io/ndjson.hpp"
#include "wg/apply.hpp"
#include "wg/backend.hpp"

namespace po = boost::program_options;
using namespace natkit;

namespace {

constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

std::string interface_name(const po::variables_map& vm) {
    if (!vm.count("interface"))
        throw usage_error("name the WireGuard interface, e.g. wg-apply wg0");
    auto name = vm["interface"].as<std::string>();
    if (name.empty() || name.size() > kMaxInterfaceName ||
        name.find_first_of("/ \t\n") != std::string::npos || name == "." || name == "..") {
        throw usage_error("'" + name + "' is not an interface name (1 to 15 characters, no '/')");
    }
    return name;
}

wg::BackendKind backend_kind(const std::string& text) {
    if (text == "auto") return wg::BackendKind::automatic;
    if (text == "netlink") return wg::BackendKind::netlink;
    if (text == "uapi") return wg::BackendKind::uapi;
    throw usage_error("--backend must be auto, netlink or uapi, not '" + text + "'");
}

wg::EndpointPolicy endpoint_policy(const std::string& text) {
    if (text == "guard") return wg::EndpointPolicy::guard;
    if (text == "always") return wg::EndpointPolicy::always;
    throw usage_error("--endpoint-policy must be guard or always, not '" + text + "'");
}

wg::ApplyOptions apply_options(const po::variables_map& vm) {
    wg::ApplyOptions options;
    options.interface = interface_name(vm);
    options.dry_run = vm["dry-run"].as<bool>();
    options.follow = vm["follow"].as<bool>();
    options.plan.prune = vm["prune"].as<bool>();
    options.plan.force = vm["force"].as<bool>();
    options.plan.endpoint_policy = endpoint_policy(vm["endpoint-policy"].as<std::string>());
    int max_remove = vm["max-remove"].as<int>();
    if (max_remove < 0) throw usage_error("--max-remove must be 0 or more");
    options.plan.max_remove = static_cast<std::size_t>(max_remove);
    int guard = vm["guard-seconds"].as<int>();
    if (guard < 0) throw usage_error("--guard-seconds must be 0 or more");
    options.plan.guard_window = std::chrono::seconds(guard);
    return options;
}

int run(int argc, char** argv, char** envp) {
    io::Cli cli({"wg-apply", "wg-apply [OPTIONS] IFACE < peer-set",
                 "Reads peer-set records on stdin and brings the WireGuard interface IFACE to "
                 "them with the fewest changes (kernel WireGuard over netlink, wireguard-go and "
                 "boringtun over their UAPI socket). Prints one wg.apply record per apply."});
    // clang-format off
    cli.options().add_options()
        ("interface", po::value<std::string>(), "the WireGuard interface (also positional)")
        ("backend", po::value<std::string>()->default_value("auto"),
         "auto|netlink|uapi: auto uses the UAPI socket when it exists, else netlink")
        ("dry-run,n", po::bool_switch(), "print the plan as a wg.apply record, change nothing")
        ("follow,f", po::bool_switch(), "apply each peer-set as it arrives")
        ("prune", po::bool_switch(), "remove device peers that are not in the set")
        ("max-remove", po::value<int>()->default_value(static_cast<int>(wg::kDefaultMaxRemove)),
         "refuse to prune more peers than this at once (unless --force)")
        ("force", po::bool_switch(), "prune beyond --max-remove, or to an empty set")
        ("endpoint-policy", po::value<std::string>()->default_value("guard"),
         "guard: keep an endpoint whose peer shook hands recently; always: overwrite it")
        ("guard-seconds",
         po::value<int>()->default_value(static_cast<int>(wg::kDefaultGuardWindow.count())),
         "how recent a handshake protects an endpoint");
    // clang-format on
    cli.positional().add("interface", 1);
    auto vm = cli.parse(argc, argv, envp, std::cout);
    if (!vm) return 0;

    auto options = apply_options(*vm);
    io::Log log(std::cerr, "wg-apply", cli.common().verbosity);
    auto backend =
        wg::open_backend(backend_kind((*vm)["backend"].as<std::string>()), options.interface);
    io::NdjsonReader input(std::cin);
    io::RecordWriter out(std::cout, cli.common().format);
    wg::run_apply(input, *backend, options, out, log);
    return 0;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
    std::ios::sync_with_stdio(false);  // std::cin buffered: big peer sets parse several times faster
    return io::run_main("wg-apply", std::cerr, [&] { return run(argc, argv, envp); });
}
