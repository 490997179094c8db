#!/usr/bin/env bash
# punch in the NAT lab (tests/lab/natlab): per pair, RUNS one-shot runs of both sides at once
# from port 51820 (raw sockets when wireguard-go holds it) against `punch serve` on the stun
# node; success rate, time from the introduction to a confirmed path (elapsed_ms of the slower
# side: median, p95) and, where one side sweeps ports, how many it swept (median). Each node
# knows its own NAT (`--nat-report`, from a real nat-classify run) and every run starts from
# fresh NAT mappings (the routers' conntrack entries for port 51820 are deleted first), so a
# symmetric NAT picks a new random port each time. The server alone: bench/punch-server.sh.
#
# The lab may be shared: if it is up it is used as it is; if down it is brought up (--wg) and
# taken down on exit.
#
# Usage: [RUNS=20] [PAIRS="pr1:sym1 ..."] [NATKIT_BIN=./build] bench/punch.sh      (root)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-20}
NATKIT_BIN=${NATKIT_BIN:-./build}
PAIRS=${PAIRS:-"fc:rc pr1:pr2 open:pr2 fc:sym1 rc:sym2 pr1:sym1 pr2:sym2 sym1:sym2"}
natlab="$top/tests/lab/natlab"
RDV=198.51.100.1
[[ $(id -u) -eq 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "missing: python3" >&2; exit 2; }
command -v conntrack >/dev/null || { echo "missing: conntrack" >&2; exit 2; }

WORK=$(mktemp -d /tmp/nk-bench-punch.XXXXXX)
we_started_lab=0
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
    [[ -s $WORK/rdv.pid ]] && kill "$(cat "$WORK/rdv.pid")" 2>/dev/null || true
    if (( we_started_lab )); then "$natlab" down >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp "$NATKIT_BIN/punch" "$NATKIT_BIN/nat-classify" "$WORK/"
head -c 32 /dev/urandom | base64 >"$WORK/secret"
chmod 600 "$WORK/secret"

if ! "$natlab" status >/dev/null 2>&1; then
    "$natlab" up --wg >/dev/null 2>&1
    we_started_lab=1
fi

"$natlab" exec stun bash -c 'echo $$ >"$1/rdv.pid"; exec "$1/punch" serve --secret-file "$1/secret" --listen "$2:3481"' \
    _ "$WORK" "$RDV" 2>/dev/null &
server_pid=$!
sleep 0.3

one() {  # one NODE PEER: prints "elapsed_ms ports_swept" of NODE's result, or "fail"
    "$natlab" exec "$1" "$WORK/punch" --server "$RDV:3481" --id "$1" --peer "$2" --network bench \
        --secret-file "$WORK/secret" -p 51820 --timeout 5000 --nat-report "$WORK/$1.nat" 2>/dev/null |
        python3 -c 'import json,sys; r=json.loads(sys.stdin.read() or "{}"); print("%s %s" % (r["elapsed_ms"], r.get("ports_swept", 0)) if r.get("outcome") in ("punched","direct") else "fail")'
}

forget() {  # forget NODE: NODE's router drops its mappings of port 51820 (no-op for open)
    ip netns exec "nk-lab-$1-r" conntrack -D -p udp --orig-port-src 51820 >/dev/null 2>&1 || true
}

stats() {  # stats FILE: "ok/n median p95 swept" over the "ms swept" lines in FILE
    python3 - "$1" <<'PY'
import sys, statistics
v = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = [x for x in v if x[0] != "fail"]
times = sorted(float(x[0]) for x in ok)
swept = [int(x[1]) for x in ok if int(x[1]) > 0]
if not ok:
    print(f"{0}/{len(v)} | – | – | –"); sys.exit()
p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
sw = f"{statistics.median(swept):.0f} (max {max(swept)})" if swept else "–"
print(f"{len(ok)}/{len(v)} | {statistics.median(times):.0f} ms | {p95:.0f} ms | {sw}")
PY
}

for n in $(for p in $PAIRS; do echo "${p%%:*}" "${p##*:}"; done | tr ' ' '\n' | sort -u); do
    "$natlab" exec "$n" "$WORK/nat-classify" --probe "$RDV" >"$WORK/$n.nat" 2>/dev/null || true
done

mode=$("$natlab" exec pr1 ss -Hlun | grep -q ':51820 ' && echo raw || echo socket)
echo "$RUNS runs per pair, port 51820, mode $mode; nat-classify said:"
for f in "$WORK"/*.nat; do
    n=${f##*/}
    printf '  %s %s\n' "${n%.nat}" "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r.get("nat_type"), r.get("mapping"))' "$f" 2>/dev/null || echo unknown)"
done
echo
echo "| pair | success | median | p95 | ports swept (median) |"
echo "| --- | --- | --- | --- | --- |"
for pair in $PAIRS; do
    a=${pair%%:*} b=${pair##*:}
    : >"$WORK/t"
    for _ in $(seq 1 "$RUNS"); do
        forget "$a"
        forget "$b"
        one "$a" "$b" >"$WORK/a" &
        pid=$!
        one "$b" "$a" >"$WORK/b" || true
        wait "$pid" || true
        if [[ $(cat "$WORK/a") == fail || $(cat "$WORK/b") == fail ]]; then
            echo fail >>"$WORK/t"
        else
            read -r ta sa <"$WORK/a"
            read -r tb sb <"$WORK/b"
            echo "$((ta > tb ? ta : tb)) $((sa + sb))" >>"$WORK/t"
        fi
    done
    echo "| $a × $b | $(stats "$WORK/t") |"
done
# `natlab exec` does not pass the signal on: stop the server by its own pid.
kill "$(cat "$WORK/rdv.pid")" 2>/dev/null || true
rm -f "$WORK/rdv.pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
