#include "punch/secret.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "io/error.hpp"

namespace natkit::punch {

std::vector<std::uint8_t> read_secret(const std::string& path, bool insecure_permissions) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) {
        throw permission_error("cannot read the secret file " + path + ": " +
                               std::strerror(errno));
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 && !insecure_permissions) {
        throw permission_error("the secret file " + path +
                               " is accessible by group or other: chmod 600 it (or pass "
                               "--insecure-permissions)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw permission_error("cannot open the secret file " + path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.size() < 16) {
        throw Error(ExitCode::data, "the secret file " + path +
                                        " holds fewer than 16 bytes: put a long random secret "
                                        "in it (head -c 32 /dev/urandom | base64)");
    }
    return {text.begin(), text.end()};
}

}  // namespace natkit::punch
