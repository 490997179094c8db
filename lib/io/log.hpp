// Logging to stderr ("stun-probe: warning: ..."). No global state: main creates one Log and
// passes it down by reference.
#pragma once

#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>

namespace natkit::io {

enum class Level { error, warning, info, debug };

class Log {
  public:
    // verbosity: -1 (-q) errors only, 0 errors and warnings, 1 (-v) + info, 2 (-vv) + debug.
    Log(std::ostream& err, std::string tool, int verbosity);

    bool enabled(Level level) const;
    void write(Level level, std::string_view message);  // one whole line, if enabled

    void error(std::string_view message) { write(Level::error, message); }
    void warning(std::string_view message) { write(Level::warning, message); }
    void info(std::string_view message) { write(Level::info, message); }
    void debug(std::string_view message) { write(Level::debug, message); }

  private:
    std::ostream& err_;
    std::string tool_;
    int verbosity_;
    std::mutex mutex_;  // lines from several threads do not interleave
};

}  // namespace natkit::io
