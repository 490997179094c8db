// Load generator for bench/punch-server.sh: drives a real `punch serve` (or any STUN server)
// over UDP with real authenticated punch messages (punch::encode under the network's secret),
// closed loop (a bounded number of datagrams outstanding), from many source ports, and counts
// the answers. Bounded in count and time: it always stops by itself.
//
//   punch_server_load real --server 127.0.0.1:3480 --secret-file F --server-pid PID
//       idle RSS; registers 10k then 100k nodes (RSS after each); refreshes them; introductions;
//       STUN Binding. The server's CPU time is read from /proc/PID/task/*/schedstat around each
//       timed phase, so rates per server CPU-second do not depend on the generator's speed.
//   punch_server_load stun --server 127.0.0.1:3478 --server-pid PID
//       STUN Binding only (for coturn side by side).
//   punch_server_load inproc
//       punch::Server::handle() alone, no sockets: the same messages, timed in-process.
//
// Output: one `key value...` line per result, for the script to format.
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/endpoint.hpp"
#include "punch/message.hpp"
#include "punch/secret.hpp"
#include "punch/serve.hpp"
#include "punch/server.hpp"
#include "stun/message.hpp"

using namespace natkit;

namespace {

struct Options {
    std::string mode;
    net::Endpoint server{net::IpAddress::loopback(net::Family::v4), punch::kDefaultPort};
    std::string secret_file;
    int server_pid = 0;
    std::size_t nodes_small = 10'000, nodes_large = 100'000;
    std::size_t connects = 200'000, stuns = 200'000;
    std::size_t sockets = 256;
    std::size_t window = 64;  // datagrams outstanding (answers expected and not yet seen)
    double time_limit_s = 20;
    std::size_t pad = 512;       // punch requests: the size the real client sends
    std::size_t stun_size = 128;  // STUN Binding request size (SOFTWARE attribute as padding)
    std::string network = "bench";
};

double thread_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double now_s() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// CPU time (ns) of every thread of `pid` (coturn has several).
std::uint64_t cpu_ns(int pid) {
    if (pid <= 0) return 0;
    std::uint64_t total = 0;
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = opendir(dir.c_str());
    if (!d) return 0;
    while (auto* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::ifstream f(dir + "/" + e->d_name + "/schedstat");
        std::uint64_t ns = 0;
        if (f >> ns) total += ns;
    }
    closedir(d);
    return total;
}

// VmRSS / VmHWM in KiB.
std::pair<long, long> rss_kib(int pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    long rss = -1, hwm = -1;
    while (std::getline(f, line)) {
        if (line.rfind("VmRSS:", 0) == 0) rss = std::atol(line.c_str() + 6);
        if (line.rfind("VmHWM:", 0) == 0) hwm = std::atol(line.c_str() + 6);
    }
    return {rss, hwm};
}

std::string node_id(std::size_t i) { return "node-" + std::to_string(i); }

// Two candidates per node, as a node with a LAN address and a public one would send.
std::vector<net::Endpoint> candidates_of(std::size_t i) {
    auto lan = net::IpAddress::v4(0x0A000000u | static_cast<std::uint32_t>(i & 0xFFFFFF));
    auto pub = net::IpAddress::v4(0xCB007100u | static_cast<std::uint32_t>(i & 0xFF));
    return {{lan, 51820}, {pub, static_cast<std::uint16_t>(20000 + i % 40000)}};
}

std::uint64_t nonce_counter = 0;
std::uint64_t next_nonce() {
    static std::mt19937_64 rng{std::random_device{}()};
    static const std::uint64_t base = rng();
    return base ^ (++nonce_counter * 0x9E3779B97F4A7C15ull);
}

std::vector<std::uint8_t> reg_message(const Options& o, std::span<const std::uint8_t> key,
                                      std::size_t i, std::uint64_t now_ms) {
    punch::Message m;
    m.type = punch::Type::reg;
    m.timestamp_ms = now_ms;
    m.nonce = next_nonce();
    m.network = o.network;
    m.id = node_id(i);
    m.candidates = candidates_of(i);
    m.pad_to = o.pad;
    return punch::encode(m, key);
}

// The k-th distinct pair among n nodes: (a, a + 1 + k / n) mod n.
std::pair<std::size_t, std::size_t> pair_of(std::size_t k, std::size_t n) {
    std::size_t a = k % n, b = (a + 1 + (k / n) % (n - 1)) % n;
    return {a, b};
}

std::vector<std::uint8_t> connect_message(const Options& o, std::span<const std::uint8_t> key,
                                          std::size_t a, std::size_t b, std::uint64_t now_ms) {
    punch::Message m;
    m.type = punch::Type::connect;
    m.timestamp_ms = now_ms;
    m.nonce = next_nonce();
    m.network = o.network;
    m.id = node_id(a);
    m.peer = node_id(b);
    m.pad_to = o.pad;
    return punch::encode(m, key);
}

std::vector<std::uint8_t> stun_message(const Options& o, std::size_t i) {
    stun::Message m;
    m.cls = stun::MessageClass::request;
    m.method = stun::kMethodBinding;
    for (std::size_t b = 0; b < m.transaction_id.size(); ++b)
        m.transaction_id[b] = static_cast<std::uint8_t>((i >> (8 * (b % 8))) ^ (b * 37));
    // 20 header + 4 attribute header + value (multiple of 4) = stun_size
    std::size_t value = o.stun_size > 24 ? (o.stun_size - 24) & ~std::size_t{3} : 0;
    if (value) m.software = std::string(value, 'x');
    return stun::encode(m);
}

// A batch of requests, each sent from socket `from[i]` and answered by `answers[i]` datagrams.
struct Batch {
    std::vector<std::vector<std::uint8_t>> requests;
    std::vector<std::uint32_t> from;
    std::vector<std::uint8_t> answers;
};

struct PhaseResult {
    std::size_t sent = 0, expected = 0, received = 0, received_bytes = 0;
    std::map<int, std::size_t> by_type;  // punch type byte, or 0x101 for a STUN success
    std::size_t verified = 0, verify_failed = 0;
    double wall_s = 0, server_cpu_s = 0, own_cpu_s = 0;
    bool timed_out = false;
};

class Generator {
  public:
    Generator(const Options& o, std::vector<std::uint8_t> key) : o_(o), key_(std::move(key)) {
        socklen_t len = 0;
        auto ss = o.server.to_sockaddr(len);
        std::memcpy(&server_, &ss, len);
        server_len_ = len;
        epoll_ = epoll_create1(0);
        for (std::size_t i = 0; i < o.sockets; ++i) {
            int fd = socket(o.server.family() == net::Family::v4 ? AF_INET : AF_INET6,
                            SOCK_DGRAM | SOCK_NONBLOCK, 0);
            if (fd < 0) throw std::runtime_error("socket: " + std::string(strerror(errno)));
            int size = 1 << 20;
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
            // connect() fixes the source port now (a distinct one per socket) and filters
            // answers to those from the server.
            if (::connect(fd, reinterpret_cast<sockaddr*>(&server_), server_len_) < 0)
                throw std::runtime_error("connect: " + std::string(strerror(errno)));
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u32 = static_cast<std::uint32_t>(i);
            epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
            fds_.push_back(fd);
        }
    }
    ~Generator() {
        for (int fd : fds_) close(fd);
        close(epoll_);
    }

    PhaseResult run(const Batch& batch, bool verify_punch) {
        PhaseResult r;
        std::size_t total_expected = 0;
        for (auto a : batch.answers) total_expected += a;
        std::size_t next = 0, outstanding = 0;
        double start = now_s(), last_rx = start;
        std::uint64_t cpu0 = cpu_ns(o_.server_pid), own0 = cpu_ns(getpid());
        constexpr int kBatch = 64;
        std::vector<mmsghdr> msgs(kBatch);
        std::vector<iovec> iov(kBatch);
        std::vector<std::array<std::uint8_t, 2048>> bufs(kBatch);
        for (int i = 0; i < kBatch; ++i) {
            iov[i] = {bufs[i].data(), bufs[i].size()};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        epoll_event events[64];
        for (;;) {
            double t = now_s();
            bool time_up = t - start > o_.time_limit_s;
            while (!time_up && next < batch.requests.size() &&
                   outstanding + batch.answers[next] <= o_.window) {
                const auto& p = batch.requests[next];
                if (send(fds_[batch.from[next]], p.data(), p.size(), 0) < 0) break;
                outstanding += batch.answers[next];
                r.expected += batch.answers[next];
                ++r.sent;
                ++next;
            }
            bool all_sent = next == batch.requests.size() || time_up;
            if (all_sent && r.received >= r.expected) break;
            int n = epoll_wait(epoll_, events, 64, 5);
            if (n <= 0) {
                // Nothing for a while: what is outstanding is lost. Free the window.
                if (now_s() - last_rx > 0.05) {
                    if (all_sent) break;
                    outstanding = 0;
                    last_rx = now_s();
                }
                continue;
            }
            for (int e = 0; e < n; ++e) {
                int fd = fds_[events[e].data.u32];
                for (;;) {
                    int got = recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
                    if (got <= 0) break;
                    for (int i = 0; i < got; ++i) {
                        std::span<const std::uint8_t> d(bufs[i].data(), msgs[i].msg_len);
                        ++r.received;
                        r.received_bytes += d.size();
                        if (verify_punch) {
                            int type = d.size() > 2 && d[0] == punch::kMarker ? d[2] : -1;
                            ++r.by_type[type];
                            // Check the MAC and parse every 16th answer for real.
                            if (r.received % 16 == 0) {
                                auto decoded = punch::decode(d, key_);
                                ++(decoded.message ? r.verified : r.verify_failed);
                            }
                        } else {
                            int type = d.size() >= 2 ? (d[0] << 8 | d[1]) : -1;
                            ++r.by_type[type];
                        }
                    }
                    outstanding -= std::min<std::size_t>(outstanding, got);
                    if (got < kBatch) break;
                }
            }
            last_rx = now_s();
            if (now_s() - start > o_.time_limit_s + 2) {
                r.timed_out = true;
                break;
            }
        }
        r.wall_s = last_rx - start;
        r.server_cpu_s = static_cast<double>(cpu_ns(o_.server_pid) - cpu0) / 1e9;
        r.own_cpu_s = static_cast<double>(cpu_ns(getpid()) - own0) / 1e9;
        r.timed_out = r.timed_out || next < batch.requests.size();
        (void)total_expected;
        return r;
    }

    std::size_t sockets() const { return fds_.size(); }

  private:
    const Options& o_;
    std::vector<std::uint8_t> key_;
    sockaddr_storage server_{};
    socklen_t server_len_ = 0;
    int epoll_ = -1;
    std::vector<int> fds_;
};

void print(const std::string& name, const PhaseResult& r, std::size_t requests_per_op = 1) {
    std::ostringstream types;
    for (auto [t, c] : r.by_type) types << (types.tellp() > 0 ? "," : "") << t << ":" << c;
    double ops = static_cast<double>(r.sent) / static_cast<double>(requests_per_op);
    std::printf(
        "phase %s sent %zu expected %zu received %zu types %s verified %zu verify_failed %zu "
        "wall_s %.4f server_cpu_s %.4f own_cpu_s %.4f answer_bytes %.0f per_wall_s %.0f "
        "per_cpu_s %.0f timed_out %d\n",
        name.c_str(), r.sent, r.expected, r.received, types.str().c_str(), r.verified,
        r.verify_failed, r.wall_s, r.server_cpu_s, r.own_cpu_s,
        r.received ? static_cast<double>(r.received_bytes) / r.received : 0, r.wall_s > 0 ? ops / r.wall_s : 0,
        r.server_cpu_s > 0 ? ops / r.server_cpu_s : 0, r.timed_out ? 1 : 0);
    std::fflush(stdout);
}

void print_rss(const std::string& name, int pid) {
    auto [rss, hwm] = rss_kib(pid);
    std::printf("rss %s %ld hwm %ld\n", name.c_str(), rss, hwm);
    std::fflush(stdout);
}

Batch registrations(const Options& o, std::span<const std::uint8_t> key, std::size_t first,
                    std::size_t last, std::size_t sockets) {
    Batch b;
    auto now = punch::unix_ms();
    for (std::size_t i = first; i < last; ++i) {
        b.requests.push_back(reg_message(o, key, i, now));
        b.from.push_back(static_cast<std::uint32_t>(i % sockets));
        b.answers.push_back(1);
    }
    return b;
}

int run_real(const Options& o, const std::vector<std::uint8_t>& key) {
    Generator g(o, key);
    auto settle = [] { usleep(300'000); };  // let the server's 1 s tick and the kernel settle
    settle();
    print_rss("idle", o.server_pid);
    {
        auto b = registrations(o, key, 0, o.nodes_small, g.sockets());
        print("register_first_" + std::to_string(o.nodes_small), g.run(b, true));
        settle();
        print_rss("after_" + std::to_string(o.nodes_small), o.server_pid);
    }
    {
        auto b = registrations(o, key, o.nodes_small, o.nodes_large, g.sockets());
        print("register_next_" + std::to_string(o.nodes_large - o.nodes_small), g.run(b, true));
        settle();
        print_rss("after_" + std::to_string(o.nodes_large), o.server_pid);
    }
    {  // keepalive: every node registers again (the steady state of a network)
        auto b = registrations(o, key, 0, o.nodes_large, g.sockets());
        print("refresh_" + std::to_string(o.nodes_large), g.run(b, true));
    }
    {  // connect: distinct pairs; the answer is two introduce messages, one to each node
        Batch b;
        auto now = punch::unix_ms();
        for (std::size_t k = 0; k < o.connects; ++k) {
            auto [a, c] = pair_of(k, o.nodes_large);
            b.requests.push_back(connect_message(o, key, a, c, now));
            // the node now asks from its own socket (where it registered from)
            b.from.push_back(static_cast<std::uint32_t>(a % g.sockets()));
            b.answers.push_back(2);
        }
        print("connect", g.run(b, true));
    }
    {
        Batch b;
        for (std::size_t i = 0; i < o.stuns; ++i) {
            b.requests.push_back(stun_message(o, i));
            b.from.push_back(static_cast<std::uint32_t>(i % g.sockets()));
            b.answers.push_back(1);
        }
        print("stun", g.run(b, false));
    }
    settle();
    print_rss("end", o.server_pid);
    return 0;
}

int run_stun(const Options& o) {
    Generator g(o, {});
    usleep(300'000);
    print_rss("idle", o.server_pid);
    Batch b;
    for (std::size_t i = 0; i < o.stuns; ++i) {
        b.requests.push_back(stun_message(o, i));
        b.from.push_back(static_cast<std::uint32_t>(i % g.sockets()));
        b.answers.push_back(1);
    }
    print("stun", g.run(b, false));
    print_rss("end", o.server_pid);
    return 0;
}

// punch::Server::handle() alone.
int run_inproc(const Options& o) {
    std::vector<std::uint8_t> key(32);
    punch::random_bytes(key);
    punch::ServerConfig config;
    config.secret = key;
    config.ttl_ms = 600'000;
    config.rate_per_s = 2e9;
    config.burst = 2e9;
    config.max_nodes = 1'000'000;
    const std::size_t n = o.nodes_large;
    // The sources of the real run: 127.0.0.1, one port per generator socket.
    auto endpoint_of = [&](std::size_t i) {
        return net::Endpoint{net::IpAddress::loopback(net::Family::v4),
                             static_cast<std::uint16_t>(40000 + i % o.sockets)};
    };
    auto timed = [&](const std::string& name, punch::Server& server,
                     const std::vector<std::vector<std::uint8_t>>& msgs,
                     const std::vector<net::Endpoint>& from, std::size_t expect_out) {
        std::size_t out = 0;
        auto t0 = now_s();
        auto c0 = thread_cpu_s();
        auto now = punch::unix_ms();
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            out += server.handle(msgs[i], from[i], now + i / 100'000).size();
        }
        auto t = now_s() - t0;
        auto c = thread_cpu_s() - c0;
        auto ops = static_cast<double>(msgs.size());
        std::printf("inproc %s ops %zu out %zu expected_out %zu wall_s %.4f cpu_s %.4f "
                    "per_cpu_s %.0f ns_per_op_cpu %.0f\n",
                    name.c_str(), msgs.size(), out, expect_out, t, c, ops / c, 1e9 * c / ops);
        std::fflush(stdout);
    };
    std::vector<net::Endpoint> from(n);
    for (std::size_t i = 0; i < n; ++i) from[i] = endpoint_of(i);
    auto regs = [&] {
        std::vector<std::vector<std::uint8_t>> v;
        auto now = punch::unix_ms();
        for (std::size_t i = 0; i < n; ++i) v.push_back(reg_message(o, key, i, now));
        return v;
    };
    {
        punch::Server server(config, punch::random_bytes);
        timed("register_new", server, regs(), from, n);
        timed("register_refresh", server, regs(), from, n);
        std::vector<std::vector<std::uint8_t>> c;
        std::vector<net::Endpoint> cfrom;
        auto now = punch::unix_ms();
        for (std::size_t k = 0; k < n; ++k) {
            auto [a, b] = pair_of(k, n);
            c.push_back(connect_message(o, key, a, b, now));
            cfrom.push_back(from[a]);
        }
        timed("connect", server, c, cfrom, 2 * n);
        std::vector<std::vector<std::uint8_t>> s;
        for (std::size_t i = 0; i < n; ++i) s.push_back(stun_message(o, i));
        timed("stun", server, s, from, n);
    }
    // The same, with a cheap deterministic random source instead of RAND_bytes, to see what
    // the CSPRNG costs per answer (the answer's nonce).

    {
        std::uint64_t state = 1;
        auto cheap = [&](std::span<std::uint8_t> bytes) {
            for (auto& b : bytes) {
                state = state * 6364136223846793005ull + 1442695040888963407ull;
                b = static_cast<std::uint8_t>(state >> 56);
            }
        };
        punch::Server server(config, cheap);
        timed("register_new_cheaprandom", server, regs(), from, n);
    }
    {  // Heap held per registration (mallinfo2), with and without the nonce cache.
        auto heap = [] { return static_cast<double>(mallinfo2().uordblks); };
        auto msgs = regs();
        double h0 = heap();
        punch::Server server(config, punch::random_bytes);
        auto now = punch::unix_ms();
        for (std::size_t i = 0; i < n; ++i) server.handle(msgs[i], from[i], now);
        double h1 = heap();
        // Past two freshness windows: the nonces are forgotten, the registrations stay (ttl).
        server.expire(now + 2 * config.freshness_ms + 1);
        double h2 = heap();
        std::printf("heap nodes %zu held_bytes %.0f per_node_with_nonces %.1f per_node_without_nonces %.1f\n",
                    server.node_count(), h1 - h0, (h1 - h0) / n, (h2 - h0) / n);
        std::fflush(stdout);
    }
    return 0;
}

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: punch_server_load real|stun|inproc [--server ADDR:PORT] [--secret-file F]\n"
                 "  [--server-pid PID] [--nodes-small N] [--nodes-large N] [--connects N]\n"
                 "  [--stuns N] [--sockets N] [--window N] [--time-limit S] [--pad B]\n"
                 "  [--stun-size B]\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) usage();
    Options o;
    o.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) usage();
        std::string v = argv[++i];
        auto num = [&] { return static_cast<std::size_t>(std::stoull(v)); };
        if (a == "--server") {
            auto e = net::Endpoint::parse(v);
            if (!e) usage();
            o.server = *e;
        } else if (a == "--secret-file") o.secret_file = v;
        else if (a == "--server-pid") o.server_pid = std::stoi(v);
        else if (a == "--nodes-small") o.nodes_small = num();
        else if (a == "--nodes-large") o.nodes_large = num();
        else if (a == "--connects") o.connects = num();
        else if (a == "--stuns") o.stuns = num();
        else if (a == "--sockets") o.sockets = std::max<std::size_t>(1, num());
        else if (a == "--window") o.window = std::max<std::size_t>(2, num());
        else if (a == "--time-limit") o.time_limit_s = std::stod(v);
        else if (a == "--pad") o.pad = num();
        else if (a == "--stun-size") o.stun_size = num();
        else usage();
    }
    try {
        if (o.mode == "inproc") return run_inproc(o);
        if (o.mode == "stun") return run_stun(o);
        if (o.mode == "real") {
            if (o.secret_file.empty()) usage();
            return run_real(o, punch::read_secret(o.secret_file, false));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "punch_server_load: %s\n", e.what());
        return 1;
    }
    usage();
}
