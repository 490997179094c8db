#include "control/clock.hpp"

#include <cstdio>
#include <ctime>

#include "io/peer_set.hpp"

namespace natkit::control {

std::string format_time(SystemTime time) {
    std::time_t seconds = std::chrono::system_clock::to_time_t(time);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

std::optional<SystemTime> parse_time(std::string_view text) {
    if (!io::is_rfc3339_utc(text)) return std::nullopt;
    auto field = [&](std::size_t at, std::size_t size) {
        return std::stoi(std::string(text.substr(at, size)));
    };
    std::tm utc{};
    utc.tm_year = field(0, 4) - 1900;
    utc.tm_mon = field(5, 2) - 1;
    utc.tm_mday = field(8, 2);
    utc.tm_hour = field(11, 2);
    utc.tm_min = field(14, 2);
    utc.tm_sec = field(17, 2);
    std::time_t seconds = timegm(&utc);
    if (seconds == -1) return std::nullopt;
    return std::chrono::system_clock::from_time_t(seconds);
}

}  // namespace natkit::control
