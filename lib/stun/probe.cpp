#include "stun/probe.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <system_error>

#include "io/error.hpp"
#include "net/event_loop.hpp"
#include "net/raw_udp.hpp"
#include "net/udp_socket.hpp"
#include "stun/session.hpp"

namespace natkit::stun {

namespace {

using net::Family;

bool is_errno(const std::system_error& e, int value) {
    return e.code().category() == std::system_category() && e.code().value() == value;
}

std::string port_text(std::uint16_t port) {
    return "port " + std::to_string(port);
}

Error bind_error(const std::system_error& e, const LocalPortRequest& request) {
    auto where = request.address ? request.address->to_string() + " " + port_text(request.port)
                                 : port_text(request.port);
    if (is_errno(e, EACCES) || is_errno(e, EPERM)) {
        return permission_error("cannot bind " + where +
                                ": permission denied (ports below 1024 need root or "
                                "CAP_NET_BIND_SERVICE)");
    }
    if (is_errno(e, EADDRINUSE)) {
        return {ExitCode::failure, where +
                                       " is in use by another socket; --mode raw (or auto) "
                                       "sends from it through raw sockets"};
    }
    if (is_errno(e, EADDRNOTAVAIL)) {
        return usage_error("cannot bind " + where + ": the address is not on this host");
    }
    return {ExitCode::failure, "cannot bind " + where + ": " + e.code().message()};
}

std::unique_ptr<net::DatagramPort> bind_socket(Family family, const LocalPortRequest& request,
                                               bool dual_stack) {
    auto address = request.address ? *request.address : net::IpAddress::any(family);
    return std::make_unique<net::UdpSocket>(
        net::UdpSocket::bind({address, request.port}, dual_stack));
}

std::unique_ptr<net::DatagramPort> open_raw(Family family, const LocalPortRequest& request) {
    try {
        return std::make_unique<net::RawUdp>(
            net::RawUdp::open(family, request.port, request.address));
    } catch (const std::system_error& e) {
        if (is_errno(e, EPERM) || is_errno(e, EACCES)) {
            throw permission_error(port_text(request.port) +
                                   " is held by another socket (WireGuard?); sending from it "
                                   "needs raw sockets: run as root or grant CAP_NET_RAW");
        }
        if (is_errno(e, EAFNOSUPPORT)) return nullptr;
        throw Error(ExitCode::failure, "cannot open a raw socket: " + e.code().message());
    }
}

double to_ms(Duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

void fill_from_transaction(io::StunBinding& b, const ClientTransaction& tx) {
    b.attempts = tx.sends();
    if (const auto& response = tx.response()) {
        if (auto mapped = response->reflexive_address()) {
            b.mapped = net::Endpoint{mapped->address.unmapped(), mapped->port};
        }
        b.response_origin = response->response_origin;
        b.other_address = response->alternate_address();
        b.software = response->software;
    }
    if (tx.rtt()) b.rtt_ms = std::round(to_ms(*tx.rtt()) * 10) / 10;
    if (tx.outcome() != Outcome::success) {
        b.error = std::string(outcome_name(tx.outcome()));
        if (!tx.detail().empty()) b.detail = tx.detail();
    }
}

ProbeTarget resolve_target(const std::string& name, std::optional<net::Family> family) {
    auto where = net::split_host_port(name, kDefaultPort);
    if (!where) {
        throw usage_error("bad server '" + name +
                          "': expected HOST[:PORT], IPv4[:PORT] or [IPv6][:PORT]");
    }
    ProbeTarget target{name, std::nullopt, ""};
    auto found = net::resolve(*where, family, &target.resolve_error);
    if (!found.empty())
        target.address = net::Endpoint{found.front().address.unmapped(), found.front().port};
    return target;
}

std::vector<ProbeTarget> resolve_targets(const std::vector<std::string>& words,
                                         std::optional<net::Family> family) {
    std::vector<ProbeTarget> targets;
    for (const auto& name : split_server_list(words)) {
        targets.push_back(resolve_target(name, family));
    }
    return targets;
}

LocalPortRequest local_port_request(const std::optional<std::string>& bind,
                                    std::optional<int> source_port,
                                    std::optional<net::Family> family, const std::string& mode) {
    LocalPortRequest request;
    request.family = family;
    if (mode == "auto") {
        request.mode = SocketMode::automatic;
    } else if (mode == "socket") {
        request.mode = SocketMode::socket;
    } else if (mode == "raw") {
        request.mode = SocketMode::raw;
    } else {
        throw usage_error("--mode: expected auto, socket or raw, not '" + mode + "'");
    }
    if (source_port) {
        if (*source_port < 0 || *source_port > 65535) {
            throw usage_error("--source-port: expected a port 0-65535, not " +
                              std::to_string(*source_port));
        }
        request.port = static_cast<std::uint16_t>(*source_port);
    }
    if (bind) {
        auto where = net::split_host_port(*bind, request.port);
        auto address = where ? net::IpAddress::parse(where->host) : std::nullopt;
        if (!address) {
            throw usage_error("--bind: expected ADDR, ADDR:PORT or [IPv6]:PORT, not '" + *bind +
                              "'");
        }
        if (source_port && where->port != request.port) {
            throw usage_error("--bind " + *bind + " and --source-port " +
                              std::to_string(*source_port) + " name different ports");
        }
        if (family && address->family != *family) {
            throw usage_error("--bind " + *bind + " is not of the family -4/-6 asks for");
        }
        request.address = address;
        request.port = where->port;
    }
    if (request.mode == SocketMode::raw && request.port == 0) {
        throw usage_error("--mode raw needs a source port: give -p PORT");
    }
    return request;
}

int positive(int value, const std::string& option) {
    if (value < 1) throw usage_error(option + " must be at least 1, not " + std::to_string(value));
    return value;
}

const std::vector<std::string>& default_servers() {
    static const std::vector<std::string> servers{
        "stun.cloudflare.com:3478",
        "stun.l.google.com:19302",
        "stun.nextcloud.com:3478",
    };
    return servers;
}

std::vector<std::string> split_server_list(const std::vector<std::string>& words) {
    std::vector<std::string> names;
    for (const auto& word : words) {
        std::size_t start = 0;
        while (start <= word.size()) {
            auto end = word.find_first_of(", \t", start);
            if (end == std::string::npos) end = word.size();
            if (end > start) names.push_back(word.substr(start, end - start));
            start = end + 1;
        }
    }
    return names;
}

LocalPort LocalPort::open(const LocalPortRequest& request, io::Log& log) {
    LocalPort port;
    port.bound_address_ = request.address;
    port.port_ = request.port;
    auto family = request.family;
    if (!family && request.address) family = request.address->family;

    if (request.mode != SocketMode::raw) {
        try {
            if (family == Family::v4) {
                port.v4_ = bind_socket(Family::v4, request, false);
            } else if (family == Family::v6) {
                port.v6_ = bind_socket(Family::v6, request, false);
            } else {
                try {
                    port.v6_ = bind_socket(Family::v6, request, true);
                    port.dual_stack_ = true;
                } catch (const std::system_error& e) {
                    if (!is_errno(e, EAFNOSUPPORT)) throw;
                    log.debug("no IPv6 on this host: IPv4 only");
                    port.v4_ = bind_socket(Family::v4, request, false);
                }
            }
            port.port_ = port.all().front()->local_endpoint().port;
            return port;
        } catch (const std::system_error& e) {
            bool held = is_errno(e, EADDRINUSE) && request.port != 0;
            if (!held || request.mode == SocketMode::socket) throw bind_error(e, request);
            log.info(port_text(request.port) +
                     " is held by another socket: sending through raw sockets");
        }
    }
    if (request.port == 0) throw usage_error("raw mode needs a source port: give -p PORT");
    if (family != Family::v6) port.v4_ = open_raw(Family::v4, request);
    if (family != Family::v4) port.v6_ = open_raw(Family::v6, request);
    if (!port.v4_ && !port.v6_) {
        throw Error(ExitCode::failure,
                    "no raw socket could be opened for " + port_text(request.port));
    }
    return port;
}

net::DatagramPort* LocalPort::for_family(Family family) const {
    if (family == Family::v4) return v4_ ? v4_.get() : (dual_stack_ ? v6_.get() : nullptr);
    return v6_.get();
}

std::vector<net::DatagramPort*> LocalPort::all() const {
    std::vector<net::DatagramPort*> ports;
    if (v4_) ports.push_back(v4_.get());
    if (v6_) ports.push_back(v6_.get());
    return ports;
}

std::string_view LocalPort::mode() const {
    return all().front()->mode();
}

std::optional<net::Endpoint> LocalPort::local_towards(const net::Endpoint& server) const {
    if (bound_address_ && !bound_address_->is_unspecified()) {
        return net::Endpoint{*bound_address_, port_};
    }
    auto source = net::source_address_towards(server);
    if (!source) return std::nullopt;
    return net::Endpoint{source->unmapped(), port_};
}

namespace {

io::StunBinding record_for(const ProbeTarget& target, const ClientTransaction* tx,
                           const LocalPort& local) {
    io::StunBinding b;
    b.server_name = target.name;
    b.server = target.address;
    b.mode = std::string(local.mode());
    if (b.server) b.local = local.local_towards(*b.server);
    if (!tx) {
        b.error = target.address ? "unreachable" : "unresolved";
        b.detail = target.address ? "no local socket of this address family" : target.resolve_error;
        return b;
    }
    fill_from_transaction(b, *tx);
    return b;
}

// One round: every target at once on one session; records as transactions finish.
class Round {
  public:
    Round(const LocalPort& local, const ProbeOptions& options, const BindingSink& emit,
          io::Log& log)
        : local_(local), options_(options), emit_(emit), log_(log) {}

    int run(const std::vector<ProbeTarget>& targets) {
        for (auto* port : local_.all()) session_.attach(*port);
        loop_.call_at(Clock::now() + options_.timeout, [this] {
            session_.expire_all();
            loop_.stop();
        });
        pending_ = targets.size();
        for (const auto& target : targets) start(target);
        if (pending_ > 0 && !stopped_) loop_.run();
        // With --first, failures are only worth showing when nobody answered.
        if (answered_ == 0) {
            for (const auto& record : held_failures_) emit_(record);
        }
        return answered_;
    }

  private:
    void start(const ProbeTarget& target) {
        auto* port = target.address ? local_.for_family(target.address->family()) : nullptr;
        if (!port) {
            report(record_for(target, nullptr, local_), false);
            return;
        }
        Session::Request request{
            *target.address, binding_request({}), options_.retransmit, {}, false};
        session_.start(*port, std::move(request), [this, &target](const ClientTransaction& tx) {
            report(record_for(target, &tx, local_), tx.outcome() == Outcome::success);
        });
    }

    void report(io::StunBinding record, bool success) {
        if (stopped_) return;
        --pending_;
        if (success) ++answered_;
        if (record.error) {
            log_.debug(record.server_name + ": " + *record.error +
                       (record.detail ? " (" + *record.detail + ")" : ""));
        }
        if (!options_.first || success) {
            emit_(record);
        } else {
            held_failures_.push_back(std::move(record));
        }
        if ((options_.first && success) || pending_ == 0) {
            stopped_ = true;
            loop_.stop();
        }
    }

    const LocalPort& local_;
    const ProbeOptions& options_;
    const BindingSink& emit_;
    io::Log& log_;
    net::EventLoop loop_;
    Session session_{loop_};
    std::vector<io::StunBinding> held_failures_;
    std::size_t pending_ = 0;
    int answered_ = 0;
    bool stopped_ = false;
};

}  // namespace

int probe_round(const LocalPort& port, const std::vector<ProbeTarget>& targets,
                const ProbeOptions& options, const BindingSink& emit, io::Log& log) {
    Round round(port, options, emit, log);
    return round.run(targets);
}

int probe(const LocalPort& port, const std::vector<ProbeTarget>& targets,
          const ProbeOptions& options, const BindingSink& emit, io::Log& log) {
    int answered = 0;
    for (int i = 0; i < std::max(options.count, 1); ++i) {
        answered += probe_round(port, targets, options, emit, log);
    }
    return answered;
}

}  // namespace natkit::stun
