// The network's shared secret, read only from a file that only its owner can read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace natkit::punch {

// Throws natkit::Error: no_permission (77) when the file is readable by group or other (unless
// `insecure_permissions`) or cannot be read; data (65) when it is empty or shorter than 16
// bytes. One trailing newline is not part of the secret.
std::vector<std::uint8_t> read_secret(const std::string& path, bool insecure_permissions);

}  // namespace natkit::punch
