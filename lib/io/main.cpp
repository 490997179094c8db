#include "io/main.hpp"

#include <ostream>
#include <string>
#include <system_error>

#include <boost/program_options/errors.hpp>

#include "io/error.hpp"

namespace natkit::io {

namespace {

bool is_permission_problem(const std::system_error& e) {
    return e.code() == std::errc::operation_not_permitted ||
           e.code() == std::errc::permission_denied;
}

int report(std::string_view tool, std::ostream& err, const std::string& message, ExitCode code) {
    try {
        err << tool << ": " << message << "\n" << std::flush;
    } catch (...) {
        // Nowhere left to report to; the exit code still tells.
    }
    return static_cast<int>(code);
}

}  // namespace

int run_main(std::string_view tool, std::ostream& err, const std::function<int()>& body) noexcept {
    try {
        try {
            return body();
        } catch (const Error& e) {
            return report(tool, err, e.what(), e.code());
        } catch (const boost::program_options::error& e) {
            return report(tool, err,
                          std::string(e.what()) + "; see '" + std::string(tool) + " --help'",
                          ExitCode::usage);
        } catch (const std::system_error& e) {
            if (!is_permission_problem(e)) return report(tool, err, e.what(), ExitCode::failure);
            return report(tool, err,
                          std::string(e.what()) + " (needs root or CAP_NET_RAW/CAP_NET_ADMIN)",
                          ExitCode::no_permission);
        } catch (const std::exception& e) {
            return report(tool, err, e.what(), ExitCode::failure);
        } catch (...) {
            return report(tool, err, "unknown error", ExitCode::failure);
        }
    } catch (...) {
        // Building a message failed (out of memory).
        return static_cast<int>(ExitCode::failure);
    }
}

}  // namespace natkit::io
