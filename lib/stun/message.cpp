#include "stun/message.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace natkit::stun {

namespace {

using Bytes = std::span<const std::uint8_t>;
using Mask = std::optional<std::array<std::uint8_t, 16>>;  // XOR-address mask, none = plain

constexpr std::size_t kAttributeHeaderSize = 4;
constexpr std::size_t kIntegritySize = 20;
constexpr std::size_t kFingerprintSize = 4;
constexpr std::size_t kMaxTextBytes = 763;  // SOFTWARE, REALM, NONCE, ERROR-CODE reason
constexpr std::size_t kMaxUsernameBytes = 513;
constexpr std::size_t kMaxLengthField = 0xFFFF;
constexpr std::uint16_t kMaxMethod = 0x0FFF;
constexpr std::uint16_t kFirstOptionalType = 0x8000;
constexpr std::uint32_t kFingerprintXor = 0x5354554e;
constexpr std::uint8_t kFamilyV4 = 1;
constexpr std::uint8_t kFamilyV6 = 2;
constexpr std::uint32_t kChangeIpFlag = 0x4;
constexpr std::uint32_t kChangePortFlag = 0x2;

// ---- bytes ----

std::uint16_t read_u16(Bytes bytes, std::size_t at) {
    return static_cast<std::uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

std::uint32_t read_u32(Bytes bytes, std::size_t at) {
    return std::uint32_t{read_u16(bytes, at)} << 16 | read_u16(bytes, at + 2);
}

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t value) {
    put_u16(out, static_cast<std::uint16_t>(value >> 16));
    put_u16(out, static_cast<std::uint16_t>(value));
}

void overwrite_u16(std::span<std::uint8_t> bytes, std::size_t at, std::uint16_t value) {
    bytes[at] = static_cast<std::uint8_t>(value >> 8);
    bytes[at + 1] = static_cast<std::uint8_t>(value);
}

std::size_t padded(std::size_t length) {
    return (length + 3) & ~std::size_t{3};
}

Bytes as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string hex16(std::uint16_t value) {
    char text[8];
    std::snprintf(text, sizeof text, "0x%04X", value);
    return text;
}

// ---- CRC-32 (IEEE 802.3, reflected 0xEDB88320) ----

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < table.size(); ++i) {
        std::uint32_t c = i;
        for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    return table;
}

constexpr auto kCrcTable = make_crc_table();

// Runs the CRC register over `bytes`; start with ~0 and invert at the end.
std::uint32_t crc_update(std::uint32_t crc, Bytes bytes) {
    for (std::uint8_t b : bytes) crc = kCrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
    return crc;
}

// ---- crypto ----

std::optional<std::array<std::uint8_t, kIntegritySize>> hmac_sha1(Bytes key, Bytes data) {
    static constexpr std::uint8_t kNoKey = 0;
    if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return {};
    std::array<std::uint8_t, kIntegritySize> mac{};
    unsigned int length = 0;
    const auto* result =
        HMAC(EVP_sha1(), key.empty() ? &kNoKey : key.data(), static_cast<int>(key.size()),
             data.data(), data.size(), mac.data(), &length);
    if (result == nullptr || length != mac.size()) return {};
    return mac;
}

// ---- header ----

std::uint16_t message_type(MessageClass cls, std::uint16_t method) {
    const unsigned c = static_cast<unsigned>(cls);
    const unsigned m = method;
    return static_cast<std::uint16_t>((m & 0x000F) | (m & 0x0070) << 1 | (m & 0x0F80) << 2 |
                                      (c & 1) << 4 | (c & 2) << 7);
}

MessageClass class_of(std::uint16_t type) {
    return static_cast<MessageClass>((type >> 4 & 1) | (type >> 7 & 2));
}

std::uint16_t method_of(std::uint16_t type) {
    return static_cast<std::uint16_t>((type & 0x000F) | (type >> 1 & 0x0070) |
                                      (type >> 2 & 0x0F80));
}

std::uint32_t xor_cookie(const Message& message) {
    return message.has_magic_cookie ? kMagicCookie : message.cookie_field;
}

// The 16 bytes XOR-MAPPED-ADDRESS is XORed with: cookie then transaction ID.
std::array<std::uint8_t, 16> xor_mask(std::uint32_t cookie, const TransactionId& id) {
    std::array<std::uint8_t, 16> mask{};
    for (std::size_t i = 0; i < 4; ++i) mask[i] = static_cast<std::uint8_t>(cookie >> (24 - 8 * i));
    std::copy(id.begin(), id.end(), mask.begin() + 4);
    return mask;
}

std::string check_header(Bytes datagram) {
    if (datagram.size() < kHeaderSize) {
        return "truncated STUN message: " + std::to_string(datagram.size()) +
               " bytes, but the header alone is 20";
    }
    if ((datagram[0] & 0xC0) != 0) return "not a STUN message: the first two bits are not zero";
    const std::size_t length = read_u16(datagram, 2);
    if (length % 4 != 0) {
        return "bad STUN message length " + std::to_string(length) + ": not a multiple of 4";
    }
    if (length != datagram.size() - kHeaderSize) {
        return "bad STUN message length " + std::to_string(length) + ": the datagram has " +
               std::to_string(datagram.size() - kHeaderSize) + " bytes after the header";
    }
    return {};
}

Message decode_header(Bytes datagram) {
    Message message;
    const std::uint16_t type = read_u16(datagram, 0);
    message.cls = class_of(type);
    message.method = method_of(type);
    message.cookie_field = read_u32(datagram, 4);
    message.has_magic_cookie = message.cookie_field == kMagicCookie;
    std::copy_n(datagram.begin() + 8, message.transaction_id.size(),
                message.transaction_id.begin());
    return message;
}

// ---- attribute values: decoding ----

template <typename T>
struct Parsed {
    std::optional<T> value;
    std::string error;
};

struct Failure {
    std::string error;
    template <typename T>
    operator Parsed<T>() const {  // NOLINT(google-explicit-constructor)
        return {std::nullopt, error};
    }
};

Failure fail(std::string error) {
    return {std::move(error)};
}

template <typename T>
Parsed<T> parsed(T value) {
    return {std::move(value), {}};
}

std::string expected_length(std::size_t want, std::size_t got) {
    return "must be " + std::to_string(want) + " bytes long, not " + std::to_string(got);
}

std::string too_long(std::size_t limit, std::size_t got) {
    return "is " + std::to_string(got) + " bytes long; RFC 8489 allows at most " +
           std::to_string(limit);
}

Parsed<net::Endpoint> parse_address(Bytes value, const Mask& mask) {
    if (value.size() < 2) return fail(expected_length(8, value.size()) + " (20 for IPv6)");
    const std::uint8_t family = value[1];
    if (family != kFamilyV4 && family != kFamilyV6) {
        return fail("has address family " + std::to_string(family) +
                    "; only 1 (IPv4) and 2 (IPv6) exist");
    }
    const std::size_t octet_count = family == kFamilyV4 ? 4 : 16;
    if (value.size() != 4 + octet_count) {
        return fail(expected_length(4 + octet_count, value.size()) +
                    (family == kFamilyV4 ? " for IPv4" : " for IPv6"));
    }
    std::array<std::uint8_t, 16> octets{};
    std::copy_n(value.begin() + 4, octet_count, octets.begin());
    std::uint16_t port = read_u16(value, 2);
    if (mask) {
        port ^= read_u16(*mask, 0);
        for (std::size_t i = 0; i < octet_count; ++i) octets[i] ^= (*mask)[i];
    }
    net::Endpoint endpoint;
    endpoint.port = port;
    endpoint.address = family == kFamilyV4
                           ? net::IpAddress::v4(std::span<const std::uint8_t, 4>(octets.data(), 4))
                           : net::IpAddress::v6(octets);
    return parsed(endpoint);
}

// Length of the well-formed UTF-8 sequence at the start of `text` (RFC 3629), 0 if none.
std::size_t utf8_sequence_length(Bytes text) {
    const std::uint8_t lead = text[0];
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    std::uint8_t low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) low = 0xA0;   // no overlong forms
        if (lead == 0xED) high = 0x9F;  // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) low = 0x90;   // no overlong forms
        if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
    } else {
        return 0;
    }
    if (text.size() < length || text[1] < low || text[1] > high) return 0;
    for (std::size_t i = 2; i < length; ++i) {
        if (text[i] < 0x80 || text[i] > 0xBF) return 0;
    }
    return length;
}

// `text` with every byte that is not part of well-formed UTF-8 replaced by '?'.
std::string displayable_utf8(Bytes text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t length = utf8_sequence_length(text.subspan(at));
        if (length == 0) {
            out += '?';
            ++at;
            continue;
        }
        out.append(reinterpret_cast<const char*>(text.data() + at), length);
        at += length;
    }
    return out;
}

Parsed<std::string> parse_raw_text(Bytes value, std::size_t limit) {
    if (value.size() > limit) return fail(too_long(limit, value.size()));
    return parsed(std::string(value.begin(), value.end()));
}

Parsed<std::string> parse_display_text(Bytes value) {
    if (value.size() > kMaxTextBytes) return fail(too_long(kMaxTextBytes, value.size()));
    return parsed(displayable_utf8(value));
}

Parsed<ErrorCode> parse_error_code(Bytes value) {
    if (value.size() < 4) return fail("is " + std::to_string(value.size()) + " bytes, less than 4");
    const int error_class = value[2] & 0x07;
    const int number = value[3];
    if (error_class < 3 || error_class > 6) {
        return fail("has class " + std::to_string(error_class) +
                    "; it must be 3..6 (codes 300..699)");
    }
    if (number > 99) return fail("has number " + std::to_string(number) + "; it must be 0..99");
    auto reason = parse_display_text(value.subspan(4));
    if (!reason.value) return fail("reason phrase " + reason.error);
    return parsed(ErrorCode{error_class * 100 + number, std::move(*reason.value)});
}

Parsed<std::vector<std::uint16_t>> parse_type_list(Bytes value) {
    if (value.size() % 2 != 0) {
        return fail("is " + std::to_string(value.size()) +
                    " bytes long; it must hold whole 2-byte types");
    }
    std::vector<std::uint16_t> types;
    for (std::size_t at = 0; at < value.size(); at += 2) types.push_back(read_u16(value, at));
    return parsed(std::move(types));
}

Parsed<ChangeRequest> parse_change_request(Bytes value) {
    if (value.size() != 4) return fail(expected_length(4, value.size()));
    const std::uint32_t flags = read_u32(value, 0);
    return parsed(ChangeRequest{(flags & kChangeIpFlag) != 0, (flags & kChangePortFlag) != 0});
}

Parsed<std::uint16_t> parse_response_port(Bytes value) {
    if (value.size() != 4) return fail(expected_length(4, value.size()));
    return parsed(read_u16(value, 0));
}

// ---- the attribute walk ----

std::string attribute_name(std::uint16_t type) {
    switch (type) {
        case attr::mapped_address:
            return "MAPPED-ADDRESS";
        case attr::response_address:
            return "RESPONSE-ADDRESS";
        case attr::change_request:
            return "CHANGE-REQUEST";
        case attr::source_address:
            return "SOURCE-ADDRESS";
        case attr::changed_address:
            return "CHANGED-ADDRESS";
        case attr::username:
            return "USERNAME";
        case attr::message_integrity:
            return "MESSAGE-INTEGRITY";
        case attr::error_code:
            return "ERROR-CODE";
        case attr::unknown_attributes:
            return "UNKNOWN-ATTRIBUTES";
        case attr::realm:
            return "REALM";
        case attr::nonce:
            return "NONCE";
        case attr::message_integrity_sha256:
            return "MESSAGE-INTEGRITY-SHA256";
        case attr::userhash:
            return "USERHASH";
        case attr::xor_mapped_address:
            return "XOR-MAPPED-ADDRESS";
        case attr::padding:
            return "PADDING";
        case attr::response_port:
            return "RESPONSE-PORT";
        case attr::xor_mapped_address_old:
            return "XOR-MAPPED-ADDRESS (old)";
        case attr::software:
            return "SOFTWARE";
        case attr::alternate_server:
            return "ALTERNATE-SERVER";
        case attr::fingerprint:
            return "FINGERPRINT";
        case attr::response_origin:
            return "RESPONSE-ORIGIN";
        case attr::other_address:
            return "OTHER-ADDRESS";
        default:
            return "attribute";
    }
}

struct Attribute {
    std::uint16_t type = 0;
    std::size_t offset = 0;  // of the attribute header within the message
    Bytes value;
};

std::string describe(const Attribute& attribute) {
    return attribute_name(attribute.type) + " (" + hex16(attribute.type) + ") at offset " +
           std::to_string(attribute.offset);
}

Parsed<Attribute> read_attribute(Bytes datagram, std::size_t at) {
    const std::size_t left = datagram.size() - at;
    if (left < kAttributeHeaderSize)
        return fail("truncated attribute header at offset " + std::to_string(at));
    Attribute attribute{read_u16(datagram, at), at, {}};
    const std::size_t length = read_u16(datagram, at + 2);
    if (padded(length) > left - kAttributeHeaderSize) {
        return fail(describe(attribute) + " has length " + std::to_string(length) + " (padded to " +
                    std::to_string(padded(length)) + ") but only " +
                    std::to_string(left - kAttributeHeaderSize) + " bytes remain");
    }
    attribute.value = datagram.subspan(at + kAttributeHeaderSize, length);
    return parsed(attribute);
}

// CRC-32 of the message up to the attribute at `end`, with the header's length field set to
// end there plus `trailer_size` bytes (RFC 8489 sections 14.5 and 14.7).
std::uint32_t crc_up_to(Bytes datagram, std::size_t end, std::size_t trailer_size) {
    std::array<std::uint8_t, kHeaderSize> header{};
    std::copy_n(datagram.begin(), kHeaderSize, header.begin());
    overwrite_u16(header, 2, static_cast<std::uint16_t>(end + trailer_size - kHeaderSize));
    std::uint32_t crc = crc_update(0xFFFFFFFFu, header);
    crc = crc_update(crc, datagram.subspan(kHeaderSize, end - kHeaderSize));
    return crc ^ 0xFFFFFFFFu;
}

// Fills a Message from attributes, one at a time, with RFC 8489's rules for duplicates.
class AttributeDecoder {
  public:
    explicit AttributeDecoder(Message& message)
        : message_(message), mask_(xor_mask(message.cookie_field, message.transaction_id)) {}

    // Decodes one attribute before MESSAGE-INTEGRITY; returns an error, empty when fine.
    std::string apply(const Attribute& attribute) {
        if (std::find(seen_.begin(), seen_.end(), attribute.type) != seen_.end()) return {};
        seen_.push_back(attribute.type);  // first one wins
        std::string error = decode_value(attribute);
        return error.empty() ? error : describe(attribute) + " " + error;
    }

    std::string check_fingerprint(Bytes datagram, const Attribute& attribute) {
        if (attribute.value.size() != kFingerprintSize) {
            return describe(attribute) + " " +
                   expected_length(kFingerprintSize, attribute.value.size());
        }
        const auto crc =
            crc_up_to(datagram, attribute.offset, kAttributeHeaderSize + kFingerprintSize);
        if ((crc ^ kFingerprintXor) != read_u32(attribute.value, 0)) {
            return "fingerprint mismatch: the message was corrupted or is not STUN";
        }
        message_.fingerprint_offset = attribute.offset;
        message_.fingerprint_valid = true;
        return {};
    }

    void finish() {
        if (!message_.xor_mapped_address) message_.xor_mapped_address = old_xor_mapped_address_;
    }

  private:
    template <typename T>
    static std::string assign(std::optional<T>& field, Parsed<T> value) {
        if (!value.value) return value.error;
        field = std::move(value.value);
        return {};
    }

    std::string decode_value(const Attribute& attribute) {
        const Bytes v = attribute.value;
        Message& m = message_;
        switch (attribute.type) {
            case attr::mapped_address:
                return assign(m.mapped_address, parse_address(v, {}));
            case attr::xor_mapped_address:
                return assign(m.xor_mapped_address, parse_address(v, mask_));
            case attr::xor_mapped_address_old:
                return assign(old_xor_mapped_address_, parse_address(v, mask_));
            case attr::response_origin:
                return assign(m.response_origin, parse_address(v, {}));
            case attr::other_address:
                return assign(m.other_address, parse_address(v, {}));
            case attr::changed_address:
                return assign(m.changed_address, parse_address(v, {}));
            case attr::source_address:
                return assign(m.source_address, parse_address(v, {}));
            case attr::alternate_server:
                return assign(m.alternate_server, parse_address(v, {}));
            case attr::software:
                return assign(m.software, parse_display_text(v));
            case attr::username:
                return assign(m.username, parse_raw_text(v, kMaxUsernameBytes));
            case attr::realm:
                return assign(m.realm, parse_raw_text(v, kMaxTextBytes));
            case attr::nonce:
                return assign(m.nonce, parse_raw_text(v, kMaxTextBytes));
            case attr::error_code:
                return assign(m.error_code, parse_error_code(v));
            case attr::unknown_attributes:
                return decode_unknown_attributes(v);
            case attr::change_request:
                return assign(m.change_request, parse_change_request(v));
            case attr::response_port:
                return assign(m.response_port, parse_response_port(v));
            case attr::padding:
                m.padding_length = v.size();
                return {};
            case attr::message_integrity:
                return decode_integrity(attribute);
            case attr::response_address:
            case attr::message_integrity_sha256:
            case attr::userhash:
                return {};  // known, but nothing natkit uses
            default:
                return note_unknown(attribute.type);
        }
    }

    std::string decode_unknown_attributes(Bytes value) {
        auto types = parse_type_list(value);
        if (!types.value) return types.error;
        message_.unknown_attributes = std::move(*types.value);
        return {};
    }

    std::string decode_integrity(const Attribute& attribute) {
        if (attribute.value.size() != kIntegritySize) {
            return expected_length(kIntegritySize, attribute.value.size());
        }
        message_.integrity_offset = attribute.offset;
        return {};
    }

    std::string note_unknown(std::uint16_t type) {
        if (type < kFirstOptionalType) message_.unknown_comprehension_required.push_back(type);
        return {};
    }

    Message& message_;
    std::array<std::uint8_t, 16> mask_;
    std::vector<std::uint16_t> seen_;
    std::optional<net::Endpoint> old_xor_mapped_address_;
};

DecodeResult failure(std::string error) {
    return {std::nullopt, std::move(error)};
}

// ---- attribute values: encoding ----

void require(bool valid, const std::string& what) {
    if (!valid) throw std::invalid_argument(what);
}

void set_length(std::vector<std::uint8_t>& out, std::size_t body_length) {
    require(body_length <= kMaxLengthField,
            "STUN message too large: " + std::to_string(body_length) +
                " bytes of attributes, at most 65535 fit");
    overwrite_u16(out, 2, static_cast<std::uint16_t>(body_length));
}

void put_attribute(std::vector<std::uint8_t>& out, std::uint16_t type, Bytes value) {
    require(value.size() <= kMaxLengthField, attribute_name(type) + " is " +
                                                 std::to_string(value.size()) +
                                                 " bytes; an attribute holds at most 65535");
    put_u16(out, type);
    put_u16(out, static_cast<std::uint16_t>(value.size()));
    out.insert(out.end(), value.begin(), value.end());
    out.resize(out.size() + padded(value.size()) - value.size(), 0);
}

std::vector<std::uint8_t> address_value(const net::Endpoint& endpoint, const Mask& mask) {
    const net::IpAddress address = endpoint.address.unmapped();
    const bool v4 = address.family == net::Family::v4;
    std::vector<std::uint8_t> value{0, v4 ? kFamilyV4 : kFamilyV6};
    put_u16(value, endpoint.port);
    const auto octets = address.octets();
    value.insert(value.end(), octets.begin(), octets.end());
    if (mask) {
        for (std::size_t i = 2; i < value.size(); ++i) value[i] ^= (*mask)[i < 4 ? i - 2 : i - 4];
    }
    return value;
}

void put_address(std::vector<std::uint8_t>& out, std::uint16_t type,
                 const std::optional<net::Endpoint>& endpoint, const Mask& mask = {}) {
    if (endpoint) put_attribute(out, type, address_value(*endpoint, mask));
}

void put_text(std::vector<std::uint8_t>& out, std::uint16_t type,
              const std::optional<std::string>& text, std::size_t limit) {
    if (!text) return;
    require(text->size() <= limit, attribute_name(type) + " " + too_long(limit, text->size()));
    put_attribute(out, type, as_bytes(*text));
}

void put_error_code(std::vector<std::uint8_t>& out, const std::optional<ErrorCode>& error) {
    if (!error) return;
    require(error->code >= 300 && error->code <= 699,
            "ERROR-CODE " + std::to_string(error->code) + " is outside 300..699");
    require(error->reason.size() <= kMaxTextBytes,
            "ERROR-CODE reason phrase " + too_long(kMaxTextBytes, error->reason.size()));
    std::vector<std::uint8_t> value{0, 0, static_cast<std::uint8_t>(error->code / 100),
                                    static_cast<std::uint8_t>(error->code % 100)};
    value.insert(value.end(), error->reason.begin(), error->reason.end());
    put_attribute(out, attr::error_code, value);
}

void put_unknown_attributes(std::vector<std::uint8_t>& out,
                            const std::vector<std::uint16_t>& types) {
    if (types.empty()) return;
    std::vector<std::uint8_t> value;
    for (std::uint16_t type : types) put_u16(value, type);
    put_attribute(out, attr::unknown_attributes, value);
}

void put_change_request(std::vector<std::uint8_t>& out,
                        const std::optional<ChangeRequest>& request) {
    if (!request) return;
    std::vector<std::uint8_t> value;
    put_u32(value, (request->change_ip ? kChangeIpFlag : 0) |
                       (request->change_port ? kChangePortFlag : 0));
    put_attribute(out, attr::change_request, value);
}

void put_response_port(std::vector<std::uint8_t>& out, const std::optional<std::uint16_t>& port) {
    if (!port) return;
    std::vector<std::uint8_t> value;
    put_u16(value, *port);
    put_u16(value, 0);
    put_attribute(out, attr::response_port, value);
}

void put_padding(std::vector<std::uint8_t>& out, const std::optional<std::size_t>& length) {
    if (!length) return;
    require(*length <= kMaxLengthField, "PADDING of " + std::to_string(*length) +
                                            " bytes does not fit in an attribute (max 65535)");
    put_attribute(out, attr::padding, std::vector<std::uint8_t>(*length, 0));
}

void put_header(std::vector<std::uint8_t>& out, const Message& message) {
    require(message.method <= kMaxMethod,
            "STUN method " + hex16(message.method) + " does not fit in 12 bits");
    put_u16(out, message_type(message.cls, message.method));
    put_u16(out, 0);  // length, set at the end
    put_u32(out, xor_cookie(message));
    out.insert(out.end(), message.transaction_id.begin(), message.transaction_id.end());
}

void put_attributes(std::vector<std::uint8_t>& out, const Message& m) {
    const Mask mask = xor_mask(xor_cookie(m), m.transaction_id);
    put_text(out, attr::username, m.username, kMaxUsernameBytes);
    put_text(out, attr::nonce, m.nonce, kMaxTextBytes);
    put_text(out, attr::realm, m.realm, kMaxTextBytes);
    put_error_code(out, m.error_code);
    put_unknown_attributes(out, m.unknown_attributes);
    put_change_request(out, m.change_request);
    put_response_port(out, m.response_port);
    put_text(out, attr::software, m.software, kMaxTextBytes);
    put_address(out, attr::xor_mapped_address, m.xor_mapped_address, mask);
    put_address(out, attr::mapped_address, m.mapped_address);
    put_address(out, attr::response_origin, m.response_origin);
    put_address(out, attr::other_address, m.other_address);
    put_address(out, attr::changed_address, m.changed_address);
    put_address(out, attr::source_address, m.source_address);
    put_address(out, attr::alternate_server, m.alternate_server);
    put_padding(out, m.padding_length);
}

void put_integrity(std::vector<std::uint8_t>& out, Bytes key) {
    set_length(out, out.size() - kHeaderSize + kAttributeHeaderSize + kIntegritySize);
    const auto mac = hmac_sha1(key, out);
    if (!mac) throw std::runtime_error("HMAC-SHA1 failed in OpenSSL; is libcrypto usable?");
    put_attribute(out, attr::message_integrity, *mac);
}

void put_fingerprint(std::vector<std::uint8_t>& out) {
    set_length(out, out.size() - kHeaderSize + kAttributeHeaderSize + kFingerprintSize);
    std::vector<std::uint8_t> value;
    put_u32(value, fingerprint_of(out));
    put_attribute(out, attr::fingerprint, value);
}

}  // namespace

bool looks_like_stun(std::span<const std::uint8_t> datagram) {
    if (datagram.size() < kHeaderSize || (datagram[0] & 0xC0) != 0) return false;
    const std::size_t length = read_u16(datagram, 2);
    return length % 4 == 0 && length + kHeaderSize == datagram.size();
}

DecodeResult decode(std::span<const std::uint8_t> datagram) {
    if (auto error = check_header(datagram); !error.empty()) return failure(std::move(error));
    Message message = decode_header(datagram);
    AttributeDecoder decoder(message);
    for (std::size_t at = kHeaderSize; at < datagram.size();) {
        auto attribute = read_attribute(datagram, at);
        if (!attribute.value) return failure(std::move(attribute.error));
        if (attribute.value->type == attr::fingerprint) {
            auto error = decoder.check_fingerprint(datagram, *attribute.value);
            if (!error.empty()) return failure(std::move(error));
            break;  // anything after FINGERPRINT is ignored
        }
        if (!message.integrity_offset) {  // after MESSAGE-INTEGRITY only FINGERPRINT counts
            auto error = decoder.apply(*attribute.value);
            if (!error.empty()) return failure(std::move(error));
        }
        at += kAttributeHeaderSize + padded(attribute.value->value.size());
    }
    decoder.finish();
    return {std::move(message), {}};
}

std::vector<std::uint8_t> encode(const Message& message, const EncodeOptions& options) {
    std::vector<std::uint8_t> out;
    put_header(out, message);
    put_attributes(out, message);
    if (options.integrity_key) put_integrity(out, *options.integrity_key);
    if (options.fingerprint) put_fingerprint(out);
    set_length(out, out.size() - kHeaderSize);
    return out;
}

Message binding_request(const TransactionId& id) {
    Message message;
    message.cls = MessageClass::request;
    message.method = kMethodBinding;
    message.transaction_id = id;
    return message;
}

bool verify_integrity(std::span<const std::uint8_t> datagram, const Message& decoded,
                      std::span<const std::uint8_t> key) {
    constexpr std::size_t kAttributeSize = kAttributeHeaderSize + kIntegritySize;
    if (!decoded.integrity_offset) return false;
    const std::size_t at = *decoded.integrity_offset;
    if (at < kHeaderSize || datagram.size() < kAttributeSize ||
        at > datagram.size() - kAttributeSize ||
        at + kAttributeSize - kHeaderSize > kMaxLengthField) {
        return false;
    }
    if (read_u16(datagram, at) != attr::message_integrity ||
        read_u16(datagram, at + 2) != kIntegritySize) {
        return false;
    }
    std::vector<std::uint8_t> covered(datagram.begin(), datagram.begin() + at);
    overwrite_u16(covered, 2, static_cast<std::uint16_t>(at + kAttributeSize - kHeaderSize));
    const auto mac = hmac_sha1(key, covered);
    return mac && CRYPTO_memcmp(mac->data(), datagram.data() + at + kAttributeHeaderSize,
                                kIntegritySize) == 0;
}

std::vector<std::uint8_t> long_term_key(std::string_view username, std::string_view realm,
                                        std::string_view password) {
    std::string input;
    input.reserve(username.size() + realm.size() + password.size() + 2);
    input.append(username).append(":").append(realm).append(":").append(password);
    std::vector<std::uint8_t> key(EVP_MAX_MD_SIZE);
    unsigned int length = 0;
    if (EVP_Digest(input.data(), input.size(), key.data(), &length, EVP_md5(), nullptr) != 1) {
        throw std::runtime_error(
            "MD5 is unavailable in OpenSSL (FIPS mode?); long-term STUN credentials need it");
    }
    key.resize(length);
    return key;
}

std::uint32_t fingerprint_of(std::span<const std::uint8_t> bytes_before_fingerprint) {
    return crc_update(0xFFFFFFFFu, bytes_before_fingerprint) ^ 0xFFFFFFFFu ^ kFingerprintXor;
}

std::string_view class_name(MessageClass cls) {
    switch (cls) {
        case MessageClass::request:
            return "request";
        case MessageClass::indication:
            return "indication";
        case MessageClass::success:
            return "success response";
        case MessageClass::error:
            return "error response";
    }
    return "unknown class";
}

}  // namespace natkit::stun
