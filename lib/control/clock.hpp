// Wall-clock times as RFC 3339 UTC strings, as every natkit record carries them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace natkit::control {

using SystemTime = std::chrono::system_clock::time_point;

// "2026-11-23T17:00:00Z" (whole seconds).
std::string format_time(SystemTime time);
// RFC 3339 UTC ("...Z", optional fraction); nullopt when malformed.
std::optional<SystemTime> parse_time(std::string_view text);

}  // namespace natkit::control
