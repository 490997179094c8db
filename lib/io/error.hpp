// The exit codes of the pipe contract, and the one error type that carries them to main.
#pragma once

#include <stdexcept>
#include <string>

namespace natkit {

enum class ExitCode : int {
    ok = 0,
    failure = 1,       // the job failed: no server answered, punch failed ...
    usage = 2,         // bad command line
    data = 65,         // bad input data (EX_DATAERR)
    unavailable = 69,  // a needed service is unavailable (EX_UNAVAILABLE)
    no_permission = 77 // permission denied (EX_NOPERM)
};

// Thrown up to main, which prints what() and exits with code().
class Error : public std::runtime_error {
public:
    Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ExitCode code() const { return code_; }

private:
    ExitCode code_;
};

inline Error usage_error(const std::string& message) { return {ExitCode::usage, message}; }
inline Error unavailable_error(const std::string& message) {
    return {ExitCode::unavailable, message};
}
inline Error permission_error(const std::string& message) {
    return {ExitCode::no_permission, message};
}

// Bad input: names where (source and line) and what (the field path) was wrong.
inline Error data_error(const std::string& source, std::size_t line, const std::string& field,
                        const std::string& problem) {
    std::string where = source + ":" + std::to_string(line) + ": ";
    if (!field.empty()) where += "field '" + field + "': ";
    return {ExitCode::data, where + problem};
}

}  // namespace natkit
