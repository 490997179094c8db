// punch: rendezvous-coordinated UDP hole punching from the WireGuard port, and its server.
#include <unistd.h>

#include <iostream>

#include "io/cli.hpp"
#include "io/log.hpp"
#include "io/main.hpp"
#include "io/ndjson.hpp"
#include "io/peer_set.hpp"
#include "punch/client.hpp"
#include "punch/secret.hpp"
#include "punch/serve.hpp"
#include "stun/port_options.hpp"

namespace po = boost::program_options;
using namespace natkit;

namespace {

int positive(const po::variables_map& vm, const char* name) {
    return stun::positive(vm[name].as<int>(), std::string("--") + name);
}

int non_negative(const po::variables_map& vm, const char* name) {
    auto value = vm[name].as<int>();
    if (value < 0) throw usage_error(std::string("--") + name + " must be 0 or more");
    return value;
}

std::vector<std::uint8_t> secret_of(const po::variables_map& vm) {
    if (!vm.count("secret-file"))
        throw usage_error("give the network's secret: --secret-file FILE");
    return punch::read_secret(vm["secret-file"].as<std::string>(),
                              vm["insecure-permissions"].as<bool>());
}

std::vector<net::Endpoint> endpoints_of(const po::variables_map& vm, const char* name) {
    std::vector<net::Endpoint> list;
    if (!vm.count(name)) return list;
    for (const auto& text : vm[name].as<std::vector<std::string>>()) {
        auto e = net::Endpoint::parse(text);
        if (!e) throw usage_error(std::string("--") + name + ": not ADDR:PORT: " + text);
        list.push_back(*e);
    }
    return list;
}

int run_serve(const po::variables_map& vm, io::Log& log) {
    punch::ServeOptions options;
    options.listen = endpoints_of(vm, "listen");
    options.config.secret = secret_of(vm);
    options.config.ttl_ms = 1000ULL * static_cast<unsigned>(positive(vm, "ttl"));
    options.config.rate_per_s = positive(vm, "rate");
    options.config.burst = positive(vm, "burst");
    options.config.max_nodes = static_cast<std::size_t>(positive(vm, "max-nodes"));
    options.config.max_nonces = 4 * options.config.max_nodes;  // a minute of keepalives
    options.stats_interval_s = vm.count("stats-interval") ? positive(vm, "stats-interval") : 0;
    punch::serve(options, log);
    return 0;
}

net::Endpoint server_of(const po::variables_map& vm, std::optional<net::Family> family) {
    if (!vm.count("server")) throw usage_error("name the rendezvous server: --server HOST[:PORT]");
    auto text = vm["server"].as<std::string>();
    auto where = net::split_host_port(text, punch::kDefaultPort);
    if (!where) throw usage_error("--server: not HOST[:PORT]: " + text);
    std::string error;
    auto found = net::resolve(*where, family, &error);
    if (found.empty())
        throw unavailable_error("cannot resolve the rendezvous " + text + ": " + error);
    return found.front();
}

int run_client(const po::variables_map& vm, io::Log& log, const io::CommonOptions& common) {
    if (!vm.count("id")) throw usage_error("say who this node is: --id ID");
    auto family = stun::family_option(vm);
    punch::ClientOptions options;
    options.id = vm["id"].as<std::string>();
    options.network = vm["network"].as<std::string>();
    options.extra_candidates = endpoints_of(vm, "candidate");
    options.session.timeout_ms = static_cast<std::uint64_t>(positive(vm, "timeout"));
    options.window_ms = static_cast<std::uint64_t>(positive(vm, "window"));
    options.register_timeout_ms = static_cast<std::uint64_t>(positive(vm, "register-timeout"));
    options.keepalive_ms = 1000ULL * static_cast<unsigned>(positive(vm, "keepalive"));
    options.session.sweep_ports = static_cast<std::uint32_t>(non_negative(vm, "sweep-ports"));
    options.session.sweep_rate = static_cast<std::uint32_t>(positive(vm, "sweep-rate"));
    if (vm.count("nat-report"))
        options.session.own = punch::read_nat_report(vm["nat-report"].as<std::string>());
    options.secret = secret_of(vm);
    bool follow = vm["follow"].as<bool>();
    bool results = vm["results"].as<bool>();
    auto named =
        vm.count("peer") ? vm["peer"].as<std::vector<std::string>>() : std::vector<std::string>{};
    punch::ClientInput input;
    if (named.empty() && !follow) input = punch::read_client_input(std::cin, "stdin");
    options.server = server_of(vm, family);
    auto port = stun::open_port(vm, log);

    io::RecordWriter out(std::cout, common.format);
    auto print_result = [&](const punch::PeerResult& r) {
        if (results || follow || !named.empty()) out.write(punch::to_json(r));
    };
    if (follow) {
        // With --peer, stdin is not read (as without --follow).
        punch::follow(
            port, options, named, named.empty() ? STDIN_FILENO : -1, log,
            [&](const io::json& record) { out.write(record); }, print_result);
        return 0;
    }
    if (!named.empty()) {
        punch::punch_peers(port, options, named, log, print_result);
        return 0;
    }
    punch::punch_sets(port, options, input, !vm["network"].defaulted(), out, log, print_result);
    return 0;
}

int run(int argc, char** argv, char** envp) {
    io::Cli cli({"punch", "punch [OPTIONS] < peer-set   |   punch serve [OPTIONS]",
                 "Punches UDP holes to the peers of a peer-set from the WireGuard port, "
                 "coordinated by a rendezvous server, and writes the peer-set back with the "
                 "endpoints that answered and each peer's path. `punch serve` runs the server."});
    // clang-format off
    cli.options().add_options()
        ("command", po::value<std::string>(), "serve (positional), or nothing for the client")
        ("secret-file", po::value<std::string>(), "the network's shared secret (mode 600)")
        ("insecure-permissions", po::bool_switch(), "accept a secret file others can read")
        ("server", po::value<std::string>(), "client: the rendezvous server HOST[:PORT] (port 3480)")
        ("id", po::value<std::string>(), "client: this node's id in the network")
        ("network", po::value<std::string>()->default_value("default"),
         "client: the network name (a peer-set's own network wins)")
        ("peer", po::value<std::vector<std::string>>(), "client: punch to this peer id, no stdin")
        ("candidate", po::value<std::vector<std::string>>(),
         "client: another ADDR:PORT this node can be reached at")
        ("results", po::bool_switch(), "client: also print a punch.result record per peer")
        ("nat-report", po::value<std::string>(),
         "client: this node's nat.report (nat-classify); a nat.report on stdin does the same")
        ("sweep-ports", po::value<int>()->default_value(64512),
         "client: ports to sweep towards a symmetric peer (0: never)")
        ("sweep-rate", po::value<int>()->default_value(16000), "client: sweep probes per second")
        ("follow", po::bool_switch(), "client: stay registered and answer introductions")
        ("timeout", po::value<int>()->default_value(3000), "client: punch attempt limit, ms")
        ("window", po::value<int>()->default_value(10000),
         "client: how long to wait for a peer to register, ms")
        ("register-timeout", po::value<int>()->default_value(2000),
         "client: rendezvous answer deadline, ms (exit 69 after)")
        ("keepalive", po::value<int>()->default_value(15),
         "client: re-register every S seconds (--follow: notices NAT rebinding)")
        ("listen", po::value<std::vector<std::string>>(), "serve: ADDR:PORT (default [::]:3480)")
        ("ttl", po::value<int>()->default_value(60), "serve: registration lifetime, s")
        ("rate", po::value<int>()->default_value(50), "serve: packets per second per source")
        ("burst", po::value<int>()->default_value(100), "serve: burst per source")
        ("max-nodes", po::value<int>()->default_value(100000), "serve: registration limit")
        ("stats-interval", po::value<int>(), "serve: log counters every S seconds (with -v)");
    // clang-format on
    stun::add_port_options(cli.options());
    cli.positional().add("command", 1);
    auto vm = cli.parse(argc, argv, envp, std::cout);
    if (!vm) return 0;
    io::Log log(std::cerr, "punch", cli.common().verbosity);
    if (vm->count("command")) {
        if ((*vm)["command"].as<std::string>() != "serve") {
            throw usage_error("unknown command '" + (*vm)["command"].as<std::string>() +
                              "': the only command is serve");
        }
        return run_serve(*vm, log);
    }
    return run_client(*vm, log, cli.common());
}

}  // namespace

int main(int argc, char** argv, char** envp) {
    return io::run_main("punch", std::cerr, [&] { return run(argc, argv, envp); });
}
