// Arbitrary bytes as tool input: the reader, stun.binding validation, the writer and the text
// printer may only ever throw natkit::Error; to_json(from_json(...)) must be stable.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
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
