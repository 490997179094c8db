#include "wg/uapi.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "io/error.hpp"
#include "net/fd.hpp"

namespace natkit::wg {

namespace {

// Past this (the year 2096) a time in nanoseconds would not fit the system clock's duration.
constexpr std::int64_t kMaxHandshakeSeconds = 4'000'000'000;

class ReplyParser {
  public:
    explicit ReplyParser(std::string_view text) : text_(text) {}

    // Calls on_field(key, value) for each line up to the errno line; returns the errno.
    template <typename OnField>
    int parse(OnField&& on_field) {
        while (auto line = next_line()) {
            if (line->empty()) break;
            auto equals = line->find('=');
            if (equals == std::string_view::npos) fail("expected key=value");
            auto key = line->substr(0, equals);
            auto value = line->substr(equals + 1);
            if (key == "errno") return number<int>(value);
            on_field(key, value);
        }
        fail("the reply ended without an errno line");
    }

    template <typename T>
    T number(std::string_view value) const {
        T result{};
        auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), result);
        if (error != std::errc{} || end != value.data() + value.size() || value.empty()) {
            fail("not a number in range: '" + std::string(value) + "'");
        }
        return result;
    }

    Key key(std::string_view value) const {
        auto key = key_from_hex(value);
        if (!key) fail("expected a 64-digit hex key");
        return *key;
    }

    [[noreturn]] void fail(const std::string& problem) const {
        throw Error(ExitCode::failure,
                    "malformed UAPI reply, line " + std::to_string(line_) + ": " + problem);
    }

  private:
    std::optional<std::string_view> next_line() {
        if (position_ >= text_.size()) return std::nullopt;
        auto end = text_.find('\n', position_);
        if (end == std::string_view::npos) end = text_.size();
        auto line = text_.substr(position_, end - position_);
        position_ = end + 1;
        ++line_;
        return line;
    }

    std::string_view text_;
    std::size_t position_ = 0;
    std::size_t line_ = 0;
};

void finish_peer(Peer& peer) {
    auto& ips = peer.allowed_ips;
    std::sort(ips.begin(), ips.end());
    ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
}

struct GetState {
    ReplyParser& parser;
    Device& device;
    std::int64_t handshake_sec = 0;
    std::int64_t handshake_nsec = 0;

    void device_field(std::string_view key, std::string_view value) {
        if (key == "listen_port") {
            device.listen_port = parser.number<std::uint16_t>(value);
        } else if (key == "fwmark") {
            device.fwmark = parser.number<std::uint32_t>(value);
        } else if (key == "private_key") {
            // UAPI gives only the private key; the public one is derived, as `wg show` does.
            auto private_key = parser.key(value);
            if (!is_zero(private_key)) device.public_key = public_key_of(private_key);
        }  // unknown keys: not needed
    }

    void peer_field(Peer& peer, std::string_view key, std::string_view value) {
        if (key == "preshared_key") {
            auto psk = parser.key(value);
            peer.preshared_key = is_zero(psk) ? std::nullopt : std::optional(psk);
        } else if (key == "endpoint") {
            peer.endpoint = net::Endpoint::parse(value);
            if (!peer.endpoint) parser.fail("bad endpoint '" + std::string(value) + "'");
        } else if (key == "persistent_keepalive_interval") {
            peer.persistent_keepalive = parser.number<std::uint16_t>(value);
        } else if (key == "allowed_ip") {
            auto prefix = net::Prefix::parse(value);
            if (!prefix || value.find('/') == std::string_view::npos) {
                parser.fail("bad allowed_ip '" + std::string(value) + "'");
            }
            peer.allowed_ips.push_back(*prefix);
        } else if (key == "last_handshake_time_sec") {
            handshake_sec = parser.number<std::int64_t>(value);
            set_handshake(peer);
        } else if (key == "last_handshake_time_nsec") {
            handshake_nsec = parser.number<std::int64_t>(value);
            set_handshake(peer);
        } else if (key == "rx_bytes") {
            peer.rx_bytes = parser.number<std::uint64_t>(value);
        } else if (key == "tx_bytes") {
            peer.tx_bytes = parser.number<std::uint64_t>(value);
        }
    }

    void set_handshake(Peer& peer) const {
        if (handshake_sec == 0 && handshake_nsec == 0) {
            peer.last_handshake.reset();
            return;
        }
        if (handshake_sec < 0 || handshake_sec > kMaxHandshakeSeconds || handshake_nsec < 0 ||
            handshake_nsec >= 1'000'000'000) {
            parser.fail("last handshake time out of range");
        }
        peer.last_handshake = SystemTime(std::chrono::duration_cast<SystemTime::duration>(
            std::chrono::seconds(handshake_sec) + std::chrono::nanoseconds(handshake_nsec)));
    }

    void field(std::string_view key, std::string_view value) {
        if (key == "public_key") {
            if (!device.peers.empty()) finish_peer(device.peers.back());
            device.peers.emplace_back().public_key = parser.key(value);
            handshake_sec = handshake_nsec = 0;
        } else if (device.peers.empty()) {
            device_field(key, value);
        } else {
            peer_field(device.peers.back(), key, value);
        }
    }
};

void append_line(std::string& out, std::string_view key, std::string_view value) {
    out.append(key).append("=").append(value).append("\n");
}

void append_peer(std::string& out, const PeerChange& peer) {
    append_line(out, "public_key", key_to_hex(peer.public_key));
    if (peer.remove) {
        append_line(out, "remove", "true");
        return;
    }
    if (peer.update_only) append_line(out, "update_only", "true");
    if (peer.preshared_key) {
        append_line(out, "preshared_key", key_to_hex(peer.preshared_key->value_or(Key{})));
    }
    if (peer.endpoint) append_line(out, "endpoint", peer.endpoint->to_string());
    if (peer.persistent_keepalive) {
        append_line(out, "persistent_keepalive_interval",
                    std::to_string(*peer.persistent_keepalive));
    }
    if (peer.replace_allowed_ips) append_line(out, "replace_allowed_ips", "true");
    for (const auto& prefix : peer.allowed_ips) append_line(out, "allowed_ip", prefix.to_string());
}

[[noreturn]] void connect_failed(int error, const std::string& interface, const std::string& path) {
    if (error == EACCES || error == EPERM) {
        throw permission_error("cannot open " + path + " (the UAPI socket of " + interface +
                               "): permission denied; run as root (CAP_NET_ADMIN)");
    }
    if (error == ENOENT) {
        throw Error(ExitCode::failure,
                    "no userspace WireGuard interface '" + interface + "': " + path +
                        " does not exist (is wireguard-go running? for kernel WireGuard use "
                        "--backend netlink)");
    }
    if (error == ECONNREFUSED) {
        throw Error(ExitCode::failure, "nobody answers on " + path +
                                           ": the WireGuard process "
                                           "of " +
                                           interface + " has exited; restart it");
    }
    throw Error(ExitCode::failure, "cannot connect to " + path + ": " + std::strerror(error));
}

net::Fd connect_socket(const std::string& interface, const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        throw Error(ExitCode::failure, "UAPI socket path too long: " + path);
    }
    std::memcpy(address.sun_path, path.data(), path.size());
    net::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) connect_failed(errno, interface, path);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        connect_failed(errno, interface, path);
    }
    return fd;
}

void send_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        auto sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0) {
            throw Error(ExitCode::failure,
                        "writing to " + path + " failed: " + std::strerror(errno));
        }
        data.remove_prefix(static_cast<std::size_t>(sent));
    }
}

bool reply_complete(const std::string& reply) {
    return reply == "\n" || (reply.size() >= 2 && reply.ends_with("\n\n"));
}

std::string receive_reply(int fd, const std::string& path) {
    std::string reply;
    char buffer[65536];
    while (!reply_complete(reply)) {
        auto got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            throw Error(ExitCode::failure,
                        "reading from " + path + " failed: " + std::strerror(errno));
        }
        if (got == 0) break;  // the parser reports a reply cut short
        reply.append(buffer, static_cast<std::size_t>(got));
    }
    return reply;
}

}  // namespace

std::string uapi_socket_path(std::string_view socket_dir, std::string_view interface) {
    return std::string(socket_dir) + "/" + std::string(interface) + ".sock";
}

UapiGetReply parse_get_reply(std::string_view text) {
    ReplyParser parser(text);
    UapiGetReply reply;
    GetState state{parser, reply.device};
    reply.error = parser.parse(
        [&](std::string_view key, std::string_view value) { state.field(key, value); });
    if (!reply.device.peers.empty()) finish_peer(reply.device.peers.back());
    return reply;
}

int parse_set_reply(std::string_view text) {
    ReplyParser parser(text);
    return parser.parse([](std::string_view, std::string_view) {});
}

std::string format_get_request() {
    return "get=1\n\n";
}

std::string format_set_request(const DeviceChange& change) {
    std::string out = "set=1\n";
    for (const auto& peer : change.peers) append_peer(out, peer);
    out += "\n";
    return out;
}

UapiBackend::UapiBackend(std::string socket_dir) : socket_dir_(std::move(socket_dir)) {}

std::string UapiBackend::exchange(const std::string& interface, const std::string& request) const {
    auto path = uapi_socket_path(socket_dir_, interface);
    auto fd = connect_socket(interface, path);
    send_all(fd.get(), request, path);
    return receive_reply(fd.get(), path);
}

Device UapiBackend::read(const std::string& interface) {
    auto reply = parse_get_reply(exchange(interface, format_get_request()));
    if (reply.error != 0) {
        throw Error(ExitCode::failure, "reading " + interface + " over UAPI failed: " +
                                           std::strerror(std::abs(reply.error)));
    }
    reply.device.name = interface;
    return std::move(reply.device);
}

void UapiBackend::write(const std::string& interface, const DeviceChange& change) {
    if (change.empty()) return;
    int error = parse_set_reply(exchange(interface, format_set_request(change)));
    if (error != 0) {
        throw Error(ExitCode::failure,
                    "the WireGuard process of " + interface + " refused the change: " +
                        std::strerror(std::abs(error)) + " (errno " + std::to_string(error) + ")");
    }
}

}  // namespace natkit::wg
