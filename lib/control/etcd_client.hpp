// etcd v3 through its JSON gateway (grpc-gateway) over libcurl: unary calls and streams, with
// failover across the listed members, token auth and TLS.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/log.hpp"
#include "io/ndjson.hpp"

namespace natkit::control {

struct EtcdConfig {
    std::vector<std::string> members;  // base URLs: http://h1:2379, https://h2:2379
    std::chrono::milliseconds timeout{3000};
    std::optional<std::string> user;
    std::optional<std::string> password;
    std::optional<std::string> ca_file;
    std::optional<std::string> cert_file;
    std::optional<std::string> key_file;
};

// etcd://h1:2379,h2 -> {http://h1:2379, http://h2:2379}; etcds:// -> https. Throws usage_error.
std::vector<std::string> etcd_members(std::string_view url);

// What a stream callback answers for each message (or each idle tick, with a null message).
enum class StreamStep { more, stop };
using StreamCallback = std::function<StreamStep(const io::json* message)>;

class EtcdClient {
  public:
    EtcdClient(EtcdConfig config, io::Log& log);
    ~EtcdClient();
    EtcdClient(const EtcdClient&) = delete;
    EtcdClient& operator=(const EtcdClient&) = delete;

    // POST /v3/<path>; returns the JSON answer. Tries each member until one answers; throws
    // unavailable (69) when none does, no_permission (77) when etcd refuses, failure (1) on
    // other errors etcd reports.
    io::json call(const std::string& path, const io::json& body);
    // A streamed POST (watch): every message (the "result" of each line) goes to `callback`, and
    // a null message about once a second while idle. Returns when the callback says stop;
    // throws unavailable when the stream breaks (the caller reconnects).
    void stream(const std::string& path, const io::json& body, const StreamCallback& callback);

  private:
    struct Handle;
    void authenticate();
    std::unique_ptr<Handle> handle_;
    EtcdConfig config_;
    io::Log& log_;
    std::size_t member_ = 0;  // the member that answered last
    std::optional<std::string> token_;
};

// Standard base64 of a string (etcd keys and values) and back.
std::string to_base64(std::string_view text);
std::string from_base64(const io::json& value);
// The end of a prefix range: the prefix with its last byte plus one.
std::string prefix_end(std::string prefix);

}  // namespace natkit::control
