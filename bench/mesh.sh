#!/usr/bin/env bash
# The refresh loop end to end: RUNS runs of make demo's scenario (scripts/demo: four nodes
# behind port-restricted, full-cone and two symmetric NATs, etcd, punch serve, wireguard-go),
# and per pair: cold start to the first handshake in timer mode (two natkit-refresh runs on
# every node, started within a second of each other) and in watch mode (natkit-watch from
# scratch), and the time until each of pr1's tunnels works again after NAT rebinding (natlab
# rebind pr1) in watch mode (REBIND_CHECK=1 s) and in timer mode (one natkit-refresh run on
# every node right after the rebinding: the next timer tick; with a real timer, add the wait
# for that tick, at most its period).
#
# The times come from the demo's report: first handshakes by polling `wg show latest-handshakes`
# every 100 ms, healing by pinging through the tunnel (0.2 s timeout per ping, pairs in turn),
# so they are accurate to a few hundred ms.
#
# Usage: [RUNS=5] [NATKIT_BIN=./build] bench/mesh.sh     (root; brings the lab up and down)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-5}
NATKIT_BIN=$(cd "${NATKIT_BIN:-$top/build}" && pwd)
[[ $(id -u) -eq 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
work=$(mktemp -d /tmp/nk-bench-mesh.XXXXXX)
trap 'rm -rf "$work"' EXIT

for ((i = 1; i <= RUNS; i++)); do
    BUILD=$(realpath --relative-to="$top" "$NATKIT_BIN") DEMO_REPORT="$work/report.$i" \
        "$top/scripts/demo" >"$work/out.$i" 2>&1 || { echo "run $i failed:" >&2; tail -20 "$work/out.$i" >&2; exit 1; }
    echo "run $i/$RUNS done" >&2
done

python3 - "$work" "$RUNS" <<'PY'
import glob, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
rows = {}
for path in glob.glob(f"{work}/report.*"):
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] == "timer":       key, v = ("timer cold start", f"{f[1]} × {f[2]}"), f[6]
        elif f[0] == "watch-cold": key, v = ("watch cold start", f"{f[1]} × {f[2]}"), f[3]
        elif f[0] == "watch":      key, v = ("watch heal", f"{f[1]} × {f[2]}"), f[3]
        elif f[0] == "timer-heal": key, v = ("timer heal", f"{f[1]} × {f[2]}"), f[3]
        else: continue
        rows.setdefault(key, []).append(v)
def fmt(ms): return f"{ms / 1000:.2f} s"
print(f"| measurement | pair | ok | median | p95 | max |")
print(f"| --- | --- | --- | --- | --- | --- |")
for (what, pair), vals in sorted(rows.items()):
    ok = sorted(int(v) for v in vals if v not in ("never", "-"))
    if not ok:
        print(f"| {what} | {pair} | 0/{len(vals)} | – | – | – |"); continue
    p95 = ok[min(len(ok) - 1, round(0.95 * (len(ok) - 1)))]
    print(f"| {what} | {pair} | {len(ok)}/{len(vals)} | {fmt(statistics.median(ok))} | {fmt(p95)} | {fmt(ok[-1])} |")
PY
