// Fuzzes punch's message parser (server and client use the same decode) and the rendezvous
// server's handling of any datagram. The input is signed before decoding, so the fuzzer reaches
// the body parser; it is also fed unsigned to the server.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "punch/message.hpp"
#include "punch/server.hpp"
#include "stun/message.hpp"

using namespace natkit;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::vector<std::uint8_t> key(32, 0x42);
    std::vector<std::uint8_t> signed_input(data, data + size);
    auto mac = punch::mac_of(signed_input, key);
    signed_input.insert(signed_input.end(), mac.begin(), mac.end());
    auto decoded = punch::decode(signed_input, key);
    if (decoded.message) {
        auto again = punch::encode(*decoded.message, key);
        auto round = punch::decode(again, key);
        if (!round.message || !(*round.message == *decoded.message)) __builtin_trap();
    }
    punch::ServerConfig config;
    config.secret = key;
    config.freshness_ms = ~0ULL / 4;
    punch::Server server(config, [](std::span<std::uint8_t> out) {
        for (auto& b : out) b = 1;
    });
    auto from = *net::Endpoint::parse("203.0.113.1:5");
    // Never an answer larger than the request, but for STUN's minimal Binding answer (32 bytes
    // for IPv4: XOR-MAPPED-ADDRESS alone).
    bool stun = stun::looks_like_stun(signed_input);
    for (const auto& o : server.handle(signed_input, from, 1'000'000)) {
        auto allowed = stun ? std::max<std::size_t>(signed_input.size(), 32) : signed_input.size();
        if (o.to == from && o.bytes.size() > allowed) __builtin_trap();
    }
    server.handle(std::span(data, size), from, 1'000'000);
    return 0;
}
