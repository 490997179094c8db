#!/usr/bin/env bats
# make demo's scenario as a test: four nodes behind port-restricted, full-cone and two symmetric
# NATs, kept connected by the refresh loop (dist/natkit-refresh, once and --watch). Tunnels must
# be up where a direct path exists, the symmetric pair must say relay, and after NAT rebinding
# every tunnel of the rebound node must work again, in watch mode and in timer mode.

bats_require_minimum_version 1.5.0
load common

setup_file() {
    [[ $EUID -eq 0 ]] || skip "the demo needs root"
    export REPORT="$BATS_FILE_TMPDIR/report"
    if "$NATLAB" status >/dev/null 2>&1; then echo 1 >"$BATS_FILE_TMPDIR/lab.reused"; fi
    BUILD=$(realpath --relative-to="$BATS_TEST_DIRNAME/../.." "$NATKIT_BIN") \
        DEMO_REPORT="$REPORT" "$BATS_TEST_DIRNAME/../../scripts/demo" >"$BATS_FILE_TMPDIR/out" 2>&1
    echo $? >"$BATS_FILE_TMPDIR/status"
}

row() { awk -F'\t' -v k="$1" -v a="$2" -v b="$3" '$1 == k && $2 == a && $3 == b' "$REPORT"; }

@test "the demo runs to the end, cleans up, and classifies every node as the lab built it" {
    cat "$BATS_FILE_TMPDIR/out"
    [ "$(cat "$BATS_FILE_TMPDIR/status")" = 0 ]
    # A lab the demo brought up, it took down (someone else's it leaves up).
    [[ -e $BATS_FILE_TMPDIR/lab.reused || -z $(ip netns list | grep '^nk-lab-' || true) ]]
    ! pgrep -f /tmp/nk-demo. >/dev/null
    [ "$(row nat pr1 port-restricted-cone | wc -l)" = 1 ]
    [ "$(row nat fc full-cone | wc -l)" = 1 ]
    [ "$(row nat sym1 symmetric | wc -l)" = 1 ]
    [ "$(row nat sym2 symmetric | wc -l)" = 1 ]
}

@test "timer mode: every pair with an endpoint-independent side has a tunnel; sym1 x sym2 relays" {
    cat "$REPORT"
    local pair a b
    for pair in "pr1 fc" "pr1 sym1" "pr1 sym2" "fc sym1" "fc sym2"; do
        read -r a b <<<"$pair"
        row timer "$a" "$b" | grep -q $'\tpunched/punched\t'
        row timer "$a" "$b" | grep -qE $'\t[0-9.]+ ms\t[0-9]+$'  # a ping, and a first handshake
    done
    row timer sym1 sym2 | grep -q $'\trelay/relay\tnever\t-\tnever$'
}

@test "watch mode from scratch: every pair that can go direct shakes hands" {
    local pair a b
    for pair in "pr1 fc" "pr1 sym1" "pr1 sym2" "fc sym1" "fc sym2"; do
        read -r a b <<<"$pair"
        row watch-cold "$a" "$b" | grep -qE $'\t[0-9]+$'
    done
    [ -z "$(row watch-cold sym1 sym2)" ]
}

@test "after NAT rebinding every tunnel of the rebound node works again, watch and timer mode" {
    local peer
    for peer in fc sym1 sym2; do
        row watch pr1 "$peer" | grep -qE $'\t[0-9]+$'
        row timer-heal pr1 "$peer" | grep -qE $'\t[0-9]+$'
    done
}
