// Arbitrary bytes as tool input: the reader, the feed (input in pieces), stun.binding
// validation, the writer and the text printer may only ever throw natkit::Error;
// to_json(from_json(...)) must be stable.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "io/error.hpp"
#include "io/ndjson.hpp"
#include "io/records.hpp"
#include "io/text.hpp"

using namespace natkit::io;

namespace {

void check_binding(const InputRecord& record) {
    StunBinding binding;
    try {
        binding = stun_binding_from_json(record, "fuzz");
    } catch (const natkit::Error&) {
        return;
    }
    json once = to_json(binding);
    json twice = to_json(stun_binding_from_json(InputRecord{once, record.line}, "fuzz"));
    if (once != twice) __builtin_trap();
}

void write_all_formats(const json& value) {
    std::ostringstream out;
    for (auto format :
         {OutputFormat{false, false}, OutputFormat{true, false}, OutputFormat{false, true}}) {
        RecordWriter(out, format).write(value);
    }
}

// The same bytes through NdjsonFeed (punch --follow's stdin), in two pieces cut where the first
// byte says: only natkit::Error for bad input, and every record an object with a kind and a line.
void check_feed(std::string_view text) {
    std::size_t cut = text.empty() ? 0 : static_cast<unsigned char>(text[0]) % (text.size() + 1);
    NdjsonFeed feed("fuzz");
    std::vector<InputRecord> got;
    try {
        for (auto piece : {text.substr(0, cut), text.substr(cut)}) {
            for (auto& r : feed.feed(piece)) got.push_back(std::move(r));
        }
        for (auto& r : feed.finish()) got.push_back(std::move(r));
    } catch (const natkit::Error&) {
        return;
    }
    for (const auto& r : got) {
        if (!r.value.is_object() || !r.value.contains("kind")) __builtin_trap();
        if (r.line == 0) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check_feed(std::string_view(reinterpret_cast<const char*>(data), size));
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    NdjsonReader reader(in, "fuzz");
    try {
        while (auto record = reader.next()) {
            check_binding(*record);
            write_all_formats(record->value);
            (void)optional_endpoint(*record, "fuzz", "peers[0].endpoint");
        }
    } catch (const natkit::Error&) {
        // Bad input is reported, never a crash.
    }
    return 0;
}
