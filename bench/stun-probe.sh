#!/usr/bin/env bash
# stun-probe side by side with coturn's turnutils_stunclient and Vovida's stun, in one run,
# against the same local coturn (and stund) in a private network namespace.
#   whole-process time of one probe (hyperfine), peak RSS (GNU time), and three servers of
#   which one is dead: when each live answer is printed, and when the process ends.
# Usage: bench/stun-probe.sh [RUNS]   (NATKIT_BIN: the build directory, default ./build)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/cli/helpers.bash
source "$top/tests/cli/helpers.bash"
runs=${1:-200}
NS=nk-bench-stun-$$
WORK=$(mktemp -d)
trap 'nk_stop_all "$NS" "$WORK"; rm -rf "$WORK"' EXIT INT TERM
nk_ns_create "$NS"
nk_start_coturn "$NS" "$WORK"
nk_start_stund "$NS" "$WORK"
probe="$NATKIT_BIN/stun-probe"
in_ns() { ip netns exec "$NS" "$@"; }

echo "== one probe against local coturn (127.0.0.1:3478), $runs runs each"
in_ns hyperfine -N --warmup 20 --runs "$runs" --export-markdown "$WORK/one.md" \
    -n "natkit stun-probe" "$probe 127.0.0.1" \
    -n "turnutils_stunclient" "turnutils_stunclient 127.0.0.1" \
    -n "Vovida stun (test 1)" "stun 127.0.0.1 1" >/dev/null
cat "$WORK/one.md"

echo
echo "== peak RSS of one probe (GNU time, max resident set size)"
rss() { in_ns /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1; }
printf '| client | peak RSS (KiB) |\n|---|---|\n'
printf '| natkit stun-probe | %s |\n' "$(rss "$probe" 127.0.0.1)"
in_ns socat -u UDP4-RECV:41000 /dev/null &
holder=$!
nk_wait_udp "$NS" 0.0.0.0 41000
printf '| natkit stun-probe, raw mode (-p held port) | %s |\n' "$(rss "$probe" -4 -p 41000 127.0.0.1)"
kill "$holder"
printf '| turnutils_stunclient | %s |\n' "$(rss turnutils_stunclient 127.0.0.1)"
printf '| Vovida stun (test 1) | %s |\n' "$(rss stun 127.0.0.1 1)"

echo
echo "== three servers, one dead (192.0.2.99 swallows packets); deadline 2000 ms"
# stamp: prints the elapsed ms at which each output line arrived, then the total.
stamp() {
    local start end
    start=$(date +%s%N)
    "$@" 2>/dev/null | while IFS= read -r line; do
        printf '    %6.1f ms  %s\n' "$(( ($(date +%s%N) - start) / 10000 ))e-2" "${line:0:90}"
    done
    end=$(date +%s%N)
    printf '    %6.1f ms  (process ended)\n' "$(( (end - start) / 10000 ))e-2"
}
echo "natkit stun-probe (one process, all three in parallel):"
stamp in_ns "$probe" --timeout 2000 127.0.0.1 127.0.0.3:3480 192.0.2.99
echo "turnutils_stunclient, one process per server, in parallel:"
stamp in_ns sh -c 'for s in 127.0.0.1 127.0.0.3 192.0.2.99; do
    p=3478; [ $s = 127.0.0.3 ] && p=3480
    (timeout 2 turnutils_stunclient -p $p $s | grep -m1 -i "UDP reflexive addr" | sed "s/^/$s: /") &
done; wait'
echo "Vovida stun (test 1), one process per server, in parallel:"
stamp in_ns sh -c 'for s in 127.0.0.1 127.0.0.3:3480 192.0.2.99; do
    (timeout 2 stun $s 1 -v 2>&1 | grep -m1 "^MappedAddress" | sed "s/^/$s: /") &
done; wait'

echo
echo "== a dead server alone: when does each client give up? (capped at 30 s)"
printf '| client | gives up after (s) |\n|---|---|\n'
giveup() {
    local start end
    start=$(date +%s%N)
    in_ns timeout 30 "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    printf '%d.%02d' $(( (end - start) / 1000000000 )) $(( (end - start) / 10000000 % 100 ))
}
printf '| natkit stun-probe (default deadline) | %s |\n' "$(giveup "$probe" 192.0.2.99)"
printf '| turnutils_stunclient | %s |\n' "$(giveup turnutils_stunclient 192.0.2.99)"
printf '| Vovida stun (test 1) | %s |\n' "$(giveup stun 192.0.2.99 1)"
