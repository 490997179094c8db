// Reading records from NDJSON or JSON input, field access that names field and line on error,
// and writing records as NDJSON, indented JSON or text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/endpoint.hpp"

namespace natkit::io {

// Ordered, so records keep their field order (ours, and unknown fields passed through).
using json = nlohmann::ordered_json;

// One input record: a JSON object with a string "kind", and the line where it starts (1-based).
struct InputRecord {
    json value;
    std::size_t line = 0;
};

// Reads one JSON document (possibly pretty-printed over many lines), an NDJSON stream, or
// several concatenated documents. Reads only as far as the end of the record it returns, so
// records from a pipe come out as soon as they arrive.
class NdjsonReader {
  public:
    explicit NdjsonReader(std::istream& in, std::string source = "stdin");
    ~NdjsonReader();
    NdjsonReader(NdjsonReader&&) noexcept;
    NdjsonReader& operator=(NdjsonReader&&) noexcept;

    // nullopt at end of input. Throws natkit::Error (ExitCode::data) naming source and line for
    // malformed JSON, a top-level value that is not an object, or a missing/non-string "kind".
    std::optional<InputRecord> next();
    const std::string& source() const { return source_; }

  private:
    class LineCounter;
    std::unique_ptr<LineCounter> input_;
    std::string source_;
};

// NDJSON that arrives in pieces (a pipe read whenever poll() says so, never blocking): feed()
// the bytes and get back the records of the lines completed so far; finish() at end of input
// for a last line without its newline. One record a line (as every natkit tool writes them);
// the same checks and messages as NdjsonReader, with the line numbers of the whole stream.
class NdjsonFeed {
  public:
    explicit NdjsonFeed(std::string source = "stdin") : source_(std::move(source)) {}
    std::vector<InputRecord> feed(std::string_view bytes);
    std::vector<InputRecord> finish();
    std::size_t bytes_seen() const { return bytes_seen_; }

  private:
    void take_line(std::string_view line, std::vector<InputRecord>& out);

    std::string source_;
    std::string partial_;  // the line not yet ended
    std::size_t line_ = 0;
    std::size_t bytes_seen_ = 0;
};

// A short description of a JSON value for error messages: `string "abc"`, `number 5`, `an array`.
std::string describe(const json& value);

// Field access by path: "server", "nat.mapping", "peers[2].endpoint". Errors throw
// natkit::data_error naming source, the record's line and the field path.
// Returns nullptr when the field (or a parent) is absent.
const json* find_field(const InputRecord& r, const std::string& source, std::string_view field);
const json& require_field(const InputRecord& r, const std::string& source, std::string_view field);
std::string require_string(const InputRecord& r, const std::string& source, std::string_view field);
net::Endpoint require_endpoint(const InputRecord& r, const std::string& source,
                               std::string_view field);
// The optional_* accessors return nullopt when the field is absent or null, and throw when it is
// present with the wrong type or format.
std::optional<std::string> optional_string(const InputRecord& r, const std::string& source,
                                           std::string_view field);
std::optional<net::Endpoint> optional_endpoint(const InputRecord& r, const std::string& source,
                                               std::string_view field);
std::optional<double> optional_number(const InputRecord& r, const std::string& source,
                                      std::string_view field);
std::optional<std::int64_t> optional_integer(const InputRecord& r, const std::string& source,
                                             std::string_view field);
std::optional<bool> optional_bool(const InputRecord& r, const std::string& source,
                                  std::string_view field);

// Writing optional fields: absent values are left out of the record.
void put_optional(json& record, const char* key, const std::optional<net::Endpoint>& endpoint);
void put_optional(json& record, const char* key, const std::optional<std::string>& text);
void put_optional(json& record, const char* key, const std::optional<bool>& flag);

struct OutputFormat {
    bool pretty = false;  // indented JSON
    bool text = false;    // to_text(): a short human summary
};

// Writes one record per write(): an NDJSON line, indented JSON, or text. Flushes after each
// record so that a pipe sees it at once; throws natkit::Error when the output is gone.
class RecordWriter {
  public:
    RecordWriter(std::ostream& out, OutputFormat format);
    void write(const json& record);

  private:
    std::ostream& out_;
    OutputFormat format_;
};

}  // namespace natkit::io
