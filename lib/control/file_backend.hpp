// The directory control plane: ROOT/NETWORK/nodes/ID.json, one file per node, written
// atomically; allocations in ROOT/NETWORK/alloc/ID under a lock; watch through inotify.
#pragma once

#include "control/backend.hpp"

namespace natkit::control {

class FileBackend : public Backend {
  public:
    // ROOT must exist (a missing directory is an unavailable control plane: exit 69).
    FileBackend(std::string root, std::string network);

    void publish(const std::string& id, const std::string& record,
                 std::chrono::seconds ttl) override;
    bool keep_alive(const std::string&) override { return false; }
    std::vector<StoredNode> fetch() override;
    void watch(const WatchCallback& callback) override;
    net::IpAddress allocate(const std::string& id, const net::Prefix& range) override;
    bool expires_by_timestamp() const override { return true; }

  private:
    std::string nodes_directory() const;
    std::string alloc_directory() const;
    void check_root() const;

    std::string root_;
    std::string network_;
};

}  // namespace natkit::control
