// The one place where errors become exit codes (the pipe contract's exit statuses).
#pragma once

#include <functional>
#include <iosfwd>
#include <string_view>

namespace natkit::io {

// Runs body and returns its exit code. Catches everything, prints "<tool>: <message>" to err:
// natkit::Error -> its code; boost::program_options::error -> 2; std::system_error with EPERM or
// EACCES -> 77 (adding what is needed); any other exception -> 1.
int run_main(std::string_view tool, std::ostream& err, const std::function<int()>& body) noexcept;

}  // namespace natkit::io
