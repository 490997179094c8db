// nat-classify: the NAT's RFC 4787 mapping and filtering behaviour, its classic name, and
// whether two nodes can talk directly.
#include <iostream>

#include "io/cli.hpp"
#include "io/log.hpp"
#include "io/main.hpp"
#include "nat/input.hpp"
#include "nat/verdict.hpp"

namespace po = boost::program_options;
using namespace natkit;

namespace {

int run(int argc, char** argv, char** envp) {
    io::Cli cli({"nat-classify", "nat-classify [OPTIONS] [--probe SERVER...] [--peer FILE]",
                 "Reads stun.binding records (stun-probe --behavior) on stdin, or probes by "
                 "itself with --probe, and prints one nat.report."});
    cli.options().add_options()
        ("probe", po::value<std::vector<std::string>>()->multitoken(),
         "run the RFC 5780 tests against these servers instead of reading stdin")
        ("peer", po::value<std::string>(), "the other node's nat.report: add the pair verdict")
        ("ipv4,4", po::bool_switch(), "probe over IPv4 only")
        ("ipv6,6", po::bool_switch(), "probe over IPv6 only")
        ("source-port,p", po::value<int>(), "probe the mapping of this local port")
        ("bind", po::value<std::string>(), "probe from this local ADDR[:PORT]")
        ("mode", po::value<std::string>()->default_value("auto"), "auto|socket|raw, as stun-probe")
        ("timeout", po::value<int>()->default_value(2000), "overall deadline of a probe, in ms")
        ("lifetime", po::value<int>(),
         "with --probe: also measure the binding lifetime, idle times up to S seconds (slow)");
    auto vm = cli.parse(argc, argv, envp, std::cout);
    if (!vm) return 0;
    io::Log log(std::cerr, "nat-classify", cli.common().verbosity);

    nat::NatReport report;
    if (vm->count("probe")) {
        auto family = (*vm)["ipv4"].as<bool>()   ? std::optional(net::Family::v4)
                      : (*vm)["ipv6"].as<bool>() ? std::optional(net::Family::v6)
                                                 : std::nullopt;
        std::vector<stun::ProbeTarget> servers;
        for (const auto& name :
             stun::split_server_list((*vm)["probe"].as<std::vector<std::string>>())) {
            servers.push_back(stun::resolve_target(name, family));
        }
        auto port = stun::LocalPort::open(
            stun::local_port_request(
                vm->count("bind") ? std::optional((*vm)["bind"].as<std::string>()) : std::nullopt,
                vm->count("source-port") ? std::optional((*vm)["source-port"].as<int>())
                                         : std::nullopt,
                family, (*vm)["mode"].as<std::string>()),
            log);
        nat::BehaviorOptions options;
        options.timeout = std::chrono::milliseconds(
            stun::positive((*vm)["timeout"].as<int>(), "--timeout"));
        if (vm->count("lifetime")) {
            options.lifetime_max = std::chrono::seconds(
                stun::positive((*vm)["lifetime"].as<int>(), "--lifetime"));
        }
        report = nat::probe_and_classify(port, servers, options, log);
    } else {
        report = nat::classify(nat::read_observations(std::cin, "stdin"), "stdin");
    }
    if (vm->count("peer")) {
        report.pair = nat::pair_verdict(report, nat::read_peer_report((*vm)["peer"].as<std::string>()));
    }
    io::RecordWriter(std::cout, cli.common().format).write(nat::to_json(report));
    return 0;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
    return io::run_main("nat-classify", std::cerr, [&] { return run(argc, argv, envp); });
}
