// STUN messages (RFC 8489, RFC 5780, and RFC 3489's attributes for old servers).
// Sans-IO: encoding and decoding are pure functions over byte spans.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/endpoint.hpp"

namespace natkit::stun {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
inline constexpr std::size_t kHeaderSize = 20;
inline constexpr std::uint16_t kDefaultPort = 3478;

enum class MessageClass : std::uint8_t { request = 0, indication = 1, success = 2, error = 3 };
inline constexpr std::uint16_t kMethodBinding = 0x0001;

// Attribute types this codec knows.
namespace attr {
inline constexpr std::uint16_t mapped_address = 0x0001;
inline constexpr std::uint16_t response_address = 0x0002;  // RFC 3489, obsolete
inline constexpr std::uint16_t change_request = 0x0003;    // RFC 5780 (and 3489)
inline constexpr std::uint16_t source_address = 0x0004;    // RFC 3489
inline constexpr std::uint16_t changed_address = 0x0005;   // RFC 3489
inline constexpr std::uint16_t username = 0x0006;
inline constexpr std::uint16_t message_integrity = 0x0008;
inline constexpr std::uint16_t error_code = 0x0009;
inline constexpr std::uint16_t unknown_attributes = 0x000A;
inline constexpr std::uint16_t realm = 0x0014;
inline constexpr std::uint16_t nonce = 0x0015;
inline constexpr std::uint16_t message_integrity_sha256 = 0x001C;
inline constexpr std::uint16_t userhash = 0x001E;
inline constexpr std::uint16_t xor_mapped_address = 0x0020;
inline constexpr std::uint16_t padding = 0x0026;                 // RFC 5780
inline constexpr std::uint16_t response_port = 0x0027;           // RFC 5780
inline constexpr std::uint16_t xor_mapped_address_old = 0x8020;  // pre-RFC drafts, some servers
inline constexpr std::uint16_t software = 0x8022;
inline constexpr std::uint16_t alternate_server = 0x8023;
inline constexpr std::uint16_t fingerprint = 0x8028;
inline constexpr std::uint16_t response_origin = 0x802B;  // RFC 5780
inline constexpr std::uint16_t other_address = 0x802C;    // RFC 5780
}  // namespace attr

using TransactionId = std::array<std::uint8_t, 12>;

struct ErrorCode {
    int code = 0;  // 300..699
    std::string reason;
    friend bool operator==(const ErrorCode&, const ErrorCode&) = default;
};

struct ChangeRequest {
    bool change_ip = false;
    bool change_port = false;
    friend bool operator==(const ChangeRequest&, const ChangeRequest&) = default;
};

// A decoded (or to-be-encoded) message: header plus the attributes natkit understands.
struct Message {
    MessageClass cls = MessageClass::request;
    std::uint16_t method = kMethodBinding;
    // RFC 8489 messages carry the magic cookie; a message without it is RFC 3489 style and
    // its 16-byte transaction ID is magic_cookie_field (4 bytes) + transaction_id (12 bytes).
    bool has_magic_cookie = true;
    // The raw 4 bytes at offset 4. encode() writes it only when has_magic_cookie is false; the
    // XOR-address attributes of such a message are XORed with it instead of the magic cookie.
    std::uint32_t cookie_field = kMagicCookie;
    TransactionId transaction_id{};

    std::optional<net::Endpoint> mapped_address;
    std::optional<net::Endpoint> xor_mapped_address;  // decoded (un-XORed) value
    std::optional<net::Endpoint> response_origin;
    std::optional<net::Endpoint> other_address;
    std::optional<net::Endpoint> changed_address;  // RFC 3489
    std::optional<net::Endpoint> source_address;   // RFC 3489
    std::optional<net::Endpoint> alternate_server;
    // SOFTWARE and the ERROR-CODE reason are for display: decode() replaces each byte that is
    // not part of well-formed UTF-8 with '?'. USERNAME, REALM and NONCE keep their raw bytes
    // (they feed long_term_key).
    std::optional<std::string> software;
    std::optional<std::string> username;
    std::optional<std::string> realm;
    std::optional<std::string> nonce;
    std::optional<ErrorCode> error_code;
    std::vector<std::uint16_t> unknown_attributes;  // the UNKNOWN-ATTRIBUTES attribute's list
    std::optional<ChangeRequest> change_request;
    std::optional<std::uint16_t> response_port;
    std::optional<std::size_t> padding_length;  // PADDING attribute value length

    // Comprehension-required attributes (type < 0x8000) this codec does not understand.
    std::vector<std::uint16_t> unknown_comprehension_required;

    // Decode only: where MESSAGE-INTEGRITY and FINGERPRINT were found (byte offset of the
    // attribute header within the message), for verify_integrity/verify_fingerprint.
    std::optional<std::size_t> integrity_offset;
    std::optional<std::size_t> fingerprint_offset;
    bool fingerprint_valid = false;  // decode: FINGERPRINT present and its CRC matches

    // The address the server says it saw: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS.
    std::optional<net::Endpoint> reflexive_address() const {
        return xor_mapped_address ? xor_mapped_address : mapped_address;
    }
    // The alternate address: OTHER-ADDRESS, else RFC 3489's CHANGED-ADDRESS.
    std::optional<net::Endpoint> alternate_address() const {
        return other_address ? other_address : changed_address;
    }
};

struct DecodeResult {
    std::optional<Message> message;  // set on success
    std::string error;               // why decoding failed, for logs and `bad-response`
};

// Is this plausibly a STUN message (first two bits zero, length multiple of 4 and consistent
// with the datagram size)? Cheap check for demultiplexing; decode() does the full validation.
bool looks_like_stun(std::span<const std::uint8_t> datagram);

// Strict decoding: every length is bounds-checked; attributes after MESSAGE-INTEGRITY other
// than FINGERPRINT, and anything after FINGERPRINT, are ignored as RFC 8489 requires;
// a FINGERPRINT that does not match makes decoding fail.
DecodeResult decode(std::span<const std::uint8_t> datagram);

struct EncodeOptions {
    // Short-term password or long-term key (see long_term_key): adds MESSAGE-INTEGRITY.
    std::optional<std::vector<std::uint8_t>> integrity_key;
    bool fingerprint = false;  // adds FINGERPRINT (last)
};

// Encodes the header and the set attributes of `message` (MAPPED/XOR-MAPPED/RESPONSE-ORIGIN/
// OTHER-ADDRESS/CHANGED/SOURCE-ADDRESS/ALTERNATE-SERVER, SOFTWARE, USERNAME, REALM, NONCE,
// ERROR-CODE, UNKNOWN-ATTRIBUTES, CHANGE-REQUEST, RESPONSE-PORT, PADDING), then
// MESSAGE-INTEGRITY and FINGERPRINT if asked. Addresses take the family of their Endpoint
// (an IPv4-mapped IPv6 address is written as IPv4). Throws std::invalid_argument for values
// RFC 8489 does not allow (method > 0xFFF, error code outside 300..699, SOFTWARE/REALM/NONCE/
// reason over 763 bytes, USERNAME over 513 bytes, a message over 65535 bytes).
std::vector<std::uint8_t> encode(const Message& message, const EncodeOptions& options = {});

// A Binding request with the given transaction ID (and optional RFC 5780 attributes).
Message binding_request(const TransactionId& id);

// HMAC-SHA1 MESSAGE-INTEGRITY check over `datagram` as RFC 8489 section 14.5 defines it.
bool verify_integrity(std::span<const std::uint8_t> datagram, const Message& decoded,
                      std::span<const std::uint8_t> key);

// Long-term credential key: MD5(username ":" realm ":" password). The caller passes the
// password already processed with OpaqueString/SASLprep.
std::vector<std::uint8_t> long_term_key(std::string_view username, std::string_view realm,
                                        std::string_view password);

// CRC-32 of the message up to the FINGERPRINT attribute, XORed with 0x5354554e.
std::uint32_t fingerprint_of(std::span<const std::uint8_t> bytes_before_fingerprint);

std::string_view class_name(MessageClass cls);

}  // namespace natkit::stun
