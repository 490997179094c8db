// Many STUN client transactions on a few local ports, driven by one event loop: sends and
// retransmits on time, hands every received datagram and ICMP error to the transaction it
// belongs to, and tells the caller when each finishes. stun-probe's rounds and the RFC 5780
// behaviour tests both run on it.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "net/datagram_port.hpp"
#include "net/event_loop.hpp"
#include "stun/transaction.hpp"

namespace natkit::stun {

class Session {
  public:
    using Finished = std::function<void(const ClientTransaction&)>;
    // A datagram no transaction claimed (e.g. a hairpinned request reaching our own port).
    using Unclaimed =
        std::function<void(net::DatagramPort& port, std::span<const std::uint8_t> datagram,
                           const net::Endpoint& from)>;

    struct Request {
        net::Endpoint server;
        Message message = binding_request({});  // its transaction ID is chosen by start()
        RetransmitPolicy policy;
        std::vector<net::Endpoint> accept_from;  // empty: the server only
        bool accept_any_source = false;          // RFC 5780 tests: validated by the caller
        bool answer_elsewhere = false;           // RESPONSE-PORT: see delivered()
    };

    explicit Session(net::EventLoop& loop) : loop_(loop) {}
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Watches the port's descriptors; every port a transaction uses must be attached.
    void attach(net::DatagramPort& port);
    void on_unclaimed(Unclaimed handler) { unclaimed_ = std::move(handler); }

    // Starts a transaction (first send at once); `done` is called once when it finishes.
    const ClientTransaction& start(net::DatagramPort& port, Request request, Finished done);
    // Gives up on `tx` at `when` if it has not finished by then (a "no answer" verdict).
    void expire_at(const ClientTransaction& tx, TimePoint when);
    // The request of `tx` was seen arriving (hairpin test): it finishes as a success.
    void delivered(const ClientTransaction& tx);
    // Gives up on every unfinished transaction now.
    void expire_all();
    bool all_finished() const;

  private:
    struct Entry {
        ClientTransaction tx;
        net::DatagramPort* port;
        Finished done;
        std::optional<net::EventLoop::TimerId> retransmit;
        std::optional<net::EventLoop::TimerId> expiry;
        bool reported = false;
    };

    Entry& entry_of(const ClientTransaction& tx);
    void service(Entry& entry);
    void drain(net::DatagramPort& port);
    void finish(Entry& entry);

    net::EventLoop& loop_;
    std::deque<Entry> entries_;  // stable addresses: timers refer to entries
    Unclaimed unclaimed_;
    std::array<std::uint8_t, 2048> buffer_{};
};

}  // namespace natkit::stun
