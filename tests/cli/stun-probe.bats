#!/usr/bin/env bats
# stun-probe against real servers on the loopback of a private network namespace:
# coturn (RFC 8489 + RFC 5780) and Vovida stund (RFC 3489).

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
    export NS="nk-cli-stun-$$"
    export WORK="$BATS_FILE_TMPDIR"
    nk_ns_create "$NS"
    nk_start_coturn "$NS" "$WORK"
    nk_start_stund "$NS" "$WORK"
}

teardown_file() {
    nk_stop_all "$NS" "$WORK"
}

probe() {
    ip netns exec "$NS" "$NATKIT_BIN/stun-probe" "$@"
}

# field RECORD KEY: a top-level field of a JSON record, raw.
field() { jq -r ".$2 // empty" <<<"$1"; }

@test "--version and --help" {
    run probe --version
    [ "$status" -eq 0 ]
    [[ "$output" == "stun-probe (natkit) "* ]]
    run probe --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--source-port"* ]]
}

@test "bad arguments exit 2 with a message" {
    run probe --timeout nope 127.0.0.1
    [ "$status" -eq 2 ]
    [[ "$output" == *"timeout"* ]]
    run probe --mode sideways 127.0.0.1
    [ "$status" -eq 2 ]
    [[ "$output" == *"--mode"* ]]
    run probe '127.0.0.1:99999'
    [ "$status" -eq 2 ]
    [[ "$output" == *"127.0.0.1:99999"* ]]
    run probe -4 -6 127.0.0.1
    [ "$status" -eq 2 ]
    run probe --mode raw 127.0.0.1
    [ "$status" -eq 2 ]
    [[ "$output" == *"-p PORT"* ]]
}

@test "coturn: the mapped address is the address the request came from" {
    run --separate-stderr probe -p 40001 127.0.0.1:3478
    [ "$status" -eq 0 ]
    [ "$(field "$output" kind)" = stun.binding ]
    [ "$(field "$output" mapped)" = 127.0.0.1:40001 ]
    [ "$(field "$output" local)" = 127.0.0.1:40001 ]
    [ "$(field "$output" server)" = 127.0.0.1:3478 ]
    [ "$(field "$output" response_origin)" = 127.0.0.1:3478 ]
    [ "$(field "$output" other_address)" = 127.0.0.2:3479 ]
    [[ "$(field "$output" software)" == Coturn* ]]
    [ "$(field "$output" mode)" = socket ]
    [ "$(field "$output" error)" = "" ]
}

@test "coturn: an ephemeral port is reported consistently in local and mapped" {
    run --separate-stderr probe 127.0.0.1
    [ "$status" -eq 0 ]
    local local_ep mapped
    local_ep=$(field "$output" local)
    mapped=$(field "$output" mapped)
    [[ "$mapped" == 127.0.0.1:* ]]
    [ "$mapped" = "$local_ep" ]
}

@test "coturn over IPv6 on ::1" {
    run --separate-stderr probe -6 -p 40002 '[::1]:3478'
    [ "$status" -eq 0 ]
    [ "$(field "$output" mapped)" = '[::1]:40002' ]
    [ "$(field "$output" server)" = '[::1]:3478' ]
}

@test "both families from one dual-stack port" {
    run --separate-stderr probe -p 40004 127.0.0.1 '[::1]'
    [ "$status" -eq 0 ]
    [ "$(jq -s 'length' <<<"$output")" -eq 2 ]
    [ "$(jq -rs 'map(.mapped) | sort | join(" ")' <<<"$output")" = '127.0.0.1:40004 [::1]:40004' ]
}

@test "stund (RFC 3489): MAPPED-ADDRESS and CHANGED-ADDRESS are understood" {
    run --separate-stderr probe -p 40005 127.0.0.3:3480
    [ "$status" -eq 0 ]
    [ "$(field "$output" mapped)" = 127.0.0.1:40005 ]
    [ "$(field "$output" other_address)" = 127.0.0.4:3481 ]
}

@test "raw mode: from a port another socket holds, the mapping is that port's" {
    ip netns exec "$NS" socat -u UDP4-RECV:40006,bind=0.0.0.0 /dev/null &
    local holder=$!
    ip netns exec "$NS" socat -u UDP6-RECV:40006,ipv6only=1 /dev/null &
    local holder6=$!
    nk_wait_udp "$NS" 0.0.0.0 40006
    run --separate-stderr probe -p 40006 127.0.0.1 '[::1]'
    kill "$holder" "$holder6"
    [ "$status" -eq 0 ]
    [ "$(jq -rs 'map(.mode) | unique | join(" ")' <<<"$output")" = raw ]
    [ "$(jq -rs 'map(.mapped) | sort | join(" ")' <<<"$output")" = '127.0.0.1:40006 [::1]:40006' ]
}

@test "socket mode on a held port fails with a clear message" {
    ip netns exec "$NS" socat -u UDP4-RECV:40007 /dev/null &
    local holder=$!
    nk_wait_udp "$NS" 0.0.0.0 40007
    run probe -4 -p 40007 --mode socket 127.0.0.1
    kill "$holder"
    [ "$status" -eq 1 ]
    [[ "$output" == *"port 40007 is in use"* ]]
}

@test "raw mode without CAP_NET_RAW exits 77" {
    ip netns exec "$NS" socat -u UDP4-RECV:40008 /dev/null &
    local holder=$!
    nk_wait_udp "$NS" 0.0.0.0 40008
    run ip netns exec "$NS" setpriv --bounding-set=-net_raw "$NATKIT_BIN/stun-probe" -4 -p 40008 127.0.0.1
    kill "$holder"
    [ "$status" -eq 77 ]
    [[ "$output" == *"CAP_NET_RAW"* ]]
}

@test "a privileged port without permission exits 77" {
    run ip netns exec "$NS" setpriv --bounding-set=-net_bind_service "$NATKIT_BIN/stun-probe" -p 80 127.0.0.1
    [ "$status" -eq 77 ]
}

@test "a closed port is reported unreachable at once (ICMP)" {
    run --separate-stderr probe 127.0.0.1:3999
    [ "$status" -eq 1 ]
    [ "$(field "$output" error)" = unreachable ]
    [[ "$(field "$output" detail)" == *"refused"* ]]
}

@test "a dead server times out with a record saying so" {
    run --separate-stderr probe --timeout 400 --rto 100 192.0.2.99:3478
    [ "$status" -eq 1 ]
    [ "$(field "$output" error)" = timeout ]
    [ "$(field "$output" attempts)" -ge 2 ]
    [ "$(field "$output" mapped)" = "" ]
    [[ "$stderr" == *"no STUN server answered"* ]]
}

@test "a dead server does not hold back a live answer" {
    run --separate-stderr probe --timeout 500 192.0.2.99:3478 127.0.0.1:3478
    [ "$status" -eq 0 ]
    [ "$(jq -s 'length' <<<"$output")" -eq 2 ]
    # The live answer is printed first, the dead server's timeout last.
    [ "$(jq -rs '.[0].server' <<<"$output")" = 127.0.0.1:3478 ]
    [ "$(jq -rs '.[1].error' <<<"$output")" = timeout ]
}

@test "--first stops at the first answer" {
    run --separate-stderr probe --first 192.0.2.99 127.0.0.1 127.0.0.3:3480
    [ "$status" -eq 0 ]
    [ "$(jq -s 'length' <<<"$output")" -eq 1 ]
    [ -n "$(field "$output" mapped)" ]
}

@test "--count rounds reuse the local port" {
    run --separate-stderr probe --count 3 127.0.0.1
    [ "$status" -eq 0 ]
    [ "$(jq -s 'length' <<<"$output")" -eq 3 ]
    [ "$(jq -rs 'map(.mapped) | unique | length' <<<"$output")" -eq 1 ]
}

@test "no server given: the built-in list is tried (no DNS here) and each says why" {
    run --separate-stderr probe --timeout 500
    [ "$status" -eq 1 ]
    [ "$(jq -s 'length' <<<"$output")" -ge 2 ]
    [ "$(jq -rs 'map(.error) | unique | join(" ")' <<<"$output")" = unresolved ]
}

@test "servers from NATKIT_SERVER and from the config file" {
    run --separate-stderr env NATKIT_SERVER=127.0.0.1,127.0.0.3:3480 ip netns exec "$NS" "$NATKIT_BIN/stun-probe"
    [ "$status" -eq 0 ]
    [ "$(jq -s 'length' <<<"$output")" -eq 2 ]
    printf '[stun-probe]\nserver = 127.0.0.3:3480\ntimeout = 900\n' >"$WORK/natkit.conf"
    run --separate-stderr probe --config "$WORK/natkit.conf"
    [ "$status" -eq 0 ]
    [ "$(field "$output" server)" = 127.0.0.3:3480 ]
    # The command line beats the config file.
    run --separate-stderr probe --config "$WORK/natkit.conf" 127.0.0.1
    [ "$(field "$output" server)" = 127.0.0.1:3478 ]
}

@test "--text prints a line a person can read; --pretty indents" {
    run --separate-stderr probe --text -p 40009 127.0.0.1
    [ "$status" -eq 0 ]
    [[ "$output" == *"127.0.0.1:3478"*"127.0.0.1:40009"* ]]
    [[ "$output" != *"{"* ]]
    run --separate-stderr probe --pretty 127.0.0.1
    [ "$status" -eq 0 ]
    [ "$(jq -r .kind <<<"$output")" = stun.binding ]
    [ "${#lines[@]}" -gt 3 ]
}

@test "an unresolvable name is reported, the others still answer" {
    run --separate-stderr probe no-such-host.invalid 127.0.0.1
    [ "$status" -eq 0 ]
    [ "$(jq -rs 'map(select(.server_name == "no-such-host.invalid")) | .[0].error' <<<"$output")" = unresolved ]
}

@test "--behavior: the RFC 5780 tests, one record each, the filtering tests on their own ports" {
    run --separate-stderr probe --behavior -p 40010 127.0.0.1
    [ "$status" -eq 0 ]
    [ "$(jq -rs 'map(.test) | sort | join(" ")' <<<"$output")" = "binding filtering-2 filtering-3 hairpin mapping-2 mapping-3" ]
    # Mapping tests from the given port; the others from ports of their own.
    [ "$(jq -rs 'map(select(.test | startswith("mapping") or . == "binding") | .local) | unique | join(" ")' <<<"$output")" = 127.0.0.1:40010 ]
    [ "$(jq -rs 'map(select(.test | startswith("filtering")) | .local) | unique | length' <<<"$output")" -eq 2 ]
    [ "$(jq -rs 'map(select(.test | startswith("filtering")) | .local) | map(select(. == "127.0.0.1:40010")) | length' <<<"$output")" -eq 0 ]
    # The change-request answers come from the alternate addresses.
    [ "$(jq -rs 'map(select(.test == "filtering-2"))[0].response_source' <<<"$output")" = 127.0.0.2:3479 ]
    [ "$(jq -rs 'map(select(.test == "filtering-3"))[0].response_source' <<<"$output")" = 127.0.0.1:3479 ]
    [ "$(jq -rs 'map(select(.test == "mapping-3"))[0].server' <<<"$output")" = 127.0.0.2:3479 ]
}

@test "--behavior against an RFC 3489 server (stund) uses its CHANGED-ADDRESS" {
    run --separate-stderr probe --behavior 127.0.0.3:3480
    [ "$status" -eq 0 ]
    [ "$(jq -rs 'map(select(.test == "mapping-3"))[0].server' <<<"$output")" = 127.0.0.4:3481 ]
    [ "$(jq -rs 'map(select(.error)) | length' <<<"$output")" -eq 0 ]
}
