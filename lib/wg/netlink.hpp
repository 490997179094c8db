// Kernel WireGuard over generic netlink (libmnl): the "netlink" Backend.
#pragma once

#include <memory>

#include "wg/backend.hpp"

namespace natkit::wg {

// Opens nothing yet: each read() / write() talks to the kernel over its own netlink socket.
// Errors are natkit::Error: no_permission (77) without CAP_NET_ADMIN, failure (1) for a
// missing or non-WireGuard interface, unavailable (69) when the kernel has no WireGuard.
std::unique_ptr<Backend> make_netlink_backend();

}  // namespace natkit::wg
