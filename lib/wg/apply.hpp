// wg-apply's job: read peer-set records, validate them, plan against the live device, write the
// plan through a Backend and report each apply as a wg.apply record.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "io/log.hpp"
#include "io/ndjson.hpp"
#include "io/peer_set.hpp"
#include "wg/backend.hpp"
#include "wg/plan.hpp"

namespace natkit::wg {

struct ApplyOptions {
    std::string interface;
    PlanOptions plan;
    bool dry_run = false;  // read and plan, write nothing
    bool follow = false;   // apply each peer-set as it arrives, until the input ends
};

// The peers a set wants. Throws natkit::data_error naming `source`, `line` and the field
// ("peers[4].allowed_ips[0]") for a prefix claimed by two peers or a key given twice.
std::vector<DesiredPeer> desired_peers(const io::PeerSet& set, const std::string& source,
                                       std::size_t line);

// The wg.apply record (contracts.md), plus kept_endpoints, moved_allowed_ips, not_in_set and
// writes (peer entries sent to the device; 0 when nothing was written).
io::json apply_record(const Plan& plan, const std::string& interface, std::string_view backend,
                      const std::string& network, bool dry_run, double elapsed_ms);

// Reads records from `input`, acting on kind "peer-set" and passing over other kinds.
// Without follow, the whole input is read and every peer-set validated first; then the last
// one is applied (earlier ones are superseded). With follow, each is validated and applied as
// it arrives. Throws natkit::Error: data (65) for bad input, before anything is written for that
// set; failure (1) for a missing interface, a refused prune, or a write the device rejected.
void run_apply(io::NdjsonReader& input, Backend& backend, const ApplyOptions& options,
               io::RecordWriter& out, io::Log& log);

}  // namespace natkit::wg
