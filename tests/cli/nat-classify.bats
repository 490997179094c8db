#!/usr/bin/env bats
# nat-classify's command line: bad input (exit 65 naming the line), usage errors, the
# pipe from stun-probe, --probe against real coturn on loopback, --peer, --text.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
    export NS="nk-cli-nat-$$"
    export WORK="$BATS_FILE_TMPDIR"
    nk_ns_create "$NS"
    nk_start_coturn "$NS" "$WORK"
}

teardown_file() {
    nk_stop_all "$NS" "$WORK"
}

classify() { ip netns exec "$NS" "$NATKIT_BIN/nat-classify" "$@"; }

binding() {  # binding TEST SERVER LOCAL MAPPED
    printf '{"kind":"stun.binding","server":"%s","server_name":"s","test":"%s","local":"%s","mapped":"%s","other_address":"198.51.100.2:3479"}\n' \
        "$2" "$1" "$3" "$4"
}

@test "--version, --help" {
    run classify --version
    [ "$status" -eq 0 ]
    [[ "$output" == "nat-classify (natkit) "* ]]
    run classify --help
    [[ "$output" == *"--peer"* ]]
}

@test "records from stdin: a port-restricted cone; other kinds are passed over" {
    {
        binding binding 198.51.100.1:3478 10.0.0.2:4000 203.0.113.3:4000
        binding mapping-2 198.51.100.2:3478 10.0.0.2:4000 203.0.113.3:4000
        echo '{"kind":"something.else","passed":"over"}'
        binding mapping-3 198.51.100.2:3479 10.0.0.2:4000 203.0.113.3:4000
        echo '{"kind":"stun.binding","server":"198.51.100.1:3478","server_name":"s","test":"filtering-2","local":"10.0.0.2:5001","error":"timeout"}'
        echo '{"kind":"stun.binding","server":"198.51.100.1:3478","server_name":"s","test":"filtering-3","local":"10.0.0.2:5002","error":"timeout"}'
    } >"$WORK/pr.ndjson"
    run --separate-stderr classify <"$WORK/pr.ndjson"
    [ "$status" -eq 0 ]
    [ "$(jq -r .kind <<<"$output")" = nat.report ]
    [ "$(jq -r .nat_type <<<"$output")" = port-restricted-cone ]
    [ "$(jq -r .public <<<"$output")" = 203.0.113.3:4000 ]
    [ "$(jq -r .behind_nat <<<"$output")" = true ]
}

@test "malformed input: exit 65, the message names the line" {
    {
        binding binding 198.51.100.1:3478 10.0.0.2:4000 203.0.113.3:4000
        echo '{"kind":"stun.binding","server":"not an endpoint","test":"binding"}'
    } >"$WORK/bad.ndjson"
    run classify <"$WORK/bad.ndjson"
    [ "$status" -eq 65 ]
    [[ "$output" == *"stdin:2: field 'server'"* ]]
    run classify <<<'{"kind":"stun.binding",'
    [ "$status" -eq 65 ]
    [[ "$output" == *"stdin:1"* ]]
}

@test "records from different local ports: exit 65 naming the line" {
    {
        binding binding 198.51.100.1:3478 10.0.0.2:4000 203.0.113.3:4000
        binding mapping-2 198.51.100.2:3478 10.0.0.2:4001 203.0.113.3:4001
    } >"$WORK/mixed.ndjson"
    run classify <"$WORK/mixed.ndjson"
    [ "$status" -eq 65 ]
    [[ "$output" == *"stdin:2: field 'local'"*"different local ports"* ]]
}

@test "no stun.binding on stdin: exit 65 saying what to do" {
    run classify </dev/null
    [ "$status" -eq 65 ]
    [[ "$output" == *"--probe"* ]]
}

@test "--probe against coturn on loopback: no NAT" {
    run --separate-stderr classify --probe 127.0.0.1
    [ "$status" -eq 0 ]
    [ "$(jq -r .behind_nat <<<"$output")" = false ]
    [ "$(jq -r .nat_type <<<"$output")" = open ]
    [ "$(jq -r .mapping <<<"$output")" = endpoint-independent ]
    [ "$(jq -r .filtering <<<"$output")" = endpoint-independent ]
    [ "$(jq -r .hairpinning <<<"$output")" = true ]
}

@test "the pipe from stun-probe --behavior gives what --probe gives" {
    run --separate-stderr bash -c "ip netns exec $NS $NATKIT_BIN/stun-probe --behavior 127.0.0.1 | $NATKIT_BIN/nat-classify"
    [ "$status" -eq 0 ]
    [ "$(jq -r .nat_type <<<"$output")" = open ]
    [ "$(jq -r .servers_used <<<"$output")" = 1 ]
}

@test "--peer: the pair verdict; a missing or bad file is an error" {
    echo '{"kind":"nat.report","nat_type":"symmetric","mapping":"address-and-port-dependent","filtering":"address-and-port-dependent"}' >"$WORK/peer.json"
    run --separate-stderr classify --probe 127.0.0.1 --peer "$WORK/peer.json"
    [ "$status" -eq 0 ]
    [ "$(jq -r .pair.verdict <<<"$output")" = direct ]
    run classify --probe 127.0.0.1 --peer "$WORK/nope.json"
    [ "$status" -eq 2 ]
    echo '{"kind":"nat.report","nat_type":"sideways"}' >"$WORK/bad.json"
    run classify --probe 127.0.0.1 --peer "$WORK/bad.json"
    [ "$status" -eq 65 ]
    [[ "$output" == *"bad.json:1: field 'nat_type'"* ]]
}

@test "--text: a summary for a person" {
    run --separate-stderr classify --text --probe 127.0.0.1
    [ "$status" -eq 0 ]
    [[ "$output" == "no NAT"* ]]
    [[ "$output" != *"{"* ]]
}

@test "no server answers: udp-blocked, with a reason" {
    run --separate-stderr classify --probe 192.0.2.99 --timeout 500
    [ "$status" -eq 0 ]
    [ "$(jq -r .nat_type <<<"$output")" = udp-blocked ]
    [[ "$(jq -r '.reasons[0]' <<<"$output")" == *"no STUN server answered"* ]]
}
