#include "nat/report.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "io/error.hpp"

namespace natkit::nat {

namespace {

constexpr std::array<std::string_view, 4> kBehaviours = {kEndpointIndependent, kAddressDependent,
                                                         kAddressAndPortDependent, kUnknown};
constexpr std::array<std::string_view, 7> kNatTypes = {
    "open",      "full-cone",   "restricted-cone", "port-restricted-cone",
    "symmetric", "udp-blocked", "unknown"};

template <std::size_t N>
std::string one_of(const io::InputRecord& r, const std::string& source, std::string_view field,
                   const std::array<std::string_view, N>& allowed) {
    auto value = io::optional_string(r, source, field).value_or(std::string(kUnknown));
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
        throw data_error(source, r.line, std::string(field),
                         "unknown value " + io::describe(io::json(value)));
    }
    return value;
}


}  // namespace

io::json to_json(const NatReport& r) {
    io::json j = io::json::object();
    j["kind"] = "nat.report";
    io::put_optional(j, "local", r.local);
    io::put_optional(j, "public", r.public_endpoint);
    io::put_optional(j, "behind_nat", r.behind_nat);
    j["mapping"] = r.mapping;
    j["filtering"] = r.filtering;
    j["nat_type"] = r.nat_type;
    io::put_optional(j, "port_preserving", r.port_preserving);
    io::put_optional(j, "hairpinning", r.hairpinning);
    if (r.lifetime_alive_ms || r.lifetime_gone_ms) {
        io::json lifetime = io::json::object();
        if (r.lifetime_alive_ms) lifetime["alive_after_ms"] = *r.lifetime_alive_ms;
        if (r.lifetime_gone_ms) lifetime["gone_after_ms"] = *r.lifetime_gone_ms;
        j["binding_lifetime"] = lifetime;
    }
    j["servers_used"] = r.servers_used;
    if (r.elapsed_ms) j["elapsed_ms"] = std::round(*r.elapsed_ms * 10) / 10;
    if (!r.reasons.empty()) j["reasons"] = r.reasons;
    if (r.pair) {
        io::json p = io::json::object();
        p["verdict"] = r.pair->verdict;
        p["rule"] = r.pair->rule;
        if (r.pair->peer_nat_type) p["peer_nat_type"] = *r.pair->peer_nat_type;
        io::put_optional(p, "peer_public", r.pair->peer_public);
        j["pair"] = p;
    }
    return j;
}

NatReport nat_report_from_json(const io::InputRecord& r, const std::string& source) {
    auto kind = io::require_string(r, source, "kind");
    if (kind != "nat.report") {
        throw data_error(source, r.line, "kind", "expected \"nat.report\", got \"" + kind + "\"");
    }
    NatReport report;
    report.local = io::optional_endpoint(r, source, "local");
    report.public_endpoint = io::optional_endpoint(r, source, "public");
    report.behind_nat = io::optional_bool(r, source, "behind_nat");
    report.mapping = one_of(r, source, "mapping", kBehaviours);
    report.filtering = one_of(r, source, "filtering", kBehaviours);
    report.nat_type = one_of(r, source, "nat_type", kNatTypes);
    report.port_preserving = io::optional_bool(r, source, "port_preserving");
    report.hairpinning = io::optional_bool(r, source, "hairpinning");
    report.servers_used =
        static_cast<int>(io::optional_integer(r, source, "servers_used").value_or(0));
    report.elapsed_ms = io::optional_number(r, source, "elapsed_ms");
    return report;
}

}  // namespace natkit::nat
