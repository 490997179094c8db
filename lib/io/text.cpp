#include "io/text.hpp"

#include <cmath>
#include <cstdio>
#include <optional>
#include <string_view>

namespace natkit::io {

namespace {

std::string as_json(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A field as text: strings as they are, anything else as JSON; nullopt when absent or null.
std::optional<std::string> field(const json& record, std::string_view key) {
    auto it = record.find(key);
    if (it == record.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    return as_json(*it);
}

std::string number(double value) {
    char buffer[64];
    if (std::isfinite(value) && std::fabs(value) < 1e15 && std::trunc(value) == value) {
        std::snprintf(buffer, sizeof buffer, "%.0f", value);
    } else {
        std::snprintf(buffer, sizeof buffer, "%.1f", value);
    }
    return buffer;
}

// A number field (e.g. "rtt_ms") as "23.4"; other types as JSON.
std::optional<std::string> number_field(const json& record, std::string_view key) {
    auto it = record.find(key);
    if (it == record.end() || it->is_null()) return std::nullopt;
    if (it->is_number()) return number(it->get<double>());
    return as_json(*it);
}

std::string counted(const std::string& count, std::string_view noun) {
    return count + " " + std::string(noun) + (count == "1" ? "" : "s");
}

// Appends "  <label><value>" when the field is there.
void add(std::string& line, std::string_view label, const std::optional<std::string>& value,
         std::string_view suffix = "") {
    if (value) line += "  " + std::string(label) + *value + std::string(suffix);
}

std::string size_of(const json& record, std::string_view key) {
    auto it = record.find(key);
    if (it == record.end()) return "0";
    if (it->is_array() || it->is_object()) return std::to_string(it->size());
    return as_json(*it);
}

bool is_true(const json& record, std::string_view key) {
    auto it = record.find(key);
    return it != record.end() && it->is_boolean() && it->get<bool>();
}

bool is_false(const json& record, std::string_view key) {
    auto it = record.find(key);
    return it != record.end() && it->is_boolean() && !it->get<bool>();
}

std::string stun_binding_text(const json& r) {
    std::string line = field(r, "server").value_or(field(r, "server_name").value_or("?"));
    if (auto test = field(r, "test"); test && *test != "binding") line += "  " + *test;
    if (auto error = field(r, "error")) {
        line += "  " + *error;
        if (auto attempts = number_field(r, "attempts"); attempts && *attempts != "0") {
            line += " after " + counted(*attempts, "attempt");
        }
        if (auto detail = field(r, "detail")) line += " (" + *detail + ")";
        return line;
    }
    add(line, "mapped ", field(r, "mapped"));
    add(line, "rtt ", number_field(r, "rtt_ms"), " ms");
    if (auto software = field(r, "software")) line += "  (" + *software + ")";
    return line;
}

std::string nat_report_text(const json& r) {
    std::string line;
    if (is_false(r, "behind_nat")) {
        line = "no NAT";
    } else {
        line = "nat " + field(r, "nat_type").value_or("unknown");
    }
    add(line, "public ", field(r, "public"));
    add(line, "local ", field(r, "local"));
    add(line, "mapping ", field(r, "mapping"));
    add(line, "filtering ", field(r, "filtering"));
    if (is_true(r, "port_preserving")) line += "  port-preserving";
    if (is_true(r, "hairpinning")) line += "  hairpinning";
    if (auto servers = number_field(r, "servers_used")) line += "  " + counted(*servers, "server");
    add(line, "", number_field(r, "elapsed_ms"), " ms");
    if (auto reasons = r.find("reasons"); reasons != r.end() && reasons->is_array()) {
        for (const auto& reason : *reasons) {
            if (reason.is_string()) line += "\n  why: " + reason.get<std::string>();
        }
    }
    if (auto pair = r.find("pair"); pair != r.end() && pair->is_object()) {
        line += "\n  pair: " + field(*pair, "verdict").value_or("?");
        if (auto peer = field(*pair, "peer_nat_type")) line += " (peer: " + *peer + ")";
        if (auto rule = field(*pair, "rule")) line += ": " + *rule;
    }
    return line;
}

std::string short_key(const std::string& key) {
    return key.size() > 8 ? key.substr(0, 8) + "..." : key;
}

std::string peer_text(const json& peer) {
    if (!peer.is_object()) return "  " + as_json(peer);
    std::string line =
        "  " + field(peer, "id").value_or(short_key(field(peer, "public_key").value_or("?")));
    line += "  " + field(peer, "endpoint").value_or("no endpoint");
    add(line, "", field(peer, "path"));
    if (auto nat = peer.find("nat"); nat != peer.end() && nat->is_object()) {
        add(line, "nat ", field(*nat, "nat_type"));
    }
    return line;
}

std::string peer_set_text(const json& r) {
    auto peers = r.find("peers");
    bool listed = peers != r.end() && peers->is_array();
    std::string text = "peer-set " + field(r, "network").value_or("?") + ": " +
                       counted(size_of(r, "peers"), "peer");
    add(text, "generated ", field(r, "generated_at"));
    if (listed) {
        for (const auto& peer : *peers) text += "\n" + peer_text(peer);
    }
    return text;
}

std::string punch_result_text(const json& r) {
    std::string line = field(r, "peer").value_or("?");
    line += "  " + field(r, "outcome").value_or("?");
    add(line, "", field(r, "remote"));
    if (auto local = field(r, "local")) line += " from " + *local;
    if (auto attempts = number_field(r, "attempts")) line += "  " + counted(*attempts, "attempt");
    add(line, "", number_field(r, "elapsed_ms"), " ms");
    return line;
}

std::string wg_apply_text(const json& r) {
    std::string line = field(r, "interface").value_or("?");
    if (auto backend = field(r, "backend")) line += " (" + *backend + ")";
    line += "  added " + size_of(r, "added") + "  removed " + size_of(r, "removed") + "  updated " +
            size_of(r, "updated");
    add(line, "unchanged ", number_field(r, "unchanged"));
    add(line, "", number_field(r, "elapsed_ms"), " ms");
    if (is_true(r, "dry_run")) line += "  (dry run)";
    return line;
}

std::string plain_value(const json& value) {
    if (value.is_string()) {
        const auto& s = value.get_ref<const std::string&>();
        bool bare = !s.empty() && s.find_first_of(" \t\n\"=") == std::string::npos;
        return bare ? s : as_json(value);
    }
    return as_json(value);
}

std::string generic_text(const std::string& kind, const json& r) {
    std::string line = kind + ":";
    for (const auto& [key, value] : r.items()) {
        if (key != "kind") line += " " + key + "=" + plain_value(value);
    }
    return line;
}

}  // namespace

std::string to_text(const json& record) {
    if (!record.is_object()) return as_json(record);
    auto kind = field(record, "kind").value_or("record");
    if (kind == "stun.binding") return stun_binding_text(record);
    if (kind == "nat.report") return nat_report_text(record);
    if (kind == "peer-set") return peer_set_text(record);
    if (kind == "punch.result") return punch_result_text(record);
    if (kind == "wg.apply") return wg_apply_text(record);
    return generic_text(kind, record);
}

}  // namespace natkit::io
