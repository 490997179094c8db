#include "stun/transaction.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace natkit;
using namespace natkit::stun;
using namespace std::chrono_literals;

namespace {

net::Endpoint ep(const char* text) {
    return *net::Endpoint::parse(text);
}

const TransactionId kId{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
const net::Endpoint kServer = ep("198.51.100.1:3478");

std::vector<std::uint8_t> success_for(const TransactionId& id, const char* mapped) {
    Message m;
    m.cls = MessageClass::success;
    m.transaction_id = id;
    m.xor_mapped_address = ep(mapped);
    return encode(m);
}

ClientTransaction make(TimePoint start, std::vector<net::Endpoint> accept_from = {}) {
    return ClientTransaction(kServer, kId, encode(binding_request(kId)), RetransmitPolicy{}, start,
                             std::move(accept_from));
}

}  // namespace

TEST_CASE("retransmissions follow RFC 8489's schedule, then time out") {
    // RFC 8489 section 6.2.1: RTO 500 ms, Rc 7, Rm 16: sends at 0, 500, 1500, 3500, 7500,
    // 15500 and 31500 ms; the transaction fails at 39500 ms.
    const TimePoint t0{};
    auto tx = make(t0);
    std::vector<long> send_times;
    for (auto now = t0; now <= t0 + 40s; now += 1ms) {
        if (!tx.poll(now).empty()) {
            send_times.push_back(
                std::chrono::duration_cast<std::chrono::milliseconds>(now - t0).count());
        }
        if (tx.finished()) {
            CHECK(now - t0 == 39500ms);
            break;
        }
    }
    CHECK(send_times == std::vector<long>{0, 500, 1500, 3500, 7500, 15500, 31500});
    CHECK(tx.outcome() == Outcome::timeout);
    CHECK(tx.sends() == 7);
    CHECK(tx.deadline() == TimePoint::max());
}

TEST_CASE("deadline tells when to poll next") {
    const TimePoint t0{};
    auto tx = make(t0);
    CHECK(tx.deadline() == t0);
    CHECK(tx.poll(t0).size() >= kHeaderSize);
    CHECK(tx.deadline() == t0 + 500ms);
    CHECK(tx.poll(t0 + 499ms).empty());
    CHECK_FALSE(tx.poll(t0 + 500ms).empty());
    CHECK(tx.deadline() == t0 + 1500ms);
}

TEST_CASE("the request sent is the one given") {
    auto request = encode(binding_request(kId));
    ClientTransaction tx(kServer, kId, request, RetransmitPolicy{}, TimePoint{});
    auto sent = tx.poll(TimePoint{});
    CHECK(std::vector<std::uint8_t>(sent.begin(), sent.end()) == request);
}

TEST_CASE("a matching response from the server completes the transaction") {
    const TimePoint t0{};
    auto tx = make(t0);
    tx.poll(t0);
    CHECK(tx.on_datagram(success_for(kId, "203.0.113.7:40000"), kServer, t0 + 23ms));
    CHECK(tx.outcome() == Outcome::success);
    REQUIRE(tx.response());
    CHECK(tx.response()->reflexive_address() == ep("203.0.113.7:40000"));
    CHECK(tx.rtt() == Duration(23ms));
    CHECK(tx.response_source() == kServer);
    CHECK(tx.poll(t0 + 10s).empty());
}

TEST_CASE("rtt after a retransmission is measured from the latest send") {
    const TimePoint t0{};
    auto tx = make(t0);
    tx.poll(t0);
    tx.poll(t0 + 500ms);
    CHECK(tx.on_datagram(success_for(kId, "203.0.113.7:40000"), kServer, t0 + 520ms));
    CHECK(tx.rtt() == Duration(20ms));
    CHECK(tx.sends() == 2);
}

TEST_CASE("responses are accepted only with the right ID and source") {
    const TimePoint t0{};
    auto tx = make(t0);
    tx.poll(t0);
    TransactionId other = kId;
    other[11] ^= 1;
    CHECK_FALSE(tx.on_datagram(success_for(other, "203.0.113.7:1"), kServer, t0));
    CHECK_FALSE(tx.on_datagram(success_for(kId, "203.0.113.7:1"), ep("198.51.100.1:3479"), t0));
    CHECK_FALSE(tx.on_datagram(success_for(kId, "203.0.113.7:1"), ep("198.51.100.9:3478"), t0));
    std::vector<std::uint8_t> garbage(40, 0xab);
    CHECK_FALSE(tx.on_datagram(garbage, kServer, t0));
    // A request (not a response) with our ID is not an answer either.
    CHECK_FALSE(tx.on_datagram(encode(binding_request(kId)), kServer, t0));
    CHECK(tx.outcome() == Outcome::pending);
    // The server seen as a v4-mapped IPv6 source (dual-stack socket) is the same server.
    CHECK(tx.on_datagram(success_for(kId, "203.0.113.7:1"),
                         net::Endpoint{kServer.address.mapped(), kServer.port}, t0));
}

TEST_CASE("a response before anything was sent is ignored") {
    auto tx = make(TimePoint{});
    CHECK_FALSE(tx.on_datagram(success_for(kId, "203.0.113.7:1"), kServer, TimePoint{}));
}

TEST_CASE("a response without the magic cookie does not match an RFC 8489 request") {
    const TimePoint t0{};
    auto tx = make(t0);
    tx.poll(t0);
    auto bytes = success_for(kId, "203.0.113.7:1");
    bytes[4] ^= 0xff;  // cookie field differs: an RFC 3489 server echoing someone else's ID
    CHECK_FALSE(tx.on_datagram(bytes, kServer, t0));
}

TEST_CASE("alternate sources are accepted when named") {
    const TimePoint t0{};
    auto alternate = ep("198.51.100.2:3479");
    auto tx = make(t0, {alternate});
    tx.poll(t0);
    CHECK_FALSE(tx.on_datagram(success_for(kId, "203.0.113.7:1"), kServer, t0));
    CHECK(tx.on_datagram(success_for(kId, "203.0.113.7:1"), alternate, t0));
    CHECK(tx.response_source() == alternate);
}

TEST_CASE("an error response finishes with its code and reason") {
    const TimePoint t0{};
    auto tx = make(t0);
    tx.poll(t0);
    Message m;
    m.cls = MessageClass::error;
    m.transaction_id = kId;
    m.error_code = ErrorCode{420, "Unknown Attribute"};
    m.unknown_attributes = {0x0003};
    CHECK(tx.on_datagram(encode(m), kServer, t0 + 1ms));
    CHECK(tx.outcome() == Outcome::error_response);
    CHECK(tx.detail() == "420 Unknown Attribute");
    CHECK(outcome_name(tx.outcome()) == "error-response");
}

TEST_CASE("a success response without a mapped address is a bad response") {
    const TimePoint t0{};
    auto tx = make(t0);
    tx.poll(t0);
    Message m;
    m.cls = MessageClass::success;
    m.transaction_id = kId;
    m.software = "x";
    CHECK(tx.on_datagram(encode(m), kServer, t0));
    CHECK(tx.outcome() == Outcome::bad_response);
}

TEST_CASE("an old server's MAPPED-ADDRESS is enough") {
    const TimePoint t0{};
    auto tx = make(t0);
    tx.poll(t0);
    Message m;
    m.cls = MessageClass::success;
    m.transaction_id = kId;
    m.mapped_address = ep("203.0.113.8:9");
    CHECK(tx.on_datagram(encode(m), kServer, t0));
    CHECK(tx.response()->reflexive_address() == ep("203.0.113.8:9"));
}

TEST_CASE("ICMP unreachable and the caller's deadline end a pending transaction") {
    const TimePoint t0{};
    auto tx = make(t0);
    tx.on_unreachable("port unreachable");
    CHECK(tx.outcome() == Outcome::pending);  // nothing sent yet: not ours
    tx.poll(t0);
    tx.on_unreachable("port unreachable");
    CHECK(tx.outcome() == Outcome::unreachable);
    CHECK(tx.detail() == "port unreachable");

    auto late = make(t0);
    late.poll(t0);
    late.expire();
    CHECK(late.outcome() == Outcome::timeout);
    CHECK(late.detail() == "no answer to 1 request");
}

TEST_CASE("random transaction IDs differ") {
    CHECK(random_transaction_id() != random_transaction_id());
}
