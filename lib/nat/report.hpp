// The nat.report record: what nat-classify concluded about one node's NAT.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/ndjson.hpp"
#include "net/endpoint.hpp"

namespace natkit::nat {

// RFC 4787 words for mapping and filtering.
inline constexpr const char* kEndpointIndependent = "endpoint-independent";
inline constexpr const char* kAddressDependent = "address-dependent";
inline constexpr const char* kAddressAndPortDependent = "address-and-port-dependent";
inline constexpr const char* kUnknown = "unknown";

// The verdict for a pair of nodes (see man/nat-classify.1, PAIR VERDICT).
struct PairVerdict {
    std::string verdict;  // direct | punch | punch-with-prediction | relay
    std::string rule;     // why, in words
    std::optional<std::string> peer_nat_type;
    std::optional<net::Endpoint> peer_public;
};

struct NatReport {
    std::optional<net::Endpoint> local;
    std::optional<net::Endpoint> public_endpoint;  // "public" in JSON
    std::optional<bool> behind_nat;
    std::string mapping = kUnknown;
    std::string filtering = kUnknown;
    std::string nat_type = kUnknown;  // open, full-cone, restricted-cone, port-restricted-cone,
                                      // symmetric, udp-blocked, unknown
    std::optional<bool> port_preserving;
    std::optional<bool> hairpinning;
    // Binding lifetime (--lifetime): a mapping left idle this long still worked / was gone.
    std::optional<std::int64_t> lifetime_alive_ms;
    std::optional<std::int64_t> lifetime_gone_ms;
    int servers_used = 0;
    std::optional<double> elapsed_ms;
    std::vector<std::string> reasons;  // why something is unknown (or how it was decided)
    std::optional<PairVerdict> pair;
};

io::json to_json(const NatReport& report);
// For --peer FILE: validates a nat.report (field and line named on error).
NatReport nat_report_from_json(const io::InputRecord& record, const std::string& source);

}  // namespace natkit::nat
