#include "control/nat_input.hpp"

#include <algorithm>
#include <array>

#include "io/error.hpp"

namespace natkit::control {

namespace {

constexpr std::array<std::string_view, 4> kBehaviours = {
    "endpoint-independent", "address-dependent", "address-and-port-dependent", "unknown"};
constexpr std::array<std::string_view, 7> kNatTypes = {
    "open",      "full-cone",   "restricted-cone", "port-restricted-cone",
    "symmetric", "udp-blocked", "unknown"};
constexpr std::array<std::string_view, 3> kExtraNatFields = {"behind_nat", "port_preserving",
                                                             "hairpinning"};

template <std::size_t N>
std::string word(const io::InputRecord& r, const std::string& source, const char* field,
                 const std::array<std::string_view, N>& allowed) {
    auto value = io::optional_string(r, source, field).value_or("unknown");
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
        std::string list;
        for (auto name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
        throw data_error(source, r.line, field,
                         "expected one of " + list + ", got " + io::describe(io::json(value)));
    }
    return value;
}

}  // namespace

NatInput nat_input_from_json(const io::InputRecord& r, const std::string& source) {
    NatInput input;
    input.public_endpoint = io::optional_endpoint(r, source, "public");
    input.local = io::optional_endpoint(r, source, "local");
    io::PeerNat nat;
    nat.mapping = word(r, source, "mapping", kBehaviours);
    nat.filtering = word(r, source, "filtering", kBehaviours);
    nat.nat_type = word(r, source, "nat_type", kNatTypes);
    for (auto field : kExtraNatFields) {
        if (auto value = io::optional_bool(r, source, field))
            nat.extra[std::string(field)] = *value;
    }
    input.nat = nat;
    return input;
}

NatInput read_nat_input(std::istream& in, const std::string& source) {
    io::NdjsonReader reader(in, source);
    NatInput input;
    while (auto record = reader.next()) {
        if (record->value["kind"] == "nat.report") input = nat_input_from_json(*record, source);
    }
    return input;
}

}  // namespace natkit::control
