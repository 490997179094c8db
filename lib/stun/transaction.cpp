#include "stun/transaction.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace natkit::stun {

namespace {

net::Endpoint canonical(const net::Endpoint& endpoint) {
    return {endpoint.address.unmapped(), endpoint.port};
}

std::string describe(const ErrorCode& error) {
    return std::to_string(error.code) + (error.reason.empty() ? "" : " " + error.reason);
}

}  // namespace

std::string_view outcome_name(Outcome outcome) {
    switch (outcome) {
        case Outcome::pending:
            return "pending";
        case Outcome::success:
            return "success";
        case Outcome::error_response:
            return "error-response";
        case Outcome::bad_response:
            return "bad-response";
        case Outcome::unreachable:
            return "unreachable";
        case Outcome::timeout:
            return "timeout";
    }
    return "unknown";
}

ClientTransaction::ClientTransaction(net::Endpoint server, TransactionId id,
                                     std::vector<std::uint8_t> request, RetransmitPolicy policy,
                                     TimePoint now, std::vector<net::Endpoint> accept_from)
    : server_(canonical(server)),
      id_(id),
      request_(std::move(request)),
      policy_(policy),
      accept_from_(std::move(accept_from)),
      next_(now),
      rto_(policy.initial_rto) {
    if (policy_.max_sends < 1) policy_.max_sends = 1;
    for (auto& source : accept_from_) source = canonical(source);
}

std::span<const std::uint8_t> ClientTransaction::poll(TimePoint now) {
    if (finished() || now < next_) return {};
    if (sends_ == policy_.max_sends) {
        finish(Outcome::timeout, "no answer to " + std::to_string(sends_) + " requests");
        return {};
    }
    ++sends_;
    last_send_ = now;
    if (sends_ == policy_.max_sends) {
        next_ = now + policy_.initial_rto * policy_.last_wait_factor;
    } else {
        next_ = now + rto_;
        rto_ *= 2;
    }
    return request_;
}

TimePoint ClientTransaction::deadline() const {
    return finished() ? TimePoint::max() : next_;
}

bool ClientTransaction::accepts_source(const net::Endpoint& from) const {
    auto source = canonical(from);
    if (accept_no_answer_) return false;
    if (accept_any_source_) return true;
    if (accept_from_.empty()) return source == server_;
    return std::find(accept_from_.begin(), accept_from_.end(), source) != accept_from_.end();
}

bool ClientTransaction::on_datagram(std::span<const std::uint8_t> datagram,
                                    const net::Endpoint& from, TimePoint now) {
    if (finished() || sends_ == 0 || !looks_like_stun(datagram)) return false;
    auto decoded = decode(datagram);
    if (!decoded.message) return false;  // not a valid STUN message: not ours to judge
    const Message& message = *decoded.message;
    if (message.transaction_id != id_ || message.cookie_field != kMagicCookie) return false;
    if (message.cls != MessageClass::success && message.cls != MessageClass::error) return false;
    if (!accepts_source(from)) return false;

    rtt_ = now - last_send_;
    response_source_ = canonical(from);
    response_ = message;
    if (message.cls == MessageClass::error) {
        finish(Outcome::error_response,
               message.error_code ? describe(*message.error_code) : "error response");
    } else if (!message.unknown_comprehension_required.empty()) {
        finish(Outcome::bad_response,
               "response carries unknown comprehension-required "
               "attributes");
    } else if (!message.reflexive_address()) {
        finish(Outcome::bad_response, "response carries no (XOR-)MAPPED-ADDRESS");
    } else {
        finish(Outcome::success, "");
    }
    return true;
}

void ClientTransaction::on_unreachable(std::string detail) {
    if (!finished() && sends_ > 0) finish(Outcome::unreachable, std::move(detail));
}

void ClientTransaction::on_delivered(TimePoint now) {
    if (finished() || sends_ == 0) return;
    rtt_ = now - last_send_;
    finish(Outcome::success, "");
}

void ClientTransaction::expire() {
    if (!finished()) {
        finish(Outcome::timeout,
               "no answer to " + std::to_string(sends_) + (sends_ == 1 ? " request" : " requests"));
    }
}

void ClientTransaction::finish(Outcome outcome, std::string detail) {
    outcome_ = outcome;
    detail_ = std::move(detail);
}

TransactionId random_transaction_id() {
    // The kernel's CSPRNG directly: initialising a user-space DRBG costs more than a probe.
    TransactionId id{};
    std::size_t filled = 0;
    while (filled < id.size()) {
        auto n = getrandom(id.data() + filled, id.size() - filled, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::system_category(), "getrandom");
        }
        filled += static_cast<std::size_t>(n);
    }
    return id;
}

}  // namespace natkit::stun
