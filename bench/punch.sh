#!/usr/bin/env bash
# punch in the NAT lab (tests/lab/natlab): per pair, RUNS one-shot runs of both sides at once
# from port 51820 (raw sockets when wireguard-go holds it) against `punch serve` on the stun
# node; success rate and time from the introduction to a confirmed path (elapsed_ms of the
# slower side: median, p95). Then the server alone in a private namespace: N registrations and
# N/2 introductions from a Python load generator; the server's own CPU time per message (from
# /proc/PID/stat, so the generator's speed does not count) and its RSS growth per registration.
#
# The lab may be shared: if it is up it is used as it is; if down it is brought up (--wg) and
# taken down on exit.
#
# Usage: [RUNS=20] [NODES_N=10000] [NATKIT_BIN=./build] bench/punch.sh      (root)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-20}
NODES_N=${NODES_N:-10000}
NATKIT_BIN=${NATKIT_BIN:-./build}
PAIRS=${PAIRS:-"fc:rc pr1:pr2 open:pr2 fc:sym1 rc:sym2 pr1:sym1 sym1:sym2"}
natlab="$top/tests/lab/natlab"
RDV=198.51.100.1
[[ $(id -u) -eq 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "missing: python3" >&2; exit 2; }

WORK=$(mktemp -d /tmp/nk-bench-punch.XXXXXX)
NS=nk-bench-punch-$$
we_started_lab=0
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
    [[ -s $WORK/rdv.pid ]] && kill "$(cat "$WORK/rdv.pid")" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    if (( we_started_lab )); then "$natlab" down >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp "$NATKIT_BIN/punch" "$WORK/punch"
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

one() {  # one NODE PEER: prints the elapsed_ms of NODE's result, or "fail"
    "$natlab" exec "$1" "$WORK/punch" --server "$RDV:3481" --id "$1" --peer "$2" --network bench \
        --secret-file "$WORK/secret" -p 51820 --timeout 5000 2>/dev/null |
        python3 -c 'import json,sys; r=json.loads(sys.stdin.read() or "{}"); print(r["elapsed_ms"] if r.get("outcome") in ("punched","direct") else "fail")'
}

stats() {  # stats FILE: "ok/n median p95" over the numbers in FILE
    python3 - "$1" <<'PY'
import sys, statistics
v = [l.strip() for l in open(sys.argv[1]) if l.strip()]
ok = sorted(float(x) for x in v if x != "fail")
if not ok:
    print(f"0/{len(v)}  -  -"); sys.exit()
p95 = ok[min(len(ok) - 1, int(round(0.95 * (len(ok) - 1))))]
print(f"{len(ok)}/{len(v)}  {statistics.median(ok):.0f}  {p95:.0f}")
PY
}

echo "pair        success  median_ms  p95_ms   ($RUNS runs, port 51820, mode $("$natlab" exec pr1 ss -Hlun | grep -q ':51820 ' && echo raw || echo socket))"
for pair in $PAIRS; do
    a=${pair%%:*} b=${pair##*:}
    : >"$WORK/t"
    for _ in $(seq 1 "$RUNS"); do
        one "$a" "$b" >"$WORK/a" &
        pid=$!
        one "$b" "$a" >"$WORK/b" || true
        wait "$pid" || true
        if [[ $(cat "$WORK/a") == fail || $(cat "$WORK/b") == fail ]]; then
            echo fail >>"$WORK/t"
        else
            echo $(( $(cat "$WORK/a") > $(cat "$WORK/b") ? $(cat "$WORK/a") : $(cat "$WORK/b") )) >>"$WORK/t"
        fi
    done
    printf '%-11s %s\n' "$a×$b" "$(stats "$WORK/t")"
done
# `natlab exec` does not pass the signal on: stop the server by its own pid.
kill "$(cat "$WORK/rdv.pid")" 2>/dev/null || true
rm -f "$WORK/rdv.pid"
wait "$server_pid" 2>/dev/null || true
server_pid=

# The server alone.
ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" "$WORK/punch" serve --secret-file "$WORK/secret" --listen 127.0.0.1:3480 \
    --rate 1000000000 --burst 1000000000 --max-nodes 1000000 --ttl 600 2>/dev/null &
server_pid=$!
sleep 0.3
cat >"$WORK/load.py" <<'PY'
import hmac, hashlib, os, socket, struct, sys, time
secret = open(sys.argv[1], "rb").read().rstrip(b"\n")
n, what = int(sys.argv[2]), sys.argv[3]
name = lambda s: bytes([len(s)]) + s
def msg(kind, body):
    m = b"N\x01" + bytes([kind, 0]) + b"\x21\x12\xa4\x42" + struct.pack(">QQ", int(time.time()*1000), int.from_bytes(os.urandom(8), "big")) + body
    m += b"\0" * (512 - 16 - len(m))
    return m + hmac.new(secret, m, hashlib.sha256).digest()[:16]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
s.setblocking(False)
cand = b"\x01\x04\x0a\x00\x00\x02\xca\x6c"
got = 0
for i in range(n):
    me = b"node-%d" % i
    if what == "register":
        p = msg(1, name(b"bench") + name(me) + cand)
    else:
        p = msg(3, name(b"bench") + name(b"node-%d" % (2 * i)) + name(b"node-%d" % (2 * i + 1)))
    s.sendto(p, ("127.0.0.1", 3480))
    if i % 200 == 199:
        time.sleep(0.002)
        try:
            while True: s.recv(2048); got += 1
        except BlockingIOError: pass
time.sleep(0.3)
try:
    while True: s.recv(2048); got += 1
except BlockingIOError: pass
print(got)
PY
cpu() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"; }
tick=$(getconf CLK_TCK)
rss0=$(rss) cpu0=$(cpu)
got=$(ip netns exec "$NS" python3 "$WORK/load.py" "$WORK/secret" "$NODES_N" register)
rss1=$(rss) cpu1=$(cpu)
intro=$(ip netns exec "$NS" python3 "$WORK/load.py" "$WORK/secret" $((NODES_N / 2)) connect)
cpu2=$(cpu)
python3 - <<PY
n, got, intro = $NODES_N, $got, $intro
c1 = ($cpu1 - $cpu0) / $tick
c2 = ($cpu2 - $cpu1) / $tick
print(f"server: {n} registrations sent, {got} answered; RSS {$rss0} kB -> {$rss1} kB: "
      f"{($rss1 - $rss0) * 1024 / max(got, 1):.0f} bytes per registration")
print(f"server CPU: {c1:.2f} s for {got} registrations"
      + (f" = {got / c1:.0f}/s per core" if c1 > 0 else " (below the clock tick)"))
print(f"server CPU: {c2:.2f} s for {n // 2} connects ({intro} introductions answered)"
      + (f" = {(n // 2) / c2:.0f} introductions/s per core" if c2 > 0 else " (below the clock tick)"))
PY
