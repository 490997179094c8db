#include "stun/session.hpp"

#include <cstring>
#include <stdexcept>

namespace natkit::stun {

namespace {

net::Endpoint canonical(const net::Endpoint& endpoint) {
    return {endpoint.address.unmapped(), endpoint.port};
}

}  // namespace

void Session::attach(net::DatagramPort& port) {
    for (int fd : port.fds()) loop_.watch(fd, [this, &port] { drain(port); });
}

const ClientTransaction& Session::start(net::DatagramPort& port, Request request, Finished done) {
    auto id = random_transaction_id();
    request.message.transaction_id = id;
    ClientTransaction tx(request.server, id, encode(request.message), request.policy, Clock::now(),
                         std::move(request.accept_from));
    if (request.accept_any_source) tx.accept_any_source();
    if (request.answer_elsewhere) tx.accept_no_answer();
    auto& entry = entries_.emplace_back(Entry{std::move(tx), &port, std::move(done), {}, {}});
    service(entry);
    return entry.tx;
}

Session::Entry& Session::entry_of(const ClientTransaction& tx) {
    for (auto& entry : entries_) {
        if (&entry.tx == &tx) return entry;
    }
    throw std::logic_error("transaction is not part of this session");
}

void Session::expire_at(const ClientTransaction& tx, TimePoint when) {
    auto& entry = entry_of(tx);
    if (entry.reported) return;
    if (entry.expiry) loop_.cancel(*entry.expiry);
    entry.expiry = loop_.call_at(when, [this, &entry] {
        entry.expiry.reset();
        entry.tx.expire();
        finish(entry);
    });
}

void Session::delivered(const ClientTransaction& tx) {
    auto& entry = entry_of(tx);
    if (entry.reported) return;
    entry.tx.on_delivered(Clock::now());
    finish(entry);
}

void Session::expire_all() {
    // By index: a `done` callback may start new transactions (deque iterators would break).
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        auto& entry = entries_[i];
        if (entry.reported) continue;
        entry.tx.expire();
        finish(entry);
    }
}

bool Session::all_finished() const {
    for (const auto& entry : entries_) {
        if (!entry.reported) return false;
    }
    return true;
}

void Session::service(Entry& entry) {
    if (entry.reported) return;
    auto bytes = entry.tx.poll(Clock::now());
    if (!bytes.empty()) {
        if (auto ec = entry.port->send_to(bytes, entry.tx.server())) {
            entry.tx.on_unreachable("send failed: " + ec.message());
        }
    }
    if (entry.tx.finished()) {
        finish(entry);
        return;
    }
    entry.retransmit = loop_.call_at(entry.tx.deadline(), [this, &entry] {
        entry.retransmit.reset();
        service(entry);
    });
}

void Session::drain(net::DatagramPort& port) {
    while (auto error = port.receive_error()) {
        auto destination = canonical(error->destination);
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            auto& entry = entries_[i];
            if (entry.port == &port && !entry.reported && entry.tx.server() == destination) {
                entry.tx.on_unreachable(std::string("ICMP: ") + std::strerror(error->error));
                finish(entry);
            }
        }
    }
    while (auto received = port.receive_from(buffer_)) {
        std::span<const std::uint8_t> datagram(buffer_.data(), received->size);
        auto now = Clock::now();
        bool claimed = false;
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            auto& entry = entries_[i];
            if (entry.port == &port && !entry.reported &&
                entry.tx.on_datagram(datagram, received->from, now)) {
                claimed = true;
                finish(entry);
                break;
            }
        }
        if (!claimed && unclaimed_) unclaimed_(port, datagram, received->from);
    }
}

void Session::finish(Entry& entry) {
    if (entry.reported) return;
    entry.reported = true;
    if (entry.retransmit) loop_.cancel(*entry.retransmit);
    if (entry.expiry) loop_.cancel(*entry.expiry);
    entry.retransmit.reset();
    entry.expiry.reset();
    if (entry.done) entry.done(entry.tx);
}

}  // namespace natkit::stun
