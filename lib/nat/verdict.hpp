// Can two nodes talk directly? The pair verdict from their nat.reports (pure).
#pragma once

#include "nat/report.hpp"

namespace natkit::nat {

// direct | punch | punch-with-prediction | relay, with the rule that decided it (the rules
// are listed in man/nat-classify.1, PAIR VERDICT).
PairVerdict pair_verdict(const NatReport& self, const NatReport& peer);

}  // namespace natkit::nat
