#!/usr/bin/env bats
# stun-probe from a node behind each NAT of the lab: the public mapping it reports is the
# router's public address; a symmetric NAT shows a different mapping per server; UDP blocked
# gets no answer. Needs root.

bats_require_minimum_version 1.5.0

load common

probe() { local node=$1; shift; "$NATLAB" exec "$node" "$NATKIT_BIN/stun-probe" "$@"; }

setup_file() {
    lab_setup
}

teardown_file() {
    lab_teardown
}

# Both coturn addresses (198.51.100.1 and .2) from one port: the mapping per server.
mappings() {
    probe "$1" -p 45000 198.51.100.1 198.51.100.2 | jq -r '[.server, .local, .mapped] | @tsv' | sort
}

@test "every cone NAT maps to its router's public address, one mapping for both servers" {
    local node pub
    for node in fc rc pr1 pr2; do
        pub=$(public_of "$node")
        run --separate-stderr mappings "$node"
        [ "$status" -eq 0 ]
        echo "$node: $output"
        [ "${#lines[@]}" -eq 2 ]
        # The local endpoint is the node's LAN address; the mapped one the router's.
        [ "$(cut -f2 <<<"$output" | sort -u)" = "$(local_of "$node"):45000" ]
        [ "$(cut -f3 <<<"$output" | sort -u | wc -l)" -eq 1 ]
        [[ "$(cut -f3 <<<"$output" | head -n1)" == "$pub":* ]]
    done
}

@test "a symmetric NAT maps per destination: two servers, two public ports" {
    local node pub
    for node in sym1 sym2; do
        pub=$(public_of "$node")
        run --separate-stderr mappings "$node"
        [ "$status" -eq 0 ]
        echo "$node: $output"
        [ "$(cut -f3 <<<"$output" | sort -u | wc -l)" -eq 2 ]
        [ "$(cut -f3 <<<"$output" | cut -d: -f1 | sort -u)" = "$pub" ]
    done
}

@test "the open host sees itself" {
    run --separate-stderr probe open -p 45001 198.51.100.1
    [ "$status" -eq 0 ]
    [ "$(jq -r .mapped <<<"$output")" = "$(public_of open):45001" ]
    [ "$(jq -r .local <<<"$output")" = "$(public_of open):45001" ]
}

@test "UDP blocked: no answer, exit 1, a timeout record" {
    run --separate-stderr probe blk --timeout 600 --rto 100 198.51.100.1
    [ "$status" -eq 1 ]
    [ "$(jq -r .error <<<"$output")" = timeout ]
}

@test "raw mode behind a NAT: the mapping of the port wireguard-go holds" {
    skip_if_reused
    "$NATLAB" wg-up pr1 51820 >/dev/null
    run --separate-stderr probe pr1 -p 51820 198.51.100.1
    [ "$status" -eq 0 ]
    [ "$(jq -r .mode <<<"$output")" = raw ]
    [ "$(jq -r .mapped <<<"$output")" = "$(public_of pr1):51820" ]
}

@test "RFC 3489 stund through a NAT" {
    run --separate-stderr probe fc -p 45002 198.51.100.3
    [ "$status" -eq 0 ]
    [ "$(jq -r .mapped <<<"$output")" = "$(public_of fc):45002" ]
    [ "$(jq -r .other_address <<<"$output")" = 198.51.100.4:3479 ]
}
