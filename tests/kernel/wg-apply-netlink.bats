#!/usr/bin/env bats
# wg-apply's netlink backend (lib/wg/netlink*.cpp) against the real kernel module in the VM.
# setup_file compiles tests/kernel/netlink_driver.cpp with lib/wg's netlink sources (so the
# tree is tested, not a possibly stale libnatkit_wg.a) against the build's static
# libnatkit_io.a and libnatkit_net.a (NATKIT_BIN, default build/) and libmnl.

setup_file() {
	"$BATS_TEST_DIRNAME/prepare"
	local root bin
	root=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	bin=${NATKIT_BIN:-$root/build}
	local wg=("$root/lib/wg/netlink.cpp" "$root/lib/wg/netlink_codec.cpp" "$root/lib/wg/device.cpp")
	mkdir -p "$BATS_FILE_TMPDIR/bin"
	export NETLINK_DRIVER=$BATS_FILE_TMPDIR/bin/netlink_driver
	g++ -std=c++20 -O2 -I"$root/lib" -o "$NETLINK_DRIVER" \
		"$BATS_TEST_DIRNAME/netlink_driver.cpp" "${wg[@]}" \
		"$bin/libnatkit_io.a" "$bin/libnatkit_net.a" -lmnl -lcrypto
}

setup() {
	VMRUN=$BATS_TEST_DIRNAME/vmrun
	GUEST=$BATS_TEST_DIRNAME/guest
}

# Runs a guest script in the VM with the driver installed.
in_vm() {
	run "$VMRUN" --timeout 300 --bin "$NETLINK_DRIVER" "$@"
	echo "$output"
}

@test "netlink: hundreds of random peers, some split across messages, read back equal" {
	# 300 peers; 5 with 400 allowed IPs (~11 KiB each: split on write at 8 KiB), one with 3000
	# (~84 KiB: split on write and across the kernel's <= 32 KiB dump messages).
	in_vm "$GUEST/netlink-roundtrip.sh" 1 300 5 400 3000
	[ "$status" -eq 0 ]
	grep -qx 'peers=300 read=300 wg=300' <<<"$output"
	grep -qx 'read: same' <<<"$output"
	grep -qx 'wg show: same' <<<"$output"
}

@test "netlink: another seed, many mid-sized peers" {
	in_vm "$GUEST/netlink-roundtrip.sh" 99 800 40 150 700
	[ "$status" -eq 0 ]
	grep -qx 'peers=800 read=800 wg=800' <<<"$output"
	grep -qx 'read: same' <<<"$output"
	grep -qx 'wg show: same' <<<"$output"
}

@test "netlink: remove a peer, replace allowed IPs (small and split), update-only adds nothing" {
	in_vm "$GUEST/netlink-edit.sh"
	[ "$status" -eq 0 ]
	grep -qx 'peers=59' <<<"$output"
	! grep -q 'still there\|was created' <<<"$output"
	grep -qx 'small=10.200.0.0/16 fd99::/64' <<<"$output"
	# replace-allowed-ips only in the first part: all 2500 new prefixes, none of the old
	grep -qx 'huge_words=2500' <<<"$output"
	grep -qx 'huge_172=2500' <<<"$output"
	grep -qx 'others: same (57)' <<<"$output"
	grep -qx 'read after edits: same' <<<"$output"
}

@test "netlink: missing interface exits 1, not WireGuard exits 1, no CAP_NET_ADMIN exits 77" {
	in_vm "$GUEST/netlink-errors.sh"
	[ "$status" -eq 0 ]
	grep -qx "error 1: interface 'wg9' does not exist (create it with: ip link add wg9 type wireguard)" <<<"$output"
	grep -qx 'missing-read rc=1' <<<"$output"
	grep -qx 'missing-write rc=1' <<<"$output"
	grep -q "^error 1: interface 'lo' is not a WireGuard interface" <<<"$output"
	grep -qx 'not-wireguard rc=1' <<<"$output"
	grep -q "^error 77: cannot read WireGuard interface 'wg0': permission denied (needs CAP_NET_ADMIN" <<<"$output"
	grep -qx 'unprivileged-read rc=77' <<<"$output"
	grep -qx 'unprivileged-write rc=77' <<<"$output"
	grep -qx 'peers=0' <<<"$output"
}

@test "wg-apply over netlink: same device as wg syncconf; re-apply changes nothing; 1% changed" {
	local apply=${NATKIT_BIN:-$BATS_TEST_DIRNAME/../../build}/wg-apply
	[ -x "$apply" ] || skip "no wg-apply in NATKIT_BIN"
	in_vm --bin "$apply" "$GUEST/netlink-wg-apply.sh"
	[ "$status" -eq 0 ]
	grep -qx 'initial: same as syncconf' <<<"$output"
	grep -qx 'first: 400 added' <<<"$output"
	grep -qx 're-apply: same' <<<"$output"
	grep -qx 'again: "added":\[\] "updated":\[\]' <<<"$output"
	grep -qx '1% changed: same as syncconf' <<<"$output"
	grep -qx 'changed: 4 updated' <<<"$output"
	grep -qx 'wg9 rc=1' <<<"$output"
	grep -q "interface 'wg9' does not exist" <<<"$output"
}
