#include "control/etcd_client.hpp"

#include <curl/curl.h>

#include <exception>


#include "io/base64.hpp"
#include "io/error.hpp"

namespace natkit::control {

namespace {

struct CurlDeleter {
    void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct HeadersDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using HeadersPtr = std::unique_ptr<curl_slist, HeadersDeleter>;

// A transport failure: the member did not answer (try the next one).
struct Unreachable {
    std::string message;
    bool tls = false;  // the TLS handshake failed: a certificate problem, not a dead member
};

bool is_tls_failure(CURLcode code) {
    return code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CONNECT_ERROR ||
           code == CURLE_SSL_CERTPROBLEM || code == CURLE_SSL_CACERT_BADFILE ||
           code == CURLE_SSL_CIPHER;
}

struct Answer {
    long status = 0;
    std::string body;
};

struct StreamState {
    const StreamCallback* callback = nullptr;
    std::exception_ptr failure;  // thrown by the callback; rethrown once curl has returned
    std::string buffer;
    std::string error_body;
    bool stopped = false;
    bool ok_status = true;
    CURL* curl = nullptr;
};

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

// Exceptions must not cross libcurl's C frames: they stop the transfer and wait.
StreamStep call_back(StreamState& s, const io::json* message) {
    try {
        if ((*s.callback)(message) == StreamStep::more) return StreamStep::more;
    } catch (...) {
        s.failure = std::current_exception();
    }
    s.stopped = true;
    return StreamStep::stop;
}

bool feed_lines(StreamState& s) {
    std::size_t newline;
    while ((newline = s.buffer.find('\n')) != std::string::npos) {
        auto line = s.buffer.substr(0, newline);
        s.buffer.erase(0, newline + 1);
        if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
        auto message = io::json::parse(line, nullptr, false);
        if (message.is_discarded()) continue;
        if (message.contains("error")) {
            s.error_body = line;
            return false;
        }
        const auto& result = message.contains("result") ? message["result"] : message;
        if (call_back(s, &result) == StreamStep::stop) return false;
    }
    return true;
}

std::size_t stream_write(char* data, std::size_t size, std::size_t count, void* user) {
    auto& s = *static_cast<StreamState*>(user);
    long status = 0;
    curl_easy_getinfo(s.curl, CURLINFO_RESPONSE_CODE, &status);
    s.buffer.append(data, size * count);
    if (status != 200) {
        s.ok_status = false;
        s.error_body = s.buffer;
        return size * count;
    }
    return feed_lines(s) ? size * count : 0;
}

int stream_tick(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto& s = *static_cast<StreamState*>(user);
    if (s.stopped) return 1;
    return call_back(s, nullptr) == StreamStep::stop ? 1 : 0;
}

std::string etcd_error(const std::string& body) {
    auto j = io::json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) {
        return j["error"].get<std::string>();
    }
    if (j.is_object() && j.contains("message") && j["message"].is_string()) {
        return j["message"].get<std::string>();
    }
    return body.substr(0, 200);
}

int grpc_code(const std::string& body) {
    auto j = io::json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("code") && j["code"].is_number_integer()) {
        return j["code"].get<int>();
    }
    return -1;
}

}  // namespace

struct EtcdClient::Handle {
    CurlPtr curl{curl_easy_init()};
};

std::vector<std::string> etcd_members(std::string_view url) {
    std::string scheme;
    if (url.starts_with("etcd://")) {
        scheme = "http://";
        url.remove_prefix(7);
    } else if (url.starts_with("etcds://")) {
        scheme = "https://";
        url.remove_prefix(8);
    } else {
        throw usage_error("not an etcd URL: " + std::string(url));
    }
    while (!url.empty() && url.back() == '/') url.remove_suffix(1);
    std::vector<std::string> members;
    while (!url.empty()) {
        auto comma = url.find(',');
        auto member = url.substr(0, comma);
        if (member.empty() || member.find('/') != std::string_view::npos) {
            throw usage_error("bad etcd member '" + std::string(member) +
                              "' in --control (expected etcd://HOST[:PORT],HOST[:PORT]...)");
        }
        auto host_port = net::split_host_port(member, 2379);
        if (!host_port) throw usage_error("bad etcd member '" + std::string(member) + "'");
        bool v6 = host_port->host.find(':') != std::string::npos;
        members.push_back(scheme + (v6 ? "[" + host_port->host + "]" : host_port->host) + ":" +
                          std::to_string(host_port->port));
        if (comma == std::string_view::npos) break;
        url.remove_prefix(comma + 1);
    }
    if (members.empty()) throw usage_error("no etcd member in --control");
    return members;
}

EtcdClient::EtcdClient(EtcdConfig config, io::Log& log)
    : handle_(std::make_unique<Handle>()), config_(std::move(config)), log_(log) {
    if (!handle_->curl) throw Error(ExitCode::failure, "cannot initialise libcurl");
}

EtcdClient::~EtcdClient() = default;

namespace {

void setup(CURL* curl, const EtcdConfig& config, const std::string& url, const std::string& body,
           curl_slist* headers) {
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 5L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 2L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (config.ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, config.ca_file->c_str());
    if (config.cert_file) curl_easy_setopt(curl, CURLOPT_SSLCERT, config.cert_file->c_str());
    if (config.key_file) curl_easy_setopt(curl, CURLOPT_SSLKEY, config.key_file->c_str());
}

HeadersPtr headers_for(const std::optional<std::string>& token) {
    curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
    if (token) list = curl_slist_append(list, ("Authorization: " + *token).c_str());
    return HeadersPtr(list);
}

Answer perform(CURL* curl, const EtcdConfig& config, const std::string& url,
               const std::string& body, const std::optional<std::string>& token) {
    auto headers = headers_for(token);
    setup(curl, config, url, body, headers.get());
    Answer answer;
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(config.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
    auto result = curl_easy_perform(curl);
    if (result != CURLE_OK) throw Unreachable{curl_easy_strerror(result), is_tls_failure(result)};
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
    return answer;
}

// The member cannot serve now (shutting down, no leader, timed out): try the next one.
bool is_member_trouble(long status, const std::string& body) {
    if (status == 502 || status == 503 || status == 504) return true;
    int code = grpc_code(body);
    if (code == 1 || code == 4 || code == 14) return true;
    auto message = etcd_error(body);
    for (const char* sign : {"connection is closing", "no leader", "leader changed", "timed out",
                             "transport is closing"}) {
        if (message.find(sign) != std::string::npos) return true;
    }
    return false;
}

bool is_auth_failure(long status, const std::string& body) {
    int code = grpc_code(body);
    if (status == 401 || status == 403 || code == 7 || code == 16) return true;
    auto message = etcd_error(body);
    for (const char* sign : {"permission denied", "user name is empty", "authentication failed",
                             "invalid auth token"}) {
        if (message.find(sign) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

void EtcdClient::authenticate() {
    if (!config_.user || !config_.password) return;
    io::json body = {{"name", *config_.user}, {"password", *config_.password}};
    token_.reset();
    auto answer = call("auth/authenticate", body);
    if (!answer.contains("token") || !answer["token"].is_string()) {
        throw permission_error("etcd gave no token for user '" + *config_.user + "'");
    }
    token_ = answer["token"].get<std::string>();
}

io::json EtcdClient::call(const std::string& path, const io::json& body) {
    if (config_.user && !token_ && path != "auth/authenticate") authenticate();
    auto text = body.dump();
    std::string failures;
    bool reauthenticated = false;
    bool all_tls = true;
    for (std::size_t tried = 0; tried < config_.members.size(); ++tried) {
        const auto& member = config_.members[member_];
        try {
            auto answer = perform(handle_->curl.get(), config_, member + "/v3/" + path, text,
                                  path == "auth/authenticate" ? std::nullopt : token_);
            if (answer.status == 200) {
                auto j = io::json::parse(answer.body, nullptr, false);
                if (j.is_discarded()) throw Unreachable{"not JSON: " + answer.body.substr(0, 80)};
                return j;
            }
            auto message = etcd_error(answer.body);
            bool token_expired = message.find("invalid auth token") != std::string::npos;
            if (token_expired && !reauthenticated && config_.user) {
                reauthenticated = true;
                authenticate();
                --tried;
                continue;
            }
            if (is_auth_failure(answer.status, answer.body)) {
                throw permission_error("etcd refused " + path + ": " + message +
                                       " (check --user, --password-file and the user's roles)");
            }
            if (is_member_trouble(answer.status, answer.body)) throw Unreachable{message};
            throw Error(ExitCode::failure, "etcd " + path + " failed: " + message);
        } catch (const Unreachable& e) {
            log_.debug("etcd member " + member + ": " + e.message);
            failures += (failures.empty() ? "" : "; ") + member + ": " + e.message;
            all_tls = all_tls && e.tls;
            member_ = (member_ + 1) % config_.members.size();
        }
    }
    if (all_tls) {
        throw permission_error("no etcd member accepted our TLS connection (" + failures +
                               "); check --cacert, --cert and --key");
    }
    throw unavailable_error("no etcd member answered (" + failures + ")");
}

void EtcdClient::stream(const std::string& path, const io::json& body,
                        const StreamCallback& callback) {
    if (config_.user && !token_) authenticate();
    const auto& member = config_.members[member_];
    auto text = body.dump();
    auto headers = headers_for(token_);
    // A handle of its own: the callback makes unary calls while the stream is open.
    CurlPtr stream_handle(curl_easy_init());
    if (!stream_handle) throw Error(ExitCode::failure, "cannot initialise libcurl");
    CURL* curl = stream_handle.get();
    setup(curl, config_, member + "/v3/" + path, text, headers.get());
    StreamState state{&callback, nullptr, {}, {}, false, true, curl};
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, stream_tick);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &state);
    auto result = curl_easy_perform(curl);
    if (state.failure) std::rethrow_exception(state.failure);
    if (state.stopped) return;
    member_ = (member_ + 1) % config_.members.size();
    if (!state.error_body.empty()) {
        auto message = etcd_error(state.error_body);
        if (message.find("invalid auth token") != std::string::npos) token_.reset();
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (is_auth_failure(status, state.error_body) && !token_) {
            throw unavailable_error("etcd watch: " + message);
        }
        if (is_auth_failure(status, state.error_body)) {
            throw permission_error("etcd refused the watch: " + message);
        }
        throw unavailable_error("etcd watch on " + member + " ended: " + message);
    }
    throw unavailable_error("etcd watch on " + member + " ended: " +
                            (result == CURLE_OK ? "closed" : curl_easy_strerror(result)));
}

std::string to_base64(std::string_view text) {
    return io::base64_encode(
        std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::string from_base64(const io::json& value) {
    if (!value.is_string()) return {};
    auto bytes = io::base64_decode(value.get_ref<const std::string&>());
    if (!bytes) return {};
    return std::string(bytes->begin(), bytes->end());
}

std::string prefix_end(std::string prefix) {
    while (!prefix.empty()) {
        auto& last = prefix.back();
        if (static_cast<unsigned char>(last) != 0xff) {
            last = static_cast<char>(static_cast<unsigned char>(last) + 1);
            return prefix;
        }
        prefix.pop_back();
    }
    return std::string(1, '\0');
}

}  // namespace natkit::control
