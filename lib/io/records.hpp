// Typed records <-> JSON (the pipe contract, /work/shared/design/contracts.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "io/ndjson.hpp"
#include "net/endpoint.hpp"

namespace natkit::io {

// stun.binding: the answer (or failure) of one STUN test against one server.
struct StunBinding {
    std::string server_name;              // what the user gave, e.g. "stun.example.net:3478"
    std::optional<net::Endpoint> server;  // resolved address (absent if unresolved)
    // or mapping-2, mapping-3, filtering-2, filtering-3, hairpin, lifetime
    std::string test = "binding";
    std::optional<net::Endpoint> local;
    std::optional<net::Endpoint> mapped;
    std::optional<net::Endpoint> response_origin;  // RESPONSE-ORIGIN, as the server claims
    std::optional<net::Endpoint> response_source;  // where the answer really came from, when
                                                   // that is not `server` (RFC 5780 tests)
    std::optional<net::Endpoint> other_address;
    std::optional<std::int64_t> idle_ms;  // lifetime test: how long the mapping was left idle
    std::optional<double> rtt_ms;
    std::optional<std::string> software;
    std::string transport = "udp";  // or tcp, tls, dtls
    std::string mode = "socket";    // or "raw"
    int attempts = 0;               // requests sent
    // timeout, unreachable, bad-response, error-response, unresolved, send-failed,
    // unsupported (the server cannot run this RFC 5780 test: no OTHER-ADDRESS)
    std::optional<std::string> error;
    std::optional<std::string> detail;  // e.g. "ICMP port unreachable", "420 Unknown Attribute"
    json extra = json::object();        // unknown input fields, passed through on output

    friend bool operator==(const StunBinding&, const StunBinding&) = default;
};

// Fields in contract order, absent optionals omitted, rtt_ms rounded to 0.1, then `extra`.
json to_json(const StunBinding& binding);
// Validates kind == "stun.binding" and every field's type and format; errors name the field and
// the record's line. Unknown fields go to `extra`. server_name defaults to server.
StunBinding stun_binding_from_json(const InputRecord& record, const std::string& source);

}  // namespace natkit::io
