#include "wg/netlink.hpp"

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <functional>
#include <string>

#include "io/error.hpp"
#include "wg/netlink_codec.hpp"

namespace natkit::wg {

namespace {

using netlink::Message;

constexpr std::size_t kReceiveBufferSize = 1 << 16;  // the kernel's dump skbs are <= 32 KiB

std::string system_message(int error) {
    return std::strerror(error);
}

[[noreturn]] void throw_device_error(int error, const std::string& interface,
                                     const std::string& doing) {
    const std::string where = "cannot " + doing + " WireGuard interface '" + interface + "': ";
    switch (error) {
        case EPERM:
        case EACCES:
            throw permission_error(where + "permission denied (needs CAP_NET_ADMIN: run as root)");
        case ENODEV:
            throw Error(ExitCode::failure, "interface '" + interface +
                                               "' does not exist (create it with: ip link add " +
                                               interface + " type wireguard)");
        case EOPNOTSUPP:
            throw Error(ExitCode::failure, "interface '" + interface +
                                               "' is not a WireGuard interface (use a "
                                               "wireguard-type link, or --backend uapi)");
        default:
            throw Error(ExitCode::failure, where + system_message(error));
    }
}

// What a receive loop collects. Callbacks store exceptions here instead of letting them
// cross libmnl's C frames; the loop rethrows them afterwards.
struct Reply {
    std::function<void(std::span<const std::uint8_t>)> on_data;
    std::exception_ptr exception;
};

int on_data_message(const nlmsghdr* header, void* data) {
    auto* reply = static_cast<Reply*>(data);
    try {
        if (reply->on_data) {
            reply->on_data({reinterpret_cast<const std::uint8_t*>(header), header->nlmsg_len});
        }
        return MNL_CB_OK;
    } catch (...) {
        reply->exception = std::current_exception();
        return MNL_CB_ERROR;
    }
}

// libmnl's default NLMSG_DONE handler ignores the error code a failed dump carries in it.
int on_done_message(const nlmsghdr* header, void*) {
    if (mnl_nlmsg_get_payload_len(header) >= sizeof(int)) {
        int error = 0;
        std::memcpy(&error, mnl_nlmsg_get_payload(header), sizeof(error));
        if (error < 0) {
            errno = -error;
            return MNL_CB_ERROR;
        }
    }
    return MNL_CB_STOP;
}

// With a control array libmnl runs no default handler at all: NLMSG_ERROR is an ACK (0) or
// the errno of a failed request.
int on_error_message(const nlmsghdr* header, void*) {
    if (mnl_nlmsg_get_payload_len(header) < sizeof(nlmsgerr)) {
        errno = EBADMSG;
        return MNL_CB_ERROR;
    }
    int error = 0;
    std::memcpy(&error, mnl_nlmsg_get_payload(header), sizeof(error));
    if (error == 0) return MNL_CB_STOP;
    errno = error < 0 ? -error : error;
    return MNL_CB_ERROR;
}

struct SocketCloser {
    void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
};

class Socket {
  public:
    Socket() : socket_(mnl_socket_open(NETLINK_GENERIC)) {
        if (!socket_ || mnl_socket_bind(socket_.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
            throw Error(ExitCode::failure,
                        "cannot open a generic netlink socket: " + system_message(errno));
        }
        port_id_ = mnl_socket_get_portid(socket_.get());
    }

    // Sends `message` and receives its whole reply (an ACK, or a dump ending in NLMSG_DONE),
    // passing each data message to `on_data`. Returns 0, or the errno the kernel answered.
    int transact(Message& message,
                 const std::function<void(std::span<const std::uint8_t>)>& on_data = {}) {
        auto* header = reinterpret_cast<nlmsghdr*>(message.data());
        header->nlmsg_seq = ++sequence_;
        if (mnl_socket_sendto(socket_.get(), message.data(), message.size()) < 0) return errno;
        Reply reply{on_data, nullptr};
        std::array<mnl_cb_t, NLMSG_MIN_TYPE> control{};
        control[NLMSG_ERROR] = on_error_message;
        control[NLMSG_DONE] = on_done_message;
        int status = MNL_CB_OK;
        while (status > MNL_CB_STOP) {
            const ssize_t received =
                mnl_socket_recvfrom(socket_.get(), buffer_.data(), buffer_.size());
            if (received < 0) return errno;
            errno = 0;
            status = mnl_cb_run2(buffer_.data(), static_cast<std::size_t>(received), sequence_,
                                 port_id_, on_data_message, &reply, control.data(), control.size());
        }
        if (reply.exception) std::rethrow_exception(reply.exception);
        if (status < 0) return errno != 0 ? errno : EPROTO;
        return 0;
    }

  private:
    std::unique_ptr<mnl_socket, SocketCloser> socket_;
    unsigned port_id_ = 0;
    unsigned sequence_ = 0;
    std::vector<std::uint8_t> buffer_ = std::vector<std::uint8_t>(kReceiveBufferSize);
};

std::uint16_t resolve_wireguard_family(Socket& socket) {
    Message request = netlink::encode_get_family(WG_GENL_NAME);
    std::optional<std::uint16_t> id;
    const int error = socket.transact(request, [&](std::span<const std::uint8_t> reply) {
        id = netlink::parse_family_id(reply);
    });
    if (error == ENOENT || (error == 0 && !id)) {
        throw unavailable_error(
            "kernel WireGuard is not available (no 'wireguard' generic netlink family): load "
            "the module with 'modprobe wireguard', or use a userspace implementation with "
            "--backend uapi");
    }
    if (error != 0) {
        throw Error(ExitCode::failure,
                    "cannot look up the WireGuard netlink family: " + system_message(error));
    }
    return *id;
}

class NetlinkBackend final : public Backend {
  public:
    Device read(const std::string& interface) override {
        Socket socket;
        const std::uint16_t family = resolve_wireguard_family(socket);
        Message request = netlink::encode_get_device(interface, family);
        netlink::DumpMerger merger;
        const int error = socket.transact(
            request, [&](std::span<const std::uint8_t> message) { merger.add(message); });
        if (error != 0) throw_device_error(error, interface, "read");
        Device device = std::move(merger).finish();
        if (device.name.empty()) device.name = interface;
        return device;
    }

    void write(const std::string& interface, const DeviceChange& change) override {
        if (change.empty()) return;
        Socket socket;
        const std::uint16_t family = resolve_wireguard_family(socket);
        for (Message& message : netlink::encode_set_device(interface, family, change)) {
            const int error = socket.transact(message);
            if (error != 0) throw_device_error(error, interface, "write");
        }
    }

    std::string_view name() const override { return "netlink"; }
};

}  // namespace

std::unique_ptr<Backend> make_netlink_backend() {
    return std::make_unique<NetlinkBackend>();
}

}  // namespace natkit::wg
