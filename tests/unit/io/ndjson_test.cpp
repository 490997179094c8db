#include "io/ndjson.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "io/error.hpp"
#include "io/text.hpp"

using natkit::Error;
using natkit::ExitCode;
using namespace natkit::io;

namespace {

std::vector<InputRecord> read_all(const std::string& text, const std::string& source = "stdin") {
    std::istringstream in(text);
    NdjsonReader reader(in, source);
    std::vector<InputRecord> records;
    while (auto record = reader.next()) records.push_back(*record);
    return records;
}

// The message of the natkit::Error that reading `text` throws; fails the test if there is none.
std::string read_error(const std::string& text, const std::string& source = "stdin") {
    try {
        read_all(text, source);
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        return e.what();
    }
    FAIL("no error for: " << text);
    return "";
}

// A pipe that has only what was fed so far: reading past it is recorded, not blocked on.
class FakePipe : public std::streambuf {
  public:
    void feed(const std::string& text) {
        pending_.insert(pending_.end(), text.begin(), text.end());
    }
    bool starved() const { return starved_; }

  protected:
    int_type underflow() override {
        if (pending_.empty()) {
            starved_ = true;
            return traits_type::eof();
        }
        return traits_type::to_int_type(pending_.front());
    }
    int_type uflow() override {
        int_type c = underflow();
        if (!pending_.empty()) pending_.pop_front();
        return c;
    }

  private:
    std::deque<char> pending_;
    bool starved_ = false;
};

InputRecord record_of(const std::string& text, std::size_t line = 7) {
    return InputRecord{json::parse(text), line};
}

// The message of the natkit::Error that `f` throws.
template <typename F>
std::string error_of(F f) {
    try {
        f();
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        return e.what();
    }
    FAIL("no error");
    return "";
}

}  // namespace

TEST_CASE("reader: an NDJSON stream gives one record per line with its line number") {
    auto records = read_all(R"({"kind":"a","n":1}
{"kind":"b","n":2}
{"kind":"c","n":3}
)");
    REQUIRE(records.size() == 3);
    CHECK(records[0].value["kind"] == "a");
    CHECK(records[2].value["n"] == 3);
    CHECK(records[0].line == 1);
    CHECK(records[1].line == 2);
    CHECK(records[2].line == 3);
}

TEST_CASE("reader: a pretty-printed document over many lines is one record") {
    auto records = read_all(
        "\n{\n  \"kind\": \"peer-set\",\n  \"peers\": [\n    {\"id\": \"b\"}\n  ]\n}\n"
        "{\"kind\":\"next\"}\n");
    REQUIRE(records.size() == 2);
    CHECK(records[0].line == 2);
    CHECK(records[0].value["peers"][0]["id"] == "b");
    CHECK(records[1].line == 8);
    CHECK(records[1].value["kind"] == "next");
}

TEST_CASE("reader: blank and whitespace-only lines are skipped, CRLF is accepted") {
    auto records = read_all("\r\n{\"kind\":\"a\"}\r\n\r\n   \t\r\n{\"kind\":\"b\"}\r\n\r\n");
    REQUIRE(records.size() == 2);
    CHECK(records[0].line == 2);
    CHECK(records[1].line == 5);
    CHECK(records[1].value["kind"] == "b");
}

TEST_CASE("reader: empty input has no records") {
    CHECK(read_all("").empty());
    CHECK(read_all("\n\n  \r\n").empty());
}

TEST_CASE("reader: several documents on one line are read one after another") {
    auto records = read_all(R"({"kind":"a"} {"kind":"b"}{"kind":"c"})");
    REQUIRE(records.size() == 3);
    CHECK(records[2].value["kind"] == "c");
    CHECK(records[2].line == 1);
}

TEST_CASE("reader: keeps the field order of the input") {
    auto records = read_all(R"({"kind":"x","zeta":1,"alpha":2,"mid":3})");
    REQUIRE(records.size() == 1);
    CHECK(records[0].value.dump() == R"({"kind":"x","zeta":1,"alpha":2,"mid":3})");
}

TEST_CASE("reader: malformed JSON names the source and the line") {
    auto message = read_error("{\"kind\":\"a\"}\n\n{\"kind\": tru}\n{\"kind\":\"c\"}\n", "in.json");
    CHECK_THAT(message, Catch::StartsWith("in.json:3: invalid JSON: "));
    CHECK_THAT(message, Catch::Contains("invalid literal"));
    CHECK_THAT(message, !Catch::Contains("json.exception"));
}

TEST_CASE("reader: a truncated line is reported where the error shows, with its start line") {
    auto message = read_error("{\"kind\":\"a\"}\n{\"kind\":\"b\"\n{\"kind\":\"c\"}\n");
    CHECK_THAT(message, Catch::StartsWith("stdin:3: invalid JSON: "));
    CHECK_THAT(message, Catch::Contains("starts on line 2"));
}

TEST_CASE("reader: a document cut off at the end of input is malformed") {
    auto message = read_error("{\"kind\":\"a\"}\n{\"kind\":\n");
    CHECK_THAT(message, Catch::StartsWith("stdin:2: invalid JSON: "));
    CHECK_THAT(message, Catch::Contains("end of input"));
}

TEST_CASE("reader: a raw newline inside a string is reported on its own line") {
    auto message = read_error("\n{\"kind\":\"a\nb\"}\n");
    CHECK_THAT(message, Catch::StartsWith("stdin:2: invalid JSON: "));
}

TEST_CASE("reader: a number too large and invalid UTF-8 are bad data, not crashes") {
    CHECK_THAT(read_error("{\"kind\":\"a\",\"n\":1e999}"),
               Catch::StartsWith("stdin:1: invalid JSON: "));
    CHECK_THAT(read_error("{\"kind\":\"\xff\xfe\"}"), Catch::StartsWith("stdin:1: invalid JSON: "));
}

TEST_CASE("reader: a top-level value that is not an object is bad data") {
    CHECK_THAT(read_error("{\"kind\":\"a\"}\n[1,2]\n"),
               Catch::StartsWith("stdin:2: invalid JSON: expected an object") &&
                   Catch::EndsWith("got an array"));
    CHECK_THAT(read_error("\"text\"\n"), Catch::Contains("got string \"text\""));
    CHECK_THAT(read_error("null"), Catch::StartsWith("stdin:1: invalid JSON: expected an object"));
}

TEST_CASE("reader: a record needs a string kind") {
    CHECK_THAT(read_error("{\"kind\":\"a\"}\n{\"server\":\"x\"}\n"),
               Catch::StartsWith("stdin:2: field 'kind': missing"));
    CHECK_THAT(read_error("{\"kind\":5}"),
               Catch::StartsWith("stdin:1: field 'kind': expected a string") &&
                   Catch::EndsWith("got number 5"));
}

TEST_CASE("reader: returns each record as soon as it is complete, without reading ahead") {
    FakePipe pipe;
    std::istream in(&pipe);
    NdjsonReader reader(in);

    pipe.feed(R"({"kind":"a"})");
    auto first = reader.next();
    REQUIRE(first);
    CHECK(first->value["kind"] == "a");
    CHECK_FALSE(pipe.starved());

    pipe.feed("\n\n  {\"kind\":\"b\",\n  \"x\": [1, 2]}");
    auto second = reader.next();
    REQUIRE(second);
    CHECK(second->line == 3);
    CHECK(second->value["x"][1] == 2);
    CHECK_FALSE(pipe.starved());

    pipe.feed("\r\n");
    CHECK_FALSE(reader.next());
    CHECK(pipe.starved());
}

TEST_CASE("find_field: walks object keys and array indices") {
    auto r = record_of(
        R"({"kind":"peer-set","nat":{"mapping":"endpoint-independent"},"peers":[{"id":"a"},{"id":"b","endpoint":"203.0.113.9:51820"}]})");
    REQUIRE(find_field(r, "s", "nat.mapping"));
    CHECK(*find_field(r, "s", "nat.mapping") == "endpoint-independent");
    CHECK(require_string(r, "s", "peers[1].id") == "b");
    CHECK(require_endpoint(r, "s", "peers[1].endpoint").port == 51820);
    CHECK(find_field(r, "s", "peers[2].id") == nullptr);
    CHECK(find_field(r, "s", "nat.filtering") == nullptr);
    CHECK(find_field(r, "s", "missing.deeper") == nullptr);
    CHECK(error_of([&] { find_field(r, "s", "kind.x"); }) ==
          "s:7: field 'kind': expected an object, got string \"peer-set\"");
    CHECK(error_of([&] { find_field(r, "s", "nat[0]"); }) ==
          "s:7: field 'nat': expected an array, got an object");
}

TEST_CASE("require_field and require_string name the field and the line") {
    auto r = record_of(R"({"kind":"x","port":5,"name":null})", 4);
    CHECK(error_of([&] { require_field(r, "in.json", "server"); }) ==
          "in.json:4: field 'server': missing");
    CHECK(error_of([&] { require_string(r, "in.json", "port"); }) ==
          "in.json:4: field 'port': expected a string, got number 5");
    CHECK(error_of([&] { require_string(r, "in.json", "peers[0].id"); }) ==
          "in.json:4: field 'peers[0].id': missing");
    CHECK(require_field(r, "in.json", "name").is_null());
    CHECK(require_string(r, "in.json", "kind") == "x");
}

TEST_CASE("optional_string: absent or null is nullopt, another type is an error") {
    auto r = record_of(R"({"kind":"x","a":"text","b":null,"c":true})");
    CHECK(optional_string(r, "s", "a") == "text");
    CHECK_FALSE(optional_string(r, "s", "b"));
    CHECK_FALSE(optional_string(r, "s", "nope"));
    CHECK(error_of([&] { optional_string(r, "s", "c"); }) ==
          "s:7: field 'c': expected a string, got boolean true");
}

TEST_CASE("optional_endpoint: parses wg(8) endpoints and explains the format on error") {
    auto r = record_of(
        R"({"kind":"x","v4":"203.0.113.7:51820","v6":"[2001:db8::7]:51820","name":"example.net:3478","num":51820,"none":null})",
        9);
    auto v4 = optional_endpoint(r, "s", "v4");
    REQUIRE(v4);
    CHECK(v4->to_string() == "203.0.113.7:51820");
    auto v6 = optional_endpoint(r, "s", "v6");
    REQUIRE(v6);
    CHECK(v6->to_string() == "[2001:db8::7]:51820");
    CHECK_FALSE(optional_endpoint(r, "s", "none"));
    CHECK_FALSE(optional_endpoint(r, "s", "absent"));
    CHECK(error_of([&] { optional_endpoint(r, "s", "name"); }) ==
          "s:9: field 'name': expected an endpoint like 203.0.113.7:51820 or "
          "[2001:db8::7]:51820, got string \"example.net:3478\"");
    CHECK_THAT(error_of([&] { optional_endpoint(r, "s", "num"); }),
               Catch::StartsWith("s:9: field 'num': expected an endpoint like") &&
                   Catch::EndsWith("got number 51820"));
}

TEST_CASE("optional_number, optional_integer and optional_bool check the type") {
    auto r = record_of(
        R"({"kind":"x","f":12.5,"i":3,"fi":4.0,"big":18446744073709551615,"s":"12","b":false,"neg":-2})");
    CHECK(optional_number(r, "s", "f") == 12.5);
    CHECK(optional_number(r, "s", "i") == 3.0);
    CHECK_FALSE(optional_number(r, "s", "nope"));
    CHECK(error_of([&] { optional_number(r, "s", "s"); }) ==
          "s:7: field 's': expected a number, got string \"12\"");
    CHECK(error_of([&] { optional_number(r, "s", "b"); }) ==
          "s:7: field 'b': expected a number, got boolean false");
    CHECK(optional_integer(r, "s", "i") == 3);
    CHECK(optional_integer(r, "s", "fi") == 4);
    CHECK(optional_integer(r, "s", "neg") == -2);
    CHECK(error_of([&] { optional_integer(r, "s", "f"); }) ==
          "s:7: field 'f': expected an integer, got number 12.5");
    CHECK_THAT(error_of([&] { optional_integer(r, "s", "big"); }),
               Catch::StartsWith("s:7: field 'big': expected an integer"));
    CHECK(optional_bool(r, "s", "b") == false);
    CHECK(error_of([&] { optional_bool(r, "s", "i"); }) ==
          "s:7: field 'i': expected true or false, got number 3");
}

namespace {

// A string buffer that counts flushes.
class FlushCounter : public std::stringbuf {
  public:
    int flushes = 0;

  protected:
    int sync() override {
        ++flushes;
        return std::stringbuf::sync();
    }
};

const json kRecord =
    json::parse(R"({"kind":"stun.binding","server":"198.51.100.1:3478","rtt_ms":23.4})");

}  // namespace

TEST_CASE("writer: NDJSON, one line per record, flushed after each") {
    FlushCounter buffer;
    std::ostream out(&buffer);
    RecordWriter writer(out, OutputFormat{});
    writer.write(kRecord);
    CHECK(buffer.flushes == 1);
    CHECK(buffer.str() == kRecord.dump() + "\n");
    writer.write(json::parse(R"({"kind":"b"})"));
    CHECK(buffer.flushes == 2);
    CHECK(buffer.str() == R"({"kind":"stun.binding","server":"198.51.100.1:3478","rtt_ms":23.4})"
                          "\n"
                          R"({"kind":"b"})"
                          "\n");
}

TEST_CASE("writer: --pretty indents, and the output reads back") {
    std::ostringstream out;
    RecordWriter writer(out, OutputFormat{true, false});
    writer.write(kRecord);
    writer.write(kRecord);
    CHECK_THAT(out.str(), Catch::StartsWith("{\n  \"kind\": \"stun.binding\",\n"));
    auto records = read_all(out.str());
    REQUIRE(records.size() == 2);
    CHECK(records[1].value == kRecord);
    CHECK(records[1].line == 6);
}

TEST_CASE("writer: --text prints to_text, one record per line") {
    std::ostringstream out;
    RecordWriter writer(out, OutputFormat{true, true});
    writer.write(kRecord);
    CHECK(out.str() == to_text(kRecord) + "\n");
    CHECK(out.str() == "198.51.100.1:3478  rtt 23.4 ms\n");
}

TEST_CASE("writer: an output that is gone is an error") {
    std::ostringstream out;
    out.setstate(std::ios::badbit);
    RecordWriter writer(out, OutputFormat{});
    CHECK_THROWS_AS(writer.write(kRecord), Error);
}

TEST_CASE("describe: short descriptions for messages") {
    CHECK(describe(json::object()) == "an object");
    CHECK(describe(json::array()) == "an array");
    CHECK(describe(json()) == "null");
    CHECK(describe(json(std::string(100, 'x'))).size() < 60);
}

TEST_CASE("feed: records come out as their lines complete, with the stream's line numbers") {
    NdjsonFeed feed;
    CHECK(feed.feed(R"({"kind":"a"})").empty());  // no newline yet
    auto first = feed.feed("\n\n{\"kind\":");
    REQUIRE(first.size() == 1);
    CHECK(first[0].value["kind"] == "a");
    CHECK(first[0].line == 1);
    auto second = feed.feed("\"b\"}\r\n{\"kind\":\"c\"}");
    REQUIRE(second.size() == 1);
    CHECK(second[0].value["kind"] == "b");
    CHECK(second[0].line == 3);
    auto last = feed.finish();  // a last line without its newline
    REQUIRE(last.size() == 1);
    CHECK(last[0].line == 4);
    CHECK(feed.finish().empty());
    CHECK(feed.bytes_seen() == 40);
}

TEST_CASE("feed: a bad line is bad input naming its line, as the reader would") {
    NdjsonFeed feed("stdin");
    feed.feed("{\"kind\":\"a\"}\n");
    auto problem = [&](const std::string& text) {
        try {
            feed.feed(text + "\n");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::data);
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(problem("{\"kind\":") ==
          "stdin:2: invalid JSON: syntax error while parsing value - "
          "unexpected end of input; expected '[', '{', or a literal "
          "(one record a line is expected)");
    CHECK(problem("[1]").starts_with("stdin:3: invalid JSON: expected an object"));
    CHECK(problem("{\"x\":1}").starts_with("stdin:4: field 'kind': missing"));
    CHECK(problem("{\"kind\":7}").starts_with("stdin:5: field 'kind': expected a string"));
}
