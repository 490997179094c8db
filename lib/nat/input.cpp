#include "nat/input.hpp"

#include <chrono>
#include <fstream>

#include "io/error.hpp"

namespace natkit::nat {

std::vector<Observation> read_observations(std::istream& in, const std::string& source) {
    io::NdjsonReader reader(in, source);
    std::vector<Observation> observations;
    std::size_t last_line = 0;
    while (auto record = reader.next()) {
        last_line = record->line;
        if (record->value.value("kind", "") != "stun.binding") continue;
        observations.push_back({io::stun_binding_from_json(*record, source), record->line});
    }
    if (observations.empty()) {
        throw data_error(source, last_line, "",
                         "no stun.binding records to classify: pipe `stun-probe --behavior "
                         "SERVER` into nat-classify, or use --probe SERVER");
    }
    return observations;
}

NatReport probe_and_classify(const stun::LocalPort& port,
                             const std::vector<stun::ProbeTarget>& servers,
                             const BehaviorOptions& options, io::Log& log) {
    auto start = std::chrono::steady_clock::now();
    std::vector<Observation> observations;
    run_behavior(
        port, servers, options,
        [&](const io::StunBinding& b) {
            observations.push_back({b, observations.size() + 1});
        },
        log);
    auto report = classify(observations, "probe");
    report.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return report;
}

NatReport read_peer_report(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw usage_error("--peer: cannot read '" + path + "'");
    io::NdjsonReader reader(in, path);
    while (auto record = reader.next()) {
        if (record->value.value("kind", "") == "nat.report") {
            return nat_report_from_json(*record, path);
        }
    }
    throw data_error(path, 1, "", "no nat.report record in the --peer file");
}

}  // namespace natkit::nat
