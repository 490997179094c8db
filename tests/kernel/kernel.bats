#!/usr/bin/env bats
# tests/kernel/vmrun against real kernel WireGuard in a qemu VM.
# Needs qemu-system-x86, kmod, cpio, xz-utils, gcc and apt access (first run
# downloads the kernel into $NATKIT_KERNEL_CACHE, default /var/cache/natkit-kernel).

setup_file() {
	"$BATS_TEST_DIRNAME/prepare"
}

setup() {
	VMRUN=$BATS_TEST_DIRNAME/vmrun
	T=$BATS_TEST_TMPDIR
}

@test "trivial run: exit status and output flow through" {
	cat >"$T/ok.sh" <<'S'
#!/bin/sh
echo "out: $#:$1:$2"
echo "err" >&2
exit 0
S
	run "$VMRUN" "$T/ok.sh" "a b" "it's"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "out: 2:a b:it's" ]
	[ "${lines[1]}" = "err" ]
	[ "${#lines[@]}" -eq 2 ]

	printf 'echo three\nexit 3\n' >"$T/three.sh"
	run "$VMRUN" "$T/three.sh"
	[ "$status" -eq 3 ]
	[ "$output" = "three" ]
}

@test "wg against the real module: two interfaces, handshake, ping through the tunnel" {
	run "$VMRUN" --timeout 90 "$BATS_TEST_DIRNAME/guest/wg-pair.sh"
	[ "$status" -eq 0 ]
	pub0=$(sed -n 's/^pub0=//p' <<<"$output")
	pub1=$(sed -n 's/^pub1=//p' <<<"$output")
	[ "${#pub0}" -eq 44 ] && [ "${#pub1}" -eq 44 ]
	grep -q 'wireguard' <<<"$output"
	grep -q '2 packets transmitted, 2 packets received' <<<"$output"
	# each side sees the other as its peer, with a handshake and traffic
	grep -qx "peer: $pub1" <<<"$output"
	grep -qx "peer: $pub0" <<<"$output"
	grep -qx '  listening port: 51820' <<<"$output"
	grep -qx '  listening port: 51821' <<<"$output"
	[ "$(grep -c '  latest handshake: ' <<<"$output")" -eq 2 ]
	grep -q '^handshake0=[1-9]' <<<"$output"
	grep -q '^handshake1=[1-9]' <<<"$output"
}

@test "--bin copies host binaries with their libraries, --file copies files" {
	cat >"$T/hello.c" <<'C'
#include <stdio.h>
int main(int argc, char **argv) { printf("hello from %s argc=%d\n", argv[0], argc); return 7; }
C
	gcc -O1 -o "$T/natkit-hello" "$T/hello.c"
	echo "payload-42" >"$T/data.txt"
	cat >"$T/bin.sh" <<'S'
command -v natkit-hello
natkit-hello x y; echo "hello rc=$?"
command -v wg
wg --version
cat /opt/data/in.txt
S
	run "$VMRUN" --bin "$T/natkit-hello" --bin /usr/bin/wg --file "$T/data.txt:/opt/data/in.txt" "$T/bin.sh"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/usr/local/bin/natkit-hello" ]
	[ "${lines[1]}" = "hello from natkit-hello argc=3" ]
	[ "${lines[2]}" = "hello rc=7" ]
	[ "${lines[3]}" = "/usr/local/bin/wg" ]
	[[ ${lines[4]} == "wireguard-tools v"* ]]
	[ "${lines[5]}" = "payload-42" ]
}

@test "timeout kills the VM and returns 124" {
	printf 'echo started\nsleep 600\n' >"$T/hang.sh"
	SECONDS=0
	run "$VMRUN" --timeout 8 "$T/hang.sh"
	[ "$status" -eq 124 ]
	[[ $output == *"timed out after 8 s"* ]]
	[ "$SECONDS" -lt 20 ]
}

@test "runner errors return 125" {
	run "$VMRUN" /nonexistent/script.sh
	[ "$status" -eq 125 ]
	run "$VMRUN" --bin /nonexistent/bin "$BATS_TEST_DIRNAME/guest/wg-pair.sh"
	[ "$status" -eq 125 ]
	run "$VMRUN" --timeout 0 "$BATS_TEST_DIRNAME/guest/wg-pair.sh"
	[ "$status" -eq 125 ]
}
