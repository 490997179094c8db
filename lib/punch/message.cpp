#include "punch/message.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include <stdexcept>

namespace natkit::punch {

namespace {

class Writer {
  public:
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v) { number(v, 2); }
    void u32(std::uint32_t v) { number(v, 4); }
    void u64(std::uint64_t v) { number(v, 8); }
    void name(const std::string& text) {
        if (text.size() > kMaxName) throw std::invalid_argument("name over 64 bytes: " + text);
        u8(static_cast<std::uint8_t>(text.size()));
        out_.insert(out_.end(), text.begin(), text.end());
    }
    void endpoint(const net::Endpoint& e) {
        auto address = e.address.unmapped();
        u8(address.family == net::Family::v4 ? 4 : 6);
        auto octets = address.octets();
        out_.insert(out_.end(), octets.begin(), octets.end());
        u16(e.port);
    }
    void endpoints(const std::vector<net::Endpoint>& list) {
        if (list.size() > kMaxCandidates) throw std::invalid_argument("more than 8 candidates");
        u8(static_cast<std::uint8_t>(list.size()));
        for (const auto& e : list) endpoint(e);
    }
    void token(const Token& t) { out_.insert(out_.end(), t.begin(), t.end()); }
    std::vector<std::uint8_t>& bytes() { return out_; }

  private:
    void number(std::uint64_t v, int size) {
        for (int i = size - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    std::vector<std::uint8_t> out_;
};

class Reader {
  public:
    explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
    bool ok() const { return ok_; }
    std::uint8_t u8() { return static_cast<std::uint8_t>(number(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(number(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(number(4)); }
    std::uint64_t u64() { return number(8); }
    std::string name() {
        auto size = u8();
        if (size > kMaxName) ok_ = false;
        auto bytes = take(size);
        return {bytes.begin(), bytes.end()};
    }
    net::Endpoint endpoint() {
        auto family = u8();
        net::Endpoint e;
        if (family == 4) {
            auto b = take(4);
            if (ok_) e.address = net::IpAddress::v4(std::span<const std::uint8_t, 4>(b.data(), 4));
        } else if (family == 6) {
            auto b = take(16);
            if (ok_)
                e.address = net::IpAddress::v6(std::span<const std::uint8_t, 16>(b.data(), 16));
        } else {
            ok_ = false;
        }
        e.address = e.address.unmapped();  // one spelling for an IPv4 endpoint
        e.port = u16();
        return e;
    }
    std::vector<net::Endpoint> endpoints() {
        auto count = u8();
        if (count > kMaxCandidates) ok_ = false;
        std::vector<net::Endpoint> list;
        for (int i = 0; ok_ && i < count; ++i) list.push_back(endpoint());
        return list;
    }
    Token token() {
        Token t{};
        auto b = take(t.size());
        if (ok_) std::copy(b.begin(), b.end(), t.begin());
        return t;
    }
    bool rest_is_zero() const {
        for (auto i = pos_; i < in_.size(); ++i)
            if (in_[i] != 0) return false;
        return true;
    }

  private:
    std::span<const std::uint8_t> take(std::size_t size) {
        if (!ok_ || in_.size() - pos_ < size) {
            ok_ = false;
            return {};
        }
        auto part = in_.subspan(pos_, size);
        pos_ += size;
        return part;
    }
    std::uint64_t number(std::size_t size) {
        std::uint64_t v = 0;
        for (auto b : take(size)) v = v << 8 | b;
        return v;
    }
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

void write_body(Writer& w, const Message& m) {
    switch (m.type) {
        case Type::reg:
            w.name(m.network), w.name(m.id), w.endpoints(m.candidates);
            break;
        case Type::registered:
            w.endpoint(m.observed.value_or(net::Endpoint{})), w.u16(m.ttl_s);
            break;
        case Type::connect:
            w.name(m.network), w.name(m.id), w.name(m.peer);
            break;
        case Type::introduce:
            w.name(m.peer), w.endpoint(m.observed.value_or(net::Endpoint{}));
            w.endpoints(m.candidates), w.token(m.token);
            break;
        case Type::unknown_peer:
            w.name(m.peer);
            break;
        case Type::probe:
            w.token(m.token), w.name(m.id), w.u32(m.seq);
            break;
        case Type::probe_ack:
            w.token(m.token), w.u32(m.seq), w.endpoint(m.observed.value_or(net::Endpoint{}));
            break;
    }
}

bool read_body(Reader& r, Message& m) {
    switch (m.type) {
        case Type::reg:
            m.network = r.name(), m.id = r.name(), m.candidates = r.endpoints();
            return true;
        case Type::registered:
            m.observed = r.endpoint(), m.ttl_s = r.u16();
            return true;
        case Type::connect:
            m.network = r.name(), m.id = r.name(), m.peer = r.name();
            return true;
        case Type::introduce:
            m.peer = r.name(), m.observed = r.endpoint();
            m.candidates = r.endpoints(), m.token = r.token();
            return true;
        case Type::unknown_peer:
            m.peer = r.name();
            return true;
        case Type::probe:
            m.token = r.token(), m.id = r.name(), m.seq = r.u32();
            return true;
        case Type::probe_ack:
            m.token = r.token(), m.seq = r.u32(), m.observed = r.endpoint();
            return true;
    }
    return false;
}

bool known_type(std::uint8_t type) {
    return type >= static_cast<std::uint8_t>(Type::reg) &&
           type <= static_cast<std::uint8_t>(Type::probe_ack);
}

}  // namespace

bool operator==(const Message& a, const Message& b) {
    return a.type == b.type && a.flags == b.flags && a.timestamp_ms == b.timestamp_ms &&
           a.nonce == b.nonce && a.network == b.network && a.id == b.id && a.peer == b.peer &&
           a.candidates == b.candidates && a.observed == b.observed && a.token == b.token &&
           a.seq == b.seq && a.ttl_s == b.ttl_s;
}

std::array<std::uint8_t, kMacSize> mac_of(std::span<const std::uint8_t> bytes,
                                          std::span<const std::uint8_t> key) {
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> full{};
    unsigned int size = 0;
    static const std::uint8_t empty = 0;
    HMAC(EVP_sha256(), key.empty() ? &empty : key.data(), static_cast<int>(key.size()),
         bytes.empty() ? &empty : bytes.data(), bytes.size(), full.data(), &size);
    std::array<std::uint8_t, kMacSize> mac{};
    std::copy_n(full.begin(), kMacSize, mac.begin());
    return mac;
}

bool looks_like_punch(std::span<const std::uint8_t> d) {
    return d.size() >= kHeaderSize + kMacSize && d[0] == kMarker && d[1] == kVersion &&
           d[4] == 0x21 && d[5] == 0x12 && d[6] == 0xA4 && d[7] == 0x42;
}

std::vector<std::uint8_t> encode(const Message& m, std::span<const std::uint8_t> key) {
    Writer w;
    w.u8(kMarker), w.u8(kVersion), w.u8(static_cast<std::uint8_t>(m.type)), w.u8(m.flags);
    w.u32(kCookie), w.u64(m.timestamp_ms), w.u64(m.nonce);
    write_body(w, m);
    auto& out = w.bytes();
    if (m.pad_to > out.size() + kMacSize) out.resize(m.pad_to - kMacSize, 0);
    auto mac = mac_of(out, key);
    out.insert(out.end(), mac.begin(), mac.end());
    if (out.size() > kMaxMessage) throw std::invalid_argument("punch message over 1200 bytes");
    return std::move(out);
}

DecodeResult decode(std::span<const std::uint8_t> datagram, std::span<const std::uint8_t> key) {
    if (!looks_like_punch(datagram)) return {std::nullopt, "not a punch message"};
    if (datagram.size() > kMaxMessage) return {std::nullopt, "over 1200 bytes"};
    auto signed_part = datagram.first(datagram.size() - kMacSize);
    auto mac = mac_of(signed_part, key);
    if (CRYPTO_memcmp(mac.data(), datagram.last(kMacSize).data(), kMacSize) != 0) {
        return {std::nullopt, "bad authentication"};
    }
    Reader r(signed_part);
    r.u8(), r.u8();
    auto type = r.u8();
    if (!known_type(type)) return {std::nullopt, "unknown type " + std::to_string(type)};
    Message m;
    m.type = static_cast<Type>(type);
    m.flags = r.u8();
    r.u32();
    m.timestamp_ms = r.u64();
    m.nonce = r.u64();
    read_body(r, m);
    if (!r.ok()) return {std::nullopt, "truncated or malformed body"};
    if (!r.rest_is_zero()) return {std::nullopt, "trailing bytes after the body"};
    return {std::move(m), {}};
}

std::uint8_t mapping_flags(Mapping mapping) {
    switch (mapping) {
        case Mapping::independent:
            return kFlagMappingIndependent;
        case Mapping::dependent:
            return kFlagMappingDependent;
        case Mapping::unknown:
            break;
    }
    return 0;
}

Mapping mapping_of_flags(std::uint8_t flags) {
    switch (flags & kMappingFlags) {
        case kFlagMappingIndependent:
            return Mapping::independent;
        case kFlagMappingDependent:
            return Mapping::dependent;
        default:
            return Mapping::unknown;  // neither, or both (nonsense)
    }
}

Mapping mapping_of_word(std::string_view word) {
    if (word == "endpoint-independent") return Mapping::independent;
    if (word == "address-dependent" || word == "address-and-port-dependent")
        return Mapping::dependent;
    return Mapping::unknown;
}

std::string_view type_name(Type type) {
    switch (type) {
        case Type::reg:
            return "register";
        case Type::registered:
            return "registered";
        case Type::connect:
            return "connect";
        case Type::introduce:
            return "introduce";
        case Type::unknown_peer:
            return "unknown-peer";
        case Type::probe:
            return "probe";
        case Type::probe_ack:
            return "probe-ack";
    }
    return "?";
}

}  // namespace natkit::punch
