#include "stun/message.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <stdexcept>
#include <string>
#include <vector>

using natkit::net::Endpoint;
using natkit::net::Family;
using namespace natkit::stun;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Hex as RFC 5769 prints it (spaces and line breaks ignored) to bytes. Runs before main for
// the constants below, so it must not use Catch2's assertions.
Bytes hex(std::string_view text) {
    std::string digits;
    for (char c : text) {
        if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
    }
    Bytes out;
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    }
    return out;
}

Bytes bytes_of(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

Endpoint endpoint(std::string_view text) {
    auto parsed = Endpoint::parse(text);
    REQUIRE(parsed);
    return *parsed;
}

// RFC 5769 section 2.1: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY,
// FINGERPRINT.
const Bytes kSampleRequest = hex(R"(
    00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
    00 24 00 04 6e 00 01 ff
    80 29 00 08 93 2f f9 b1 51 26 3b 36
    00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
    00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
    80 28 00 04 e5 7a 3b cf)");

// RFC 5769 section 2.2: SOFTWARE, XOR-MAPPED-ADDRESS 192.0.2.1:32853, MI, FINGERPRINT.
const Bytes kSampleIpv4Response = hex(R"(
    01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 08 00 01 a1 47 e1 12 a6 43
    00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
    80 28 00 04 c0 7d 4c 96)");

// RFC 5769 section 2.3: the same with [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const Bytes kSampleIpv6Response = hex(R"(
    01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
    00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
    80 28 00 04 c8 fb 0b 4c)");

// RFC 5769 section 2.4: USERNAME, NONCE, REALM, MESSAGE-INTEGRITY (long-term), no FINGERPRINT.
const Bytes kSampleLongTermRequest = hex(R"(
    00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
    00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
    00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34
    73 41
    00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
    00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66)");

const Bytes kShortTermPassword = bytes_of("VOkJxbRl1RmTxUk/WvJxBt");
const TransactionId kSampleId{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                              0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
const std::string kLongTermUsername =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

Message decoded(const Bytes& datagram) {
    auto result = decode(datagram);
    INFO("decode error: " << result.error);
    REQUIRE(result.message);
    return *result.message;
}

std::string decode_error(const Bytes& datagram) {
    auto result = decode(datagram);
    CHECK_FALSE(result.message);
    CHECK_FALSE(result.error.empty());
    return result.error;
}

// One attribute, padded to 4 bytes.
Bytes attribute(std::uint16_t type, const Bytes& value) {
    Bytes out{static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type),
              static_cast<std::uint8_t>(value.size() >> 8),
              static_cast<std::uint8_t>(value.size())};
    out.insert(out.end(), value.begin(), value.end());
    while (out.size() % 4 != 0) out.push_back(0);
    return out;
}

// A message with the given header fields and raw attribute bytes; the length field is correct.
Bytes message_bytes(std::uint16_t type, std::uint32_t cookie, const Bytes& attributes,
                    const TransactionId& id = kSampleId) {
    Bytes out{static_cast<std::uint8_t>(type >> 8),
              static_cast<std::uint8_t>(type),
              static_cast<std::uint8_t>(attributes.size() >> 8),
              static_cast<std::uint8_t>(attributes.size()),
              static_cast<std::uint8_t>(cookie >> 24),
              static_cast<std::uint8_t>(cookie >> 16),
              static_cast<std::uint8_t>(cookie >> 8),
              static_cast<std::uint8_t>(cookie)};
    out.insert(out.end(), id.begin(), id.end());
    out.insert(out.end(), attributes.begin(), attributes.end());
    return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

Bytes success_with(const Bytes& attributes) {
    return message_bytes(0x0101, kMagicCookie, attributes);
}

const Bytes kMapped192 = {0x00, 0x01, 0x80, 0x55, 192, 0, 2, 1};  // 192.0.2.1:32853

Message round_trip(const Message& message, const EncodeOptions& options = {}) {
    return decoded(encode(message, options));
}

}  // namespace

TEST_CASE("RFC 5769 2.1 sample request decodes and verifies", "[stun][rfc5769]") {
    REQUIRE(kSampleRequest.size() == 108);
    const Message m = decoded(kSampleRequest);
    CHECK(m.cls == MessageClass::request);
    CHECK(m.method == kMethodBinding);
    CHECK(m.has_magic_cookie);
    CHECK(m.cookie_field == kMagicCookie);
    CHECK(m.transaction_id == kSampleId);
    CHECK(m.software == "STUN test client");
    CHECK(m.username == "evtj:h6vY");
    CHECK(m.unknown_comprehension_required == std::vector<std::uint16_t>{0x0024});  // PRIORITY
    CHECK(m.integrity_offset == std::optional<std::size_t>{76});
    CHECK(m.fingerprint_offset == std::optional<std::size_t>{100});
    CHECK(m.fingerprint_valid);
    CHECK_FALSE(m.reflexive_address());

    CHECK(verify_integrity(kSampleRequest, m, kShortTermPassword));
    CHECK_FALSE(verify_integrity(kSampleRequest, m, bytes_of("VOkJxbRl1RmTxUk/WvJxBT")));
}

TEST_CASE("RFC 5769 2.1: one flipped byte fails MI and FINGERPRINT", "[stun][rfc5769]") {
    const Message m = decoded(kSampleRequest);
    for (std::size_t at : {std::size_t{0x1c}, std::size_t{0x45}, std::size_t{0x55}}) {
        Bytes flipped = kSampleRequest;
        flipped[at] ^= 0x01;
        CHECK_FALSE(verify_integrity(flipped, m, kShortTermPassword));
        CHECK(decode(flipped).error ==
              "fingerprint mismatch: the message was corrupted or is not "
              "STUN");
    }
    Bytes bad_crc = kSampleRequest;
    bad_crc.back() ^= 0x80;
    CHECK(decode_error(bad_crc).find("fingerprint mismatch") != std::string::npos);
}

TEST_CASE("RFC 5769 2.2 sample IPv4 response", "[stun][rfc5769]") {
    const Message m = decoded(kSampleIpv4Response);
    CHECK(m.cls == MessageClass::success);
    CHECK(m.method == kMethodBinding);
    CHECK(m.transaction_id == kSampleId);
    CHECK(m.software == "test vector");
    REQUIRE(m.xor_mapped_address);
    CHECK(m.xor_mapped_address->family() == Family::v4);
    CHECK(m.xor_mapped_address->to_string() == "192.0.2.1:32853");
    CHECK(m.reflexive_address() == m.xor_mapped_address);
    CHECK_FALSE(m.mapped_address);
    CHECK(m.unknown_comprehension_required.empty());
    CHECK(m.fingerprint_valid);
    CHECK(verify_integrity(kSampleIpv4Response, m, kShortTermPassword));

    Bytes flipped = kSampleIpv4Response;
    flipped[0x28] ^= 0x10;  // inside XOR-MAPPED-ADDRESS
    CHECK_FALSE(verify_integrity(flipped, m, kShortTermPassword));
    CHECK(decode_error(flipped).find("fingerprint mismatch") != std::string::npos);
}

TEST_CASE("RFC 5769 2.3 sample IPv6 response", "[stun][rfc5769]") {
    const Message m = decoded(kSampleIpv6Response);
    CHECK(m.cls == MessageClass::success);
    CHECK(m.software == "test vector");
    REQUIRE(m.xor_mapped_address);
    CHECK(m.xor_mapped_address->family() == Family::v6);
    CHECK(m.xor_mapped_address->port == 32853);
    CHECK(m.xor_mapped_address->address.to_string() == "2001:db8:1234:5678:11:2233:4455:6677");
    CHECK(m.fingerprint_valid);
    CHECK(verify_integrity(kSampleIpv6Response, m, kShortTermPassword));

    Bytes flipped = kSampleIpv6Response;
    flipped[0x30] ^= 0x01;  // last bytes of the IPv6 address
    CHECK_FALSE(verify_integrity(flipped, m, kShortTermPassword));
    CHECK(decode_error(flipped).find("fingerprint mismatch") != std::string::npos);
}

TEST_CASE("RFC 5769 2.4 sample request with long-term authentication", "[stun][rfc5769]") {
    const Message m = decoded(kSampleLongTermRequest);
    CHECK(m.cls == MessageClass::request);
    CHECK(m.transaction_id ==
          TransactionId{0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e});
    CHECK(m.username == kLongTermUsername);
    CHECK(m.realm == "example.org");
    CHECK(m.nonce == "f//499k954d6OL34oL9FSTvy64sA");
    CHECK(m.unknown_comprehension_required.empty());
    CHECK_FALSE(m.fingerprint_offset);
    CHECK_FALSE(m.fingerprint_valid);

    const auto key = long_term_key(kLongTermUsername, "example.org", "TheMatrIX");
    CHECK(key.size() == 16);
    CHECK(verify_integrity(kSampleLongTermRequest, m, key));
    CHECK_FALSE(verify_integrity(kSampleLongTermRequest, m,
                                 long_term_key(kLongTermUsername, "example.org", "TheMatrix")));
    CHECK_FALSE(verify_integrity(kSampleLongTermRequest, m, kShortTermPassword));

    for (std::size_t at = kHeaderSize; at < kSampleLongTermRequest.size(); at += 13) {
        Bytes flipped = kSampleLongTermRequest;
        flipped[at] ^= 0x04;
        INFO("flipped byte " << at);
        CHECK_FALSE(verify_integrity(flipped, m, key));
    }
}

TEST_CASE("encode reproduces the RFC 5769 2.4 request byte for byte", "[stun][rfc5769]") {
    Message m = binding_request(
        TransactionId{0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e});
    m.username = kLongTermUsername;
    m.nonce = "f//499k954d6OL34oL9FSTvy64sA";
    m.realm = "example.org";
    EncodeOptions options;
    options.integrity_key = long_term_key(kLongTermUsername, "example.org", "TheMatrIX");
    CHECK(encode(m, options) == kSampleLongTermRequest);
}

TEST_CASE("FINGERPRINT is CRC-32 XOR 0x5354554e", "[stun]") {
    // 0xCBF43926 is the published CRC-32 check value of "123456789".
    CHECK(fingerprint_of(bytes_of("123456789")) == (0xCBF43926u ^ 0x5354554eu));
    CHECK(fingerprint_of({}) == 0x5354554eu);
}

TEST_CASE("message type interleaves class and method bits", "[stun]") {
    struct Case {
        MessageClass cls;
        std::uint16_t method;
        std::uint16_t type;
    };
    for (const Case& c :
         {Case{MessageClass::request, 0x001, 0x0001}, Case{MessageClass::indication, 0x001, 0x0011},
          Case{MessageClass::success, 0x001, 0x0101}, Case{MessageClass::error, 0x001, 0x0111},
          Case{MessageClass::error, 0x003, 0x0113},
          Case{MessageClass::indication, 0x006, 0x0016},  // TURN Send
          Case{MessageClass::indication, 0x007, 0x0017},  // TURN Data
          Case{MessageClass::success, 0x009, 0x0109},     // ChannelBind
          Case{MessageClass::success, 0xFFF, 0x3FEF}, Case{MessageClass::request, 0xFFF, 0x3EEF}}) {
        Message m;
        m.cls = c.cls;
        m.method = c.method;
        const Bytes wire = encode(m);
        INFO("type " << c.type);
        CHECK((wire[0] << 8 | wire[1]) == c.type);
        const Message back = decoded(wire);
        CHECK(back.cls == c.cls);
        CHECK(back.method == c.method);
    }
}

TEST_CASE("binding_request and class_name", "[stun]") {
    const TransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const Bytes wire = encode(binding_request(id));
    CHECK(wire == hex("0001 0000 2112a442 0102030405060708090a0b0c"));
    CHECK(class_name(MessageClass::request) == "request");
    CHECK(class_name(MessageClass::indication) == "indication");
    CHECK(class_name(MessageClass::success) == "success response");
    CHECK(class_name(MessageClass::error) == "error response");
}

TEST_CASE("address attributes round-trip, IPv4 and IPv6", "[stun][roundtrip]") {
    const auto v4 = endpoint("203.0.113.7:51820");
    const auto v6 = endpoint("[2001:db8::7]:3479");
    for (const auto& address : {v4, v6}) {
        Message m;
        m.cls = MessageClass::success;
        m.transaction_id = kSampleId;
        m.mapped_address = address;
        m.xor_mapped_address = address;
        m.response_origin = address;
        m.other_address = address;
        m.changed_address = address;
        m.source_address = address;
        m.alternate_server = address;
        const Message back = round_trip(m);
        INFO(address.to_string());
        CHECK(back.mapped_address == address);
        CHECK(back.xor_mapped_address == address);
        CHECK(back.response_origin == address);
        CHECK(back.other_address == address);
        CHECK(back.changed_address == address);
        CHECK(back.source_address == address);
        CHECK(back.alternate_server == address);
    }
}

TEST_CASE("XOR-MAPPED-ADDRESS is XORed on the wire", "[stun]") {
    Message m;
    m.transaction_id = kSampleId;
    m.xor_mapped_address = endpoint("192.0.2.1:32853");
    const Bytes wire = encode(m);
    CHECK(wire ==
          message_bytes(0x0001, kMagicCookie, attribute(0x0020, hex("0001 a147 e112a643"))));
}

TEST_CASE("an IPv4-mapped IPv6 endpoint is written as IPv4", "[stun]") {
    Message m;
    m.mapped_address = endpoint("[::ffff:192.0.2.7]:3478");
    m.xor_mapped_address = m.mapped_address;
    const Bytes wire = encode(m);
    REQUIRE(wire.size() == kHeaderSize + 12 + 12);
    CHECK(wire[kHeaderSize + 3] == 8);  // XOR-MAPPED-ADDRESS length: IPv4
    CHECK(wire[kHeaderSize + 5] == 1);  // family IPv4
    const Message back = decoded(wire);
    CHECK(back.mapped_address == endpoint("192.0.2.7:3478"));
    CHECK(back.xor_mapped_address == endpoint("192.0.2.7:3478"));
}

TEST_CASE("text, error and RFC 5780 attributes round-trip", "[stun][roundtrip]") {
    Message m;
    m.cls = MessageClass::error;
    m.transaction_id = kSampleId;
    m.software = "natkit 0.1 \xc3\xa9";
    m.username = "alice:bob";
    m.realm = "example.org";
    m.nonce = "abcdefg";
    m.error_code = ErrorCode{420, "Unknown Attribute"};
    m.unknown_attributes = {0x0024, 0x7777, 0x0031};
    m.change_request = ChangeRequest{true, false};
    m.response_port = 40000;
    m.padding_length = 13;
    const Message back = round_trip(m);
    CHECK(back.cls == MessageClass::error);
    CHECK(back.software == m.software);
    CHECK(back.username == m.username);
    CHECK(back.realm == m.realm);
    CHECK(back.nonce == m.nonce);
    CHECK(back.error_code == m.error_code);
    CHECK(back.unknown_attributes == m.unknown_attributes);
    CHECK(back.change_request == m.change_request);
    CHECK(back.response_port == m.response_port);
    CHECK(back.padding_length == m.padding_length);
    CHECK(back.unknown_comprehension_required.empty());
}

TEST_CASE("CHANGE-REQUEST flags and ERROR-CODE values round-trip", "[stun][roundtrip]") {
    for (bool ip : {false, true}) {
        for (bool port : {false, true}) {
            Message m;
            m.change_request = ChangeRequest{ip, port};
            CHECK(round_trip(m).change_request == m.change_request);
        }
    }
    for (int code : {300, 400, 401, 438, 500, 599, 699}) {
        Message m;
        m.cls = MessageClass::error;
        m.error_code = ErrorCode{code, ""};
        CHECK(round_trip(m).error_code == m.error_code);
    }
}

TEST_CASE("CHANGE-REQUEST wire flags are RFC 5780's", "[stun]") {
    Message m = binding_request(kSampleId);
    m.change_request = ChangeRequest{true, true};
    CHECK(encode(m) == message_bytes(0x0001, kMagicCookie, attribute(0x0003, hex("00000006"))));
}

TEST_CASE("encode adds MESSAGE-INTEGRITY and FINGERPRINT that verify", "[stun][roundtrip]") {
    Message m;
    m.cls = MessageClass::success;
    m.transaction_id = kSampleId;
    m.software = "odd length";
    m.xor_mapped_address = endpoint("[2001:db8::1]:443");
    EncodeOptions options;
    options.integrity_key = bytes_of("secret");
    options.fingerprint = true;
    const Bytes wire = encode(m, options);
    REQUIRE(looks_like_stun(wire));
    const Message back = decoded(wire);
    CHECK(back.fingerprint_valid);
    REQUIRE(back.integrity_offset);
    CHECK(*back.integrity_offset == wire.size() - 24 - 8);
    CHECK(back.fingerprint_offset == wire.size() - 8);
    CHECK(verify_integrity(wire, back, bytes_of("secret")));
    CHECK_FALSE(verify_integrity(wire, back, bytes_of("Secret")));
    CHECK(back.xor_mapped_address == m.xor_mapped_address);

    SECTION("integrity without fingerprint") {
        options.fingerprint = false;
        const Bytes plain = encode(m, options);
        const Message decoded_plain = decoded(plain);
        CHECK_FALSE(decoded_plain.fingerprint_offset);
        CHECK(verify_integrity(plain, decoded_plain, bytes_of("secret")));
    }
    SECTION("fingerprint without integrity") {
        options.integrity_key.reset();
        const Bytes plain = encode(m, options);
        const Message decoded_plain = decoded(plain);
        CHECK(decoded_plain.fingerprint_valid);
        CHECK_FALSE(decoded_plain.integrity_offset);
        CHECK_FALSE(verify_integrity(plain, decoded_plain, bytes_of("secret")));
    }
    SECTION("an empty key works") {
        options.integrity_key = Bytes{};
        const Bytes keyed = encode(m, options);
        CHECK(verify_integrity(keyed, decoded(keyed), {}));
    }
}

TEST_CASE("RFC 3489 message without magic cookie", "[stun][rfc3489]") {
    const std::uint32_t cookie = 0x0a0b0c0d;
    const Bytes wire = message_bytes(
        0x0101, cookie,
        concat({attribute(0x0001, kMapped192), attribute(0x0004, hex("0001 0d96 c6336401")),
                attribute(0x0005, hex("0001 0d97 c6336402")),
                attribute(0x8022, bytes_of("Vovida.org 0.96 "))}));
    const Message m = decoded(wire);
    CHECK_FALSE(m.has_magic_cookie);
    CHECK(m.cookie_field == cookie);
    CHECK(m.transaction_id == kSampleId);
    CHECK(m.mapped_address == endpoint("192.0.2.1:32853"));
    CHECK(m.reflexive_address() == endpoint("192.0.2.1:32853"));
    CHECK(m.source_address == endpoint("198.51.100.1:3478"));
    CHECK(m.changed_address == endpoint("198.51.100.2:3479"));
    CHECK(m.alternate_address() == endpoint("198.51.100.2:3479"));
    CHECK(m.software == "Vovida.org 0.96 ");

    SECTION("and it round-trips with its cookie field") {
        Message copy = m;
        copy.xor_mapped_address = endpoint("[2001:db8::5]:7");
        const Bytes again = encode(copy);
        CHECK(Bytes(again.begin() + 4, again.begin() + 8) == hex("0a0b0c0d"));
        const Message back = decoded(again);
        CHECK_FALSE(back.has_magic_cookie);
        CHECK(back.cookie_field == cookie);
        CHECK(back.xor_mapped_address == copy.xor_mapped_address);
    }
}

TEST_CASE("OTHER-ADDRESS wins over CHANGED-ADDRESS as alternate_address", "[stun]") {
    const Message m = decoded(success_with(concat({
        attribute(0x0005, hex("0001 0d97 c6336402")),  // CHANGED-ADDRESS 198.51.100.2:3479
        attribute(0x802C, hex("0001 0d98 c6336403")),  // OTHER-ADDRESS 198.51.100.3:3480
        attribute(0x802B, hex("0001 0d96 c6336401")),  // RESPONSE-ORIGIN 198.51.100.1:3478
    })));
    CHECK(m.alternate_address() == endpoint("198.51.100.3:3480"));
    CHECK(m.response_origin == endpoint("198.51.100.1:3478"));
}

TEST_CASE("old XOR-MAPPED-ADDRESS 0x8020", "[stun]") {
    const Bytes xored = hex("0001 a147 e112a643");  // 192.0.2.1:32853
    const Bytes other = hex("0001 a147 e112a644");  // 192.0.2.6:32853

    SECTION("decoded when 0x0020 is absent") {
        const Message m = decoded(success_with(attribute(0x8020, xored)));
        CHECK(m.xor_mapped_address == endpoint("192.0.2.1:32853"));
    }
    SECTION("0x0020 wins, whatever the order") {
        const Message m =
            decoded(success_with(concat({attribute(0x8020, other), attribute(0x0020, xored)})));
        CHECK(m.xor_mapped_address == endpoint("192.0.2.1:32853"));
    }
}

TEST_CASE("duplicate attributes: the first one wins", "[stun]") {
    const Message m = decoded(success_with(concat({
        attribute(0x0001, kMapped192), attribute(0x0001, hex("0001 0001 01020304")),
        attribute(0x8022, bytes_of("first")), attribute(0x8022, bytes_of("second")),
        attribute(0x0001, hex("0009 0001 01020304")),  // a bad duplicate is not even read
    })));
    CHECK(m.mapped_address == endpoint("192.0.2.1:32853"));
    CHECK(m.software == "first");
}

TEST_CASE("unknown attributes: comprehension-required collected, optional skipped", "[stun]") {
    const Message m = decoded(success_with(concat({
        attribute(0x0024, hex("6e0001ff")),
        attribute(0x8029, hex("932ff9b1 51263b36")),
        attribute(0x7FFF, {}),
        attribute(0x0024, hex("00000000")),
        attribute(0xC001, bytes_of("x")),
    })));
    CHECK(m.unknown_comprehension_required == std::vector<std::uint16_t>{0x0024, 0x7FFF});
}

TEST_CASE("after MESSAGE-INTEGRITY only FINGERPRINT counts", "[stun]") {
    Message m;
    m.cls = MessageClass::success;
    m.transaction_id = kSampleId;
    m.software = "before";
    EncodeOptions options;
    options.integrity_key = bytes_of("key");
    Bytes wire = encode(m, options);
    // Append SOFTWARE-duplicate-free attributes after the MI: a MAPPED-ADDRESS and an unknown
    // comprehension-required attribute; both must be ignored.
    const Bytes tail = concat({attribute(0x0001, kMapped192), attribute(0x0031, {})});
    wire.insert(wire.end(), tail.begin(), tail.end());
    wire[3] = static_cast<std::uint8_t>(wire.size() - kHeaderSize);
    const Message back = decoded(wire);
    CHECK(back.software == "before");
    CHECK_FALSE(back.mapped_address);
    CHECK(back.unknown_comprehension_required.empty());
    CHECK(verify_integrity(wire, back, bytes_of("key")));
}

TEST_CASE("after FINGERPRINT everything is ignored", "[stun]") {
    Message m;
    m.software = "x";
    EncodeOptions options;
    options.fingerprint = true;
    Bytes wire = encode(m, options);
    const Bytes tail = concat({attribute(0x0001, kMapped192), attribute(0x0009, {})});
    wire.insert(wire.end(), tail.begin(), tail.end());
    wire[3] = static_cast<std::uint8_t>(wire.size() - kHeaderSize);
    const Message back = decoded(wire);
    CHECK(back.fingerprint_valid);
    CHECK_FALSE(back.mapped_address);
    CHECK_FALSE(back.error_code);
}

TEST_CASE("SOFTWARE that is not UTF-8 is made displayable", "[stun]") {
    const Message m = decoded(success_with(
        attribute(0x8022, Bytes{'o', 'k', 0xff, 0xc3, 0xa9, 0xe0, 0x80, 0x80, 0xed, 0xa0, 0x80})));
    CHECK(m.software == "ok?\xc3\xa9??????");
}

TEST_CASE("looks_like_stun", "[stun]") {
    CHECK(looks_like_stun(kSampleRequest));
    CHECK(looks_like_stun(encode(binding_request({}))));
    CHECK_FALSE(looks_like_stun(Bytes(19, 0)));
    Bytes bits = kSampleRequest;
    bits[0] |= 0x40;
    CHECK_FALSE(looks_like_stun(bits));
    Bytes longer = kSampleRequest;
    longer.push_back(0);
    CHECK_FALSE(looks_like_stun(longer));
    Bytes odd = encode(binding_request({}));
    odd[3] = 2;
    odd.resize(22);
    CHECK_FALSE(looks_like_stun(odd));
}

TEST_CASE("malformed messages are refused with a reason", "[stun][malformed]") {
    SECTION("truncated header") {
        CHECK(decode_error(Bytes(kSampleRequest.begin(), kSampleRequest.begin() + 19))
                  .find("truncated") != std::string::npos);
        CHECK_FALSE(decode({}).message);
    }
    SECTION("first two bits set") {
        for (std::uint8_t bits : {0x40, 0x80, 0xC0}) {
            Bytes wire = kSampleRequest;
            wire[0] |= bits;
            CHECK(decode_error(wire).find("first two bits") != std::string::npos);
        }
    }
    SECTION("length field not a multiple of 4") {
        Bytes wire = message_bytes(0x0101, kMagicCookie, Bytes{0, 0});
        CHECK(decode_error(wire).find("not a multiple of 4") != std::string::npos);
    }
    SECTION("length field disagrees with the datagram") {
        Bytes shorter(kSampleRequest.begin(), kSampleRequest.end() - 4);
        CHECK(decode_error(shorter).find("length 88") != std::string::npos);
        Bytes longer = kSampleRequest;
        longer.insert(longer.end(), {0, 0, 0, 0});
        CHECK(decode_error(longer).find("length 88") != std::string::npos);
    }
    SECTION("attribute overruns the message") {
        Bytes wire = success_with(attribute(0x8022, bytes_of("abcd")));
        wire[kHeaderSize + 3] = 5;  // 5 bytes, padded to 8, only 4 left
        CHECK(decode_error(wire).find("SOFTWARE (0x8022) at offset 20 has length 5") !=
              std::string::npos);
        wire[kHeaderSize + 3] = 0xff;
        CHECK(decode_error(wire).find("only 4 bytes remain") != std::string::npos);
    }
    SECTION("bad address family") {
        Bytes value = kMapped192;
        value[1] = 3;
        CHECK(decode_error(success_with(attribute(0x0020, value))) ==
              "XOR-MAPPED-ADDRESS (0x0020) at offset 20 has address family 3; only 1 (IPv4) and "
              "2 (IPv6) exist");
        CHECK(decode_error(success_with(attribute(0x802C, value))).find("OTHER-ADDRESS") !=
              std::string::npos);
    }
    SECTION("address length does not match the family") {
        Bytes v4_as_v6 = kMapped192;
        v4_as_v6[1] = 2;
        CHECK(decode_error(success_with(attribute(0x0001, v4_as_v6))).find("for IPv6") !=
              std::string::npos);
        CHECK(decode_error(success_with(attribute(0x0001, concat({kMapped192, Bytes(4, 0)}))))
                  .find("for IPv4") != std::string::npos);
        CHECK_FALSE(decode(success_with(attribute(0x0001, Bytes{0}))).message);
    }
    SECTION("bad ERROR-CODE class or number") {
        for (std::uint8_t cls : {0, 1, 2, 7}) {
            const Bytes wire = success_with(attribute(0x0009, Bytes{0, 0, cls, 0}));
            CHECK(decode_error(wire).find("class " + std::to_string(cls)) != std::string::npos);
        }
        CHECK(
            decode_error(success_with(attribute(0x0009, Bytes{0, 0, 4, 100}))).find("number 100") !=
            std::string::npos);
        CHECK_FALSE(decode(success_with(attribute(0x0009, Bytes{0, 0, 4}))).message);
        CHECK(decoded(success_with(attribute(0x0009, Bytes{0, 0, 6, 99}))).error_code->code == 699);
    }
    SECTION("wrong FINGERPRINT") {
        Message m;
        m.software = "abc";
        EncodeOptions options;
        options.fingerprint = true;
        Bytes wire = encode(m, options);
        wire[kHeaderSize + 4] = 'x';
        CHECK(decode_error(wire).find("fingerprint mismatch") != std::string::npos);
    }
    SECTION("fixed-size attributes with the wrong size") {
        CHECK_FALSE(decode(success_with(attribute(0x0008, Bytes(16, 0)))).message);
        CHECK_FALSE(decode(success_with(attribute(0x8028, Bytes(8, 0)))).message);
        CHECK_FALSE(decode(success_with(attribute(0x0003, Bytes(8, 0)))).message);
        CHECK_FALSE(decode(success_with(attribute(0x0027, Bytes(2, 0)))).message);
        CHECK_FALSE(decode(success_with(attribute(0x000A, Bytes(3, 0)))).message);
    }
    SECTION("over-long text") {
        CHECK(decode_error(success_with(attribute(0x8022, Bytes(764, 'a')))).find("at most 763") !=
              std::string::npos);
        CHECK(decoded(success_with(attribute(0x8022, Bytes(763, 'a')))).software->size() == 763);
        CHECK_FALSE(decode(success_with(attribute(0x0006, Bytes(514, 'a')))).message);
        CHECK_FALSE(decode(success_with(attribute(0x0014, Bytes(764, 'a')))).message);
    }
}

TEST_CASE("verify_integrity refuses what it cannot check", "[stun]") {
    Message without_mi = decoded(kSampleIpv4Response);
    without_mi.integrity_offset.reset();
    CHECK_FALSE(verify_integrity(kSampleIpv4Response, without_mi, kShortTermPassword));
    Message wrong_offset = decoded(kSampleIpv4Response);
    wrong_offset.integrity_offset = 20;  // SOFTWARE is there, not MESSAGE-INTEGRITY
    CHECK_FALSE(verify_integrity(kSampleIpv4Response, wrong_offset, kShortTermPassword));
    wrong_offset.integrity_offset = kSampleIpv4Response.size() - 8;
    CHECK_FALSE(verify_integrity(kSampleIpv4Response, wrong_offset, kShortTermPassword));
}

TEST_CASE("encode refuses values RFC 8489 does not allow", "[stun]") {
    Message m;
    m.error_code = ErrorCode{299, ""};
    CHECK_THROWS_AS(encode(m), std::invalid_argument);
    m.error_code = ErrorCode{700, ""};
    CHECK_THROWS_AS(encode(m), std::invalid_argument);
    m.error_code.reset();
    m.software = std::string(764, 'a');
    CHECK_THROWS_AS(encode(m), std::invalid_argument);
    m.software.reset();
    m.username = std::string(514, 'a');
    CHECK_THROWS_AS(encode(m), std::invalid_argument);
    m.username.reset();
    m.method = 0x1000;
    CHECK_THROWS_AS(encode(m), std::invalid_argument);
    m.method = kMethodBinding;
    m.padding_length = 65532;
    CHECK_THROWS_AS(encode(m, EncodeOptions{std::nullopt, true}), std::invalid_argument);
    m.padding_length = 65528;
    CHECK(encode(m).size() == kHeaderSize + 65532);
}

TEST_CASE("long_term_key depends on every part", "[stun]") {
    // The RFC 5769 2.4 test above checks the value itself (through MESSAGE-INTEGRITY).
    const auto key = long_term_key("user", "realm", "pass");
    CHECK(key.size() == 16);
    CHECK(key == long_term_key("user", "realm", "pass"));
    CHECK(key != long_term_key("User", "realm", "pass"));
    CHECK(key != long_term_key("user", "Realm", "pass"));
    CHECK(key != long_term_key("user", "realm", "Pass"));
    CHECK(key != long_term_key("user:realm", "", "pass"));
}
