// peer-sync: publish this node to the control plane (a directory, or etcd) and fetch its peers.
#include <unistd.h>

#include <iostream>

#include "control/peer_sync.hpp"
#include "io/cli.hpp"
#include "io/log.hpp"
#include "io/main.hpp"
#include "io/ndjson.hpp"
#include "io/peer_set.hpp"
#include "wg/backend.hpp"

namespace po = boost::program_options;
using namespace natkit;

namespace {

template <typename T>
std::optional<T> maybe(const po::variables_map& vm, const char* name) {
    return vm.count(name) ? std::optional<T>(vm[name].as<T>()) : std::nullopt;
}

std::vector<std::string> many(const po::variables_map& vm, const char* name) {
    return vm.count(name) ? vm[name].as<std::vector<std::string>>() : std::vector<std::string>{};
}

control::SyncOptions options_from(const po::variables_map& vm) {
    control::SyncOptions o;
    if (!vm.count("command")) throw usage_error("say what to do: report, fetch, sync or watch");
    auto command = control::parse_command(vm["command"].as<std::string>());
    if (!command) {
        throw usage_error("unknown command '" + vm["command"].as<std::string>() +
                          "' (report, fetch, sync or watch)");
    }
    o.command = *command;
    o.control.url = vm["control"].as<std::string>();
    o.control.network = vm["network"].as<std::string>();
    o.control.timeout = std::chrono::milliseconds(vm["timeout"].as<int>());
    if (o.control.timeout.count() <= 0) throw usage_error("--timeout must be positive");
    o.control.user = maybe<std::string>(vm, "user");
    o.control.password_file = maybe<std::string>(vm, "password-file");
    o.control.ca_file = maybe<std::string>(vm, "cacert");
    o.control.cert_file = maybe<std::string>(vm, "cert");
    o.control.key_file = maybe<std::string>(vm, "key");
    o.control.prefix = vm["etcd-prefix"].as<std::string>();
    o.control.insecure_permissions = vm["insecure-permissions"].as<bool>();
    o.ttl = std::chrono::seconds(vm["ttl"].as<int>());
    o.identity.id = maybe<std::string>(vm, "id");
    o.identity.public_key = maybe<std::string>(vm, "public-key");
    o.identity.listen_port = maybe<int>(vm, "listen-port");
    o.identity.allowed_ips = many(vm, "allowed-ips");
    o.identity.persistent_keepalive = maybe<int>(vm, "persistent-keepalive");
    o.identity.interface = maybe<std::string>(vm, "interface");
    o.identity.candidates = many(vm, "candidate");
    o.identity.local_candidates = !vm["no-local-candidates"].as<bool>();
    o.allocate = maybe<std::string>(vm, "allocate");
    o.cache_file = maybe<std::string>(vm, "cache");
    o.allow_stale = vm["allow-stale"].as<bool>();
    o.watch_report = vm["report"].as<bool>();
    o.count = maybe<int>(vm, "count");
    if (o.count && *o.count < 1) throw usage_error("--count must be at least 1");
    return o;
}

wg::Device read_device(const std::string& interface) {
    return wg::open_backend(wg::BackendKind::automatic, interface)->read(interface);
}

int run(int argc, char** argv, char** envp) {
    io::Cli cli({"peer-sync", "peer-sync [OPTIONS] report|fetch|sync|watch",
                 "The node's link to the control plane. report publishes this node (identity, "
                 "the nat.report on stdin, endpoint candidates); fetch prints the live peers as a "
                 "peer-set; sync does both; watch prints a new peer-set on every change."});
    // clang-format off
    cli.options().add_options()
        ("command", po::value<std::string>(), "report, fetch, sync or watch (positional)")
        ("control", po::value<std::string>()->default_value("file:///var/lib/natkit/control"),
         "file:///DIR, etcd://HOST:PORT,... or etcds://HOST:PORT,...")
        ("network", po::value<std::string>()->default_value("default"), "the mesh's name")
        ("ttl", po::value<int>()->default_value(90), "seconds a record lives unless refreshed")
        ("id", po::value<std::string>(), "this node's id (default: the host name)")
        ("public-key", po::value<std::string>(), "this node's WireGuard public key")
        ("listen-port", po::value<int>(), "this node's WireGuard listen port")
        ("allowed-ips", po::value<std::vector<std::string>>()->multitoken(),
         "this node's overlay addresses (CIDR, repeatable)")
        ("persistent-keepalive", po::value<int>(), "keepalive peers should use (seconds)")
        ("interface", po::value<std::string>(), "read key, port and addresses from this device")
        ("candidate", po::value<std::vector<std::string>>(), "an extra endpoint candidate")
        ("no-local-candidates", po::bool_switch(), "do not offer local interface addresses")
        ("allocate", po::value<std::string>(), "take a unique overlay address from CIDR")
        ("cache", po::value<std::string>(), "keep the last good peer-set in FILE")
        ("allow-stale", po::bool_switch(), "serve the cached set (marked stale) when the "
         "control plane is unreachable")
        ("report", po::bool_switch(), "watch: publish this node too and keep it alive")
        ("count", po::value<int>(), "watch: stop after printing N sets")
        ("timeout", po::value<int>()->default_value(5000), "per request to the control plane, ms")
        ("user", po::value<std::string>(), "etcd user name")
        ("password-file", po::value<std::string>(), "file holding the etcd password")
        ("cacert", po::value<std::string>(), "CA certificate file for etcds://")
        ("cert", po::value<std::string>(), "client certificate file for etcds://")
        ("key", po::value<std::string>(), "client key file for etcds://")
        ("etcd-prefix", po::value<std::string>()->default_value("/natkit/"), "etcd key prefix")
        ("insecure-permissions", po::bool_switch(), "accept secret files others can read");
    // clang-format on
    cli.positional().add("command", 1);
    auto vm = cli.parse(argc, argv, envp, std::cout);
    if (!vm) return 0;

    io::Log log(std::cerr, "peer-sync", cli.common().verbosity);
    auto options = options_from(*vm);
    io::RecordWriter writer(std::cout, cli.common().format);
    control::SyncIo sync_io{::isatty(STDIN_FILENO) ? nullptr : &std::cin,
                            [&](const io::json& record) { writer.write(record); }, log,
                            read_device};
    return control::run_peer_sync(options, sync_io);
}

}  // namespace

int main(int argc, char** argv, char** envp) {
    return io::run_main("peer-sync", std::cerr, [&] { return run(argc, argv, envp); });
}
