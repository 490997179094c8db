#include "punch/secret.hpp"

#include "io/error.hpp"
#include "io/secret_file.hpp"

namespace natkit::punch {

std::vector<std::uint8_t> read_secret(const std::string& path, bool insecure_permissions) {
    auto text = io::read_secret_file(path, insecure_permissions);
    if (text.size() < 16) {
        throw Error(ExitCode::data, "the secret file " + path +
                                        " holds fewer than 16 bytes: put a long random secret "
                                        "in it (head -c 32 /dev/urandom | base64)");
    }
    return {text.begin(), text.end()};
}

}  // namespace natkit::punch
