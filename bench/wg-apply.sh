#!/usr/bin/env bash
# wg-apply side by side with `wg syncconf` on one wireguard-go device, in one run, for 1k and
# 10k peers: initial apply (fresh device), no-change re-apply, re-apply with 1% of the peers'
# endpoints changed; and the bare read `wg show IFACE dump` as the floor. Wall time (median
# of RUNS, ms, taken around the process) and peak RSS (KiB), from one Python timer for all.
# Usage: bench/wg-apply.sh [RUNS]   (NATKIT_BIN: the build directory, default ./build;
#        SIZES: peer counts, default "1000 10000")
set -euo pipefail
umask 077
top=$(cd "$(dirname "$0")/.." && pwd)
NATKIT_BIN=${NATKIT_BIN:-$top/build}
runs=${1:-5}
sizes=${SIZES:-1000 10000}
NS=nk-bench-wga-$$
IF=wgb$$
WORK=$(mktemp -d)
PY=/usr/bin/python3
apply_bin="$WORK/wg-apply"
cp "$NATKIT_BIN/wg-apply" "$apply_bin"  # one build all through

cleanup() {
    ip -n "$NS" link del "$IF" 2>/dev/null || true
    sleep 0.2
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
wg genkey >"$WORK/private.key"

# A fresh device: wireguard-go exits when its link goes, and is started again.
fresh_device() {
    ip -n "$NS" link del "$IF" 2>/dev/null || true
    while [ -e "/var/run/wireguard/$IF.sock" ]; do sleep 0.05; done
    WG_PROCESS_FOREGROUND=1 in_ns wireguard-go -f "$IF" >/dev/null 2>&1 &
    until [ -S "/var/run/wireguard/$IF.sock" ] && wg show "$IF" >/dev/null 2>&1; do sleep 0.05; done
    wg set "$IF" private-key "$WORK/private.key" listen-port 51999
}

# gen SEED N CHANGED_PERCENT: writes $WORK/set-SEED-N-P.json and .conf (the same peers).
gen() {
    "$PY" - "$@" "$WORK" "$(cat "$WORK/private.key")" <<'PY'
import base64, json, random, sys
seed, n, pct, work, private = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rnd = random.Random(seed)
peers = []
for i in range(n):
    ips = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}/32"]
    if i % 50 == 0:
        ips += [f"172.{16 + i // 65536 % 16}.{i // 256 % 256}.{i % 256}/32", f"fd00:{i:x}::/64"]
    peers.append({"id": f"p{i}", "public_key": base64.b64encode(rnd.randbytes(32)).decode(),
                  "endpoint": f"203.0.113.{rnd.randint(1, 250)}:{rnd.randint(1024, 65535)}",
                  "allowed_ips": ips, "persistent_keepalive": 25})
for i in range(0, n, 100 // pct) if pct else []:
    peers[i]["endpoint"] = f"198.51.100.{1 + i % 250}:{40000 + i % 20000}"
name = f"{work}/set-{seed}-{n}-{pct}"
with open(name + ".json", "w") as f:
    json.dump({"kind": "peer-set", "network": "bench", "peers": peers}, f)
with open(name + ".conf", "w") as f:
    f.write(f"[Interface]\nPrivateKey = {private}\nListenPort = 51999\n")
    for p in peers:
        f.write(f"\n[Peer]\nPublicKey = {p['public_key']}\nEndpoint = {p['endpoint']}\n"
                f"AllowedIPs = {', '.join(p['allowed_ips'])}\nPersistentKeepalive = 25\n")
PY
}

# measure STDIN CMD...: "wall_ms peak_rss_kib" of CMD run inside the namespace.
measure() {
    in_ns "$PY" -c '
import resource, subprocess, sys, time
with open(sys.argv[1]) as stdin:
    start = time.perf_counter()
    subprocess.run(sys.argv[2:], stdin=stdin, stdout=subprocess.DEVNULL, check=True)
    wall = (time.perf_counter() - start) * 1000
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.1f} {usage.ru_maxrss} {(usage.ru_utime + usage.ru_stime) * 1000:.1f}")
' "$@"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
maxof() { sort -n | tail -1; }

# row NAME FILE: "| NAME | median wall ms | median CPU ms | max RSS |" from "ms rss cpu" lines
row() {
    printf '| %s | %s | %s | %s |\n' "$1" "$(cut -d' ' -f1 "$2" | median)" \
        "$(cut -d' ' -f3 "$2" | median)" "$(cut -d' ' -f2 "$2" | maxof)"
}

apply_cmd() { echo "$apply_bin $IF"; }

for n in $sizes; do
    gen 1 "$n" 0
    gen 1 "$n" 1
    base="$WORK/set-1-$n-0" changed="$WORK/set-1-$n-1"
    r="$WORK/r$n"
    mkdir -p "$r"
    for _ in $(seq "$runs"); do
        fresh_device
        measure "$base.json" "$apply_bin" "$IF" >>"$r/apply-initial"
        measure "$base.json" "$apply_bin" "$IF" >>"$r/apply-nochange"
        measure /dev/null wg show "$IF" dump >>"$r/read"
        measure "$changed.json" "$apply_bin" "$IF" >>"$r/apply-1pct"
        in_ns "$apply_bin" "$IF" <"$base.json" | jq -r .writes >>"$r/writes-back"
        in_ns "$apply_bin" "$IF" <"$changed.json" | jq -r .writes >>"$r/writes-1pct"
        in_ns "$apply_bin" "$IF" <"$changed.json" | jq -r .writes >>"$r/writes-nochange"

        fresh_device
        measure /dev/null wg syncconf "$IF" "$base.conf" >>"$r/sync-initial"
        measure /dev/null wg syncconf "$IF" "$base.conf" >>"$r/sync-nochange"
        measure /dev/null wg show "$IF" dump >>"$r/read"
        measure /dev/null wg syncconf "$IF" "$changed.conf" >>"$r/sync-1pct"
        # the two tools leave the device the same
        [ "$(in_ns "$apply_bin" --dry-run "$IF" <"$changed.json" | jq -c '[.added,.updated,.removed]')" = '[[],[],[]]' ]
    done
    echo "== $n peers ($runs runs each; medians; CPU = user+sys of the process; RSS = max peak)"
    printf '| step | wall ms | CPU ms | peak RSS KiB |\n|---|---|---|---|\n'
    row "bare read: wg show $IF dump" "$r/read"
    row "wg-apply: initial apply" "$r/apply-initial"
    row "wg syncconf: initial" "$r/sync-initial"
    row "wg-apply: no-change re-apply" "$r/apply-nochange"
    row "wg syncconf: no-change re-apply" "$r/sync-nochange"
    row "wg-apply: 1% changed" "$r/apply-1pct"
    row "wg syncconf: 1% changed" "$r/sync-1pct"
    echo "wg-apply peer entries written: no-change $(sort -u "$r/writes-nochange" | tr '\n' ' ')," \
        "1% changed $(sort -u "$r/writes-1pct" | tr '\n' ' ')(of $n)"
    echo
done
