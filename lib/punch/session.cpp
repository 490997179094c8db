#include "punch/session.hpp"

#include <algorithm>

namespace natkit::punch {

std::optional<std::uint16_t> sweep_port(std::uint16_t base, std::uint32_t index) {
    constexpr std::uint32_t lo = kSweepLowest, hi = 65535;
    std::uint32_t b = std::clamp<std::uint32_t>(base, lo, hi);
    std::uint32_t below = b - lo, above = hi - b;
    std::uint32_t pairs = std::min(below, above);
    if (index < 2 * pairs) {
        std::uint32_t distance = index / 2 + 1;
        return static_cast<std::uint16_t>(index % 2 == 0 ? b + distance : b - distance);
    }
    std::uint32_t beyond = index - 2 * pairs + pairs + 1;  // distance from base on the long side
    if (above > below && beyond <= above) return static_cast<std::uint16_t>(b + beyond);
    if (below > above && beyond <= below) return static_cast<std::uint16_t>(b - beyond);
    return std::nullopt;
}

int path_rank(const net::Endpoint& endpoint) {
    auto a = endpoint.address.unmapped();
    const auto& b = a.bytes;
    if (a.family == net::Family::v4) {
        bool private_v4 = b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
                          (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254);
        return private_v4 ? 0 : 2;
    }
    bool site = (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
    return site ? 0 : 1;
}

Role role_of(const OwnNat& own, Mapping peer, const SessionConfig& config) {
    if (config.sweep_ports == 0 || config.sweep_rate == 0) return Role::plain;
    if (own.mapping == Mapping::independent && own.filter_checks_ports &&
        peer == Mapping::dependent)
        return Role::sweeper;
    // The peer may sweep (it alone knows its filter): wait for it.
    if (own.mapping == Mapping::dependent && peer == Mapping::independent) return Role::swept;
    return Role::plain;
}

Session::Session(std::string self_id, const Message& introduction, std::uint64_t now_ms,
                 SessionConfig config, Mapping peer_hint)
    : self_(std::move(self_id)),
      peer_(introduction.peer),
      token_(introduction.token),
      config_(config),
      started_ms_(now_ms),
      next_ms_(now_ms),
      next_round_ms_(now_ms),
      deadline_ms_(now_ms + config.timeout_ms) {
    if (introduction.observed) add_target(*introduction.observed);
    for (const auto& c : introduction.candidates) add_target(c);
    auto peer_mapping = mapping_of_flags(introduction.flags);
    role_ =
        role_of(config_.own, peer_mapping == Mapping::unknown ? peer_hint : peer_mapping, config_);
    if (role_ == Role::sweeper && introduction.observed) sweep_base_ = introduction.observed;
    if (role_ == Role::sweeper && !sweep_base_) role_ = Role::plain;
    if (role_ == Role::sweeper) deadline_ms_ += config_.sweep_delay_ms + sweep_ms();
    // The swept side waits for two sweeps: its peer sweeps one peer at a time and may finish
    // another before it starts ours.
    if (role_ == Role::swept) deadline_ms_ += config_.sweep_delay_ms + 2 * sweep_ms();
}

void Session::sweep(std::uint64_t now_ms, std::vector<Send>& out) {
    auto start = started_ms_ + config_.sweep_delay_ms;
    if (role_ != Role::sweeper || heard_ || now_ms < start) return;
    auto due = std::min<std::uint64_t>(config_.sweep_ports,
                                       (now_ms - start) * config_.sweep_rate / 1000 + 1);
    if (swept_ >= due) return;
    // One message for the whole batch: the caller seals it once.
    auto batch = probe_to(*sweep_base_);
    for (; swept_ < due; ++swept_) {
        auto port = sweep_port(sweep_base_->port, swept_);
        if (!port) {
            swept_ = config_.sweep_ports;  // the range is used up
            break;
        }
        out.push_back({net::Endpoint{sweep_base_->address, *port}, batch.message});
    }
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
        if ((peer_confirmed_ && settled(now_ms)) || now_ms >= confirmed_ms_ + config_.linger_ms) {
            finished_ = true;
            return {};
        }
        out.push_back(probe_to(*remote_));
    } else if (now_ms >= deadline_ms_) {
        outcome_ = Outcome::failed;
        confirmed_ms_ = now_ms;
        finished_ = true;
        return {};
    } else {
        if (now_ms >= next_round_ms_) {
            ++rounds_;
            for (const auto& t : targets_) out.push_back(probe_to(t));
            next_round_ms_ = now_ms + config_.interval_ms;
        }
        sweep(now_ms, out);
        bool sweeping = role_ == Role::sweeper && !heard_ && swept_ < config_.sweep_ports;
        next_ms_ = sweeping ? now_ms + 1 : next_round_ms_;
        return out;
    }
    next_ms_ = now_ms + config_.interval_ms;
    return out;
}

std::vector<Send> Session::on_message(const Message& m, const net::Endpoint& from,
                                      std::uint64_t now_ms) {
    if (finished_ || m.token != token_) return {};
    auto source = net::Endpoint{from.address.unmapped(), from.port};
    heard_ = true;
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
    } else if (m.type == Type::probe_ack && outcome_ == Outcome::punched &&
               path_rank(source) < path_rank(*remote_)) {
        remote_ = source;  // a better kind of path answered too (the same LAN, IPv6): keep it
        out.push_back(probe_to(source));
    }
    if (outcome_ == Outcome::punched && peer_confirmed_ && settled(now_ms)) finished_ = true;
    return out;
}

bool Session::settled(std::uint64_t now_ms) const {
    auto rank = path_rank(*remote_);
    bool better_target = std::any_of(targets_.begin(), targets_.end(),
                                     [&](const auto& t) { return path_rank(t) < rank; });
    return !better_target || now_ms >= confirmed_ms_ + 2 * config_.interval_ms;
}

}  // namespace natkit::punch
