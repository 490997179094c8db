#include "punch/serve.hpp"

#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "io/error.hpp"
#include "net/event_loop.hpp"
#include "net/udp_socket.hpp"

namespace natkit::punch {

void random_bytes(std::span<std::uint8_t> bytes) {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("the system random generator failed");
    }
}

std::uint64_t unix_ms() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

namespace {

std::vector<net::UdpSocket> bind_all(const ServeOptions& options) {
    std::vector<net::UdpSocket> sockets;
    auto bind_one = [&](const net::Endpoint& where, bool dual) {
        try {
            sockets.push_back(net::UdpSocket::bind(where, dual));
        } catch (const std::system_error& e) {
            throw Error(ExitCode::failure,
                        std::string("cannot listen on ") + where.to_string() + ": " + e.what());
        }
    };
    if (options.listen.empty()) {
        try {
            sockets.push_back(
                net::UdpSocket::bind({net::IpAddress::any(net::Family::v6), kDefaultPort}, true));
        } catch (const std::system_error&) {
            bind_one({net::IpAddress::any(net::Family::v4), kDefaultPort}, false);
        }
    }
    for (const auto& where : options.listen) bind_one(where, false);
    return sockets;
}

void log_stats(const Server& server, io::Log& log) {
    const auto& s = server.stats();
    log.info("nodes " + std::to_string(server.node_count()) + ", received " +
             std::to_string(s.received) + ", unauthenticated " + std::to_string(s.unauthenticated) +
             ", stale " + std::to_string(s.stale) + ", replayed " + std::to_string(s.replayed) +
             ", rate-limited " + std::to_string(s.rate_limited) + ", introductions " +
             std::to_string(s.introductions) + ", stun " + std::to_string(s.stun_answered) +
             ", refused (nonce cache full) " + std::to_string(s.nonces_full));
}

}  // namespace

void serve(const ServeOptions& options, io::Log& log) {
    auto sockets = bind_all(options);
    Server server(options.config, random_bytes);
    net::EventLoop loop;
    std::array<std::uint8_t, 2048> buffer{};
    for (auto& socket : sockets) {
        log.info("listening on " + socket.local_endpoint().to_string());
        loop.watch(socket.fd(), [&] {
            while (socket.receive_error()) {
            }
            for (int i = 0; i < 64; ++i) {
                auto got = socket.receive_from(buffer);
                if (!got) break;
                auto out = server.handle(std::span(buffer.data(), got->size), got->from, unix_ms());
                for (const auto& o : out) {
                    if (auto error = socket.send_to(o.bytes, o.to)) {
                        log.debug("send to " + o.to.to_string() + ": " + error.message());
                    }
                }
            }
        });
    }
    std::function<void()> tick;
    int ticks = 0;
    tick = [&] {
        server.expire(unix_ms());
        if (options.stats_interval_s > 0 && ++ticks % options.stats_interval_s == 0) {
            log_stats(server, log);
        }
        loop.call_at(net::Clock::now() + std::chrono::seconds(1), tick);
    };
    tick();
    loop.run();
}

}  // namespace natkit::punch
