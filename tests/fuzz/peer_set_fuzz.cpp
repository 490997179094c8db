// Arbitrary bytes as a peer-set stream: validation may only ever throw natkit::Error, and what
// it accepts must write back to JSON that reads back to the same JSON.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "io/error.hpp"
#include "io/ndjson.hpp"
#include "io/peer_set.hpp"

using namespace natkit::io;

namespace {

void check_peer_set(const InputRecord& record) {
    PeerSet set;
    try {
        set = peer_set_from_json(record, "fuzz");
    } catch (const natkit::Error&) {
        return;
    }
    json once = to_json(set);
    json twice = to_json(peer_set_from_json(InputRecord{once, record.line}, "fuzz"));
    if (once != twice) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    NdjsonReader reader(in, "fuzz");
    try {
        while (auto record = reader.next()) check_peer_set(*record);
    } catch (const natkit::Error&) {
        // Bad input is reported, never a crash.
    }
    return 0;
}
