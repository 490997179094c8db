#include "net/udp_socket.hpp"

#include <linux/errqueue.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace natkit::net {

namespace {

int domain_of(Family family) {
    return family == Family::v4 ? AF_INET : AF_INET6;
}

std::error_code errno_code(int error) {
    return {error, std::system_category()};
}

// Errors an ICMP message leaves pending on the socket (sk_err). The next send or receive
// reports them once, whatever it was for; the details stay in the error queue.
bool is_pending_icmp_error(int error) {
    switch (error) {
        case ECONNREFUSED:
        case EHOSTUNREACH:
        case ENETUNREACH:
        case EHOSTDOWN:
        case ENONET:
        case ENOPROTOOPT:
        case EOPNOTSUPP:
        case EMSGSIZE:
        case EACCES:
        case EPROTO:
            return true;
        default:
            return false;
    }
}

void set_option(int fd, int level, int name, int value, const Endpoint& local) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
        throw std::system_error(errno, std::system_category(),
                                "cannot set up UDP socket for " + local.to_string());
    }
}

std::string bind_hint(int error) {
    switch (error) {
        case EADDRINUSE:
            return " (another socket holds this port; pick another port, or use raw mode "
                   "to share it)";
        case EACCES:
            return " (ports below 1024 need CAP_NET_BIND_SERVICE)";
        case EADDRNOTAVAIL:
            return " (the address is not assigned to a local interface)";
        default:
            return "";
    }
}

Endpoint bound_name(int fd, const Endpoint& fallback) {
    sockaddr_storage name{};
    socklen_t length = sizeof name;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&name), &length) != 0) return fallback;
    return Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&name), length).value_or(fallback);
}

std::optional<IcmpError> extended_error(const msghdr& message, const Endpoint& destination) {
    for (auto* c = CMSG_FIRSTHDR(&message); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&message), c)) {
        bool recverr = (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                       (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR);
        if (!recverr || c->cmsg_len < CMSG_LEN(sizeof(sock_extended_err))) continue;
        sock_extended_err error{};
        std::memcpy(&error, CMSG_DATA(c), sizeof error);
        if (error.ee_origin == SO_EE_ORIGIN_ZEROCOPY ||
            error.ee_origin == SO_EE_ORIGIN_TIMESTAMPING) {
            continue;
        }
        return IcmpError{destination, static_cast<int>(error.ee_errno)};
    }
    return std::nullopt;
}

}  // namespace

UdpSocket UdpSocket::bind(const Endpoint& local, bool dual_stack) {
    Fd fd(::socket(domain_of(local.family()), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        throw std::system_error(errno, std::system_category(),
                                "cannot open a UDP socket for " + local.to_string());
    }
    if (local.family() == Family::v6) {
        bool carries_v4 = dual_stack && local.address.is_unspecified();
        set_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, carries_v4 ? 0 : 1, local);
        set_option(fd.get(), IPPROTO_IPV6, IPV6_RECVERR, 1, local);
    }
    // Also on IPv6 sockets: the errors of IPv4-mapped traffic come through IP_RECVERR.
    set_option(fd.get(), IPPROTO_IP, IP_RECVERR, 1, local);

    socklen_t length = 0;
    auto address = local.to_sockaddr(length);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
        int error = errno;
        throw std::system_error(error, std::system_category(),
                                "cannot bind UDP to " + local.to_string() + bind_hint(error));
    }
    Endpoint bound = bound_name(fd.get(), local);
    return UdpSocket(std::move(fd), bound);
}

std::error_code UdpSocket::send_to(std::span<const std::uint8_t> payload, const Endpoint& to) {
    Endpoint target = to;
    if (local_.family() == Family::v6) {
        target.address = to.address.mapped();
    } else if (to.address.is_v4_mapped()) {
        target.address = to.address.unmapped();
    } else if (to.family() == Family::v6) {
        return errno_code(EAFNOSUPPORT);
    }
    socklen_t length = 0;
    auto address = target.to_sockaddr(length);
    bool retried = false;
    for (;;) {
        auto sent = ::sendto(fd_.get(), payload.data(), payload.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                             reinterpret_cast<sockaddr*>(&address), length);
        if (sent >= 0) return {};
        int error = errno;
        if (error == EINTR) continue;
        // A pending error from an earlier ICMP message fails this send without sending;
        // it is now cleared, so one more try tells whether this send has its own error.
        if (!retried && is_pending_icmp_error(error)) {
            retried = true;
            continue;
        }
        return errno_code(error);
    }
}

std::optional<Received> UdpSocket::receive_from(std::span<std::uint8_t> buffer) {
    // Each pending ICMP error is reported (and cleared) once; a few in a row are possible.
    for (int attempt = 0; attempt < 16; ++attempt) {
        sockaddr_storage from{};
        socklen_t length = sizeof from;
        auto size = ::recvfrom(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&from), &length);
        if (size >= 0) {
            auto source = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from), length);
            if (!source) continue;
            source->address = source->address.unmapped();
            return Received{static_cast<std::size_t>(size), *source};
        }
        int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK) return std::nullopt;
        if (error == EINTR || is_pending_icmp_error(error)) continue;
        throw std::system_error(error, std::system_category(),
                                "cannot receive on UDP " + local_.to_string());
    }
    return std::nullopt;
}

std::optional<IcmpError> UdpSocket::receive_error() {
    for (;;) {
        sockaddr_storage destination{};
        alignas(cmsghdr) char control[512];
        msghdr message{};
        message.msg_name = &destination;
        message.msg_namelen = sizeof destination;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        if (::recvmsg(fd_.get(), &message, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
            int error = errno;
            if (error == EAGAIN || error == EWOULDBLOCK) return std::nullopt;
            if (error == EINTR) continue;
            throw std::system_error(error, std::system_category(),
                                    "cannot read the error queue of UDP " + local_.to_string());
        }
        auto where =
            Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&destination), message.msg_namelen)
                .value_or(Endpoint{IpAddress::any(local_.family()), 0});
        where.address = where.address.unmapped();
        if (auto error = extended_error(message, where)) return error;
    }
}

std::optional<IpAddress> source_address_towards(const Endpoint& to) {
    Endpoint target{to.address.unmapped(), to.port == 0 ? std::uint16_t{9} : to.port};
    Fd fd(::socket(domain_of(target.family()), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return std::nullopt;
    socklen_t length = 0;
    auto address = target.to_sockaddr(length);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
        return std::nullopt;
    }
    sockaddr_storage name{};
    socklen_t name_length = sizeof name;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&name), &name_length) != 0) {
        return std::nullopt;
    }
    auto local = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&name), name_length);
    if (!local) return std::nullopt;
    return local->address;
}

}  // namespace natkit::net
