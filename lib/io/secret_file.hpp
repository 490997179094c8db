// Secrets (the etcd password, TLS keys, the punch network secret) come only from files that only their owner can read.
#pragma once

#include <string>

namespace natkit::io {

// Throws natkit::Error: no_permission (77) when the file is readable by group or other (unless
// `insecure_permissions`) or cannot be read; data (65) when empty. Strips one trailing newline.
std::string read_secret_file(const std::string& path, bool insecure_permissions);
// The permission check alone (for files handed to libraries, such as a TLS key).
void check_secret_file(const std::string& path, bool insecure_permissions);

}  // namespace natkit::io
