#include "control/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "io/error.hpp"
#include "net/fd.hpp"

namespace natkit::control {

namespace {

Error file_error(const std::string& what, const std::string& path, int error) {
    std::string message = what + " " + path + ": " + std::strerror(error);
    if (error == EACCES || error == EPERM) {
        return permission_error(message + " (run as a user who may write the control directory)");
    }
    return unavailable_error(message);
}

std::string temporary_name(const std::string& path) {
    std::filesystem::path p(path);
    std::random_device random;
    return (p.parent_path() / ("." + p.filename().string() + ".tmp." + std::to_string(::getpid()) +
                               "." + std::to_string(random())))
        .string();
}

void write_all(int fd, const std::string& content, const std::string& path) {
    std::size_t done = 0;
    while (done < content.size()) {
        auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw file_error("cannot write", path, errno);
        done += static_cast<std::size_t>(n);
    }
}

void sync_directory(const std::string& directory) {
    net::Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& content, int mode) {
    auto temporary = temporary_name(path);
    net::Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                      static_cast<mode_t>(mode)));
    if (!fd) throw file_error("cannot create", temporary, errno);
    try {
        write_all(fd.get(), content, temporary);
        if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0 || ::fsync(fd.get()) != 0) {
            throw file_error("cannot sync", temporary, errno);
        }
        fd.reset();
        if (::rename(temporary.c_str(), path.c_str()) != 0) {
            throw file_error("cannot rename to", path, errno);
        }
    } catch (...) {
        ::unlink(temporary.c_str());
        throw;
    }
    sync_directory(std::filesystem::path(path).parent_path().string());
}

std::optional<std::string> read_file(const std::string& path) {
    net::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd && errno == ENOENT) return std::nullopt;
    if (!fd) throw file_error("cannot open", path, errno);
    std::string content;
    char buffer[8192];
    for (;;) {
        auto n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw file_error("cannot read", path, errno);
        if (n == 0) break;
        content.append(buffer, static_cast<std::size_t>(n));
    }
    return content;
}

void make_directories(const std::string& path) {
    std::error_code error;
    std::filesystem::create_directories(path, error);
    if (error) throw file_error("cannot create directory", path, error.value());
}

}  // namespace natkit::control
