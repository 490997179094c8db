#include "punch/server.hpp"

#include <algorithm>

#include "stun/message.hpp"

namespace natkit::punch {

namespace {

std::string node_key(const std::string& network, const std::string& id) {
    return network + '\0' + id;
}

std::string pair_key(const std::string& network, const std::string& a, const std::string& b) {
    return network + '\0' + std::min(a, b) + '\0' + std::max(a, b);
}

}  // namespace

Server::Server(ServerConfig config, Random random)
    : config_(std::move(config)), random_(std::move(random)) {}

std::vector<Outgoing> Server::handle(std::span<const std::uint8_t> datagram,
                                     const net::Endpoint& from, std::uint64_t now_ms) {
    ++stats_.received;
    if (stun::looks_like_stun(datagram)) {
        if (!within_rate(from.address, now_ms)) {
            ++stats_.rate_limited;
            return {};
        }
        return handle_stun(datagram, from);
    }
    auto decoded = decode(datagram, config_.secret);
    if (!decoded.message) {
        ++stats_.unauthenticated;
        return {};
    }
    const auto& m = *decoded.message;
    if (m.type != Type::reg && m.type != Type::connect) return {};
    // Replays are refused before they cost their source any rate; the nonce is remembered only
    // for a message that is then handled, so rate-limited floods do not grow the cache.
    if (!fresh_and_new(m, now_ms)) return {};
    if (!within_rate(from.address, now_ms)) {
        ++stats_.rate_limited;
        return {};
    }
    remember(m, now_ms);
    auto out =
        m.type == Type::reg ? handle_register(m, from, now_ms) : handle_connect(m, from, now_ms);
    // No amplification: nothing back to the source larger than what it sent.
    std::erase_if(out, [&](const Outgoing& o) {
        bool larger = o.to == from && o.bytes.size() > datagram.size();
        if (larger) ++stats_.dropped_larger;
        return larger;
    });
    return out;
}

std::vector<Outgoing> Server::handle_stun(std::span<const std::uint8_t> datagram,
                                          const net::Endpoint& from) {
    auto request = stun::decode(datagram);
    if (!request.message || request.message->cls != stun::MessageClass::request ||
        request.message->method != stun::kMethodBinding) {
        return {};
    }
    stun::Message answer;
    answer.cls = stun::MessageClass::success;
    answer.has_magic_cookie = request.message->has_magic_cookie;
    answer.cookie_field = request.message->cookie_field;
    answer.transaction_id = request.message->transaction_id;
    if (answer.has_magic_cookie) {
        answer.xor_mapped_address = from;
    } else {
        answer.mapped_address = from;
    }
    // The one exception to "never larger than the request": a Binding answer is the minimal one
    // (XOR-MAPPED-ADDRESS alone: 32 bytes for IPv4, 44 for IPv6), so a plain 20-byte request
    // gets it; at most 2.2 times a request, within the source's rate. Without it, ordinary STUN
    // clients (stun-probe, RFC 3489 ones) could not use the rendezvous as their STUN server.
    auto bytes = stun::encode(answer);
    ++stats_.stun_answered;
    return {{from, std::move(bytes)}};
}

std::vector<Outgoing> Server::handle_register(const Message& m, const net::Endpoint& from,
                                              std::uint64_t now_ms) {
    auto key = node_key(m.network, m.id);
    auto found = nodes_.find(key);
    if (found == nodes_.end() && nodes_.size() >= config_.max_nodes) return {};
    auto& node = nodes_[key];
    node.observed = from;
    node.candidates = m.candidates;
    node.mapping_flags = m.flags & kMappingFlags;
    node.expires_ms = now_ms + config_.ttl_ms;
    ++stats_.registrations;
    Message answer;
    answer.type = Type::registered;
    answer.observed = from;
    answer.ttl_s =
        static_cast<std::uint16_t>(std::min<std::uint64_t>(config_.ttl_ms / 1000, 65535));
    return {{from, seal(answer, now_ms)}};
}

std::vector<Outgoing> Server::handle_connect(const Message& m, const net::Endpoint& from,
                                             std::uint64_t now_ms) {
    auto self = nodes_.find(node_key(m.network, m.id));
    auto peer = nodes_.find(node_key(m.network, m.peer));
    if (self != nodes_.end()) self->second.observed = from;
    if (self == nodes_.end() || peer == nodes_.end() || m.id == m.peer) {
        Message answer;
        answer.type = Type::unknown_peer;
        answer.peer = self == nodes_.end() ? m.id : m.peer;
        return {{from, seal(answer, now_ms)}};
    }
    auto& intro = introductions_[pair_key(m.network, m.id, m.peer)];
    if (intro.created_ms == 0 || now_ms - intro.created_ms > config_.introduction_reuse_ms) {
        random_(intro.token);
        intro.created_ms = now_ms;
        ++stats_.introductions;
    }
    auto introduce = [&](const std::string& name, const Node& node) {
        Message msg;
        msg.type = Type::introduce;
        msg.peer = name;
        msg.observed = node.observed;
        msg.candidates = node.candidates;
        msg.flags = node.mapping_flags;
        msg.token = intro.token;
        return seal(msg, now_ms);
    };
    return {{from, introduce(m.peer, peer->second)},
            {peer->second.observed, introduce(m.id, self->second)}};
}

bool Server::fresh_and_new(const Message& m, std::uint64_t now_ms) {
    auto age = m.timestamp_ms > now_ms ? m.timestamp_ms - now_ms : now_ms - m.timestamp_ms;
    if (age > config_.freshness_ms) {
        ++stats_.stale;
        return false;
    }
    if (nonces_.contains(m.nonce)) {
        ++stats_.replayed;
        return false;
    }
    if (nonces_.size() >= config_.max_nonces) {  // fail closed: a replay window is worse
        ++stats_.nonces_full;
        return false;
    }
    return true;
}

void Server::remember(const Message& m, std::uint64_t now_ms) {
    nonces_.insert(m.nonce);
    nonce_order_.emplace_back(now_ms, m.nonce);
}

bool Server::within_rate(const net::IpAddress& source, std::uint64_t now_ms) {
    if (buckets_.size() >= config_.max_sources && !buckets_.contains(source)) return false;
    auto [it, added] = buckets_.try_emplace(source, Bucket{config_.burst, now_ms});
    auto& bucket = it->second;
    double elapsed_s = static_cast<double>(now_ms - std::min(now_ms, bucket.last_ms)) / 1000.0;
    bucket.tokens = std::min(config_.burst, bucket.tokens + elapsed_s * config_.rate_per_s);
    bucket.last_ms = now_ms;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
}

std::vector<std::uint8_t> Server::seal(Message m, std::uint64_t now_ms) {
    m.timestamp_ms = now_ms;
    std::uint8_t nonce[8];
    random_(nonce);
    for (auto b : nonce) m.nonce = m.nonce << 8 | b;
    return encode(m, config_.secret);
}

void Server::expire(std::uint64_t now_ms) {
    std::erase_if(nodes_, [&](const auto& n) { return n.second.expires_ms <= now_ms; });
    std::erase_if(introductions_, [&](const auto& i) {
        return now_ms - i.second.created_ms > config_.introduction_reuse_ms;
    });
    // A nonce must be remembered as long as its message would still be fresh (2 windows: the
    // sender's clock may be ahead).
    while (!nonce_order_.empty() &&
           now_ms - nonce_order_.front().first > 2 * config_.freshness_ms) {
        nonces_.erase(nonce_order_.front().second);
        nonce_order_.pop_front();
    }
    std::erase_if(buckets_, [&](const auto& b) {
        return now_ms - b.second.last_ms >
               static_cast<std::uint64_t>(1000.0 * config_.burst / config_.rate_per_s) + 1000;
    });
}

}  // namespace natkit::punch
