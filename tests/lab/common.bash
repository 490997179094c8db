# Shared by the lab's bats files. A lab that is already up (a person or another test run is
# using it) is used as it is and left up; otherwise the file brings it up and takes it down.

NATLAB="$BATS_TEST_DIRNAME/natlab"
NATKIT_BIN=${NATKIT_BIN:-$BATS_TEST_DIRNAME/../../build}

lab_setup() {
    [[ $EUID -eq 0 ]] || skip "the NAT lab needs root"
    if "$NATLAB" status >/dev/null 2>&1; then
        echo 1 >"$BATS_FILE_TMPDIR/lab.reused"
        return 0
    fi
    "$NATLAB" down 2>/dev/null || true
    "$NATLAB" up "$@" 2>/dev/null
}

lab_teardown() {
    [[ -e "$BATS_FILE_TMPDIR/lab.reused" ]] || "$NATLAB" down 2>/dev/null || true
}

# Tests that reconfigure the lab skip when it belongs to someone else.
skip_if_reused() {
    if [[ -e "$BATS_FILE_TMPDIR/lab.reused" ]]; then
        skip "the lab was already up: not reconfiguring someone else's lab"
    fi
}

public_of() { "$NATLAB" nodes | awk -v n="$1" '$1 == n {print $4}'; }
local_of() { "$NATLAB" nodes | awk -v n="$1" '$1 == n {print $3}'; }

# forget_mappings NODE PORT: deletes the NAT mappings (conntrack entries) that NODE's router keeps
# for flows from NODE's local UDP PORT, so the next test starts from a fresh NAT (a symmetric NAT
# then picks a new random port). Touches nothing else.
forget_mappings() {
    ip netns exec "nk-lab-$1-r" conntrack -D -p udp --orig-port-src "$2" >/dev/null 2>&1 || true
}

# nat_report_of NODE FILE: NODE's own nat.report, classified for real against the lab's coturn.
nat_report_of() {
    "$NATLAB" exec "$1" "$NATKIT_BIN/nat-classify" --probe 198.51.100.1 >"$2" 2>/dev/null
}
