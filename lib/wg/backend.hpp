// One interface over the ways to reach a WireGuard device.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "wg/device.hpp"

namespace natkit::wg {

class Backend {
  public:
    virtual ~Backend() = default;
    // Reads the whole device (all peers, merged). Throws natkit::Error: failure (exit 1) with
    // a clear message when the interface does not exist; no_permission (77) without
    // CAP_NET_ADMIN.
    virtual Device read(const std::string& interface) = 0;
    // Writes the change. Throws natkit::Error as read() does.
    virtual void write(const std::string& interface, const DeviceChange& change) = 0;
    virtual std::string_view name() const = 0;  // "netlink" or "uapi"
};

enum class BackendKind { automatic, netlink, uapi };

// auto: the UAPI socket /var/run/wireguard/IFACE.sock when it exists (wireguard-go,
// boringtun), else kernel WireGuard over generic netlink.
std::unique_ptr<Backend> open_backend(BackendKind kind, const std::string& interface);

}  // namespace natkit::wg
