// The one place that turns a record into --text output: a short human line (or block) per kind.
#pragma once

#include <string>

#include "io/ndjson.hpp"

namespace natkit::io {

// Never throws: fields of unexpected type are shown as JSON, unknown kinds as
// "kind: key=value ...". No trailing newline; blocks (peer-set) have one line per peer.
std::string to_text(const json& record);

}  // namespace natkit::io
