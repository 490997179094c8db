#!/usr/bin/env bats
# wg-apply against a real wireguard-go device in a private network namespace. The interface
# name is unique to this run, so its UAPI socket (/var/run/wireguard/NAME.sock) clashes with
# nothing else on the machine.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
    export NS="nk-cli-wga-$$"
    export IFACE="wgcli$$"
    export WORK="$BATS_FILE_TMPDIR"
    ip netns del "$NS" 2>/dev/null || true
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    WG_PROCESS_FOREGROUND=1 ip netns exec "$NS" wireguard-go "$IFACE" >"$WORK/wireguard-go.log" 2>&1 &
    echo $! >"$WORK/wireguard-go.pid"
    for _ in $(seq 50); do
        [ -S "/var/run/wireguard/$IFACE.sock" ] && break
        sleep 0.1
    done
    [ -S "/var/run/wireguard/$IFACE.sock" ]
}

teardown_file() {
    kill "$(cat "$WORK/wireguard-go.pid")" 2>/dev/null || true
    sleep 0.2
    ip netns del "$NS" 2>/dev/null || true
}

setup() {
    # Every test starts from a device with no peers.
    local k
    for k in $(wg show "$IFACE" peers); do wg set "$IFACE" peer "$k" remove; done
}

apply() { ip netns exec "$NS" "$NATKIT_BIN/wg-apply" "$@"; }
key() { wg genkey | wg pubkey; }
# The device's configuration, without the counters and handshake times that move on their own.
config_of() { wg show "$1" dump | cut -f1-4,8 | sort; }
field() { jq -c ".$2" <<<"$1"; }

# peer_set KEY1 KEY2: a set of two peers, one with an endpoint and keepalive.
peer_set() {
    printf '{"kind":"peer-set","network":"cli","peers":[%s,%s]}\n' \
        "{\"id\":\"a\",\"public_key\":\"$1\",\"endpoint\":\"203.0.113.9:51820\",\"allowed_ips\":[\"10.66.0.2/32\",\"10.70.0.0/16\"],\"persistent_keepalive\":25}" \
        "{\"id\":\"b\",\"public_key\":\"$2\",\"allowed_ips\":[\"10.66.0.3/32\"]}"
}

@test "--version and --help" {
    run apply --version
    [ "$status" -eq 0 ]
    [[ "$output" == "wg-apply (natkit) "* ]]
    run apply --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--endpoint-policy"* ]]
}

@test "usage errors exit 2 and say what is wrong" {
    run apply </dev/null
    [ "$status" -eq 2 ]
    [[ "$output" == *"interface"* ]]
    run apply --backend kernel "$IFACE" </dev/null
    [ "$status" -eq 2 ]
    [[ "$output" == *"--backend"* ]]
    run apply --endpoint-policy sometimes "$IFACE" </dev/null
    [ "$status" -eq 2 ]
    [[ "$output" == *"--endpoint-policy"* ]]
    run apply "../../etc/x" </dev/null
    [ "$status" -eq 2 ]
    [[ "$output" == *"not an interface name"* ]]
    run apply --max-remove -1 "$IFACE" </dev/null
    [ "$status" -eq 2 ]
    run apply --no-such-option "$IFACE" </dev/null
    [ "$status" -eq 2 ]
}

@test "--dry-run prints the plan as a wg.apply record and changes nothing" {
    k1=$(key) k2=$(key)
    run --separate-stderr apply --dry-run "$IFACE" < <(peer_set "$k1" "$k2")
    [ "$status" -eq 0 ]
    [ "$(field "$output" kind)" = '"wg.apply"' ]
    [ "$(field "$output" interface)" = "\"$IFACE\"" ]
    [ "$(field "$output" backend)" = '"uapi"' ]
    [ "$(field "$output" dry_run)" = true ]
    [ "$(field "$output" added)" = "[\"$k1\",\"$k2\"]" ]
    [ "$(field "$output" writes)" = 0 ]
    [ -z "$(wg show "$IFACE" peers)" ]
}

@test "apply writes the set; the same set again is unchanged; the device reads back equal" {
    k1=$(key) k2=$(key)
    run --separate-stderr apply "$IFACE" < <(peer_set "$k1" "$k2")
    [ "$status" -eq 0 ]
    [ "$(field "$output" writes)" = 2 ]
    dump=$(wg show "$IFACE" dump | tail -n +2 | cut -f1,3,4,8 | sort)
    expected=$(printf '%s\t203.0.113.9:51820\t10.66.0.2/32,10.70.0.0/16\t25\n%s\t(none)\t10.66.0.3/32\toff\n' "$k1" "$k2" | sort)
    [ "$dump" = "$expected" ]
    run --separate-stderr apply "$IFACE" < <(peer_set "$k1" "$k2")
    [ "$status" -eq 0 ]
    [ "$(field "$output" unchanged)" = 2 ]
    [ "$(field "$output" writes)" = 0 ]
    [ "$(field "$output" updated)" = '[]' ]
}

@test "bad input exits 65 naming line and field, and leaves the device as it was" {
    k1=$(key) k2=$(key)
    apply "$IFACE" < <(peer_set "$k1" "$k2") >/dev/null
    before=$(config_of "$IFACE")
    bad_key=$(printf '{"kind":"nat.report"}\n{"kind":"peer-set","network":"x","peers":[{"id":"a","public_key":"%s","allowed_ips":[]},{"id":"b","public_key":"not-a-key"}]}\n' "$(key)")
    run apply "$IFACE" <<<"$bad_key"
    [ "$status" -eq 65 ]
    [[ "$output" == *"stdin:2"* ]]
    [[ "$output" == *"peers[1].public_key"* ]]
    bad_cidr=$(printf '{"kind":"peer-set","network":"x","peers":[{"id":"a","public_key":"%s","allowed_ips":["10.0.0.0/33"]}]}' "$(key)")
    run apply "$IFACE" <<<"$bad_cidr"
    [ "$status" -eq 65 ]
    [[ "$output" == *"peers[0].allowed_ips[0]"* ]]
    claimed=$(printf '{"kind":"peer-set","network":"x","peers":[{"id":"a","public_key":"%s","allowed_ips":["10.1.0.0/16"]},{"id":"b","public_key":"%s","allowed_ips":["10.1.0.0/16"]}]}' "$(key)" "$(key)")
    run apply "$IFACE" <<<"$claimed"
    [ "$status" -eq 65 ]
    [[ "$output" == *"peers[1].allowed_ips[0]"* ]]
    [[ "$output" == *"also claimed by peers[0]"* ]]
    # a good set followed by a broken record: nothing is applied
    run apply "$IFACE" < <(peer_set "$(key)" "$(key)"; echo '{"kind":"peer-set",')
    [ "$status" -eq 65 ]
    [[ "$output" == *"stdin:2"* ]]
    run apply "$IFACE" <<<'{"kind":"nat.report"}'
    [ "$status" -eq 65 ]
    [[ "$output" == *"no peer-set"* ]]
    [ "$(config_of "$IFACE")" = "$before" ]
}

@test "a missing interface exits 1 with a clear message" {
    run apply --backend uapi nosuchwg0 < <(peer_set "$(key)" "$(key)")
    [ "$status" -eq 1 ]
    [[ "$output" == *"no userspace WireGuard interface 'nosuchwg0'"* ]]
    [[ "$output" == *"/var/run/wireguard/nosuchwg0.sock"* ]]
    # auto: no UAPI socket, so kernel WireGuard; 1 (no such device) or 69 (no kernel module)
    run apply nosuchwg0 < <(peer_set "$(key)" "$(key)")
    [[ "$status" -eq 1 || "$status" -eq 69 ]]
    [[ "$output" == "wg-apply: "* ]]
}

@test "without permission on the device's socket: exit 77" {
    command -v setpriv >/dev/null || skip "setpriv missing"
    run ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$NATKIT_BIN/wg-apply" --backend uapi "$IFACE" < <(peer_set "$(key)" "$(key)")
    [ "$status" -eq 77 ]
    [[ "$output" == *"permission denied"* ]]
}

@test "pruning: refused beyond --max-remove and for an empty set, done with --force" {
    for _ in 1 2 3; do wg set "$IFACE" peer "$(key)" allowed-ips 10.9.0.$((RANDOM % 250))/32; done
    k1=$(key) k2=$(key)
    run apply --prune --max-remove 2 "$IFACE" < <(peer_set "$k1" "$k2")
    [ "$status" -eq 1 ]
    [[ "$output" == *"--max-remove 2"* ]]
    [ "$(wg show "$IFACE" peers | wc -l)" -eq 3 ]
    run apply --prune "$IFACE" <<<'{"kind":"peer-set","network":"x","peers":[]}'
    [ "$status" -eq 1 ]
    [[ "$output" == *"empty"* ]]
    [ "$(wg show "$IFACE" peers | wc -l)" -eq 3 ]
    run --separate-stderr apply --prune --max-remove 3 "$IFACE" < <(peer_set "$k1" "$k2")
    [ "$status" -eq 0 ]
    [ "$(jq '.removed | length' <<<"$output")" -eq 3 ]
    [ "$(wg show "$IFACE" peers | sort)" = "$(printf '%s\n%s\n' "$k1" "$k2" | sort)" ]
    run apply --prune --force "$IFACE" <<<'{"kind":"peer-set","network":"x","peers":[]}'
    [ "$status" -eq 0 ]
    [ -z "$(wg show "$IFACE" peers)" ]
}

@test "--follow applies each peer-set as it arrives" {
    k1=$(key) k2=$(key)
    run --separate-stderr apply --follow "$IFACE" < <(peer_set "$k1" "$k2"; peer_set "$k2" "$k1")
    [ "$status" -eq 0 ]
    [ "$(wc -l <<<"$output")" -eq 2 ]
    second=$(tail -1 <<<"$output")
    [ "$(jq -c '.updated | map(.fields) | sort' <<<"$second")" = '[["allowed_ips"],["endpoint","persistent_keepalive","allowed_ips"]]' ]
}
