#!/usr/bin/env bats
# wg-apply against real wireguard-go in lab nodes. The tests bring up devices of their own
# (wgap0 on `open` and `fc`, port 51999, 10.98.0.0/24), so the lab's wg0 devices and anyone
# else using them are left alone. Needs root.

bats_require_minimum_version 1.5.0

load common

IF=wgap0
PY=/usr/bin/python3

setup_file() {
    lab_setup
    local node
    for node in open fc; do
        start_device "$node"
    done
}

teardown_file() {
    local node
    for node in open fc; do
        "$NATLAB" exec "$node" ip link del "$IF" 2>/dev/null || true  # wireguard-go exits
    done
    lab_teardown
}

start_device() {
    local node=$1
    "$NATLAB" exec "$node" ip link del "$IF" 2>/dev/null || true
    # in the foreground, held by natlab exec (which ends a daemon when it returns)
    "$NATLAB" exec "$node" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$IF" >/dev/null 2>&1 3>&- &
    for _ in $(seq 50); do
        "$NATLAB" exec "$node" wg show "$IF" >/dev/null 2>&1 && break
        sleep 0.1
    done
    wg genkey >"$BATS_FILE_TMPDIR/$node.key"
    "$NATLAB" exec "$node" wg set "$IF" private-key "$BATS_FILE_TMPDIR/$node.key" listen-port 51999
    "$NATLAB" exec "$node" ip link set "$IF" up
}

pubkey_of() { wg pubkey <"$BATS_FILE_TMPDIR/$1.key"; }

setup() {
    local node k
    for node in open fc; do
        for k in $("$NATLAB" exec "$node" wg show "$IF" peers); do
            "$NATLAB" exec "$node" wg set "$IF" peer "$k" remove
        done
    done
}

apply() {
    local node=$1
    shift
    "$NATLAB" exec "$node" "$NATKIT_BIN/wg-apply" "$@" "$IF"
}

# gen_set SEED PEERS: a random peer-set; every 10th peer has 40 allowed IPs (the rest 1-3),
# most have an endpoint (IPv4 or IPv6) and a keepalive. Prefixes are unique across peers.
gen_set() {
    "$PY" - "$1" "$2" <<'PY'
import base64, ipaddress, json, random, sys
rnd = random.Random(int(sys.argv[1]))
peers = []
for i in range(int(sys.argv[2])):
    ips = [f"10.{100 + i // 256}.{i % 256}.{j}/32" for j in range(40 if i % 10 == 0 else rnd.randint(1, 3))]
    if i % 7 == 0:
        ips.append(str(ipaddress.ip_network(f"fd00:{i:x}::/64")))
    peer = {"id": f"p{i}", "public_key": base64.b64encode(rnd.randbytes(32)).decode(), "allowed_ips": ips}
    if i % 5:
        peer["endpoint"] = f"203.0.113.{rnd.randint(20, 250)}:{rnd.randint(1024, 65535)}" if i % 3 else f"[2001:db8::{i:x}]:51820"
    if i % 4:
        peer["persistent_keepalive"] = rnd.choice([0, 15, 25])
    peers.append(peer)
print(json.dumps({"kind": "peer-set", "network": "lab", "peers": peers}))
PY
}

# A peer set as the lines `wg show IF dump` would print for it (key, endpoint, IPs, keepalive).
set_as_dump() {
    "$PY" -c '
import json, sys, ipaddress
s = json.load(sys.stdin)
for p in s["peers"]:
    ips = sorted(p["allowed_ips"], key=lambda a: (ipaddress.ip_network(a).version, ipaddress.ip_network(a)))
    ka = p.get("persistent_keepalive", 0)
    print("\t".join([p["public_key"], p.get("endpoint", "(none)"), ",".join(ips) or "(none)", str(ka) if ka else "off"]))
' | sort
}

device_dump() {
    "$NATLAB" exec "$1" wg show "$IF" dump | tail -n +2 | "$PY" -c '
import sys, ipaddress
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    ips = [] if f[3] == "(none)" else f[3].split(",")
    ips = sorted(ips, key=lambda a: (ipaddress.ip_network(a).version, ipaddress.ip_network(a)))
    print("\t".join([f[0], f[2], ",".join(ips) or "(none)", f[7]]))
' | sort
}

@test "a random set of 400 peers is applied; the device reads back equal; again: no write" {
    gen_set 1 400 >"$BATS_TEST_TMPDIR/set.json"
    run --separate-stderr apply open <"$BATS_TEST_TMPDIR/set.json"
    [ "$status" -eq 0 ]
    [ "$(jq '.added | length' <<<"$output")" -eq 400 ]
    [ "$(device_dump open)" = "$(set_as_dump <"$BATS_TEST_TMPDIR/set.json")" ]

    # The second apply only reads: strace sees "get=1" go out and no "set=1".
    "$NATLAB" exec open strace -f -qq -e trace=sendto,write,sendmsg -s 16 -o "$BATS_TEST_TMPDIR/trace" \
        "$NATKIT_BIN/wg-apply" "$IF" <"$BATS_TEST_TMPDIR/set.json" >"$BATS_TEST_TMPDIR/again.json"
    [ "$(jq .unchanged "$BATS_TEST_TMPDIR/again.json")" -eq 400 ]
    [ "$(jq .writes "$BATS_TEST_TMPDIR/again.json")" -eq 0 ]
    [ "$(jq -c '[.added, .updated, .removed]' "$BATS_TEST_TMPDIR/again.json")" = '[[],[],[]]' ]
    grep -q 'get=1' "$BATS_TEST_TMPDIR/trace"
    ! grep -q 'set=1' "$BATS_TEST_TMPDIR/trace"
}

@test "a changed set sends only what differs, and converges" {
    gen_set 2 300 >"$BATS_TEST_TMPDIR/a.json"
    apply open <"$BATS_TEST_TMPDIR/a.json" >/dev/null
    # change 3 endpoints, 2 keepalives, and give peer 10's 40 prefixes one more
    jq -c '.peers[1].endpoint = "198.51.100.50:1111" | .peers[2].endpoint = "198.51.100.51:2222"
           | .peers[3].endpoint = "[2001:db8::99]:3333" | .peers[5].persistent_keepalive = 7
           | .peers[6].persistent_keepalive = 9 | .peers[10].allowed_ips += ["172.16.0.0/12"]' \
        "$BATS_TEST_TMPDIR/a.json" >"$BATS_TEST_TMPDIR/b.json"
    run --separate-stderr apply open <"$BATS_TEST_TMPDIR/b.json"
    [ "$status" -eq 0 ]
    [ "$(jq '.updated | length' <<<"$output")" -eq 6 ]
    [ "$(jq .writes <<<"$output")" -eq 6 ]
    [ "$(jq .unchanged <<<"$output")" -eq 294 ]
    [ "$(device_dump open)" = "$(set_as_dump <"$BATS_TEST_TMPDIR/b.json")" ]
}

@test "prefixes moved between peers (a swap and a hand-over) end where the set says" {
    gen_set 3 50 >"$BATS_TEST_TMPDIR/a.json"
    apply open <"$BATS_TEST_TMPDIR/a.json" >/dev/null
    # swap peers 1 and 2's lists, hand peer 3's list to peer 4 (peer 3 keeps one new prefix)
    jq -c '.peers[1].allowed_ips as $a | .peers[2].allowed_ips as $b
           | .peers[1].allowed_ips = $b | .peers[2].allowed_ips = $a
           | .peers[4].allowed_ips += .peers[3].allowed_ips | .peers[3].allowed_ips = ["10.250.0.0/24"]' \
        "$BATS_TEST_TMPDIR/a.json" >"$BATS_TEST_TMPDIR/b.json"
    run --separate-stderr apply open <"$BATS_TEST_TMPDIR/b.json"
    [ "$status" -eq 0 ]
    moved=$(jq '[.moved_allowed_ips[].prefix] | length' <<<"$output")
    expected=$(jq '[.peers[1,2,3].allowed_ips[]] | length' "$BATS_TEST_TMPDIR/a.json")
    [ "$moved" -eq "$expected" ]
    [ "$(jq '[.moved_allowed_ips[].from_in_set] | all' <<<"$output")" = true ]
    [ "$(device_dump open)" = "$(set_as_dump <"$BATS_TEST_TMPDIR/b.json")" ]
}

@test "prune removes only with --prune, within --max-remove" {
    gen_set 4 100 >"$BATS_TEST_TMPDIR/a.json"
    apply open <"$BATS_TEST_TMPDIR/a.json" >/dev/null
    jq -c '.peers |= .[5:]' "$BATS_TEST_TMPDIR/a.json" >"$BATS_TEST_TMPDIR/b.json"
    run --separate-stderr apply open <"$BATS_TEST_TMPDIR/b.json"
    [ "$(jq .not_in_set <<<"$output")" -eq 5 ]
    [ "$(device_dump open | wc -l)" -eq 100 ]
    run apply open --prune --max-remove 4 <"$BATS_TEST_TMPDIR/b.json"
    [ "$status" -eq 1 ]
    [ "$(device_dump open | wc -l)" -eq 100 ]
    run --separate-stderr apply open --prune <"$BATS_TEST_TMPDIR/b.json"
    [ "$status" -eq 0 ]
    [ "$(jq '.removed | length' <<<"$output")" -eq 5 ]
    [ "$(device_dump open)" = "$(set_as_dump <"$BATS_TEST_TMPDIR/b.json")" ]
}

@test "bad input leaves the device as it was" {
    gen_set 5 200 >"$BATS_TEST_TMPDIR/a.json"
    apply open <"$BATS_TEST_TMPDIR/a.json" >/dev/null
    before=$(device_dump open)  # (the byte counters move: keepalives go out)
    # a new valid set whose last peer claims peer 0's first prefix
    gen_set 6 200 | jq -c '.peers[199].allowed_ips += [.peers[0].allowed_ips[0]]' >"$BATS_TEST_TMPDIR/bad.json"
    run apply open --prune --force <"$BATS_TEST_TMPDIR/bad.json"
    [ "$status" -eq 65 ]
    [[ "$output" == *"peers[199].allowed_ips["* ]]
    [ "$(device_dump open)" = "$before" ]
    [ "$(device_dump open)" = "$(set_as_dump <"$BATS_TEST_TMPDIR/a.json")" ]
}

@test "the endpoint guard keeps an endpoint with a fresh handshake; 'always' overwrites it" {
    kopen=$(pubkey_of open) kfc=$(pubkey_of fc)
    # fc knows open's endpoint and keeps the tunnel alive; open has never been told fc's
    printf '{"kind":"peer-set","network":"lab","peers":[{"id":"open","public_key":"%s","endpoint":"203.0.113.10:51999","allowed_ips":["10.98.0.10/32"],"persistent_keepalive":1}]}\n' "$kopen" |
        apply fc >/dev/null
    printf '{"kind":"peer-set","network":"lab","peers":[{"id":"fc","public_key":"%s","allowed_ips":["10.98.0.1/32"]}]}\n' "$kfc" |
        apply open >/dev/null
    for _ in $(seq 50); do
        hs=$("$NATLAB" exec open wg show "$IF" latest-handshakes | awk '{print $2}')
        [ "${hs:-0}" -gt 0 ] && break
        sleep 0.1
    done
    [ "${hs:-0}" -gt 0 ]
    learned=$("$NATLAB" exec open wg show "$IF" endpoints | awk '{print $2}')
    [ "$learned" = "203.0.113.1:51999" ]  # fc's full-cone public side

    # a stale endpoint from upstream does not replace the one open just learned
    stale=$(printf '{"kind":"peer-set","network":"lab","peers":[{"id":"fc","public_key":"%s","endpoint":"203.0.113.77:4444","allowed_ips":["10.98.0.1/32"]}]}' "$kfc")
    run --separate-stderr apply open <<<"$stale"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.kept_endpoints[0].public_key' <<<"$output")" = "$kfc" ]
    [ "$(jq -r '.kept_endpoints[0].endpoint' <<<"$output")" = "203.0.113.1:51999" ]
    [[ "$(jq -r '.kept_endpoints[0].reason' <<<"$output")" == "handshake "*" s ago (guard 135 s)" ]]
    [ "$(jq .writes <<<"$output")" -eq 0 ]
    [ "$("$NATLAB" exec open wg show "$IF" endpoints | awk '{print $2}')" = "203.0.113.1:51999" ]

    run --separate-stderr apply open --endpoint-policy always <<<"$stale"
    [ "$status" -eq 0 ]
    [ "$(jq -c '.updated[0].fields' <<<"$output")" = '["endpoint"]' ]
    [ "$("$NATLAB" exec open wg show "$IF" endpoints | awk '{print $2}')" = "203.0.113.77:4444" ]
}
