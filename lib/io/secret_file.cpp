#include "io/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/error.hpp"
#include "net/fd.hpp"

namespace natkit::io {

namespace {

Error unreadable(const std::string& path) {
    return permission_error("cannot read secret file " + path + ": " + std::strerror(errno));
}

// The checks run on the opened file, so what is checked is what is read.
void check_open_file(int fd, const std::string& path, bool insecure_permissions) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw unreadable(path);
    if (!S_ISREG(st.st_mode)) throw permission_error("secret file " + path + " is not a file");
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 && !insecure_permissions) {
        throw permission_error("secret file " + path +
                               " is readable by group or other: chmod 600 it (or pass "
                               "--insecure-permissions)");
    }
}

net::Fd open_secret(const std::string& path, bool insecure_permissions) {
    net::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) throw unreadable(path);
    check_open_file(fd.get(), path, insecure_permissions);
    return fd;
}

}  // namespace

void check_secret_file(const std::string& path, bool insecure_permissions) {
    open_secret(path, insecure_permissions);
}

std::string read_secret_file(const std::string& path, bool insecure_permissions) {
    auto fd = open_secret(path, insecure_permissions);
    std::string text;
    char buffer[4096];
    for (;;) {
        auto n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw unreadable(path);
        if (n == 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
        if (text.size() > 1 << 20)
            throw Error(ExitCode::data, "secret file " + path + " is over 1 MiB");
    }
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty()) throw Error(ExitCode::data, "secret file " + path + " is empty");
    return text;
}

}  // namespace natkit::io
