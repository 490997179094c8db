#include "io/records.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <string_view>

#include "io/error.hpp"

namespace natkit::io {

namespace {

constexpr std::string_view kStunBinding = "stun.binding";
constexpr std::array<std::string_view, 7> kTests = {
    "binding", "mapping-2", "mapping-3", "filtering-2", "filtering-3", "hairpin", "lifetime"};
constexpr std::array<std::string_view, 4> kTransports = {"udp", "tcp", "tls", "dtls"};
constexpr std::array<std::string_view, 2> kModes = {"socket", "raw"};
constexpr std::array<std::string_view, 7> kErrors = {
    "timeout",    "unreachable", "bad-response", "error-response",
    "unresolved", "send-failed", "unsupported"};
constexpr std::array<std::string_view, 17> kStunBindingFields = {
    "kind",   "server",          "server_name",     "test",          "local",
    "mapped", "response_origin", "response_source", "other_address", "idle_ms",
    "rtt_ms", "software",        "transport",       "mode",          "attempts",
    "error",  "detail"};

double round_to_tenth(double value) {
    if (!std::isfinite(value) || std::fabs(value) > 1e12) return value;
    return std::round(value * 10) / 10;
}


template <std::size_t N>
std::string one_of(const InputRecord& r, const std::string& source, std::string_view field,
                   const std::array<std::string_view, N>& allowed, std::string_view fallback) {
    auto value = optional_string(r, source, field);
    if (!value) return std::string(fallback);
    if (std::find(allowed.begin(), allowed.end(), *value) != allowed.end()) return *value;
    std::string list;
    for (auto name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
    throw data_error(source, r.line, std::string(field),
                     "expected one of " + list + ", got " + describe(json(*value)));
}

template <std::size_t N>
std::optional<std::string> optional_one_of(const InputRecord& r, const std::string& source,
                                           std::string_view field,
                                           const std::array<std::string_view, N>& allowed) {
    if (!optional_string(r, source, field)) return std::nullopt;
    return one_of(r, source, field, allowed, "");
}

std::string server_name(const InputRecord& r, const std::string& source,
                        const std::optional<net::Endpoint>& server) {
    auto name = optional_string(r, source, "server_name");
    if (!name && server) return server->to_string();
    if (!name) throw data_error(source, r.line, "server_name", "missing (and no \"server\")");
    if (name->empty()) throw data_error(source, r.line, "server_name", "must not be empty");
    return *name;
}

std::optional<double> rtt(const InputRecord& r, const std::string& source) {
    auto value = optional_number(r, source, "rtt_ms");
    if (value && !(*value >= 0)) {
        throw data_error(
            source, r.line, "rtt_ms",
            "expected a round-trip time in ms (0 or more), got " + describe(json(*value)));
    }
    return value;
}

int attempts(const InputRecord& r, const std::string& source) {
    auto value = optional_integer(r, source, "attempts");
    if (value && (*value < 0 || *value > INT_MAX)) {
        throw data_error(source, r.line, "attempts",
                         "expected a count of requests (0 or more), got " + describe(json(*value)));
    }
    return value ? static_cast<int>(*value) : 0;
}

json unknown_fields(const json& record) {
    json extra = json::object();
    for (const auto& [key, value] : record.items()) {
        if (std::find(kStunBindingFields.begin(), kStunBindingFields.end(), key) ==
            kStunBindingFields.end()) {
            extra[key] = value;
        }
    }
    return extra;
}

}  // namespace

json to_json(const StunBinding& b) {
    json j = json::object();
    j["kind"] = kStunBinding;
    put_optional(j, "server", b.server);
    j["server_name"] = b.server_name;
    j["test"] = b.test;
    put_optional(j, "local", b.local);
    put_optional(j, "mapped", b.mapped);
    put_optional(j, "response_origin", b.response_origin);
    put_optional(j, "response_source", b.response_source);
    put_optional(j, "other_address", b.other_address);
    if (b.idle_ms) j["idle_ms"] = *b.idle_ms;
    if (b.rtt_ms && std::isfinite(*b.rtt_ms)) j["rtt_ms"] = round_to_tenth(*b.rtt_ms);
    put_optional(j, "software", b.software);
    j["transport"] = b.transport;
    j["mode"] = b.mode;
    j["attempts"] = b.attempts;
    put_optional(j, "error", b.error);
    put_optional(j, "detail", b.detail);
    if (b.extra.is_object()) {
        for (const auto& [key, value] : b.extra.items()) {
            if (!j.contains(key)) j[key] = value;
        }
    }
    return j;
}

StunBinding stun_binding_from_json(const InputRecord& r, const std::string& source) {
    auto kind = require_string(r, source, "kind");
    if (kind != kStunBinding) {
        throw data_error(source, r.line, "kind",
                         "expected \"stun.binding\", got " + describe(json(kind)));
    }
    StunBinding b;
    b.server = optional_endpoint(r, source, "server");
    b.server_name = server_name(r, source, b.server);
    b.test = one_of(r, source, "test", kTests, "binding");
    b.local = optional_endpoint(r, source, "local");
    b.mapped = optional_endpoint(r, source, "mapped");
    b.response_origin = optional_endpoint(r, source, "response_origin");
    b.response_source = optional_endpoint(r, source, "response_source");
    b.other_address = optional_endpoint(r, source, "other_address");
    b.idle_ms = optional_integer(r, source, "idle_ms");
    if (b.idle_ms && *b.idle_ms < 0) {
        throw data_error(source, r.line, "idle_ms", "must not be negative");
    }
    b.rtt_ms = rtt(r, source);
    b.software = optional_string(r, source, "software");
    b.transport = one_of(r, source, "transport", kTransports, "udp");
    b.mode = one_of(r, source, "mode", kModes, "socket");
    b.attempts = attempts(r, source);
    b.error = optional_one_of(r, source, "error", kErrors);
    b.detail = optional_string(r, source, "detail");
    b.extra = unknown_fields(r.value);
    return b;
}

}  // namespace natkit::io
