#include "nat/behavior.hpp"

#include <algorithm>
#include <deque>
#include <memory>

#include "net/event_loop.hpp"
#include "stun/session.hpp"

namespace natkit::nat {

namespace {

using stun::Clock;
using stun::ClientTransaction;
using stun::TimePoint;

// Which test a transaction runs, and against what.
struct TestSpec {
    std::string name;
    net::Endpoint destination;
    std::optional<stun::ChangeRequest> change;
};

class BehaviorRun {
public:
    BehaviorRun(const stun::LocalPort& mapping_port, const BehaviorOptions& options,
                const stun::BindingSink& emit, io::Log& log)
        : mapping_port_(mapping_port), options_(options), emit_(emit), log_(log) {
        for (auto* port : mapping_port_.all()) session_.attach(*port);
        session_.on_unclaimed([this](net::DatagramPort& port, std::span<const std::uint8_t> d,
                                     const net::Endpoint& from) { maybe_hairpin(port, d, from); });
    }

    int run(const std::vector<stun::ProbeTarget>& servers) {
        loop_.call_at(Clock::now() + options_.timeout, [this] {
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

    struct Hairpin {
        const ClientTransaction* tx;
        stun::TransactionId id;
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
        start_test(server, mapping_port_, {"binding", primary, std::nullopt}, false,
                   [this, &server](const ClientTransaction& tx) { on_binding(server, tx); });
        // Filtering tests on sockets of their own: a mapping the binding test opened towards
        // the alternate address must not let their answers in.
        for (auto [name, change] : {std::pair{"filtering-2", stun::ChangeRequest{true, true}},
                                    std::pair{"filtering-3", stun::ChangeRequest{false, true}}}) {
            auto& fresh = fresh_port(family);
            server.filtering.push_back(
                &start_test(server, fresh, {name, primary, change}, true, nullptr));
        }
    }

    const ClientTransaction& start_test(Server& server, const stun::LocalPort& local,
                                        TestSpec spec, bool any_source,
                                        std::function<void(const ClientTransaction&)> then) {
        ++pending_;
        auto message = stun::binding_request({});
        message.change_request = spec.change;
        stun::Session::Request request{spec.destination, message, options_.retransmit, {},
                                       any_source};
        auto* port = local.for_family(spec.destination.family());
        return session_.start(
            *port, std::move(request),
            [this, &server, &local, spec, then](const ClientTransaction& tx) {
                emit_(record(server, local, spec, tx));
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
        auto wait = std::max<stun::Duration>(options_.no_answer_floor,
                                             options_.no_answer_rtts * tx.rtt().value_or(
                                                                           stun::Duration{}));
        for (const auto* f : server.filtering) {
            session_.expire_at(*f, std::max(server.started + wait, now));
        }
        const auto& response = *tx.response();
        auto primary = tx.server();
        if (auto other = response.alternate_address()) {
            auto other_ip = net::Endpoint{other->address.unmapped(), primary.port};
            auto other_both = net::Endpoint{other->address.unmapped(), other->port};
            start_test(server, *server.mapping, {"mapping-2", other_ip, std::nullopt}, false,
                       nullptr);
            start_test(server, *server.mapping, {"mapping-3", other_both, std::nullopt}, false,
                       nullptr);
        } else {
            for (auto name : {"mapping-2", "mapping-3"}) emit_(unsupported(server, name));
        }
        if (options_.hairpin) {
            auto mapped = *response.reflexive_address();
            start_hairpin(server, {mapped.address.unmapped(), mapped.port}, now + wait);
        }
    }

    // RFC 5780 section 4.5: a request from another socket to our own mapped address; if it
    // arrives on the mapping socket, the NAT hairpins.
    void start_hairpin(Server& server, const net::Endpoint& mapped, TimePoint give_up) {
        auto& fresh = fresh_port(mapped.family());
        const auto& tx = start_test(server, fresh, {"hairpin", mapped, std::nullopt}, false,
                                    nullptr);
        hairpins_.push_back({&tx, tx.id()});
        session_.expire_at(tx, give_up);
    }

    void maybe_hairpin(net::DatagramPort& port, std::span<const std::uint8_t> datagram,
                       const net::Endpoint& from) {
        auto mine = mapping_port_.all();
        if (std::find(mine.begin(), mine.end(), &port) == mine.end()) return;
        if (!stun::looks_like_stun(datagram)) return;
        auto decoded = stun::decode(datagram);
        if (!decoded.message || decoded.message->cls != stun::MessageClass::request) return;
        for (const auto& h : hairpins_) {
            if (h.id == decoded.message->transaction_id) {
                hairpin_sources_[h.tx] = from;
                session_.delivered(*h.tx);
            }
        }
    }

    io::StunBinding record(const Server& server, const stun::LocalPort& local,
                           const TestSpec& spec, const ClientTransaction& tx) {
        io::StunBinding b;
        b.server_name = server.target->name;
        b.server = spec.destination;
        b.test = spec.name;
        b.mode = std::string(local.mode());
        b.local = local.local_towards(spec.destination);
        stun::fill_from_transaction(b, tx);
        auto source = tx.response_source();
        if (auto it = hairpin_sources_.find(&tx); it != hairpin_sources_.end()) {
            source = it->second;
        }
        if (source && *source != spec.destination) b.response_source = source;
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
        auto& port = fresh_.emplace_back(stun::LocalPort::open(
            {std::nullopt, 0, family, stun::SocketMode::socket}, log_));
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
    std::vector<Hairpin> hairpins_;
    std::map<const ClientTransaction*, net::Endpoint> hairpin_sources_;
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
