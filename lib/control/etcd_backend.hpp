// The etcd control plane: PREFIX NETWORK/nodes/ID with a lease per node, a prefix range for
// fetch, the watch stream for watch, and a transaction per address allocation
// (PREFIX NETWORK/alloc/node/ID -> address, PREFIX NETWORK/alloc/addr/ADDRESS -> ID).
#pragma once

#include "control/backend.hpp"
#include "control/etcd_client.hpp"

namespace natkit::control {

class EtcdBackend : public Backend {
  public:
    EtcdBackend(EtcdConfig config, std::string prefix, std::string network, io::Log& log);

    void publish(const std::string& id, const std::string& record,
                 std::chrono::seconds ttl) override;
    bool keep_alive(const std::string& id) override;
    std::vector<StoredNode> fetch() override;
    void watch(const WatchCallback& callback) override;
    net::IpAddress allocate(const std::string& id, const net::Prefix& range) override;
    bool expires_by_timestamp() const override { return false; }

  private:
    std::string node_key(const std::string& id) const;
    std::optional<std::string> lease_of(const std::string& key);
    std::int64_t refresh_lease(const std::string& lease);  // the TTL left, 0 when gone
    std::string grant_lease(std::chrono::seconds ttl);
    std::int64_t current_revision();

    EtcdClient client_;
    std::string base_;  // PREFIX NETWORK/
    io::Log& log_;
};

}  // namespace natkit::control
