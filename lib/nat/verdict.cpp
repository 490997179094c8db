#include "nat/verdict.hpp"

namespace natkit::nat {

namespace {

enum class Kind { blocked, reachable, cone_address, cone_port, symmetric, unknown };

// What matters for reaching a node: does it accept unsolicited packets (open, full cone),
// how its filter keys (address, or address and port), or whether it maps per destination.
Kind kind_of(const NatReport& r) {
    const auto& t = r.nat_type;
    if (t == "udp-blocked") return Kind::blocked;
    if (t == "open" || t == "full-cone") return Kind::reachable;
    if (t == "restricted-cone") return Kind::cone_address;
    if (t == "port-restricted-cone") return Kind::cone_port;
    if (t == "symmetric") return Kind::symmetric;
    return Kind::unknown;
}

PairVerdict decide(Kind a, Kind b, const std::string& a_name, const std::string& b_name) {
    auto either = [&](Kind k) { return a == k || b == k; };
    auto both_in = [&](std::initializer_list<Kind> ks) {
        auto in = [&](Kind k) {
            for (auto x : ks) {
                if (x == k) return true;
            }
            return false;
        };
        return in(a) && in(b);
    };
    if (either(Kind::blocked)) {
        return {"relay", "UDP is blocked on one side: no direct path exists", {}, {}};
    }
    if (either(Kind::reachable)) {
        auto who = a == Kind::reachable ? a_name : b_name;
        return {"direct",
                who +
                    " accepts packets from anyone at its public endpoint: the other side "
                    "can simply send",
                {},
                {}};
    }
    if (both_in({Kind::cone_address, Kind::cone_port})) {
        return {"punch",
                "both sides keep one mapping for every destination: a simultaneous send "
                "opens both filters",
                {},
                {}};
    }
    if (both_in({Kind::cone_address, Kind::symmetric}) && either(Kind::cone_address)) {
        return {"punch",
                "the restricted-cone side filters by address only, so the symmetric side's "
                "new port for it is let in",
                {},
                {}};
    }
    if (both_in({Kind::cone_port, Kind::symmetric}) && either(Kind::cone_port)) {
        return {"punch-with-prediction",
                "the port-restricted side only lets in the exact port the symmetric side "
                "will use for it: predict that port (or probe many)",
                {},
                {}};
    }
    if (a == Kind::symmetric && b == Kind::symmetric) {
        return {
            "relay", "both sides map per destination: neither can learn the other's port", {}, {}};
    }
    return {"punch-with-prediction",
            "not enough is known about one side's NAT: try punching with port prediction "
            "before falling back to a relay",
            {},
            {}};
}

}  // namespace

PairVerdict pair_verdict(const NatReport& self, const NatReport& peer) {
    auto verdict = decide(kind_of(self), kind_of(peer), "this node", "the peer");
    verdict.peer_nat_type = peer.nat_type;
    verdict.peer_public = peer.public_endpoint;
    return verdict;
}

}  // namespace natkit::nat
