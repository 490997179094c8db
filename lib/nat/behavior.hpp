// RFC 5780 NAT behaviour discovery against STUN servers that report OTHER-ADDRESS: the
// mapping tests (I-III), the filtering tests (CHANGE-REQUEST for address+port, for port
// only) and hairpinning, all at once. Tests that would bias each other use separate local
// sockets; a filtering "no answer" is decided after a wait derived from the measured RTT.
#pragma once

#include <chrono>
#include <vector>

#include "io/log.hpp"
#include "stun/probe.hpp"

namespace natkit::nat {

struct BehaviorOptions {
    std::chrono::milliseconds timeout{3000};  // overall deadline
    // A filtering or hairpin test that got no answer within max(floor, rtts * RTT of the
    // binding test) of its start has failed: retransmissions went out every 100 ms meanwhile.
    std::chrono::milliseconds no_answer_floor{300};
    int no_answer_rtts = 6;
    stun::RetransmitPolicy retransmit{std::chrono::milliseconds(100), 7, 16};
    bool hairpin = true;
    // Binding lifetime (slow, opt-in): idle times 1 s, 2 s, 4 s ... up to this; 0 = off.
    std::chrono::milliseconds lifetime_max{0};
};

// Runs the tests against every server; `emit` gets one stun.binding record per test as it
// finishes (test: binding, mapping-2, mapping-3, filtering-2, filtering-3, hairpin, and
// with lifetime_max one `lifetime` record per idle time tried, with idle_ms). The
// mapping tests leave from `mapping_port` (WireGuard's port, raw if held); the others from
// fresh ephemeral sockets. Returns the number of servers whose binding test was answered.
int run_behavior(const stun::LocalPort& mapping_port, const std::vector<stun::ProbeTarget>& servers,
                 const BehaviorOptions& options, const stun::BindingSink& emit, io::Log& log);

}  // namespace natkit::nat
