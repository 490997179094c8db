// The `nat.report` records `peer-sync report` reads on stdin: the node's public endpoint and
// NAT behaviour. Other record kinds are passed over; a malformed nat.report is bad input.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "io/ndjson.hpp"
#include "io/peer_set.hpp"

namespace natkit::control {

struct NatInput {
    std::optional<net::Endpoint> public_endpoint;
    std::optional<net::Endpoint> local;
    std::optional<io::PeerNat> nat;
};

// Validates one nat.report; throws data_error naming line and field.
NatInput nat_input_from_json(const io::InputRecord& record, const std::string& source);
// Reads the whole stream; the last nat.report wins. Everything is validated before it returns.
NatInput read_nat_input(std::istream& in, const std::string& source);

}  // namespace natkit::control
