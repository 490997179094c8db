// nat-classify's input path on arbitrary bytes: NDJSON -> stun.binding records -> classify,
// and nat_report_from_json (the --peer file) -> pair verdict. Only natkit::Error (bad input)
// may be thrown.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "io/error.hpp"
#include "nat/classify.hpp"
#include "nat/report.hpp"
#include "nat/verdict.hpp"

using namespace natkit;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    io::NdjsonReader reader(in, "fuzz");
    std::vector<nat::Observation> observations;
    std::vector<nat::NatReport> reports;
    try {
        while (auto record = reader.next()) {
            auto kind = record->value.value("kind", "");
            try {
                if (kind == "stun.binding") {
                    observations.push_back(
                        {io::stun_binding_from_json(*record, "fuzz"), record->line});
                } else if (kind == "nat.report") {
                    reports.push_back(nat::nat_report_from_json(*record, "fuzz"));
                }
            } catch (const Error&) {
            }
        }
    } catch (const Error&) {
    }
    try {
        auto report = nat::classify(observations, "fuzz");
        for (const auto& peer : reports) report.pair = nat::pair_verdict(report, peer);
        (void)nat::to_json(report).dump();
    } catch (const Error&) {
    }
    return 0;
}
