#include "nat/classify.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "io/error.hpp"

namespace natkit::nat {

namespace {

using io::StunBinding;

bool is_mapping_test(const StunBinding& b) {
    return b.test == "binding" || b.test == "mapping-2" || b.test == "mapping-3";
}

bool answered(const StunBinding& b) {
    return !b.error && b.mapped;
}

net::Endpoint canonical(const net::Endpoint& e) {
    return {e.address.unmapped(), e.port};
}

// Mapping records must share one local port, or their mappings say nothing about the NAT.
void check_one_local_port(const std::vector<Observation>& observations, const std::string& source) {
    const Observation* first = nullptr;
    for (const auto& o : observations) {
        if (!is_mapping_test(o.record) || !o.record.local) continue;
        if (!first) {
            first = &o;
        } else if (o.record.local->port != first->record.local->port) {
            throw data_error(source, o.line, "local",
                             "records from different local ports (" +
                                 first->record.local->to_string() + " on line " +
                                 std::to_string(first->line) + ", " + o.record.local->to_string() +
                                 " here) cannot be classified together: probe every server "
                                 "from one port (one stun-probe run)");
        }
    }
}

struct MappingSample {
    net::Endpoint server;
    net::Endpoint mapped;
};

// RFC 4787 mapping behaviour from mappings seen by different server addresses and ports.
// `per_destination` is set when the mapping is known to change with the destination even if
// the RFC 4787 word cannot be decided (the classic name is then "symmetric" either way).
std::string mapping_behaviour(const std::vector<MappingSample>& samples, bool& per_destination,
                              std::vector<std::string>& reasons) {
    bool ip_pair = false, ip_differs = false;      // pairs of servers on different IPs
    bool port_pair = false, port_differs = false;  // pairs on one IP, different ports
    for (std::size_t i = 0; i < samples.size(); ++i) {
        for (std::size_t j = i + 1; j < samples.size(); ++j) {
            const auto& a = samples[i];
            const auto& b = samples[j];
            if (a.server == b.server) continue;
            bool differs = a.mapped != b.mapped;
            if (a.server.address != b.server.address) {
                ip_pair = true;
                ip_differs |= differs;
            } else {
                port_pair = true;
                port_differs |= differs;
            }
        }
    }
    if (!ip_pair && !port_pair) {
        reasons.push_back(
            "mapping: only one server address answered; comparing mappings "
            "needs two");
        return kUnknown;
    }
    per_destination = ip_differs || port_differs;
    if (ip_differs) {
        if (port_pair) return port_differs ? kAddressAndPortDependent : kAddressDependent;
        reasons.push_back(
            "mapping: the mapping changes with the server's address; no two "
            "ports of one server address answered to tell address-dependent "
            "from address-and-port-dependent");
        return kUnknown;
    }
    if (port_differs) return kAddressAndPortDependent;
    if (ip_pair) return kEndpointIndependent;
    reasons.push_back(
        "mapping: every server that answered shares one address; "
        "endpoint-independent and address-dependent look alike from there");
    return kUnknown;
}

// The verdict of one server's filtering tests (RFC 5780 section 4.4), or unknown + reason.
std::string filtering_of_server(const StunBinding& binding, const StunBinding* change_both,
                                const StunBinding* change_port, std::string& reason) {
    const auto other = canonical(*binding.other_address);
    const auto primary = canonical(*binding.server);
    auto judge = [&](const StunBinding* test, net::Endpoint expected, const char* what)
        -> std::optional<bool> {  // true: answered correctly, false: no answer
        if (!test) {
            reason = std::string("filtering: no ") + what + " test";
            return std::nullopt;
        }
        if (test->error && *test->error == "timeout") return false;
        if (test->error) {
            reason = std::string("filtering: the ") + what + " test failed (" + *test->error +
                     (test->detail ? ": " + *test->detail : "") + ")";
            return std::nullopt;
        }
        auto from = canonical(test->response_source.value_or(*test->server));
        if (from != expected) {
            reason = std::string("filtering: the server answered the ") + what + " request from " +
                     from.to_string() + ", not from " + expected.to_string() +
                     ": it does not really support RFC 5780's CHANGE-REQUEST";
            return std::nullopt;
        }
        return true;
    };
    auto both = judge(change_both, other, "change-address-and-port (filtering-2)");
    if (!both) return kUnknown;
    if (*both) return kEndpointIndependent;
    auto port =
        judge(change_port, net::Endpoint{primary.address, other.port}, "change-port (filtering-3)");
    if (!port) return kUnknown;
    return *port ? kAddressDependent : kAddressAndPortDependent;
}

const StunBinding* find_test(const std::vector<Observation>& observations,
                             const std::string& server_name, const char* test) {
    for (const auto& o : observations) {
        if (o.record.server_name == server_name && o.record.test == test) return &o.record;
    }
    return nullptr;
}

std::string filtering_behaviour(const std::vector<Observation>& observations,
                                const std::vector<const StunBinding*>& bindings,
                                std::vector<std::string>& reasons) {
    std::set<std::string> verdicts;
    std::string last_reason;
    bool tried = false;
    for (const auto* binding : bindings) {
        if (!binding->other_address || !binding->server) continue;
        auto f2 = find_test(observations, binding->server_name, "filtering-2");
        auto f3 = find_test(observations, binding->server_name, "filtering-3");
        if (!f2 && !f3) continue;
        tried = true;
        std::string reason;
        auto verdict = filtering_of_server(*binding, f2, f3, reason);
        if (verdict == kUnknown) {
            last_reason = reason;
        } else {
            verdicts.insert(verdict);
        }
    }
    if (verdicts.size() == 1) return *verdicts.begin();
    if (verdicts.size() > 1) {
        reasons.push_back("filtering: servers disagree");
    } else if (!tried) {
        reasons.push_back(
            "filtering: no RFC 5780 filtering tests (run stun-probe --behavior "
            "against a server that reports OTHER-ADDRESS)");
    } else {
        reasons.push_back(last_reason);
    }
    return kUnknown;
}

// Idle times after which a mapping still answered, and after which it was gone.
void binding_lifetime(const std::vector<Observation>& observations, NatReport& report) {
    for (const auto& o : observations) {
        const auto& b = o.record;
        if (b.test != "lifetime" || !b.idle_ms) continue;
        if (!b.error) {
            report.lifetime_alive_ms = std::max(report.lifetime_alive_ms.value_or(0), *b.idle_ms);
        } else if (*b.error == "timeout") {
            report.lifetime_gone_ms =
                std::min(report.lifetime_gone_ms.value_or(*b.idle_ms), *b.idle_ms);
        } else if (*b.error == "unsupported") {
            report.reasons.push_back("binding lifetime: " + b.detail.value_or("unsupported"));
        }
    }
    if (report.lifetime_alive_ms && report.lifetime_gone_ms &&
        *report.lifetime_gone_ms <= *report.lifetime_alive_ms) {
        report.reasons.push_back("binding lifetime: inconsistent answers (packet loss?)");
        report.lifetime_alive_ms.reset();
        report.lifetime_gone_ms.reset();
    }
}

std::string nat_type_of(const NatReport& r, bool per_destination) {
    if (per_destination) {
        return "symmetric";
    }
    bool no_nat = r.behind_nat == false;
    if (r.mapping != kEndpointIndependent && !no_nat) return kUnknown;
    if (r.filtering == kEndpointIndependent) return no_nat ? "open" : "full-cone";
    if (r.filtering == kAddressDependent) return "restricted-cone";
    if (r.filtering == kAddressAndPortDependent) return "port-restricted-cone";
    return no_nat ? "open" : kUnknown;
}

}  // namespace

NatReport classify(const std::vector<Observation>& observations, const std::string& source) {
    check_one_local_port(observations, source);
    NatReport report;

    std::vector<const StunBinding*> bindings;  // answered binding tests, one per server
    std::set<std::string> servers;
    bool any_binding = false;
    for (const auto& o : observations) {
        if (o.record.test != "binding") continue;
        any_binding = true;
        if (answered(o.record) && servers.insert(o.record.server_name).second) {
            bindings.push_back(&o.record);
        }
    }
    report.servers_used = static_cast<int>(servers.size());
    if (bindings.empty()) {
        if (any_binding) {
            report.nat_type = "udp-blocked";
            report.reasons.push_back(
                "no STUN server answered: UDP is blocked here, or every "
                "server is down");
        } else {
            report.reasons.push_back("no binding test among the records");
        }
        return report;
    }

    const auto& first = *bindings.front();
    report.public_endpoint = first.mapped;
    report.local = first.local;
    if (first.local) {
        report.behind_nat = canonical(*first.local) != canonical(*first.mapped);
        report.port_preserving = first.local->port == first.mapped->port;
    }

    std::vector<MappingSample> samples;
    for (const auto& o : observations) {
        if (is_mapping_test(o.record) && answered(o.record) && o.record.server) {
            samples.push_back({canonical(*o.record.server), canonical(*o.record.mapped)});
        }
    }
    bool per_destination = false;
    report.mapping = mapping_behaviour(samples, per_destination, report.reasons);
    report.filtering = filtering_behaviour(observations, bindings, report.reasons);
    for (const auto& o : observations) {
        if (o.record.test != "hairpin") continue;
        if (!o.record.error)
            report.hairpinning = true;
        else if (*o.record.error == "timeout" && !report.hairpinning)
            report.hairpinning = false;
    }
    binding_lifetime(observations, report);
    report.nat_type = nat_type_of(report, per_destination);
    return report;
}

}  // namespace natkit::nat
