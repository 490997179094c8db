#include "nat/behavior.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "net/event_loop.hpp"
#include "stun/session.hpp"

namespace natkit::nat {

namespace {

using stun::ClientTransaction;
using stun::Clock;
using stun::TimePoint;

// Which test a transaction runs, and against what.
struct TestSpec {
    std::string name;
    net::Endpoint destination;
    std::optional<stun::ChangeRequest> change;
    std::optional<std::uint16_t> response_port;  // lifetime test
    std::optional<std::chrono::milliseconds> idle;
    bool reported = true;  // false: a helper transaction that makes no record of its own
};

class BehaviorRun {
  public:
    BehaviorRun(const stun::LocalPort& mapping_port, const BehaviorOptions& options,
                const stun::BindingSink& emit, io::Log& log)
        : mapping_port_(mapping_port), options_(options), emit_(emit), log_(log) {
        for (auto* port : mapping_port_.all()) session_.attach(*port);
        session_.on_unclaimed(
            [this](net::DatagramPort& port, std::span<const std::uint8_t> d,
                   const net::Endpoint& from) { maybe_delivered(port, d, from); });
    }

    int run(const std::vector<stun::ProbeTarget>& servers) {
        loop_.call_at(Clock::now() + options_.timeout + options_.lifetime_max, [this] {
            session_.expire_all();
            loop_.stop();
        });
        for (const auto& server : servers) start_server(server);
        if (pending_ > 0) loop_.run();
        return answered_;
    }

  private:
    struct Server {
        const stun::ProbeTarget* target;
        const stun::LocalPort* mapping;
        TimePoint started;
        std::vector<const ClientTransaction*> filtering;
    };

    // A request whose arrival (not its answer) is the finding: the hairpin test's request
    // reaching the mapping port, the lifetime test's answer reaching the idle port.
    struct Delivery {
        const ClientTransaction* tx;
        stun::TransactionId id;
        std::vector<net::DatagramPort*> ports;
    };

    void start_server(const stun::ProbeTarget& target) {
        if (!target.address) {
            io::StunBinding b;
            b.server_name = target.name;
            b.error = "unresolved";
            b.detail = target.resolve_error;
            emit_(b);
            return;
        }
        auto family = target.address->family();
        auto* port = mapping_port_.for_family(family);
        if (!port) {
            log_.warning(target.name + ": no local socket of its address family");
            return;
        }
        auto& server = servers_.emplace_back(Server{&target, &mapping_port_, Clock::now(), {}});
        const auto primary = *target.address;
        start_test(server, mapping_port_, {"binding", primary, {}, {}, {}, true}, false,
                   [this, &server](const ClientTransaction& tx) { on_binding(server, tx); });
        // Filtering tests on sockets of their own: a mapping the binding test opened towards
        // the alternate address must not let their answers in.
        for (auto [name, change] : {std::pair{"filtering-2", stun::ChangeRequest{true, true}},
                                    std::pair{"filtering-3", stun::ChangeRequest{false, true}}}) {
            auto& fresh = fresh_port(family);
            server.filtering.push_back(
                &start_test(server, fresh, {name, primary, change, {}, {}, true}, true, nullptr));
        }
    }

    const ClientTransaction& start_test(Server& server, const stun::LocalPort& local, TestSpec spec,
                                        bool any_source,
                                        std::function<void(const ClientTransaction&)> then) {
        ++pending_;
        auto message = stun::binding_request({});
        message.change_request = spec.change;
        message.response_port = spec.response_port;
        stun::Session::Request request{spec.destination,    message,
                                       options_.retransmit, {},
                                       any_source,          spec.response_port.has_value()};
        auto* port = local.for_family(spec.destination.family());
        return session_.start(*port, std::move(request),
                              [this, &server, &local, spec, then](const ClientTransaction& tx) {
                                  if (spec.reported) emit_(record(server, local, spec, tx));
                                  if (then) then(tx);
                                  if (--pending_ == 0) loop_.stop();
                              });
    }

    void on_binding(Server& server, const ClientTransaction& tx) {
        auto now = Clock::now();
        if (tx.outcome() != stun::Outcome::success) {
            // The server is not there: the other tests would say nothing about the NAT.
            for (const auto* f : server.filtering) session_.expire_at(*f, now);
            return;
        }
        ++answered_;
        auto wait =
            std::max<stun::Duration>(options_.no_answer_floor,
                                     options_.no_answer_rtts * tx.rtt().value_or(stun::Duration{}));
        for (const auto* f : server.filtering) {
            session_.expire_at(*f, std::max(server.started + wait, now));
        }
        const auto& response = *tx.response();
        auto primary = tx.server();
        if (auto other = response.alternate_address()) {
            auto other_ip = net::Endpoint{other->address.unmapped(), primary.port};
            auto other_both = net::Endpoint{other->address.unmapped(), other->port};
            start_test(server, *server.mapping, {"mapping-2", other_ip, {}, {}, {}, true}, false,
                       nullptr);
            start_test(server, *server.mapping, {"mapping-3", other_both, {}, {}, {}, true}, false,
                       nullptr);
        } else {
            for (auto name : {"mapping-2", "mapping-3"}) emit_(unsupported(server, name));
        }
        if (options_.hairpin) {
            auto mapped = *response.reflexive_address();
            start_hairpin(server, {mapped.address.unmapped(), mapped.port}, now + wait);
        }
        if (options_.lifetime_max.count() > 0) start_lifetime(server, primary, wait);
    }

    // RFC 5780 section 4.6, all waits at once: for each idle time T (1 s, 2 s, 4 s ... up
    // to lifetime_max), a fresh port X opens a mapping, stays idle for T, then another port
    // asks the server to answer to X's mapped port (RESPONSE-PORT). The answer arrives at X
    // while the mapping lives. The first T that fails ends the longer ones.
    void start_lifetime(Server& server, const net::Endpoint& primary, stun::Duration wait) {
        for (auto idle = std::chrono::milliseconds(1000); idle <= options_.lifetime_max;
             idle *= 2) {
            auto& idle_port = fresh_port(primary.family());
            start_test(
                server, idle_port, {"lifetime-open", primary, {}, {}, {}, false}, false,
                [this, &server, &idle_port, primary, idle, wait](const ClientTransaction& tx) {
                    if (tx.outcome() != stun::Outcome::success) return;
                    auto mapped = *tx.response()->reflexive_address();
                    schedule_lifetime_check(server, idle_port, primary, mapped.port, idle, wait);
                });
        }
    }

    void schedule_lifetime_check(Server& server, const stun::LocalPort& idle_port,
                                 net::Endpoint primary, std::uint16_t mapped_port,
                                 std::chrono::milliseconds idle, stun::Duration wait) {
        ++pending_;  // held until the check starts or is called off
        auto timer = loop_.call_at(Clock::now() + idle, [=, this, &server, &idle_port] {
            lifetime_timers_.erase(idle.count());
            auto& asker = fresh_port(primary.family());
            TestSpec spec{"lifetime", primary, {}, mapped_port, idle, true};
            const auto& tx = start_test(server, asker, spec, false,
                                        [this, idle](const ClientTransaction& check) {
                                            if (check.outcome() != stun::Outcome::success)
                                                call_off_longer(idle);
                                            if (ignored_response_port_.count(&check))
                                                call_off_longer({});
                                        });
            deliveries_.push_back({&tx, tx.id(), idle_port.all()});
            idle_sources_[&tx] = &idle_port;
            session_.expire_at(tx, Clock::now() + wait);
            if (--pending_ == 0) loop_.stop();
        });
        lifetime_timers_[idle.count()] = timer;
    }

    // A mapping that did not live T seconds will not live longer ones.
    void call_off_longer(std::chrono::milliseconds idle) {
        for (auto it = lifetime_timers_.upper_bound(idle.count()); it != lifetime_timers_.end();) {
            loop_.cancel(it->second);
            it = lifetime_timers_.erase(it);
            if (--pending_ == 0) loop_.stop();
        }
    }

    // RFC 5780 section 4.5: a request from another socket to our own mapped address; if it
    // arrives on the mapping socket, the NAT hairpins.
    void start_hairpin(Server& server, const net::Endpoint& mapped, TimePoint give_up) {
        auto& fresh = fresh_port(mapped.family());
        const auto& tx =
            start_test(server, fresh, {"hairpin", mapped, {}, {}, {}, true}, false, nullptr);
        deliveries_.push_back({&tx, tx.id(), mapping_port_.all()});
        session_.expire_at(tx, give_up);
    }

    void maybe_delivered(net::DatagramPort& port, std::span<const std::uint8_t> datagram,
                         const net::Endpoint& from) {
        if (!stun::looks_like_stun(datagram)) return;
        auto decoded = stun::decode(datagram);
        if (!decoded.message) return;
        for (const auto& d : deliveries_) {
            if (d.id != decoded.message->transaction_id) continue;
            if (std::find(d.ports.begin(), d.ports.end(), &port) == d.ports.end()) {
                // The answer came back to the asking port: RESPONSE-PORT was ignored.
                if (decoded.message->cls == stun::MessageClass::success) {
                    ignored_response_port_.insert(d.tx);
                    session_.expire_at(*d.tx, Clock::now());
                }
                continue;
            }
            delivered_from_[d.tx] = from;
            session_.delivered(*d.tx);
        }
    }

    io::StunBinding record(const Server& server, const stun::LocalPort& local, const TestSpec& spec,
                           const ClientTransaction& tx) {
        io::StunBinding b;
        b.server_name = server.target->name;
        b.server = spec.destination;
        b.test = spec.name;
        b.mode = std::string(local.mode());
        b.local = local.local_towards(spec.destination);
        if (auto it = idle_sources_.find(&tx); it != idle_sources_.end()) {
            b.local = it->second->local_towards(spec.destination);  // the port left idle
        }
        if (spec.idle) b.idle_ms = spec.idle->count();
        stun::fill_from_transaction(b, tx);
        auto source = tx.response_source();
        if (auto it = delivered_from_.find(&tx); it != delivered_from_.end()) {
            source = it->second;
        }
        if (source && *source != spec.destination) b.response_source = source;
        if (ignored_response_port_.count(&tx)) {
            b.error = "unsupported";
            b.detail = "the server answered to the asking port: it ignores RESPONSE-PORT";
        }
        return b;
    }

    io::StunBinding unsupported(const Server& server, const char* test) {
        io::StunBinding b;
        b.server_name = server.target->name;
        b.server = server.target->address;
        b.test = test;
        b.error = "unsupported";
        b.detail = "the server reports no OTHER-ADDRESS: it does not support RFC 5780";
        return b;
    }

    const stun::LocalPort& fresh_port(net::Family family) {
        auto& port = fresh_.emplace_back(
            stun::LocalPort::open({std::nullopt, 0, family, stun::SocketMode::socket}, log_));
        for (auto* p : port.all()) session_.attach(*p);
        return port;
    }

    const stun::LocalPort& mapping_port_;
    const BehaviorOptions& options_;
    const stun::BindingSink& emit_;
    io::Log& log_;
    net::EventLoop loop_;
    stun::Session session_{loop_};
    std::deque<stun::LocalPort> fresh_;
    std::deque<Server> servers_;
    std::vector<Delivery> deliveries_;
    std::map<const ClientTransaction*, net::Endpoint> delivered_from_;
    std::map<const ClientTransaction*, const stun::LocalPort*> idle_sources_;
    std::map<std::int64_t, net::EventLoop::TimerId> lifetime_timers_;  // by idle ms
    std::set<const ClientTransaction*> ignored_response_port_;
    int pending_ = 0;
    int answered_ = 0;
};

}  // namespace

int run_behavior(const stun::LocalPort& mapping_port, const std::vector<stun::ProbeTarget>& servers,
                 const BehaviorOptions& options, const stun::BindingSink& emit, io::Log& log) {
    BehaviorRun run(mapping_port, options, emit, log);
    return run.run(servers);
}

}  // namespace natkit::nat
