// Files written so that a concurrent reader sees the old content or the new, never a mix:
// a temporary file in the same directory, fsync, rename, fsync of the directory.
#pragma once

#include <optional>
#include <string>

namespace natkit::control {

// Throws natkit::Error: unavailable (69) on I/O errors, no_permission (77) on EACCES/EPERM.
void write_file_atomically(const std::string& path, const std::string& content, int mode = 0644);
// nullopt when the file does not exist; throws as above on other errors.
std::optional<std::string> read_file(const std::string& path);
// mkdir -p; throws as above.
void make_directories(const std::string& path);

}  // namespace natkit::control
