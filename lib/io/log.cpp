#include "io/log.hpp"

#include <ostream>

namespace natkit::io {

namespace {

std::string_view prefix(Level level) {
    switch (level) {
        case Level::error:
            return "error: ";
        case Level::warning:
            return "warning: ";
        case Level::info:
            return "";
        case Level::debug:
            return "debug: ";
    }
    return "";
}

int threshold(Level level) {
    switch (level) {
        case Level::error:
            return -1;
        case Level::warning:
            return 0;
        case Level::info:
            return 1;
        case Level::debug:
            return 2;
    }
    return 2;
}

}  // namespace

Log::Log(std::ostream& err, std::string tool, int verbosity)
    : err_(err), tool_(std::move(tool)), verbosity_(verbosity) {}

bool Log::enabled(Level level) const {
    return verbosity_ >= threshold(level);
}

void Log::write(Level level, std::string_view message) {
    if (!enabled(level)) return;
    std::string line = tool_ + ": " + std::string(prefix(level)) + std::string(message) + "\n";
    std::lock_guard lock(mutex_);
    err_ << line << std::flush;
}

}  // namespace natkit::io
