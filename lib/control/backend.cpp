#include "control/backend.hpp"

#include "control/etcd_backend.hpp"
#include "control/file_backend.hpp"
#include "control/node_record.hpp"
#include "io/secret_file.hpp"
#include "io/error.hpp"

namespace natkit::control {

namespace {

EtcdConfig etcd_config(const ControlOptions& o) {
    EtcdConfig config;
    config.members = etcd_members(o.url);
    config.timeout = o.timeout;
    if (o.user.has_value() != o.password_file.has_value()) {
        throw usage_error("--user and --password-file go together");
    }
    config.user = o.user;
    if (o.password_file)
        config.password = io::read_secret_file(*o.password_file, o.insecure_permissions);
    if (o.cert_file.has_value() != o.key_file.has_value()) {
        throw usage_error("--cert and --key go together");
    }
    if (o.key_file) io::check_secret_file(*o.key_file, o.insecure_permissions);
    config.ca_file = o.ca_file;
    config.cert_file = o.cert_file;
    config.key_file = o.key_file;
    return config;
}

}  // namespace

std::unique_ptr<Backend> open_backend(const ControlOptions& options, io::Log& log) {
    if (!is_valid_name(options.network)) {
        throw usage_error("--network must be 1 to 64 of A-Z a-z 0-9 . _ - (got '" +
                          options.network + "')");
    }
    const auto& url = options.url;
    if (url.starts_with("file://")) {
        auto path = url.substr(7);
        if (path.empty() || path[0] != '/') {
            throw usage_error(
                "--control file:// needs an absolute path, e.g. "
                "file:///var/lib/natkit/control");
        }
        while (path.size() > 1 && path.back() == '/') path.pop_back();
        return std::make_unique<FileBackend>(path, options.network);
    }
    if (url.starts_with("etcd://") || url.starts_with("etcds://")) {
        if (options.prefix.empty() || options.prefix.back() != '/') {
            throw usage_error("--etcd-prefix must end with '/'");
        }
        return std::make_unique<EtcdBackend>(etcd_config(options), options.prefix, options.network,
                                             log);
    }
    throw usage_error("--control must be file:///PATH, etcd://HOST:PORT,... or etcds://..., not '" +
                      url + "'");
}

}  // namespace natkit::control
