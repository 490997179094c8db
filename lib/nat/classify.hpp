// The pure classifier: stun.binding records (from stun-probe, plain or --behavior) in, one
// nat.report out. It never guesses: what the records cannot decide is `unknown`, with a reason.
#pragma once

#include <string>
#include <vector>

#include "io/records.hpp"
#include "nat/report.hpp"

namespace natkit::nat {

struct Observation {
    io::StunBinding record;
    std::size_t line = 0;  // where it was read, for error messages
};

// Throws a data error (exit 65) naming the line when the mapping records (tests binding,
// mapping-2, mapping-3) come from different local ports: their mappings are not comparable.
NatReport classify(const std::vector<Observation>& observations, const std::string& source);

}  // namespace natkit::nat
