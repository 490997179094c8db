// libFuzzer target for the STUN codec: decode() must never crash on arbitrary bytes, and what it
// accepts must survive encode() + decode() with the same meaning.
#include <cstdio>
#include <cstdlib>

#include "stun/message.hpp"

namespace {

using natkit::net::Endpoint;
using namespace natkit::stun;

const std::vector<std::uint8_t> kKey{'f', 'u', 'z', 'z', '-', 'k', 'e', 'y'};

void require(bool holds, const char* property) {
    if (holds) return;
    std::fprintf(stderr, "stun_message_fuzz: property violated: %s\n", property);
    std::abort();
}

// encode() writes an IPv4-mapped IPv6 address as IPv4, so compare addresses unmapped.
std::optional<Endpoint> normalized(std::optional<Endpoint> endpoint) {
    if (endpoint) endpoint->address = endpoint->address.unmapped();
    return endpoint;
}

void require_same_meaning(const Message& a, const Message& b) {
    require(a.cls == b.cls, "class");
    require(a.method == b.method, "method");
    require(a.has_magic_cookie == b.has_magic_cookie, "has_magic_cookie");
    require(a.cookie_field == b.cookie_field, "cookie_field");
    require(a.transaction_id == b.transaction_id, "transaction_id");
    require(normalized(a.mapped_address) == normalized(b.mapped_address), "mapped_address");
    require(normalized(a.xor_mapped_address) == normalized(b.xor_mapped_address),
            "xor_mapped_address");
    require(normalized(a.response_origin) == normalized(b.response_origin), "response_origin");
    require(normalized(a.other_address) == normalized(b.other_address), "other_address");
    require(normalized(a.changed_address) == normalized(b.changed_address), "changed_address");
    require(normalized(a.source_address) == normalized(b.source_address), "source_address");
    require(normalized(a.alternate_server) == normalized(b.alternate_server), "alternate_server");
    require(a.software == b.software, "software");
    require(a.username == b.username, "username");
    require(a.realm == b.realm, "realm");
    require(a.nonce == b.nonce, "nonce");
    require(a.error_code == b.error_code, "error_code");
    require(a.unknown_attributes == b.unknown_attributes, "unknown_attributes");
    require(a.change_request == b.change_request, "change_request");
    require(a.response_port == b.response_port, "response_port");
    require(a.padding_length == b.padding_length, "padding_length");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> datagram(data, size);
    const bool plausible = looks_like_stun(datagram);
    const DecodeResult result = decode(datagram);
    if (!result.message) {
        require(!result.error.empty(), "a failed decode explains why");
        return 0;
    }
    require(plausible, "decode() accepts only what looks_like_stun() accepts");
    const Message& message = *result.message;
    require(!message.fingerprint_offset || message.fingerprint_valid, "fingerprint checked");
    (void)verify_integrity(datagram, message, kKey);

    // Re-encoding adds MESSAGE-INTEGRITY and FINGERPRINT (32 bytes); stay inside 65535.
    if (size > 60000) return 0;
    EncodeOptions options;
    options.integrity_key = kKey;
    options.fingerprint = true;
    const std::vector<std::uint8_t> again = encode(message, options);
    require(looks_like_stun(again), "encode() output looks like STUN");
    const DecodeResult reread = decode(again);
    require(reread.message.has_value(), "encode() output decodes");
    require_same_meaning(message, *reread.message);
    require(reread.message->fingerprint_valid, "re-encoded FINGERPRINT is valid");
    require(verify_integrity(again, *reread.message, kKey),
            "re-encoded MESSAGE-INTEGRITY verifies");
    return 0;
}
