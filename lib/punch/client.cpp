#include "punch/client.hpp"

#include <unistd.h>
#include <algorithm>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>

#include "io/error.hpp"
#include "net/event_loop.hpp"
#include "punch/serve.hpp"

namespace natkit::punch {

namespace {

constexpr std::uint64_t kTickMs = 10;
constexpr std::uint64_t kRegisterRetryMs = 250;
constexpr std::uint64_t kConnectRetryMs = 500;
constexpr std::uint64_t kFreshnessMs = 30'000;
constexpr std::size_t kRequestPadding = 512;      // the server answers nothing larger than this
constexpr std::uint64_t kRetryFailedMs = 30'000;  // --follow: a failed peer again on a new set

PeerResult unreachable(const std::string& peer, std::uint64_t elapsed_ms) {
    PeerResult r;
    r.peer = peer;
    r.outcome = "unreachable";
    r.elapsed_ms = elapsed_ms;
    return r;
}

struct PeerState {
    std::string id;
    std::unique_ptr<Session> session;
    std::vector<net::Endpoint> candidates;  // as the server introduced them
    bool wanted = false;                    // we ask the server for an introduction
    std::optional<Message> deferred;        // an introduction that waits for a sweep to end
    std::uint64_t wanted_since_ms = 0;
    std::uint64_t next_connect_ms = 0;
    std::optional<PeerResult> result;  // one-shot: the outcome, once there is one
};

// What identifies a peer's entry for punching: when it changes, the peer is punched again.
std::string signature_of(const io::PeerEntry& peer) {
    std::string s = io::format_public_key(peer.public_key);
    if (peer.endpoint) s += " " + peer.endpoint->to_string();
    for (const auto& c : peer.candidates) s += " " + c.to_string();
    return s;
}

// Seals each message once: a batch of sends that share one message (a port sweep) costs one MAC.
class Sealer {
  public:
    explicit Sealer(std::span<const std::uint8_t> secret) : secret_(secret) {}

    const std::vector<std::uint8_t>& seal(const Message& m) {
        if (bytes_.empty() || !(m == last_)) {
            last_ = m;
            auto stamped = m;
            stamped.timestamp_ms = unix_ms();
            std::array<std::uint8_t, 8> nonce{};
            random_bytes(nonce);
            for (auto b : nonce) stamped.nonce = stamped.nonce << 8 | b;
            bytes_ = encode(stamped, secret_);
        }
        return bytes_;
    }

  private:
    std::span<const std::uint8_t> secret_;
    Message last_;
    std::vector<std::uint8_t> bytes_;
};

class ClientRun {
  public:
    ClientRun(const stun::LocalPort& port, const ClientOptions& options, io::Log& log, bool follow,
              const ResultSink& on_result)
        : port_(port),
          options_(options),
          log_(log),
          follow_(follow),
          on_result_(on_result),
          own_(options.session.own),
          peer_mappings_(options.peer_mappings) {}

    // --follow with input: records from `fd` as they arrive (see follow()).
    void read_input(int fd, const RecordSink& on_record) {
        input_fd_ = fd;
        on_record_ = &on_record;
    }

    std::vector<PeerResult> run(const std::vector<std::string>& peers) {
        started_ms_ = unix_ms();
        for (const auto& p : peers) want(p, started_ms_);
        for (auto* p : port_.all()) {
            loop_.watch(p->fds().front(), [this, p] { receive(*p); });
        }
        if (input_fd_ >= 0) loop_.watch(input_fd_, [this] { read_some(); });
        tick();
        loop_.run();
        if (!registered_) {
            throw unavailable_error("the rendezvous server " + options_.server.to_string() +
                                    " did not answer within " +
                                    std::to_string(options_.register_timeout_ms) +
                                    " ms: check --server, the secret and the firewall");
        }
        std::vector<PeerResult> results;  // for the peers asked for, not those that asked us
        for (const auto& id : peers) {
            const auto& p = state_of(id);
            results.push_back(p.result ? *p.result : unreachable(p.id, 0));
        }
        return results;
    }

  private:
    PeerState& state_of(const std::string& id) {
        auto it =
            std::find_if(peers_.begin(), peers_.end(), [&](const auto& p) { return p.id == id; });
        if (it != peers_.end()) return *it;
        peers_.push_back({id, nullptr, {}, false, std::nullopt, 0, 0, std::nullopt});
        return peers_.back();
    }

    void want(const std::string& id, std::uint64_t now) {
        auto& p = state_of(id);
        if (p.session || p.wanted || p.deferred) return;  // its result is on the way
        p.wanted = true;
        p.wanted_since_ms = now;
        p.next_connect_ms = now;
    }

    bool pending(const std::string& id) const {
        return std::any_of(peers_.begin(), peers_.end(), [&](const auto& p) {
            return p.id == id && (p.session || p.wanted || p.deferred);
        });
    }

    bool sweeping() const {
        return std::any_of(peers_.begin(), peers_.end(), [](const auto& p) {
            return p.session && p.session->role() == Role::sweeper && !p.session->finished();
        });
    }

    bool would_sweep(const std::string& id) const {
        auto hint = peer_mappings_.find(id);
        return hint != peer_mappings_.end() &&
               role_of(own_, hint->second, options_.session) == Role::sweeper;
    }

    bool nothing_pending() const {
        return std::none_of(peers_.begin(), peers_.end(),
                            [](const auto& p) { return p.session || p.wanted || p.deferred; });
    }

    // --- input (follow) ---

    void read_some() {
        std::array<char, 65536> buffer{};
        auto n = ::read(input_fd_, buffer.data(), buffer.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
        if (n < 0) log_.warning(std::string("reading stdin: ") + std::strerror(errno));
        if (n <= 0) {
            loop_.unwatch(input_fd_);
            input_ended_ = true;
            for (const auto& r : feed_.finish()) take(r);
            if (feed_.bytes_seen() == 0) log_.info("no input: answering introductions only");
            return;
        }
        for (const auto& r :
             feed_.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n))))
            take(r);
    }

    void take(const io::InputRecord& record) {
        const auto& kind = record.value["kind"];
        if (kind == "nat.report") own_ = own_nat_of_report(record, "stdin");
        if (kind != "peer-set") {
            (*on_record_)(record.value);
            return;
        }
        auto set = io::peer_set_from_json(record, "stdin");
        if (set.network != options_.network) {
            log_.warning("stdin:" + std::to_string(record.line) + ": a peer-set of network " +
                         set.network + ", but this node follows " + options_.network +
                         ": passed on as it is");
            (*on_record_)(record.value);
            return;
        }
        auto now = unix_ms();
        for (const auto& peer : set.peers) {
            if (peer.id == options_.id) continue;
            if (peer.nat) peer_mappings_[peer.id] = mapping_of_word(peer.nat->mapping);
            auto signature = signature_of(peer);
            auto last = latest_.find(peer.id);
            bool failed = last == latest_.end() ||
                          (last->second.outcome != "punched" && last->second.outcome != "direct");
            bool retry_due = failed && now - attempted_ms_[peer.id] >= kRetryFailedMs;
            if (punched_for_[peer.id] != signature || retry_due) want(peer.id, now);
            punched_for_[peer.id] = signature;
        }
        set_ = std::move(set);
        set_dirty_ = true;
        emit_if_settled();
    }

    // Writes the current peer-set with the latest results once none of its peers is pending.
    void emit_if_settled() {
        if (!set_ || !set_dirty_) return;
        std::vector<PeerResult> results;
        for (const auto& peer : set_->peers) {
            if (pending(peer.id)) return;
            if (auto it = latest_.find(peer.id); it != latest_.end()) results.push_back(it->second);
        }
        (*on_record_)(io::to_json(apply_results(*set_, results)));
        set_dirty_ = false;
    }

    void send(const Message& m, const net::Endpoint& to) {
        Sealer sealer(options_.secret);
        send_with(sealer, m, to);
    }

    void send_all(const std::vector<Send>& sends) {
        Sealer sealer(options_.secret);
        for (const auto& s : sends) send_with(sealer, s.message, s.to);
    }

    void send_with(Sealer& sealer, const Message& m, const net::Endpoint& to) {
        auto* p = port_.for_family(to.family());
        if (!p) return;
        if (auto error = p->send_to(sealer.seal(m), to)) {
            log_.debug("send " + std::string(type_name(m.type)) + " to " + to.to_string() + ": " +
                       error.message());
        }
    }

    void send_register(std::uint64_t now) {
        Message m;
        m.type = Type::reg;
        m.network = options_.network;
        m.id = options_.id;
        m.flags = mapping_flags(own_.mapping);
        if (auto local = port_.local_towards(options_.server)) m.candidates.push_back(*local);
        for (const auto& c : options_.extra_candidates) {
            if (m.candidates.size() < kMaxCandidates) m.candidates.push_back(c);
        }
        m.pad_to = kRequestPadding;
        send(m, options_.server);
        next_register_ms_ = now + (registered_ ? options_.keepalive_ms : kRegisterRetryMs);
    }

    void send_connect(PeerState& p, std::uint64_t now) {
        Message m;
        m.type = Type::connect;
        m.network = options_.network;
        m.id = options_.id;
        m.peer = p.id;
        m.pad_to = kRequestPadding;
        send(m, options_.server);
        p.next_connect_ms = now + kConnectRetryMs;
    }

    void tick() {
        auto now = unix_ms();
        if (!registered_ && now - started_ms_ >= options_.register_timeout_ms) {
            loop_.stop();
            return;
        }
        if (now >= next_register_ms_) send_register(now);
        if (registered_) {
            start_deferred(now);
            drive_peers(now);
        }
        if (!follow_ && registered_ && all_done()) {
            loop_.stop();
            return;
        }
        if (follow_ && input_ended_ && feed_.bytes_seen() > 0 && nothing_pending()) {
            emit_if_settled();
            loop_.stop();  // the input ended: finish with the pipeline
            return;
        }
        loop_.call_at(net::Clock::now() + std::chrono::milliseconds(kTickMs), [this] { tick(); });
    }

    void drive_peers(std::uint64_t now) {
        for (auto& p : peers_) {
            if (p.result) continue;
            if (!p.session) {
                if (!p.wanted) continue;
                if (now - p.wanted_since_ms >= options_.window_ms) {
                    finish(p, unreachable(p.id, now - p.wanted_since_ms));
                } else if (sweeping() && would_sweep(p.id)) {
                    continue;  // one sweep at a time: ask for this one when the other is over
                } else if (now >= p.next_connect_ms) {
                    send_connect(p, now);
                }
                continue;
            }
            send_all(p.session->on_timer(now));
            if (p.session->finished()) finish(p, result_of(p));
        }
    }

    PeerResult result_of(const PeerState& p) const {
        const auto& s = *p.session;
        PeerResult r{p.id,         std::nullopt,   s.remote(),     "relay",
                     s.attempts(), s.elapsed_ms(), s.ports_swept()};
        if (s.outcome() == Outcome::punched) {
            bool own_address = std::find(p.candidates.begin(), p.candidates.end(), *s.remote()) !=
                               p.candidates.end();
            r.outcome = own_address ? "direct" : "punched";
            r.local = port_.local_towards(*s.remote());
        }
        return r;
    }

    void finish(PeerState& p, PeerResult r) {
        log_.info("peer " + p.id + ": " + r.outcome +
                  (r.remote ? " via " + r.remote->to_string() : std::string()));
        p.result = r;
        p.wanted = false;
        latest_[p.id] = r;
        attempted_ms_[p.id] = unix_ms();
        if (on_result_) on_result_(r);
        if (follow_) {
            // A following node forgets finished sessions so the peer can punch again later.
            p.session.reset();
            p.result.reset();
            if (set_) {
                set_dirty_ = true;
                emit_if_settled();
            }
        }
    }

    bool all_done() const {
        return std::all_of(peers_.begin(), peers_.end(), [](const auto& p) { return p.result; });
    }

    void receive(net::DatagramPort& port) {
        std::array<std::uint8_t, 2048> buffer{};
        while (port.receive_error()) {
        }
        for (int i = 0; i < 64; ++i) {
            auto got = port.receive_from(buffer);
            if (!got) return;
            auto decoded = decode(std::span(buffer.data(), got->size), options_.secret);
            if (!decoded.message) continue;
            handle(*decoded.message, got->from);
        }
    }

    void handle(const Message& m, const net::Endpoint& from) {
        auto now = unix_ms();
        bool from_server = from == options_.server;
        auto age = m.timestamp_ms > now ? m.timestamp_ms - now : now - m.timestamp_ms;
        if (age > kFreshnessMs) return;
        if (from_server && m.type == Type::registered) {
            if (!registered_)
                log_.info("registered; the server sees us as " +
                          (m.observed ? m.observed->to_string() : "?"));
            if (registered_ && m.observed && observed_ && *m.observed != *observed_)
                moved(*observed_, *m.observed, now);
            if (m.observed) observed_ = m.observed;
            registered_ = true;
            next_register_ms_ = std::min(next_register_ms_, now + options_.keepalive_ms);
        } else if (from_server && m.type == Type::introduce) {
            introduced(m, now);
        } else if (m.type == Type::probe || m.type == Type::probe_ack) {
            for (auto& p : peers_) {
                if (p.session && p.session->token() == m.token) {
                    send_all(p.session->on_message(m, from, now));
                }
            }
        }
    }

    // NAT rebinding (a new public address or port): every hole punched so far is gone, and
    // the peers still send to the old endpoint. A following node punches them all again.
    void moved(const net::Endpoint& from, const net::Endpoint& to, std::uint64_t now) {
        log_.warning("the rendezvous now sees this node at " + to.to_string() + " (was " +
                     from.to_string() + "): NAT rebinding" +
                     (follow_ ? ", punching every peer again" : ""));
        if (!follow_) return;
        for (const auto& [id, result] : latest_) want(id, now);
        if (set_) {
            for (const auto& peer : set_->peers) {
                if (peer.id != options_.id) want(peer.id, now);
            }
        }
    }

    void introduced(const Message& m, std::uint64_t now) {
        // A peer not in our set still gets its session (it has our network's secret, and a
        // one-shot run waits for it), so a node that learned of us first is not left alone.
        auto* it = &state_of(m.peer);
        if (it->session || it->result || it->deferred) return;
        it->wanted = false;  // the introduction is here
        if (sweeping() && role_of(own_, peer_mapping(m), options_.session) == Role::sweeper) {
            log_.info("peer " + m.peer + " waits until the running port sweep is over");
            it->deferred = m;
            return;
        }
        start_session(*it, m, now);
    }

    // One sweep at a time: the next waiting introduction once the running sweep is over.
    void start_deferred(std::uint64_t now) {
        if (sweeping()) return;
        for (auto& p : peers_) {
            if (!p.deferred) continue;
            auto m = *std::exchange(p.deferred, std::nullopt);
            start_session(p, m, now);
            return;
        }
    }

    Mapping peer_mapping(const Message& introduction) const {
        auto said = mapping_of_flags(introduction.flags);
        if (said != Mapping::unknown) return said;
        auto hint = peer_mappings_.find(introduction.peer);
        return hint == peer_mappings_.end() ? Mapping::unknown : hint->second;
    }

    void start_session(PeerState& peer, const Message& m, std::uint64_t now) {
        auto* it = &peer;
        log_.debug("introduced to " + m.peer + " at " +
                   (m.observed ? m.observed->to_string() : "?"));
        it->candidates = m.candidates;
        auto config = options_.session;
        config.own = own_;
        it->session = std::make_unique<Session>(options_.id, m, now, config, peer_mapping(m));
        if (it->session->role() == Role::sweeper)
            log_.info("peer " + m.peer + " maps per destination: sweeping ports of " +
                      (m.observed ? m.observed->to_string() : "?"));
        send_all(it->session->on_timer(now));
    }

    const stun::LocalPort& port_;
    const ClientOptions& options_;
    io::Log& log_;
    bool follow_;
    const ResultSink& on_result_;
    net::EventLoop loop_;
    std::deque<PeerState> peers_;  // grows when a following node is introduced to new peers
    OwnNat own_;                   // a nat.report on the input updates it
    std::map<std::string, Mapping> peer_mappings_;
    // --follow with input
    int input_fd_ = -1;
    const RecordSink* on_record_ = nullptr;
    io::NdjsonFeed feed_;
    bool input_ended_ = false;
    std::optional<io::PeerSet> set_;                     // the latest peer-set of our network
    bool set_dirty_ = false;                             // results or set changed since written
    std::map<std::string, PeerResult> latest_;           // per peer, the last outcome
    std::map<std::string, std::uint64_t> attempted_ms_;  // when it came
    std::map<std::string, std::string> punched_for_;     // the entry it was punched for
    bool registered_ = false;
    std::optional<net::Endpoint> observed_;  // this node, as the rendezvous last saw it
    std::uint64_t started_ms_ = 0;
    std::uint64_t next_register_ms_ = 0;
};

}  // namespace

std::vector<PeerResult> punch_peers(const stun::LocalPort& port, const ClientOptions& options,
                                    const std::vector<std::string>& peers, io::Log& log,
                                    const ResultSink& on_result) {
    ClientRun run(port, options, log, false, on_result);
    return run.run(peers);
}

void follow(const stun::LocalPort& port, const ClientOptions& options,
            const std::vector<std::string>& peers, int input_fd, io::Log& log,
            const RecordSink& on_record, const ResultSink& on_result) {
    ClientRun run(port, options, log, true, on_result);
    if (input_fd >= 0) run.read_input(input_fd, on_record);
    run.run(peers);
}

io::PeerSet apply_results(io::PeerSet set, const std::vector<PeerResult>& results) {
    for (const auto& r : results) {
        for (auto& peer : set.peers) {
            if (peer.id != r.peer) continue;
            if (r.remote && (r.outcome == "punched" || r.outcome == "direct")) {
                peer.endpoint = r.remote;
            }
            peer.path = r.outcome;
        }
    }
    return set;
}

io::json to_json(const PeerResult& r) {
    io::json j;
    j["kind"] = "punch.result";
    j["peer"] = r.peer;
    if (r.local) j["local"] = r.local->to_string();
    if (r.remote) j["remote"] = r.remote->to_string();
    j["outcome"] = r.outcome;
    j["attempts"] = r.attempts;
    j["elapsed_ms"] = r.elapsed_ms;
    if (r.ports_swept > 0) j["ports_swept"] = r.ports_swept;
    return j;
}

OwnNat own_nat_of_report(const io::InputRecord& record, const std::string& source) {
    auto word = [&](const char* field) {
        auto value = io::optional_string(record, source, field).value_or("unknown");
        if (value != "endpoint-independent" && value != "address-dependent" &&
            value != "address-and-port-dependent" && value != "unknown") {
            throw data_error(source, record.line, field,
                             "expected endpoint-independent, address-dependent, "
                             "address-and-port-dependent or unknown, got \"" +
                                 value + "\"");
        }
        return value;
    };
    auto filtering = word("filtering");
    return {mapping_of_word(word("mapping")),
            filtering != "endpoint-independent" && filtering != "address-dependent"};
}

OwnNat read_nat_report(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw usage_error("--nat-report " + path + ": " + std::strerror(errno));
    auto input = read_client_input(in, path);
    if (!input.own_nat) {
        throw Error(ExitCode::data, path + ": no nat.report record (nat-classify writes one)");
    }
    return *input.own_nat;
}

ClientInput read_client_input(std::istream& in, const std::string& source) {
    ClientInput input;
    io::NdjsonReader reader(in, source);
    while (auto record = reader.next()) {
        if (record->value["kind"] == "nat.report")
            input.own_nat = own_nat_of_report(*record, source);
        bool is_set = record->value["kind"] == "peer-set";
        input.sets.push_back(is_set ? std::optional(io::peer_set_from_json(*record, source))
                                    : std::nullopt);
        input.records.push_back(std::move(*record));
    }
    return input;
}

namespace {

std::map<std::string, Mapping> mappings_of(const io::PeerSet& set) {
    std::map<std::string, Mapping> mappings;
    for (const auto& p : set.peers) {
        if (p.nat) mappings[p.id] = mapping_of_word(p.nat->mapping);
    }
    return mappings;
}

std::vector<std::string> peers_to_punch(const io::PeerSet& set, const std::string& self) {
    std::vector<std::string> ids;
    for (const auto& p : set.peers) {
        if (p.id != self) ids.push_back(p.id);
    }
    return ids;
}

}  // namespace

void punch_sets(const stun::LocalPort& port, const ClientOptions& options, const ClientInput& input,
                bool network_given, io::RecordWriter& out, io::Log& log,
                const ResultSink& on_result) {
    for (std::size_t i = 0; i < input.records.size(); ++i) {
        const auto& set = input.sets[i];
        if (!set) {
            out.write(input.records[i].value);
            continue;
        }
        if (network_given && options.network != set->network) {
            log.warning("--network " + options.network + " differs from the peer-set's network " +
                        set->network + ": using the peer-set's");
        }
        auto set_options = options;
        set_options.network = set->network;
        set_options.peer_mappings = mappings_of(*set);
        if (input.own_nat) set_options.session.own = *input.own_nat;
        auto got = punch_peers(port, set_options, peers_to_punch(*set, options.id), log, on_result);
        out.write(io::to_json(apply_results(*set, got)));
    }
}

}  // namespace natkit::punch
