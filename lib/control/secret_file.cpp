#include "control/secret_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "control/atomic_file.hpp"
#include "io/error.hpp"

namespace natkit::control {

void check_secret_file(const std::string& path, bool insecure_permissions) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        throw permission_error("cannot read secret file " + path + ": " + std::strerror(errno));
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 && !insecure_permissions) {
        throw permission_error("secret file " + path +
                               " is readable by group or other: chmod 600 it (or pass "
                               "--insecure-permissions)");
    }
}

std::string read_secret_file(const std::string& path, bool insecure_permissions) {
    check_secret_file(path, insecure_permissions);
    std::optional<std::string> text;
    try {
        text = read_file(path);
    } catch (const Error& e) {
        throw permission_error(e.what());
    }
    if (!text) throw permission_error("cannot read secret file " + path);
    if (!text->empty() && text->back() == '\n') text->pop_back();
    if (!text->empty() && text->back() == '\r') text->pop_back();
    if (text->empty()) throw Error(ExitCode::data, "secret file " + path + " is empty");
    return *text;
}

}  // namespace natkit::control
