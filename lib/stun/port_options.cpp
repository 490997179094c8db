#include "stun/port_options.hpp"

#include "io/error.hpp"

namespace po = boost::program_options;

namespace natkit::stun {

void add_port_options(po::options_description& options) {
    options.add_options()("ipv4,4", po::bool_switch(), "use IPv4 only")("ipv6,6", po::bool_switch(),
                                                                        "use IPv6 only")(
        "source-port,p", po::value<int>(), "send from this local port (WireGuard's listen port)")(
        "bind", po::value<std::string>(), "send from this local ADDR[:PORT]")(
        "mode", po::value<std::string>()->default_value("auto"),
        "auto|socket|raw: raw sends from a port another socket holds (needs CAP_NET_RAW)");
}

std::optional<net::Family> family_option(const po::variables_map& vm) {
    bool v4 = vm["ipv4"].as<bool>();
    bool v6 = vm["ipv6"].as<bool>();
    if (v4 && v6) throw usage_error("-4 and -6 exclude each other");
    if (v4) return net::Family::v4;
    if (v6) return net::Family::v6;
    return std::nullopt;
}

LocalPort open_port(const po::variables_map& vm, io::Log& log) {
    auto bind = vm.count("bind") ? std::optional(vm["bind"].as<std::string>()) : std::nullopt;
    auto port = vm.count("source-port") ? std::optional(vm["source-port"].as<int>()) : std::nullopt;
    return LocalPort::open(
        local_port_request(bind, port, family_option(vm), vm["mode"].as<std::string>()), log);
}

}  // namespace natkit::stun
