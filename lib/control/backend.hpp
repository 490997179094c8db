// One interface over the control planes peer-sync talks to: a directory, or etcd.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/log.hpp"
#include "net/endpoint.hpp"
#include "net/prefix.hpp"

namespace natkit::control {

// One node's record as stored (its JSON text), and where it came from (for warnings).
struct StoredNode {
    std::string where;  // file path or etcd key
    std::string text;
};

// What a watch callback is told, and what it answers.
enum class WatchEvent { changed, timer };
struct WatchNext {
    bool stop = false;
    std::optional<std::chrono::milliseconds> wake_after;  // call again with `timer` by then
};
using WatchCallback = std::function<WatchNext(WatchEvent)>;

class Backend {
  public:
    virtual ~Backend() = default;
    // Stores this node's record; it lives for `ttl` unless published or kept alive again.
    // Every method throws natkit::Error: unavailable (69) when the control plane cannot be
    // reached, no_permission (77) when it refuses us.
    virtual void publish(const std::string& id, const std::string& record,
                         std::chrono::seconds ttl) = 0;
    // Keeps a published record alive without rewriting it (etcd: its lease). False when that
    // cannot be done (the record is gone, or expires by its timestamp): publish it again.
    virtual bool keep_alive(const std::string& id) = 0;
    virtual std::vector<StoredNode> fetch() = 0;
    // Blocks, calling `callback(changed)` after every change to the network's records and
    // `callback(timer)` when its last `wake_after` has passed, until it answers stop.
    virtual void watch(const WatchCallback& callback) = 0;
    // A unique address from `range` for node `id`, the same one on every call.
    virtual net::IpAddress allocate(const std::string& id, const net::Prefix& range) = 0;
    // Whether records expire by their timestamp (file) rather than by the store (etcd leases).
    virtual bool expires_by_timestamp() const = 0;
};

struct ControlOptions {
    std::string url = "file:///var/lib/natkit/control";
    std::string network = "default";
    std::chrono::milliseconds timeout{5000};  // per request to the control plane
    // etcd
    std::optional<std::string> user;
    std::optional<std::string> password_file;
    std::optional<std::string> ca_file;
    std::optional<std::string> cert_file;
    std::optional<std::string> key_file;
    std::string prefix = "/natkit/";
    bool insecure_permissions = false;
};

// file:///path, etcd://h1:2379,h2:2379, etcds://... Throws usage_error for anything else.
std::unique_ptr<Backend> open_backend(const ControlOptions& options, io::Log& log);

}  // namespace natkit::control
