#include "net/raw_udp.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

#include "net/udp_socket.hpp"

namespace natkit::net {

namespace {

constexpr std::size_t kMaxIpPacket = 65535;
constexpr std::size_t kControlSize = CMSG_SPACE(sizeof(in6_pktinfo));

std::error_code errno_code(int error) {
    return {error, std::system_category()};
}

std::string describe(Family family, std::uint16_t port) {
    return std::string("raw UDP socket (") + (family == Family::v4 ? "IPv4" : "IPv6") +
           ") for port " + std::to_string(port);
}

[[noreturn]] void throw_errno(int error, const std::string& what) {
    throw std::system_error(error, std::system_category(), what);
}

Fd open_raw_socket(Family family, std::uint16_t port) {
    int domain = family == Family::v4 ? AF_INET : AF_INET6;
    Fd fd(::socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
    if (fd) return fd;
    int error = errno;
    std::string hint;
    if (error == EPERM || error == EACCES) {
        hint =
            " (sharing a port another socket holds needs CAP_NET_RAW: run as root or "
            "grant it with setcap cap_net_raw+ep)";
    } else if (error == EAFNOSUPPORT) {
        hint = " (this address family is not available on this host)";
    }
    throw_errno(error, "cannot open a " + describe(family, port) + hint);
}

void attach_filter(int fd, Family family, std::uint16_t port) {
    auto program = stun_port_filter(family, port);
    sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) {
        throw_errno(errno, "cannot attach the BPF filter to the " + describe(family, port));
    }
}

// Drops what was queued before the filter was attached.
void drain(int fd) {
    for (;;) {
        if (::recv(fd, nullptr, 0, MSG_DONTWAIT | MSG_TRUNC) >= 0 || errno == EINTR) continue;
        return;
    }
}

// The destination address of an IPv6 datagram, from its IPV6_PKTINFO.
std::optional<IpAddress> pktinfo_destination(const msghdr& message) {
    for (auto* c = CMSG_FIRSTHDR(&message); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&message), c)) {
        if (c->cmsg_level != IPPROTO_IPV6 || c->cmsg_type != IPV6_PKTINFO ||
            c->cmsg_len < CMSG_LEN(sizeof(in6_pktinfo))) {
            continue;
        }
        in6_pktinfo info{};
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        std::array<std::uint8_t, 16> bytes{};
        std::memcpy(bytes.data(), &info.ipi6_addr, bytes.size());
        return IpAddress::v6(bytes);
    }
    return std::nullopt;
}

template <typename Info>
void put_control(msghdr& message, int level, int type, const Info& info) {
    auto* c = CMSG_FIRSTHDR(&message);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    message.msg_controllen = CMSG_SPACE(sizeof info);
}

// Makes the kernel send from `source` (IP_PKTINFO / IPV6_PKTINFO), so the IP header carries
// the source the UDP checksum was computed with. `control` must outlive the sendmsg.
void set_source(msghdr& message, std::span<char, kControlSize> control, const IpAddress& source) {
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    if (source.family == Family::v4) {
        in_pktinfo info{};
        std::memcpy(&info.ipi_spec_dst, source.bytes.data(), 4);
        put_control(message, IPPROTO_IP, IP_PKTINFO, info);
    } else {
        in6_pktinfo info{};
        std::memcpy(&info.ipi6_addr, source.bytes.data(), 16);
        info.ipi6_ifindex = source.scope_id;
        put_control(message, IPPROTO_IPV6, IPV6_PKTINFO, info);
    }
}

}  // namespace

RawUdp::RawUdp(Fd fd, Family family, std::uint16_t local_port,
               std::optional<IpAddress> local_address)
    : fd_(std::move(fd)),
      family_(family),
      local_port_(local_port),
      local_address_(local_address),
      packet_(kMaxIpPacket) {}

RawUdp RawUdp::open(Family family, std::uint16_t local_port,
                    std::optional<IpAddress> local_address) {
    if (local_address) {
        local_address = local_address->unmapped();
        if (local_address->family != family) {
            throw std::invalid_argument("raw UDP: local address " + local_address->to_string() +
                                        " is not of the socket's address family");
        }
        if (local_address->is_unspecified()) local_address.reset();
    }
    Fd fd = open_raw_socket(family, local_port);
    if (family == Family::v6) {
        int on = 1;
        if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) != 0) {
            throw_errno(errno, "cannot set up the " + describe(family, local_port));
        }
    }
    attach_filter(fd.get(), family, local_port);
    drain(fd.get());
    return RawUdp(std::move(fd), family, local_port, local_address);
}

Endpoint RawUdp::local_endpoint() const {
    return {local_address_.value_or(IpAddress::any(family_)), local_port_};
}

std::optional<IpAddress> RawUdp::source_towards(const IpAddress& destination,
                                                std::uint16_t port) const {
    if (local_address_) return local_address_;
    return source_address_towards({destination, port});
}

std::error_code RawUdp::send_to(std::span<const std::uint8_t> payload, const Endpoint& to) {
    Endpoint target{to.address.unmapped(), to.port};
    if (family_ == Family::v6) target.address = to.address;
    if (target.family() != family_) return errno_code(EAFNOSUPPORT);
    if (payload.size() > kMaxUdpPayload) return errno_code(EMSGSIZE);
    auto source = source_towards(target.address, target.port);
    if (!source) return errno_code(ENETUNREACH);

    auto segment = build_udp_segment({*source, local_port_}, target, payload);
    socklen_t length = 0;
    auto address = Endpoint{target.address, 0}.to_sockaddr(length);  // raw: port must be 0
    iovec part{segment.data(), segment.size()};
    msghdr message{};
    message.msg_name = &address;
    message.msg_namelen = length;
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    alignas(cmsghdr) std::array<char, kControlSize> control{};
    set_source(message, control, *source);
    for (;;) {
        if (::sendmsg(fd_.get(), &message, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return {};
        if (errno != EINTR) return errno_code(errno);
    }
}

bool RawUdp::wanted(const UdpView& datagram) const {
    if (datagram.destination.port != local_port_) return false;
    if (datagram.payload.size() < 8) return false;
    std::uint32_t cookie = 0;
    for (std::size_t i = 4; i < 8; ++i) cookie = cookie << 8 | datagram.payload[i];
    if (cookie != kStunMagicCookie) return false;
    if (!local_address_) return true;
    auto to = datagram.destination.address.octets();
    auto mine = local_address_->octets();
    return std::equal(to.begin(), to.end(), mine.begin(), mine.end());
}

std::optional<Received> RawUdp::receive_from(std::span<std::uint8_t> buffer) {
    for (;;) {
        sockaddr_storage from{};
        alignas(cmsghdr) std::array<char, kControlSize> control{};
        iovec part{packet_.data(), packet_.size()};
        msghdr message{};
        message.msg_name = &from;
        message.msg_namelen = sizeof from;
        message.msg_iov = &part;
        message.msg_iovlen = 1;
        message.msg_control = control.data();
        message.msg_controllen = control.size();
        auto size = ::recvmsg(fd_.get(), &message, MSG_DONTWAIT);
        if (size < 0) {
            int error = errno;
            if (error == EAGAIN || error == EWOULDBLOCK) return std::nullopt;
            if (error == EINTR) continue;
            throw_errno(error, "cannot receive on the " + describe(family_, local_port_));
        }
        if ((message.msg_flags & MSG_TRUNC) != 0) continue;
        std::span<const std::uint8_t> bytes(packet_.data(), static_cast<std::size_t>(size));

        std::optional<UdpView> datagram;
        if (family_ == Family::v4) {
            datagram = parse_ipv4_udp(bytes);
        } else {
            auto source =
                Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from), message.msg_namelen);
            auto destination = pktinfo_destination(message);
            if (source && destination) datagram = parse_udp(bytes, source->address, *destination);
        }
        if (!datagram || !wanted(*datagram)) continue;

        auto copied = std::min(buffer.size(), datagram->payload.size());
        std::copy_n(datagram->payload.begin(), copied, buffer.begin());
        return Received{copied, datagram->source};
    }
}

}  // namespace natkit::net
