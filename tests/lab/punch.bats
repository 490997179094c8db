#!/usr/bin/env bats
# punch across the NAT lab: `punch serve` on the stun node (198.51.100.1:3480), both sides of a
# pair run one-shot at the same time from WireGuard's port 51820 (through raw sockets when
# wireguard-go holds it). Every pair with an endpoint-independent-mapping side punches;
# symmetric x symmetric gives a quick relay; a blocked node cannot reach the rendezvous (69) and
# its peer says unreachable. Then a WireGuard handshake runs over the punched path.

bats_require_minimum_version 1.5.0
load common

RDV=198.51.100.1

setup_file() {
    lab_setup --wg
    export WORK="$BATS_FILE_TMPDIR"
    if "$NATLAB" exec stun ss -Hlun | grep -q "$RDV:3480"; then
        echo "something already listens on $RDV:3480 in the stun node" >&2
        return 1
    fi
    head -c 32 /dev/urandom | base64 >"$WORK/secret"
    chmod 600 "$WORK/secret"
    "$NATLAB" exec stun bash -c 'echo $$ >"$1/serve.pid"; exec "$2/punch" serve \
        --secret-file "$1/secret" --listen "$3:3480"' _ "$WORK" "$NATKIT_BIN" "$RDV" \
        2>"$WORK/serve.log" &
    local i
    for i in $(seq 1 100); do
        "$NATLAB" exec stun ss -Hlun | grep -q "$RDV:3480" && return 0
        sleep 0.05
    done
    echo "punch serve did not start: $(cat "$WORK/serve.log")" >&2
    return 1
}

teardown_file() {
    [ -s "$WORK/serve.pid" ] && kill "$(cat "$WORK/serve.pid")" 2>/dev/null
    lab_teardown
}

punch_in() {  # punch_in NODE PEER [OPTIONS]: one-shot punch NODE -> PEER from port 51820
    local node=$1 peer=$2
    shift 2
    "$NATLAB" exec "$node" "$NATKIT_BIN/punch" --server "$RDV" --id "$node" --peer "$peer" \
        --network lab --secret-file "$WORK/secret" -p 51820 "$@"
}

# pair A B [OPTIONS]: both at once; A's and B's result records in $WORK/A.out, $WORK/B.out.
pair() {
    local a=$1 b=$2
    shift 2
    punch_in "$a" "$b" "$@" >"$WORK/$a.out" 2>"$WORK/$a.err" &
    local pid=$! rc=0
    punch_in "$b" "$a" "$@" >"$WORK/$b.out" 2>"$WORK/$b.err" || rc=$?
    echo "$b exit $rc" >"$WORK/$b.rc"
    rc=0
    wait "$pid" || rc=$?
    echo "$a exit $rc" >"$WORK/$a.rc"
}

outcome() { sed -n 's/.*"outcome":"\([a-z]*\)".*/\1/p' "$WORK/$1.out"; }
remote() { sed -n 's/.*"remote":"\([^"]*\)".*/\1/p' "$WORK/$1.out"; }

expect_punched() {  # expect_punched A B
    pair "$1" "$2"
    echo "$1: $(cat "$WORK/$1.out") $(cat "$WORK/$1.err")"
    echo "$2: $(cat "$WORK/$2.out") $(cat "$WORK/$2.err")"
    [[ $(outcome "$1") == punched || $(outcome "$1") == direct ]]
    [[ $(outcome "$2") == punched || $(outcome "$2") == direct ]]
}

@test "cone pairs punch from port 51820" {
    for p in "fc rc" "fc pr1" "rc pr2" "pr1 pr2"; do
        expect_punched $p
    done
    # The peer's public address and port as its NAT keeps them (masquerade keeps the port).
    [ "$(remote pr1)" = "$(public_of pr2):51820" ]
    [ "$(remote pr2)" = "$(public_of pr1):51820" ]
}

@test "an open host and a NATed node: the open side is direct" {
    expect_punched open pr2
    [ "$(outcome pr2)" = direct ]
    [ "$(outcome open)" = punched ]
}

@test "full and restricted cone punch to symmetric, at the port the symmetric NAT really uses" {
    expect_punched fc sym1
    expect_punched rc sym2
    [[ $(remote fc) == "$(public_of sym1):"* ]]
}

swept() { sed -n 's/.*"ports_swept":\([0-9]*\).*/\1/p' "$WORK/$1.out"; }

# pair_with_reports A B [OPTIONS]: `pair`, each side knowing its own NAT (--nat-report from a
# real nat-classify run), from fresh NAT mappings.
pair_with_reports() {
    local a=$1 b=$2 n
    shift 2
    for n in "$a" "$b"; do
        [ -s "$WORK/$n.nat" ] || nat_report_of "$n" "$WORK/$n.nat"
        forget_mappings "$n" 51820
    done
    punch_in "$a" "$b" --nat-report "$WORK/$a.nat" "$@" >"$WORK/$a.out" 2>"$WORK/$a.err" &
    local pid=$!
    punch_in "$b" "$a" --nat-report "$WORK/$b.nat" "$@" >"$WORK/$b.out" 2>"$WORK/$b.err" || true
    wait "$pid" || true
    echo "$a: $(cat "$WORK/$a.out") $(cat "$WORK/$a.err")"
    echo "$b: $(cat "$WORK/$b.out") $(cat "$WORK/$b.err")"
}

@test "port-restricted x symmetric punch by sweeping the symmetric side's ports" {
    pair_with_reports pr1 sym1
    grep -q '"mapping":"endpoint-independent"' "$WORK/pr1.nat"
    grep -q '"mapping":"address-and-port-dependent"' "$WORK/sym1.nat"
    [ "$(outcome pr1)" = punched ]
    [ "$(outcome sym1)" = punched ]
    # pr1 found the port sym1's NAT really gave it, by sweeping; sym1 sees pr1's one mapping.
    [[ $(remote pr1) == "$(public_of sym1):"* ]]
    [ "$(remote sym1)" = "$(public_of pr1):51820" ]
    [ "$(swept pr1)" -ge 1 ]
    [ -z "$(swept sym1)" ]
    # The other way round (the symmetric side asks first) is the same pair.
    pair_with_reports sym2 pr2
    [ "$(outcome pr2)" = punched ]
    [ "$(outcome sym2)" = punched ]
}

@test "without the NAT reports nobody sweeps, and port-restricted x symmetric gives relay" {
    forget_mappings pr1 51820
    forget_mappings sym1 51820
    pair pr1 sym1 --timeout 1000
    [ "$(outcome pr1)" = relay ]
    [ "$(outcome sym1)" = relay ]
    [ -z "$(swept pr1)" ]
}

@test "symmetric x symmetric gives a quick relay, with no sweep" {
    local start=$SECONDS
    pair_with_reports sym1 sym2 --timeout 2000
    [ $((SECONDS - start)) -le 8 ]
    [ "$(outcome sym1)" = relay ]
    [ "$(outcome sym2)" = relay ]
    [ -z "$(swept sym1)" ] && [ -z "$(swept sym2)" ]
}

@test "a UDP-blocked node cannot reach the rendezvous (69); its peer says unreachable" {
    pair fc blk --window 2000 --register-timeout 1000
    [ "$(cat "$WORK/blk.rc")" = "blk exit 69" ]
    [ "$(cat "$WORK/fc.rc")" = "fc exit 0" ]
    [ "$(outcome fc)" = unreachable ]
}

@test "a WireGuard handshake succeeds over the punched path from the same port" {
    local node key
    for node in pr1 pr2; do
        if ! "$NATLAB" exec "$node" wg show wg0 >/dev/null 2>&1; then
            skip_if_reused
            "$NATLAB" wg-up "$node" >/dev/null
        fi
    done
    local k1 k2
    k1=$("$NATLAB" exec pr1 wg show wg0 public-key)
    k2=$("$NATLAB" exec pr2 wg show wg0 public-key)
    local a1 a2
    a1=$("$NATLAB" exec pr1 ip -4 -br addr show wg0 | awk '{print $3}' | cut -d/ -f1)
    a2=$("$NATLAB" exec pr2 ip -4 -br addr show wg0 | awk '{print $3}' | cut -d/ -f1)
    expect_punched pr1 pr2
    "$NATLAB" exec pr1 wg set wg0 peer "$k2" endpoint "$(remote pr1)" allowed-ips "$a2/32"
    "$NATLAB" exec pr2 wg set wg0 peer "$k1" endpoint "$(remote pr2)" allowed-ips "$a1/32"
    local ok=0 i
    for i in 1 2 3 4 5; do
        "$NATLAB" exec pr1 ping -c1 -W1 "$a2" >/dev/null 2>&1 || true
        if [ "$("$NATLAB" exec pr1 wg show wg0 latest-handshakes | awk -v k="$k2" '$1 == k {print $2}')" != 0 ]; then
            ok=1
            break
        fi
    done
    "$NATLAB" exec pr1 wg set wg0 peer "$k2" remove
    "$NATLAB" exec pr2 wg set wg0 peer "$k1" remove
    [ "$ok" -eq 1 ]
}
