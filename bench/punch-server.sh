#!/usr/bin/env bash
# `punch serve` alone: registrations and introductions per second on one core, memory per
# registration, and STUN Binding answers per second side by side with coturn's turnserver.
#
# In a private network namespace (only `lo`), the real `punch serve` runs pinned to CPU 1
# (`taskset -c 1`) and bench/punch_server_load (C++, real messages from punch::encode under the
# same secret) drives it from CPU 0 over loopback: SOCKETS source ports, closed loop with WINDOW
# answers outstanding, every count and phase bounded (it stops by itself). Phases: 10k new
# registrations, 90k more (RSS after each), a refresh of all 100k, CONNECTS introductions
# (distinct pairs; two introduce messages each), STUNS Binding requests. The server's CPU time
# comes from /proc/PID/task/*/schedstat around each phase, so "per CPU-second" does not depend
# on the generator's speed or on other load on the machine; "per wall second" does.
# The per-source rate limit is lifted (--rate/--burst 2e9: all sources are 127.0.0.1) and
# --max-nodes is 1M, so neither limit is what is measured; --ttl 600 so nothing expires.
# Then punch::Server::handle() in-process (no sockets, the same messages and sources), and
# coturn's turnserver (--stun-only, pinned to CPU 1 too) under the same STUN load.
#
# Builds nothing: NATKIT_BIN is a build directory with `punch` and `bench/punch_server_load`.
# Usage (root): [NATKIT_BIN=./build] [CONNECTS=200000] [STUNS=200000] [WINDOW=64] [SOCKETS=256]
#               bench/punch-server.sh
set -euo pipefail
NATKIT_BIN=${NATKIT_BIN:-./build}
CONNECTS=${CONNECTS:-200000}
STUNS=${STUNS:-200000}
WINDOW=${WINDOW:-64}
SOCKETS=${SOCKETS:-256}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
[[ $(id -u) -eq 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
for f in "$NATKIT_BIN/punch" "$NATKIT_BIN/bench/punch_server_load"; do
    [[ -x $f ]] || { echo "missing $f (cmake --build $NATKIT_BIN --target punch punch_server_load)" >&2; exit 2; }
done
have_turn=0
command -v turnserver >/dev/null && have_turn=1

WORK=$(mktemp -d /tmp/nk-bench-punch-server.XXXXXX)
NS=nk-bench-pserve-$$
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Private copies: a rebuild during the run changes nothing.
cp "$NATKIT_BIN/punch" "$NATKIT_BIN/bench/punch_server_load" "$WORK/"
head -c 32 /dev/urandom | base64 >"$WORK/secret"
chmod 600 "$WORK/secret"
ip netns add "$NS"
ip -n "$NS" link set lo up

load() { ip netns exec "$NS" taskset -c "$LOAD_CPU" "$WORK/punch_server_load" "$@"; }
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }
# UDP receive-buffer drops in the namespace so far (its counters are its own).
udp_drops() { ip netns exec "$NS" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp; }

echo "# started $(date -u '+%F %T UTC'); uptime:$(uptime)" >&2

# 1. punch serve
# `ip netns exec` and taskset both exec, so $! is the server itself.
ip netns exec "$NS" taskset -c "$SERVER_CPU" "$WORK/punch" serve --secret-file "$WORK/secret" \
    --listen 127.0.0.1:3480 --rate 2000000000 --burst 2000000000 --max-nodes 1000000 --ttl 600 \
    2>"$WORK/punch.log" &
server_pid=$!
sleep 0.3
[[ $(cat "/proc/$server_pid/comm") == punch ]] || { echo "punch serve did not start" >&2; cat "$WORK/punch.log" >&2; exit 1; }
load real --server 127.0.0.1:3480 --secret-file "$WORK/secret" --server-pid "$server_pid" \
    --connects "$CONNECTS" --stuns "$STUNS" --window "$WINDOW" --sockets "$SOCKETS" >"$WORK/punch.out"
echo "drops punch $(udp_drops)" >>"$WORK/punch.out"
stop_server

# 2. coturn, the same STUN load
if (( have_turn )); then
    ip netns exec "$NS" taskset -c "$SERVER_CPU" turnserver -n --stun-only --no-cli --no-tcp --no-tls \
        --no-dtls --listening-ip 127.0.0.1 --listening-port 3478 --pidfile "$WORK/turn.pid" \
        --log-file "$WORK/turn.log" --simple-log >/dev/null 2>&1 &
    server_pid=$!
    sleep 1
    [[ -d /proc/$server_pid ]] || { echo "turnserver did not start" >&2; cat "$WORK"/turn*.log >&2; exit 1; }
    load stun --server 127.0.0.1:3478 --server-pid "$server_pid" --stuns "$STUNS" \
        --window "$WINDOW" --sockets "$SOCKETS" >"$WORK/turn.out"
    echo "drops total $(udp_drops)" >>"$WORK/turn.out"
    turn_threads=$(ls "/proc/$server_pid/task" | wc -l)
    stop_server
fi

# 3. handle() in-process, no sockets
taskset -c "$SERVER_CPU" "$WORK/punch_server_load" inproc --sockets "$SOCKETS" >"$WORK/inproc.out"

echo "# ended $(date -u '+%F %T UTC'); uptime:$(uptime)" >&2
echo "# punch: $("$WORK/punch" --version 2>&1 | head -1); coturn: $(turnserver --version 2>/dev/null | head -1 || echo none)${turn_threads:+ ($turn_threads threads)}; kernel $(uname -r); $(nproc) CPUs: $(lscpu | sed -n 's/^Model name: *//p')" >&2

python3 - "$WORK" "$have_turn" <<'PY'
import sys
work, have_turn = sys.argv[1], sys.argv[2] == "1"
drops = {}
def parse(path):
    phases, rss, inproc, heap = {}, {}, {}, {}
    for line in open(path):
        w = line.split()
        if not w: continue
        kv = lambda a: {a[i]: a[i + 1] for i in range(0, len(a) - 1, 2)}
        if w[0] == "phase": phases[w[1]] = kv(w[2:])
        elif w[0] == "rss": rss[w[1]] = {"rss": w[2], "hwm": w[4]}
        elif w[0] == "inproc": inproc[w[1]] = kv(w[2:])
        elif w[0] == "heap": heap = kv(w[1:])
        elif w[0] == "drops": drops[w[1]] = int(w[2])
    return phases, rss, inproc, heap
p, rss, _, _ = parse(f"{work}/punch.out")
_, _, ip, heap = parse(f"{work}/inproc.out")
t = parse(f"{work}/turn.out")[0] if have_turn else {}
f = float
def rate(ph, per=1):
    return f"{f(ph['per_cpu_s']) / per:,.0f}", f"{f(ph['per_wall_s']) / per:,.0f}"
def ok(ph, per=1):
    return f"{int(ph['received']) // per:,}/{int(ph['sent']):,}" if per == 1 else \
           f"{int(ph['received']):,}/{int(ph['expected']):,} messages"
def util(ph): return f"{100 * f(ph['server_cpu_s']) / f(ph['wall_s']):.0f}%"

print("| server, one core (taskset -c 1) | answered | per server CPU-second | per wall second | server CPU busy | in-process handle() per CPU-second | share outside handle() (syscalls, loop) |")
print("|---|---:|---:|---:|---:|---:|---:|")
rows = [
    ("punch serve: new registrations (`reg` → `registered`)", "register_next_90000", "register_new", 1),
    ("punch serve: refreshed registrations (keepalive)", "refresh_100000", "register_refresh", 1),
    ("punch serve: introductions (`connect` → 2 × `introduce`)", "connect", "connect", 1),
    ("punch serve: STUN Binding", "stun", "stun", 1),
]
for label, key, ikey, per in rows:
    ph = p[key]
    cpu, wall = rate(ph)
    inp = f(ip[ikey]["per_cpu_s"])
    share = 1 - f(ph["per_cpu_s"]) / inp
    answered = ok(ph) if key != "connect" else f"{int(ph['received']):,}/{int(ph['expected']):,} introduce"
    print(f"| {label} | {answered} | {cpu} | {wall} | {util(ph)} | {inp:,.0f} | {100 * share:.0f}% |")
if have_turn:
    ph = t["stun"]
    cpu, wall = rate(ph)
    print(f"| coturn turnserver --stun-only: STUN Binding | {ok(ph)} | {cpu} | {wall} | {util(ph)} | – | – |")
print()
if have_turn:
    a, b = p["stun"], t["stun"]
    print(f"STUN Binding, punch serve / coturn: {f(a['per_cpu_s']) / f(b['per_cpu_s']):.2f}× per server CPU-second, "
          f"{f(a['per_wall_s']) / f(b['per_wall_s']):.2f}× per wall second; answer sizes {f(a['answer_bytes']):.0f} vs "
          f"{f(b['answer_bytes']):.0f} bytes (requests 128 bytes).")
    print()
d = f"UDP receive-buffer drops in the namespace (RcvbufErrors): {drops.get('punch', 0)} during the punch serve run"
if "total" in drops: d += f", {drops['total'] - drops.get('punch', 0)} during the coturn run"
print(d + " (the generator's sockets have 1 MiB buffers; punch serve's socket has the default).")
print()
print("| memory of punch serve | VmRSS | VmHWM | per registration |")
print("|---|---:|---:|---:|")
r0 = int(rss["idle"]["rss"])
for key, n in (("idle", 0), ("after_10000", 10000), ("after_100000", 100000)):
    r = int(rss[key]["rss"])
    per = f"{(r - r0) * 1024 / n:,.0f} bytes" if n else "–"
    print(f"| {'idle' if not n else f'{n:,} nodes registered'} | {r / 1024:.1f} MiB | {int(rss[key]['hwm']) / 1024:.1f} MiB | {per} |")
print(f"| after the whole run (100k nodes, nonce cache of every message of the last 60 s) | {int(rss['end']['rss']) / 1024:.1f} MiB | {int(rss['end']['hwm']) / 1024:.1f} MiB | – |")
print()
print(f"Heap held by punch::Server in-process (mallinfo2), 100k registrations: {f(heap['per_node_with_nonces']):.0f} bytes "
      f"per registration with its nonce remembered, {f(heap['per_node_without_nonces']):.0f} bytes once the nonce has aged out (60 s).")
print(f"In-process, a new registration costs {f(ip['register_new']['ns_per_op_cpu']) / 1000:.1f} µs with RAND_bytes, "
      f"{f(ip['register_new_cheaprandom']['ns_per_op_cpu']) / 1000:.1f} µs with a trivial random source.")
PY
