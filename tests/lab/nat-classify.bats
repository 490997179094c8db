#!/usr/bin/env bats
# nat-classify against every NAT of the lab: the behaviour the lab claims, the verdict coturn's
# turnutils_natdiscovery gives, the same verdict on repeated runs, the pipe from
# stun-probe --behavior, and pair verdicts. Needs root.

bats_require_minimum_version 1.5.0

load common

classify() { local node=$1; shift; "$NATLAB" exec "$node" "$NATKIT_BIN/nat-classify" "$@"; }

setup_file() {
    lab_setup
}

teardown_file() {
    lab_teardown
}

# expect NODE NAT_TYPE MAPPING FILTERING
expect() {
    local node=$1 type=$2 mapping=$3 filtering=$4
    run --separate-stderr classify "$node" --probe 198.51.100.1
    [ "$status" -eq 0 ]
    echo "$node: $output"
    [ "$(jq -r .nat_type <<<"$output")" = "$type" ]
    [ "$(jq -r .mapping <<<"$output")" = "$mapping" ]
    [ "$(jq -r .filtering <<<"$output")" = "$filtering" ]
}

EIM=endpoint-independent
ADF=address-dependent
APD=address-and-port-dependent

@test "every router is classified as the lab says it is" {
    expect open open $EIM $EIM
    expect fc full-cone $EIM $EIM
    expect rc restricted-cone $EIM $ADF
    expect pr1 port-restricted-cone $EIM $APD
    expect pr2 port-restricted-cone $EIM $APD
    expect sym1 symmetric $APD $APD
    expect sym2 symmetric $APD $APD
    expect blk udp-blocked unknown unknown
}

# natdiscovery's words for a behaviour, as it prints them.
natdiscovery_mapping() {
    case "$1" in
        "$EIM") echo "NAT with Endpoint Independent Mapping!" ;;
        "$ADF") echo "NAT with Address Dependent Mapping!" ;;
        "$APD") echo "NAT with Address and Port Dependent Mapping!" ;;
    esac
}
natdiscovery_filtering() {
    case "$1" in
        "$EIM") echo "NAT with Endpoint Independent Filtering!" ;;
        "$ADF") echo "NAT with Address Dependent Filtering!" ;;
        "$APD") echo "NAT with Address and Port Dependent Filtering!" ;;
    esac
}

@test "nat-classify agrees with coturn's turnutils_natdiscovery on every NAT router" {
    local node ours theirs
    for node in fc rc pr1 pr2 sym1 sym2; do
        ours=$(classify "$node" --probe 198.51.100.1)
        theirs=$("$NATLAB" exec "$node" timeout 30 turnutils_natdiscovery -m -f -L "$(local_of "$node")" 198.51.100.1 2>&1)
        echo "$node: $ours"
        grep -qF "$(natdiscovery_mapping "$(jq -r .mapping <<<"$ours")")" <<<"$theirs"
        grep -qF "$(natdiscovery_filtering "$(jq -r .filtering <<<"$ours")")" <<<"$theirs"
    done
}

@test "repeated runs give the same verdict" {
    local node i first again
    for node in rc pr1 sym1; do
        first=$(classify "$node" --probe 198.51.100.1 | jq -c '[.nat_type, .mapping, .filtering]')
        for i in 1 2 3 4; do
            again=$(classify "$node" --probe 198.51.100.1 | jq -c '[.nat_type, .mapping, .filtering]')
            [ "$again" = "$first" ]
        done
    done
}

@test "the pipe: stun-probe --behavior | nat-classify" {
    run --separate-stderr bash -c "'$NATLAB' exec rc '$NATKIT_BIN/stun-probe' --behavior 198.51.100.1 | '$NATKIT_BIN/nat-classify'"
    [ "$status" -eq 0 ]
    [ "$(jq -r .nat_type <<<"$output")" = restricted-cone ]
    [ "$(jq -r .public <<<"$output")" = 203.0.113.2:* ] || [[ "$(jq -r .public <<<"$output")" == 203.0.113.2:* ]]
}

@test "the pair verdict with --peer" {
    classify sym1 --probe 198.51.100.1 >"$BATS_FILE_TMPDIR/sym1.json"
    classify pr2 --probe 198.51.100.1 >"$BATS_FILE_TMPDIR/pr2.json"
    classify fc --probe 198.51.100.1 >"$BATS_FILE_TMPDIR/fc.json"
    run --separate-stderr classify pr1 --probe 198.51.100.1 --peer "$BATS_FILE_TMPDIR/sym1.json"
    [ "$(jq -r .pair.verdict <<<"$output")" = punch-with-prediction ]
    [ "$(jq -r .pair.peer_nat_type <<<"$output")" = symmetric ]
    run --separate-stderr classify pr1 --probe 198.51.100.1 --peer "$BATS_FILE_TMPDIR/pr2.json"
    [ "$(jq -r .pair.verdict <<<"$output")" = punch ]
    run --separate-stderr classify sym2 --probe 198.51.100.1 --peer "$BATS_FILE_TMPDIR/sym1.json"
    [ "$(jq -r .pair.verdict <<<"$output")" = relay ]
    run --separate-stderr classify sym2 --probe 198.51.100.1 --peer "$BATS_FILE_TMPDIR/fc.json"
    [ "$(jq -r .pair.verdict <<<"$output")" = direct ]
}

@test "hairpinning is found when the router reflects, and not otherwise" {
    skip_if_reused
    [ "$(classify pr1 --probe 198.51.100.1 | jq -r .hairpinning)" = false ]
    "$NATLAB" up --hairpin 2>/dev/null
    run --separate-stderr classify pr1 --probe 198.51.100.1
    "$NATLAB" up 2>/dev/null
    [ "$(jq -r .hairpinning <<<"$output")" = true ]
    [ "$(jq -r .nat_type <<<"$output")" = port-restricted-cone ]
}

@test "a server that answers CHANGE-REQUEST from its primary address is not believed" {
    # Rewrite the source address of coturn's answers from its alternate address to its
    # primary one on the STUN host: a server that claims RFC 5780 and does not really do it.
    skip_if_reused
    "$NATLAB" exec stun nft add table ip nkfake
    "$NATLAB" exec stun nft add chain ip nkfake post '{ type nat hook postrouting priority srcnat; }'
    "$NATLAB" exec stun nft add rule ip nkfake post ip saddr 198.51.100.2 udp sport 3479 snat to 198.51.100.1
    run --separate-stderr classify fc --probe 198.51.100.1
    "$NATLAB" exec stun nft delete table ip nkfake
    echo "$output"
    [ "$(jq -r .filtering <<<"$output")" = unknown ]
    [[ "$(jq -r '.reasons | join(" ")' <<<"$output")" == *"does not really support RFC 5780"* ]]
}

@test "--lifetime finds a short mapping lifetime (routers' UDP timeout 2 s)" {
    skip_if_reused
    "$NATLAB" up --short-timeout 2 2>/dev/null
    run --separate-stderr classify pr1 --probe 198.51.100.1 --lifetime 8
    "$NATLAB" up 2>/dev/null
    echo "$output"
    [ "$status" -eq 0 ]
    # Idle 1 s still worked; by 4 s at the latest the 2 s timeout had removed the mapping.
    [ "$(jq -r .binding_lifetime.alive_after_ms <<<"$output")" -ge 1000 ]
    [ "$(jq -r .binding_lifetime.gone_after_ms <<<"$output")" -le 4000 ]
}
