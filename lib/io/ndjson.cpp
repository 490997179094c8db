#include "io/ndjson.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <istream>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <streambuf>
#include <utility>

#include "io/error.hpp"
#include "io/text.hpp"

namespace natkit::io {

// Passes characters through from the source one at a time (no read-ahead of its own) and
// counts lines, so errors can name the line where they were found.
class NdjsonReader::LineCounter : public std::streambuf {
  public:
    explicit LineCounter(std::streambuf* source) : source_(source) {}

    std::size_t next_line() const { return next_line_; }
    std::size_t last_line() const { return last_line_; }

    // Skips JSON whitespace (blank lines, CR of CRLF); false at end of input.
    bool skip_whitespace() {
        for (;;) {
            int_type c = underflow();
            if (traits_type::eq_int_type(c, traits_type::eof())) return false;
            char ch = traits_type::to_char_type(c);
            if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') return true;
            uflow();
        }
    }

  protected:
    int_type underflow() override { return source_ ? source_->sgetc() : traits_type::eof(); }
    int_type uflow() override {
        int_type c = source_ ? source_->sbumpc() : traits_type::eof();
        if (!traits_type::eq_int_type(c, traits_type::eof())) {
            last_line_ = next_line_;
            if (traits_type::to_char_type(c) == '\n') ++next_line_;
        }
        return c;
    }

  private:
    std::streambuf* source_;
    std::size_t next_line_ = 1;
    std::size_t last_line_ = 1;
};

namespace {

// nlohmann's messages start "[json.exception.parse_error.101] parse error at line 1, column 8: ";
// the line and column are relative to the document, so keep only the description.
std::string json_problem(const nlohmann::json::exception& e) {
    std::string_view what = e.what();
    if (what.starts_with("[json.exception.")) {
        auto end = what.find("] ");
        if (end != std::string_view::npos) what.remove_prefix(end + 2);
    }
    if (what.starts_with("parse error")) {
        auto colon = what.find(": ");
        if (colon != std::string_view::npos) what.remove_prefix(colon + 2);
    }
    return std::string(what);
}

std::string truncated(std::string text, std::size_t limit) {
    if (text.size() > limit) text = text.substr(0, limit) + "...";
    return text;
}

// A record is an object with a string "kind".
void check_record(const InputRecord& record, const std::string& source) {
    if (!record.value.is_object()) {
        throw data_error(source, record.line, "",
                         "invalid JSON: expected an object (one record with a \"kind\"), got " +
                             describe(record.value));
    }
    auto kind = record.value.find("kind");
    if (kind == record.value.end()) {
        throw data_error(source, record.line, "kind",
                         "missing; every record needs a \"kind\" such as \"stun.binding\"");
    }
    if (!kind->is_string()) {
        throw data_error(source, record.line, "kind",
                         "expected a string such as \"stun.binding\", got " + describe(*kind));
    }
}

}  // namespace

NdjsonReader::NdjsonReader(std::istream& in, std::string source)
    : input_(std::make_unique<LineCounter>(in.rdbuf())), source_(std::move(source)) {}

NdjsonReader::~NdjsonReader() = default;
NdjsonReader::NdjsonReader(NdjsonReader&&) noexcept = default;
NdjsonReader& NdjsonReader::operator=(NdjsonReader&&) noexcept = default;

std::optional<InputRecord> NdjsonReader::next() {
    if (!input_->skip_whitespace()) return std::nullopt;
    InputRecord record;
    record.line = input_->next_line();
    std::istream document(input_.get());
    try {
        document >> record.value;
    } catch (const nlohmann::json::exception& e) {
        std::string problem = "invalid JSON: " + json_problem(e);
        if (input_->last_line() != record.line) {
            problem += " (in the document that starts on line " + std::to_string(record.line) + ")";
        }
        throw data_error(source_, input_->last_line(), "", problem);
    }
    check_record(record, source_);
    return record;
}

std::vector<InputRecord> NdjsonFeed::feed(std::string_view bytes) {
    bytes_seen_ += bytes.size();
    std::vector<InputRecord> out;
    for (;;) {
        auto newline = bytes.find('\n');
        if (newline == std::string_view::npos) break;
        partial_.append(bytes.substr(0, newline));
        bytes.remove_prefix(newline + 1);
        auto line = std::exchange(partial_, {});
        take_line(line, out);
    }
    partial_.append(bytes);
    return out;
}

std::vector<InputRecord> NdjsonFeed::finish() {
    std::vector<InputRecord> out;
    auto line = std::exchange(partial_, {});
    if (!line.empty()) take_line(line, out);
    return out;
}

void NdjsonFeed::take_line(std::string_view line, std::vector<InputRecord>& out) {
    ++line_;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
    InputRecord record;
    record.line = line_;
    try {
        record.value = json::parse(line);
    } catch (const nlohmann::json::exception& e) {
        throw data_error(source_, line_, "",
                         "invalid JSON: " + json_problem(e) + " (one record a line is expected)");
    }
    check_record(record, source_);
    out.push_back(std::move(record));
}

std::string describe(const json& value) {
    switch (value.type()) {
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        case json::value_t::null:
            return "null";
        default:
            return std::string(value.type_name()) + " " +
                   truncated(value.dump(-1, ' ', false, json::error_handler_t::replace), 40);
    }
}

namespace {

[[noreturn]] void wrong_type(const InputRecord& r, const std::string& source,
                             std::string_view field, const std::string& expected, const json& got) {
    throw data_error(source, r.line, std::string(field),
                     "expected " + expected + ", got " + describe(got));
}

std::size_t parse_index(std::string_view path, std::size_t& i) {
    auto close = path.find(']', i);
    if (close == std::string_view::npos || close == i + 1) {
        throw std::invalid_argument("bad field path: " + std::string(path));
    }
    std::size_t index = 0;
    for (std::size_t k = i + 1; k < close; ++k) {
        if (path[k] < '0' || path[k] > '9') {
            throw std::invalid_argument("bad field path: " + std::string(path));
        }
        index = index * 10 + static_cast<std::size_t>(path[k] - '0');
    }
    i = close + 1;
    return index;
}

std::string_view parse_key(std::string_view path, std::size_t& i) {
    if (path[i] == '.') ++i;
    auto end = path.find_first_of(".[", i);
    if (end == std::string_view::npos) end = path.size();
    auto key = path.substr(i, end - i);
    i = end;
    return key;
}

}  // namespace

const json* find_field(const InputRecord& r, const std::string& source, std::string_view field) {
    const json* current = &r.value;
    std::size_t i = 0;
    while (i < field.size()) {
        auto walked = field.substr(0, i);
        if (field[i] == '[') {
            auto index = parse_index(field, i);
            if (!current->is_array()) wrong_type(r, source, walked, "an array", *current);
            if (index >= current->size()) return nullptr;
            current = &(*current)[index];
        } else {
            auto key = parse_key(field, i);
            if (!current->is_object()) wrong_type(r, source, walked, "an object", *current);
            auto it = current->find(key);
            if (it == current->end()) return nullptr;
            current = &*it;
        }
    }
    return current;
}

const json& require_field(const InputRecord& r, const std::string& source, std::string_view field) {
    const json* value = find_field(r, source, field);
    if (!value) throw data_error(source, r.line, std::string(field), "missing");
    return *value;
}

std::string require_string(const InputRecord& r, const std::string& source,
                           std::string_view field) {
    const json& value = require_field(r, source, field);
    if (!value.is_string()) wrong_type(r, source, field, "a string", value);
    return value.get<std::string>();
}

namespace {

const json* present(const InputRecord& r, const std::string& source, std::string_view field) {
    const json* value = find_field(r, source, field);
    return value && !value->is_null() ? value : nullptr;
}

constexpr const char* kEndpointExample =
    "an endpoint like 203.0.113.7:51820 or [2001:db8::7]:51820";

net::Endpoint to_endpoint(const InputRecord& r, const std::string& source, std::string_view field,
                          const json& value) {
    if (value.is_string()) {
        if (auto endpoint = net::Endpoint::parse(value.get_ref<const std::string&>())) {
            return *endpoint;
        }
    }
    wrong_type(r, source, field, kEndpointExample, value);
}

}  // namespace

net::Endpoint require_endpoint(const InputRecord& r, const std::string& source,
                               std::string_view field) {
    return to_endpoint(r, source, field, require_field(r, source, field));
}

std::optional<std::string> optional_string(const InputRecord& r, const std::string& source,
                                           std::string_view field) {
    const json* value = present(r, source, field);
    if (!value) return std::nullopt;
    if (!value->is_string()) wrong_type(r, source, field, "a string", *value);
    return value->get<std::string>();
}

std::optional<net::Endpoint> optional_endpoint(const InputRecord& r, const std::string& source,
                                               std::string_view field) {
    const json* value = present(r, source, field);
    if (!value) return std::nullopt;
    return to_endpoint(r, source, field, *value);
}

std::optional<double> optional_number(const InputRecord& r, const std::string& source,
                                      std::string_view field) {
    const json* value = present(r, source, field);
    if (!value) return std::nullopt;
    if (!value->is_number()) wrong_type(r, source, field, "a number", *value);
    return value->get<double>();
}

std::optional<std::int64_t> optional_integer(const InputRecord& r, const std::string& source,
                                             std::string_view field) {
    const json* value = present(r, source, field);
    if (!value) return std::nullopt;
    if (value->is_number_unsigned()) {
        auto u = value->get<std::uint64_t>();
        if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return static_cast<std::int64_t>(u);
        }
    } else if (value->is_number_integer()) {
        return value->get<std::int64_t>();
    } else if (value->is_number_float()) {
        double d = value->get<double>();
        if (std::trunc(d) == d && std::fabs(d) < 9e15) return static_cast<std::int64_t>(d);
    }
    wrong_type(r, source, field, "an integer", *value);
}

std::optional<bool> optional_bool(const InputRecord& r, const std::string& source,
                                  std::string_view field) {
    const json* value = present(r, source, field);
    if (!value) return std::nullopt;
    if (!value->is_boolean()) wrong_type(r, source, field, "true or false", *value);
    return value->get<bool>();
}

RecordWriter::RecordWriter(std::ostream& out, OutputFormat format) : out_(out), format_(format) {}

void RecordWriter::write(const json& record) {
    errno = 0;
    if (format_.text) {
        out_ << to_text(record) << '\n';
    } else {
        out_ << record.dump(format_.pretty ? 2 : -1, ' ', false, json::error_handler_t::replace)
             << '\n';
    }
    out_.flush();
    if (!out_) {
        int saved = errno;
        throw Error(ExitCode::failure,
                    std::string("cannot write output: ") +
                        (saved ? std::strerror(saved) : "the output stream failed"));
    }
}

void put_optional(json& record, const char* key, const std::optional<net::Endpoint>& endpoint) {
    if (endpoint) record[key] = endpoint->to_string();
}

void put_optional(json& record, const char* key, const std::optional<std::string>& text) {
    if (text) record[key] = *text;
}

void put_optional(json& record, const char* key, const std::optional<bool>& flag) {
    if (flag) record[key] = *flag;
}

}  // namespace natkit::io
