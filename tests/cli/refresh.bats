#!/usr/bin/env bats
# natkit-refresh / natkit-watch (dist/): the settings file is parsed, never executed, and bad
# settings stop the run before any tool runs, naming the line. The loop itself runs across
# the NAT lab in tests/lab/demo.bats.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    REFRESH="$BATS_TEST_DIRNAME/../../dist/natkit-refresh"
    WATCH="$BATS_TEST_DIRNAME/../../dist/natkit-watch"
    CONF="$BATS_TEST_TMPDIR/mesh.conf"
    export NATKIT_BINDIR="$NATKIT_BIN"
}

@test "--help names every setting; a bad option is a usage error" {
    run "$REFRESH" --help
    [ "$status" -eq 0 ]
    local key
    for key in INTERFACE PORT STUN CONTROL ID NETWORK RENDEZVOUS SECRET_FILE ALLOWED_IPS \
        KEEPALIVE WINDOW REBIND_CHECK PRUNE STATE_DIR; do
        [[ $output == *"$key"* ]]
    done
    run "$REFRESH" --bogus
    [ "$status" -eq 2 ]
}

@test "the commented example mesh.conf is accepted as it is" {
    # It names an interface this machine does not have: the run gets past the settings and
    # stops at the interface, not at the file.
    sed 's/^INTERFACE=.*/INTERFACE=nk-none0/; s/^PORT=.*/PORT=/' \
        "$BATS_TEST_DIRNAME/../../dist/examples/mesh.conf" >"$CONF"
    run "$REFRESH" --config "$CONF"
    [ "$status" -eq 1 ]
    [[ $output == *"cannot read the listen port of nk-none0"* ]]
}

@test "a line that is not KEY=VALUE, an unknown key, a missing INTERFACE: 65 naming the line" {
    printf 'INTERFACE=wg0\n# fine\n\nthis is not a setting\n' >"$CONF"
    run "$REFRESH" --config "$CONF"
    [ "$status" -eq 65 ]
    [[ $output == *"mesh.conf:4: not KEY=VALUE"* ]]
    printf 'INTERFACE=wg0\nINTERFCE=wg1\n' >"$CONF"
    run "$REFRESH" --config "$CONF"
    [ "$status" -eq 65 ]
    [[ $output == *"mesh.conf:2: unknown setting INTERFCE"* ]]
    printf 'PORT=51820\n' >"$CONF"
    run "$REFRESH" --config "$CONF"
    [ "$status" -eq 65 ]
    [[ $output == *"INTERFACE is not set"* ]]
    printf 'INTERFACE=wg0\nPORT=1\nRENDEZVOUS=x\nWINDOW=soon\n' >"$CONF"
    run "$REFRESH" --config "$CONF"
    [ "$status" -eq 65 ]
    [[ $output == *"WINDOW must be a number"* ]]
}

@test "the file is parsed, never executed" {
    printf 'INTERFACE=wg0\nSTUN="$(touch %s/ran)"\nPORT=`touch %s/ran2`\n' \
        "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR" >"$CONF"
    run "$REFRESH" --config "$CONF" --dry-run
    [ ! -e "$BATS_TEST_TMPDIR/ran" ] && [ ! -e "$BATS_TEST_TMPDIR/ran2" ]
}

@test "a missing settings file says what to do; natkit-watch is natkit-refresh --watch" {
    run "$REFRESH" --config "$BATS_TEST_TMPDIR/none"
    [ "$status" -eq 2 ]
    [[ $output == *"cannot read"*"natkit(7)"* ]]
    printf 'INTERFACE=wg0\nPORT=1\nSTUN=192.0.2.1\n' >"$CONF"
    run "$WATCH" --config "$CONF"
    [ "$status" -eq 65 ]
    [[ $output == *"--watch needs RENDEZVOUS"* ]]
}
