#include "wg/backend.hpp"

#include <filesystem>

#include "wg/netlink.hpp"
#include "wg/uapi.hpp"

namespace natkit::wg {

std::unique_ptr<Backend> open_backend(BackendKind kind, const std::string& interface) {
    switch (kind) {
        case BackendKind::uapi:
            return std::make_unique<UapiBackend>();
        case BackendKind::netlink:
            return make_netlink_backend();
        case BackendKind::automatic:
            break;
    }
    std::error_code ignored;
    if (std::filesystem::exists(uapi_socket_path(kUapiSocketDir, interface), ignored)) {
        return std::make_unique<UapiBackend>();
    }
    return make_netlink_backend();
}

}  // namespace natkit::wg
