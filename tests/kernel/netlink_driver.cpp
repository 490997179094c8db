// Test driver for the netlink backend against the real kernel module (tests/kernel/
// wg-apply-netlink.bats compiles it and runs it in the VM). Prints peers as canonical lines
// "public-key preshared-key endpoint allowed-ips keepalive" (wg(8)'s dump columns, allowed IPs
// sorted, lines sorted) so the backend's view and `wg show IFACE dump` compare with cmp(1).
//
//   netlink_driver [--drop-privileges] COMMAND ARGS...
//     write-random IFACE SEED PEERS BIG_PEERS BIG_IPS HUGE_IPS   write, print what was written
//     read IFACE                          print the device as read back
//     canon                               canonical lines of `wg show IFACE dump` on stdin
//     remove IFACE KEY                    remove one peer
//     set-ips IFACE KEY CIDR,CIDR...      replace one peer's allowed IPs
//     set-many-ips IFACE KEY COUNT        replace one peer's allowed IPs with COUNT /32s
//     time-write-random IFACE SEED PEERS  write print-conf's peers, print only the seconds taken
//     time-read IFACE                     read, prints only the seconds taken
//     print-conf SEED PEERS [CHANGED]     time-write-random's peers as a wg(8) config, the
//                                         first CHANGED peers with another endpoint port
//     print-peer-set SEED PEERS [CHANGED] the same as a natkit peer-set record
//     time-exec PROGRAM ARGS...           run it, print the seconds it took (stdout dropped)
// natkit::Error: prints "error CODE: MESSAGE" on stderr, exits with CODE.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "io/error.hpp"
#include "wg/netlink.hpp"

using namespace natkit;
using namespace natkit::wg;

namespace {

std::string join_prefixes(std::vector<AllowedIp> prefixes) {
    if (prefixes.empty()) return "(none)";
    std::sort(prefixes.begin(), prefixes.end());
    std::string out;
    for (const auto& p : prefixes) out += (out.empty() ? "" : ",") + p.to_string();
    return out;
}

std::string canonical_line(const Key& key, const std::optional<Key>& psk,
                           const std::optional<net::Endpoint>& endpoint,
                           const std::vector<AllowedIp>& ips, std::uint16_t keepalive) {
    return key_to_base64(key) + "\t" + (psk ? key_to_base64(*psk) : "(none)") + "\t" +
           (endpoint ? endpoint->to_string() : "(none)") + "\t" + join_prefixes(ips) + "\t" +
           (keepalive ? std::to_string(keepalive) : "off");
}

void print_sorted(std::vector<std::string> lines) {
    std::sort(lines.begin(), lines.end());
    for (const auto& line : lines) std::cout << line << "\n";
}

Key random_key(std::mt19937& random) {
    Key key{};
    for (auto& b : key) b = static_cast<std::uint8_t>(random());
    return key;
}

AllowedIp random_prefix(std::mt19937& random) {
    AllowedIp p;
    if (random() % 4 == 0) {
        std::array<std::uint8_t, 16> bytes{0xfd};
        for (std::size_t i = 1; i < bytes.size(); ++i)
            bytes[i] = static_cast<std::uint8_t>(random());
        p.address = net::IpAddress::v6(bytes);
        p.length = static_cast<std::uint8_t>(48 + random() % 81);
    } else {
        p.address = net::IpAddress::v4(static_cast<std::uint32_t>(random()));
        p.length = static_cast<std::uint8_t>(8 + random() % 25);
    }
    return *net::Prefix::parse(p.to_string());  // clears the host bits
}

net::Endpoint random_endpoint(std::mt19937& random) {
    const auto port = static_cast<std::uint16_t>(1 + random() % 65535);
    if (random() % 2) {
        return {net::IpAddress::v4(0xc6336400u | (random() % 256)), port};  // 198.51.100.x
    }
    std::array<std::uint8_t, 16> bytes{0x20, 0x01, 0x0d, 0xb8};
    for (std::size_t i = 8; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(random());
    return {net::IpAddress::v6(bytes), port};
}

// PEERS peers with 0-3 allowed IPs, BIG_PEERS of them with BIG_IPS, the first with HUGE_IPS;
// no prefix is claimed twice (the kernel would move it).
DeviceChange random_change(unsigned seed, std::size_t peers, std::size_t big_peers,
                           std::size_t big_ips, std::size_t huge_ips) {
    std::mt19937 random(seed);
    std::set<AllowedIp> used;
    DeviceChange change;
    for (std::size_t i = 0; i < peers; ++i) {
        PeerChange peer;
        peer.public_key = random_key(random);
        if (random() % 2) peer.preshared_key = std::optional<Key>(random_key(random));
        if (random() % 4) peer.endpoint = random_endpoint(random);
        if (random() % 2) peer.persistent_keepalive = static_cast<std::uint16_t>(random() % 600);
        peer.replace_allowed_ips = true;
        std::size_t count = i == 0 ? huge_ips : i <= big_peers ? big_ips : random() % 4;
        while (peer.allowed_ips.size() < count) {
            const AllowedIp p = random_prefix(random);
            if (used.insert(p).second) peer.allowed_ips.push_back(p);
        }
        std::sort(peer.allowed_ips.begin(), peer.allowed_ips.end());
        change.peers.push_back(std::move(peer));
    }
    return change;
}

std::vector<std::string> lines_of(const DeviceChange& change) {
    std::vector<std::string> lines;
    for (const auto& p : change.peers) {
        lines.push_back(canonical_line(p.public_key, p.preshared_key.value_or(std::nullopt),
                                       p.endpoint, p.allowed_ips,
                                       p.persistent_keepalive.value_or(0)));
    }
    return lines;
}

std::vector<std::string> lines_of(const Device& device) {
    std::vector<std::string> lines;
    for (const auto& p : device.peers) {
        lines.push_back(canonical_line(p.public_key, p.preshared_key, p.endpoint, p.allowed_ips,
                                       p.persistent_keepalive));
    }
    return lines;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> out;
    std::stringstream stream(text);
    for (std::string field; std::getline(stream, field, separator);) out.push_back(field);
    return out;
}

// `wg show IFACE dump` peer lines: key psk endpoint allowed-ips handshake rx tx keepalive.
int canon() {
    std::vector<std::string> lines;
    for (std::string line; std::getline(std::cin, line);) {
        const auto f = split(line, '\t');
        if (f.size() != 8) continue;  // the interface line has 4 fields
        std::vector<AllowedIp> ips;
        if (f[3] != "(none)") {
            for (const auto& text : split(f[3], ',')) ips.push_back(*net::Prefix::parse(text));
        }
        const auto key = *key_from_base64(f[0]);
        const auto psk = f[1] == "(none)" ? std::nullopt : key_from_base64(f[1]);
        const auto endpoint = f[2] == "(none)" ? std::nullopt : net::Endpoint::parse(f[2]);
        const auto keepalive = f[7] == "off" ? 0 : std::stoi(f[7]);
        lines.push_back(
            canonical_line(key, psk, endpoint, ips, static_cast<std::uint16_t>(keepalive)));
    }
    print_sorted(lines);
    return 0;
}

PeerChange replace_ips(const std::string& key, std::vector<AllowedIp> ips) {
    PeerChange change;
    change.public_key = *key_from_base64(key);
    change.update_only = true;
    change.replace_allowed_ips = true;
    change.allowed_ips = std::move(ips);
    return change;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int print_conf(const DeviceChange& change) {
    std::cout << "[Interface]\n";
    for (const auto& p : change.peers) {
        std::cout << "\n[Peer]\nPublicKey = " << key_to_base64(p.public_key) << "\n";
        if (p.preshared_key && *p.preshared_key) {
            std::cout << "PresharedKey = " << key_to_base64(**p.preshared_key) << "\n";
        }
        if (p.endpoint) std::cout << "Endpoint = " << p.endpoint->to_string() << "\n";
        if (p.persistent_keepalive) {
            std::cout << "PersistentKeepalive = " << *p.persistent_keepalive << "\n";
        }
        if (!p.allowed_ips.empty()) {
            std::cout << "AllowedIPs = " << join_prefixes(p.allowed_ips) << "\n";
        }
    }
    return 0;
}

int print_peer_set(const DeviceChange& change) {
    std::cout << R"({"kind":"peer-set","network":"bench","peers":[)";
    for (std::size_t i = 0; i < change.peers.size(); ++i) {
        const auto& p = change.peers[i];
        std::cout << (i ? "," : "") << R"({"id":"p)" << i << R"(","public_key":")"
                  << key_to_base64(p.public_key) << '"';
        if (p.endpoint) std::cout << R"(,"endpoint":")" << p.endpoint->to_string() << '"';
        std::cout << R"(,"persistent_keepalive":)" << p.persistent_keepalive.value_or(0)
                  << R"(,"allowed_ips":[)";
        for (std::size_t j = 0; j < p.allowed_ips.size(); ++j) {
            std::cout << (j ? "," : "") << '"' << p.allowed_ips[j].to_string() << '"';
        }
        std::cout << "]}";
    }
    std::cout << "]}\n";
    return 0;
}

// The benchmark's peers: no preshared keys (peer-sets carry none), every peer an endpoint,
// the first `changed` with another port.
DeviceChange bench_change(const std::vector<std::string>& a, std::size_t first) {
    auto change = random_change(std::stoul(a.at(first)), std::stoul(a.at(first + 1)), 0, 0, 1);
    const std::size_t changed = a.size() > first + 2 ? std::stoul(a.at(first + 2)) : 0;
    for (std::size_t i = 0; i < change.peers.size(); ++i) {
        auto& p = change.peers[i];
        p.preshared_key.reset();
        if (!p.endpoint) p.endpoint = net::Endpoint{net::IpAddress::v4(0xc0000201u), 51820};
        if (i < changed) p.endpoint->port = static_cast<std::uint16_t>(p.endpoint->port ^ 1);
    }
    return change;
}

int time_exec(const std::vector<std::string>& command) {
    std::vector<char*> argv;
    for (const auto& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    const auto start = std::chrono::steady_clock::now();
    pid_t pid = 0;
    const int error = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    if (error != 0 || waitpid(pid, &status, 0) < 0) return 3;
    std::cout << seconds_since(start) << "\n";
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

int run(const std::vector<std::string>& a) {
    auto backend = make_netlink_backend();
    const std::string& command = a.at(0);
    if (command == "canon") return canon();
    if (command == "time-exec") return time_exec({a.begin() + 1, a.end()});
    if (command == "print-conf") return print_conf(bench_change(a, 1));
    if (command == "print-peer-set") return print_peer_set(bench_change(a, 1));
    const std::string& interface = a.at(1);
    if (command == "write-random" || command == "time-write-random") {
        const bool timed = command == "time-write-random";
        const auto change =
            timed ? bench_change(a, 2)
                  : random_change(std::stoul(a.at(2)), std::stoul(a.at(3)), std::stoul(a.at(4)),
                                  std::stoul(a.at(5)), std::stoul(a.at(6)));
        const auto start = std::chrono::steady_clock::now();
        backend->write(interface, change);
        if (timed) {
            std::cout << seconds_since(start) << "\n";
        } else {
            print_sorted(lines_of(change));
        }
    } else if (command == "read" || command == "time-read") {
        const auto start = std::chrono::steady_clock::now();
        const Device device = backend->read(interface);
        if (command == "time-read") {
            std::cout << seconds_since(start) << " " << device.peers.size() << "\n";
        } else {
            print_sorted(lines_of(device));
        }
    } else if (command == "remove") {
        PeerChange change;
        change.public_key = *key_from_base64(a.at(2));
        change.remove = true;
        backend->write(interface, {{change}});
    } else if (command == "set-ips") {
        std::vector<AllowedIp> ips;
        for (const auto& text : split(a.at(3), ',')) ips.push_back(*net::Prefix::parse(text));
        backend->write(interface, {{replace_ips(a.at(2), ips)}});
    } else if (command == "set-many-ips") {
        std::vector<AllowedIp> ips;
        for (std::uint32_t i = 0; i < std::stoul(a.at(3)); ++i) {
            ips.push_back({net::IpAddress::v4(0xac100000u + i), 32});  // 172.16.0.0 + i
        }
        backend->write(interface, {{replace_ips(a.at(2), ips)}});
    } else {
        std::cerr << "unknown command " << command << "\n";
        return 2;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "--drop-privileges") {
        args.erase(args.begin());
        if (setgid(65534) != 0 || setuid(65534) != 0) {
            std::perror("drop privileges");
            return 3;
        }
    }
    try {
        return run(args);
    } catch (const Error& e) {
        std::cerr << "error " << static_cast<int>(e.code()) << ": " << e.what() << "\n";
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        std::cerr << "driver error: " << e.what() << "\n";
        return 3;
    }
}
