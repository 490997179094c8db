#include "punch/session.hpp"

#include <algorithm>

namespace natkit::punch {

Session::Session(std::string self_id, const Message& introduction, std::uint64_t now_ms,
                 SessionConfig config)
    : self_(std::move(self_id)),
      peer_(introduction.peer),
      token_(introduction.token),
      config_(config),
      started_ms_(now_ms),
      next_ms_(now_ms) {
    if (introduction.observed) add_target(*introduction.observed);
    for (const auto& c : introduction.candidates) add_target(c);
}

void Session::add_target(const net::Endpoint& e) {
    auto plain = net::Endpoint{e.address.unmapped(), e.port};
    if (plain.port == 0 || plain.address.is_unspecified()) return;
    if (std::find(targets_.begin(), targets_.end(), plain) == targets_.end()) {
        targets_.push_back(plain);
    }
}

Send Session::probe_to(const net::Endpoint& to) {
    Message m;
    m.type = Type::probe;
    m.token = token_;
    m.id = self_;
    m.seq = ++seq_;
    m.flags = outcome_ == Outcome::punched ? kFlagConfirmed : 0;
    return {to, m};
}

std::vector<Send> Session::on_timer(std::uint64_t now_ms) {
    if (finished_ || now_ms < next_ms_) return {};
    std::vector<Send> out;
    if (outcome_ == Outcome::punched) {
        if (peer_confirmed_ || now_ms >= confirmed_ms_ + config_.linger_ms) {
            finished_ = true;
            return {};
        }
        out.push_back(probe_to(*remote_));
    } else if (now_ms >= started_ms_ + config_.timeout_ms) {
        outcome_ = Outcome::failed;
        confirmed_ms_ = now_ms;
        finished_ = true;
        return {};
    } else {
        ++rounds_;
        for (const auto& t : targets_) out.push_back(probe_to(t));
    }
    next_ms_ = now_ms + config_.interval_ms;
    return out;
}

std::vector<Send> Session::on_message(const Message& m, const net::Endpoint& from,
                                      std::uint64_t now_ms) {
    if (finished_ || m.token != token_) return {};
    auto source = net::Endpoint{from.address.unmapped(), from.port};
    std::vector<Send> out;
    if (m.type == Type::probe) {
        if (m.id != peer_) return {};
        Message ack;
        ack.type = Type::probe_ack;
        ack.token = token_;
        ack.seq = m.seq;
        ack.observed = source;
        out.push_back({source, ack});
        if (m.flags & kFlagConfirmed) peer_confirmed_ = true;
        // Answer to where the peer's packets really come from (a symmetric NAT picks a new port
        // per destination): probe that address too, so our side of the hole opens for it.
        if (outcome_ == Outcome::running) {
            add_target(source);
            out.push_back(probe_to(source));
        }
    } else if (m.type == Type::probe_ack && outcome_ == Outcome::running) {
        remote_ = source;
        outcome_ = Outcome::punched;
        confirmed_ms_ = now_ms;
        out.push_back(probe_to(source));  // tells the peer at once that we are confirmed
        next_ms_ = now_ms + config_.interval_ms;
    }
    if (outcome_ == Outcome::punched && peer_confirmed_) finished_ = true;
    return out;
}

}  // namespace natkit::punch
