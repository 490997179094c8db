// nat-classify: the NAT's RFC 4787 mapping and filtering behaviour, its classic name, and
// whether two nodes can talk directly.
#include <iostream>

#include "io/cli.hpp"
#include "io/log.hpp"
#include "io/main.hpp"
#include "nat/input.hpp"
#include "nat/verdict.hpp"
#include "stun/port_options.hpp"

namespace po = boost::program_options;
using namespace natkit;

namespace {

int run(int argc, char** argv, char** envp) {
    io::Cli cli({"nat-classify", "nat-classify [OPTIONS] [--probe SERVER...] [--peer FILE]",
                 "Reads stun.binding records (stun-probe --behavior) on stdin, or probes by "
                 "itself with --probe, and prints one nat.report."});
    cli.options().add_options()(
        "probe", po::value<std::vector<std::string>>()->multitoken(),
        "run the RFC 5780 tests against these servers instead of reading stdin")(
        "peer", po::value<std::string>(), "the other node's nat.report: add the pair verdict")(
        "timeout", po::value<int>()->default_value(2000), "overall deadline of a probe, in ms")(
        "lifetime", po::value<int>(),
        "with --probe: also measure the binding lifetime, idle times up to S seconds (slow)");
    stun::add_port_options(cli.options());
    auto vm = cli.parse(argc, argv, envp, std::cout);
    if (!vm) return 0;
    io::Log log(std::cerr, "nat-classify", cli.common().verbosity);

    nat::NatReport report;
    if (vm->count("probe")) {
        auto servers = stun::resolve_targets((*vm)["probe"].as<std::vector<std::string>>(),
                                             stun::family_option(*vm));
        auto port = stun::open_port(*vm, log);
        nat::BehaviorOptions options;
        options.timeout =
            std::chrono::milliseconds(stun::positive((*vm)["timeout"].as<int>(), "--timeout"));
        if (vm->count("lifetime")) {
            options.lifetime_max =
                std::chrono::seconds(stun::positive((*vm)["lifetime"].as<int>(), "--lifetime"));
        }
        report = nat::probe_and_classify(port, servers, options, log);
    } else {
        report = nat::classify(nat::read_observations(std::cin, "stdin"), "stdin");
    }
    if (vm->count("peer")) {
        auto peer = nat::read_peer_report((*vm)["peer"].as<std::string>());
        report.pair = nat::pair_verdict(report, peer);
    }
    io::RecordWriter(std::cout, cli.common().format).write(nat::to_json(report));
    return 0;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
    return io::run_main("nat-classify", std::cerr, [&] { return run(argc, argv, envp); });
}
