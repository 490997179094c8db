// Standard base64 with padding (RFC 4648 section 4): WireGuard keys, etcd's JSON gateway.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace natkit::io {

std::string base64_encode(std::span<const std::uint8_t> bytes);
// Strict: padding required, no whitespace, non-zero trailing bits rejected.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace natkit::io
