// stun-probe: find this host's public endpoint with STUN Binding requests (RFC 8489).
#include <iostream>

#include "io/cli.hpp"
#include "io/log.hpp"
#include "io/main.hpp"
#include "io/ndjson.hpp"
#include "io/records.hpp"
#include "nat/behavior.hpp"
#include "stun/port_options.hpp"

namespace po = boost::program_options;
using namespace natkit;

namespace {

int run(int argc, char** argv, char** envp) {
    io::Cli cli({"stun-probe", "stun-probe [OPTIONS] [SERVER...]",
                 "Sends STUN Binding requests to every SERVER (HOST[:PORT], default port 3478) "
                 "at once from one local port and prints one stun.binding record per server."});
    cli.options().add_options()("server", po::value<std::vector<std::string>>(),
                                "STUN server (also positional)")(
        "timeout", po::value<int>()->default_value(2000), "overall deadline per round, in ms")(
        "rto", po::value<int>()->default_value(500), "initial retransmission timeout, in ms")(
        "count", po::value<int>()->default_value(1), "rounds to run from the same port")(
        "first", po::bool_switch(), "stop at the first answer")(
        "behavior", po::bool_switch(),
        "run the RFC 5780 behaviour tests (mapping, filtering, hairpin) against each SERVER")(
        "lifetime", po::value<int>(),
        "with --behavior: also measure the binding lifetime, idle times up to S seconds");
    stun::add_port_options(cli.options());
    cli.positional().add("server", -1);
    auto vm = cli.parse(argc, argv, envp, std::cout);
    if (!vm) return 0;

    io::Log log(std::cerr, "stun-probe", cli.common().verbosity);
    auto family = stun::family_option(*vm);

    stun::ProbeOptions options;
    options.timeout =
        std::chrono::milliseconds(stun::positive((*vm)["timeout"].as<int>(), "--timeout"));
    options.retransmit.initial_rto =
        std::chrono::milliseconds(stun::positive((*vm)["rto"].as<int>(), "--rto"));
    options.count = stun::positive((*vm)["count"].as<int>(), "--count");
    options.first = (*vm)["first"].as<bool>();

    auto targets =
        stun::resolve_targets(vm->count("server") ? (*vm)["server"].as<std::vector<std::string>>()
                                                  : stun::default_servers(),
                              family);

    auto port = stun::open_port(*vm, log);

    io::RecordWriter out(std::cout, cli.common().format);
    auto emit = [&](const io::StunBinding& b) { out.write(io::to_json(b)); };
    int answered = 0;
    if ((*vm)["behavior"].as<bool>()) {
        nat::BehaviorOptions behavior;
        behavior.timeout = options.timeout;
        if (vm->count("lifetime")) {
            behavior.lifetime_max =
                std::chrono::seconds(stun::positive((*vm)["lifetime"].as<int>(), "--lifetime"));
        }
        answered = nat::run_behavior(port, targets, behavior, emit, log);
    } else {
        answered = stun::probe(port, targets, options, emit, log);
    }
    if (answered == 0) {
        log.error("no STUN server answered");
        return static_cast<int>(ExitCode::failure);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
    return io::run_main("stun-probe", std::cerr, [&] { return run(argc, argv, envp); });
}
