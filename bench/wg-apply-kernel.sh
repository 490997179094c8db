#!/usr/bin/env bash
# Kernel WireGuard in the qemu VM (tests/kernel/vmrun), one VM run for everything: for 1k and
# 10k peers, side by side on fresh devices of the same kernel,
#   - the netlink backend's bare initial write (tests/kernel/netlink_driver, no plan, no JSON)
#   - wg-apply (NATKIT_BIN/wg-apply, when built): initial apply, no-change re-apply, 1% changed
#   - wg syncconf: initial, no-change, 1% changed (endpoint port of 1% of the peers)
#   - the bare read: the netlink backend's read and `wg show wg0 dump` (the floor).
# Wall seconds inside the guest (steady clock around the process; TCG, so absolute numbers
# are slow, compare rows), median of RUNS.
# Usage: bench/wg-apply-kernel.sh [RUNS]  (NATKIT_BIN: build dir, default ./build;
#        SIZES: peer counts, default "1000 10000")
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
NATKIT_BIN=${NATKIT_BIN:-$top/build}
runs=${1:-3}
sizes=${SIZES:-1000 10000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/bin"
g++ -std=c++20 -O2 -I"$top/lib" -o "$WORK/bin/netlink_driver" \
    "$top/tests/kernel/netlink_driver.cpp" "$top/lib/wg/netlink.cpp" \
    "$top/lib/wg/netlink_codec.cpp" "$top/lib/wg/device.cpp" \
    "$NATKIT_BIN/libnatkit_io.a" "$NATKIT_BIN/libnatkit_net.a" -lmnl
bins=(--bin "$WORK/bin/netlink_driver")
have_apply=0
if [ -x "$NATKIT_BIN/wg-apply" ]; then
    bins+=(--bin "$NATKIT_BIN/wg-apply")
    have_apply=1
fi

cat >"$WORK/guest.sh" <<GUEST
#!/bin/sh
set -eu
d=netlink_driver
same() {
    [ "\$(wg show \$1 dump | \$d canon)" = "\$(wg show \$2 dump | \$d canon)" ] ||
        { echo "\$1 and \$2 differ"; exit 1; }
}
# New devices each run, never deleted: deleting devices with 10k peers stalled the guest
# for minutes under TCG.
fresh() { ip link add "\$1" type wireguard; }
for n in $sizes; do
    \$d print-conf 1 \$n >/tmp/conf
    \$d print-conf 1 \$n \$((n / 100)) >/tmp/conf1
    \$d print-peer-set 1 \$n >/tmp/set
    \$d print-peer-set 1 \$n \$((n / 100)) >/tmp/set1
    for r in \$(seq $runs); do
        wg0=a\${n}r\$r wg1=b\${n}r\$r wg2=c\${n}r\$r
        fresh \$wg0
        echo "\$n netlink-write \$(\$d time-write-random \$wg0 1 \$n)"
        echo "\$n netlink-read \$(\$d time-read \$wg0 | cut -d' ' -f1)"
        echo "\$n wg-show-dump \$(\$d time-exec wg show \$wg0 dump)"
        fresh \$wg1
        echo "\$n syncconf-initial \$(\$d time-exec wg syncconf \$wg1 /tmp/conf)"
        echo "\$n syncconf-nochange \$(\$d time-exec wg syncconf \$wg1 /tmp/conf)"
        same \$wg0 \$wg1  # the same peers, written by the backend and by wg(8)
        echo "\$n syncconf-1pct \$(\$d time-exec wg syncconf \$wg1 /tmp/conf1)"
        if [ $have_apply = 1 ]; then
            fresh \$wg2
            echo "\$n wg-apply-initial \$(\$d time-exec sh -c "wg-apply \$wg2 </tmp/set")"
            echo "\$n wg-apply-nochange \$(\$d time-exec sh -c "wg-apply \$wg2 </tmp/set")"
            echo "\$n wg-apply-1pct \$(\$d time-exec sh -c "wg-apply \$wg2 </tmp/set1")"
        fi
        if [ $have_apply = 1 ]; then
            same \$wg1 \$wg2  # both after the 1% change
        fi
    done
done
GUEST
chmod +x "$WORK/guest.sh"
"$top/tests/kernel/vmrun" --timeout 1800 "${bins[@]}" "$WORK/guest.sh" >"$WORK/out" ||
    { cat "$WORK/out"; echo "the VM run failed" >&2; exit 1; }

echo "kernel $(uname -m) VM (TCG), median of $runs, seconds inside the guest"
printf '%-20s' "what"
for n in $sizes; do printf '%12s' "$n peers"; done
echo
for what in netlink-write syncconf-initial wg-apply-initial syncconf-nochange \
    wg-apply-nochange syncconf-1pct wg-apply-1pct netlink-read wg-show-dump; do
    grep -q " $what " "$WORK/out" || continue
    printf '%-20s' "$what"
    for n in $sizes; do
        printf '%12s' "$(awk -v n="$n" -v w="$what" '$1 == n && $2 == w { print $3 }' "$WORK/out" |
            sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] }')"
    done
    echo
done
grep -v '^[0-9]* [a-z0-9-]* [0-9.e-]*$' "$WORK/out" || true
