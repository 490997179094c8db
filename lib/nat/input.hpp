// nat-classify's inputs: stun.binding records from a stream, a probe of its own, and the
// peer's nat.report from a file.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "io/log.hpp"
#include "nat/behavior.hpp"
#include "nat/classify.hpp"

namespace natkit::nat {

// The stun.binding records of an NDJSON stream (other kinds are passed over). Throws a
// data error (65) for malformed input, and when the stream holds no stun.binding at all.
std::vector<Observation> read_observations(std::istream& in, const std::string& source);

// Runs the RFC 5780 tests itself and classifies them; elapsed_ms is the probe's wall time.
NatReport probe_and_classify(const stun::LocalPort& port,
                             const std::vector<stun::ProbeTarget>& servers,
                             const BehaviorOptions& options, io::Log& log);

// Reads the first nat.report of FILE. Usage error (2) when FILE cannot be read; data error
// (65) when it holds no valid nat.report.
NatReport read_peer_report(const std::string& path);

}  // namespace natkit::nat
