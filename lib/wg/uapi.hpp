// Userspace WireGuard (wireguard-go, boringtun) over the cross-platform UAPI socket
// (https://www.wireguard.com/xplatform/): `get=1` / `set=1`, hex keys, an `errno=` reply.
// The request formatter and the reply parsers are pure; UapiBackend is the socket around them.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "wg/backend.hpp"
#include "wg/device.hpp"

namespace natkit::wg {

inline constexpr const char* kUapiSocketDir = "/var/run/wireguard";

// "<dir>/<interface>.sock"
std::string uapi_socket_path(std::string_view socket_dir, std::string_view interface);

// The reply to `get=1`: the device (peers in the order given, allowed IPs sorted and unique)
// and the errno the implementation reported (0 = success).
struct UapiGetReply {
    Device device;
    int error = 0;
};

// Throws natkit::Error (ExitCode::failure) naming the line when the reply is malformed: a line
// without '=', a peer field before any public_key, a bad key, number, endpoint or prefix, or no
// errno line. Unknown keys are skipped (newer implementations may add some).
UapiGetReply parse_get_reply(std::string_view text);
// The reply to `set=1`: the errno value. Throws as parse_get_reply does.
int parse_set_reply(std::string_view text);

std::string format_get_request();
// "set=1\n", the change's lines in order, and the empty line that ends the request.
std::string format_set_request(const DeviceChange& change);

class UapiBackend final : public Backend {
  public:
    explicit UapiBackend(std::string socket_dir = kUapiSocketDir);
    Device read(const std::string& interface) override;
    void write(const std::string& interface, const DeviceChange& change) override;
    std::string_view name() const override { return "uapi"; }

  private:
    std::string exchange(const std::string& interface, const std::string& request) const;
    std::string socket_dir_;
};

}  // namespace natkit::wg
