#!/usr/bin/env bash
# peer-sync benchmarks: fetch of 10k node records (file backend, and etcd in the NAT lab), its
# peak memory, and watch propagation (node B publishes a new endpoint; how long until node
# A's watch prints the new set) with the median and p99, on the file backend and on the
# lab's etcd. Needs root for the lab. Usage: bench/peer-sync.sh [ROUNDS]   (default 50)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${NATKIT_BIN:-$ROOT/build}
PS=$BIN/peer-sync
NATLAB=$ROOT/tests/lab/natlab
ROUNDS=${1:-50}
RECORDS=${RECORDS:-10000}
WORK=$(mktemp -d /tmp/nk-bench-peer-sync.XXXXXX)
PY=/usr/bin/python3
trap 'rm -rf "$WORK"' EXIT

log() { echo "peer-sync bench: $*" >&2; }

# make_records N NETWORK: N node records as NDJSON (random keys), for the stores to load.
make_records() {
    "$PY" - "$1" "$2" <<'PY'
import base64, json, os, sys
n, network = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    key = base64.b64encode(os.urandom(32)).decode()
    print(json.dumps({"kind": "peer-sync.node", "network": network, "id": f"n{i:05d}",
        "public_key": key, "listen_port": 51820, "allowed_ips": [f"10.{64 + i // 65536}.{i // 256 % 256}.{i % 256}/32"],
        "endpoint": f"203.0.113.{i % 250 + 1}:{20000 + i % 40000}",
        "candidates": [f"203.0.113.{i % 250 + 1}:{20000 + i % 40000}", f"192.168.{i // 256 % 256}.{i % 256}:51820"],
        "nat": {"mapping": "endpoint-independent", "filtering": "address-and-port-dependent",
                "nat_type": "port-restricted-cone"},
        "updated_at": "2099-01-01T00:00:00Z", "version": "0.1.0"}, separators=(",", ":")))
PY
}

# stats: milliseconds on stdin -> "median X ms, p99 Y ms, max Z ms (n=N)"
stats() {
    sort -n | awk '{v[NR]=$1} END {
        p50 = v[int((NR + 1) / 2)]; i99 = int(NR * 0.99 + 0.999); if (i99 > NR) i99 = NR;
        printf "median %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)\n", p50, v[i99], v[NR], NR }'
}

# time_ms CMD...: wall time of CMD in ms (its stdout discarded).
time_ms() {
    local s=$EPOCHREALTIME
    "$@" >/dev/null
    echo "($EPOCHREALTIME - $s) * 1000" | bc -l
}

# peak_kb CMD...: peak resident memory of CMD in KiB.
peak_kb() {
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n1
}

# propagation RUN_A RUN_B CONTROL: ROUNDS times, B reports a new endpoint and the time until
# A's watch prints the changed set is measured (from just before B's peer-sync starts).
propagation() {
    local run_a=$1 run_b=$2 control=$3 network="prop-$$-$RANDOM"
    local fifo=$WORK/watch.fifo times=$WORK/prop.times
    rm -f "$fifo" "$times"
    mkfifo "$fifo"
    $run_a "$PS" watch --control "$control" --network "$network" --id a \
        --count $((ROUNDS + 1)) >"$fifo" 2>"$WORK/watch.err" &
    local watcher=$!
    exec 9<"$fifo"
    read -r _ <&9  # the first set: the watch is in place
    local key i start line
    key=$(wg genkey | wg pubkey)
    for ((i = 1; i <= ROUNDS; i++)); do
        start=$EPOCHREALTIME
        $run_b "$PS" report --control "$control" --network "$network" --id b \
            --public-key "$key" --listen-port 51820 --no-local-candidates \
            --candidate "198.51.100.77:$((30000 + i))" </dev/null >/dev/null
        while read -r line <&9; do
            [[ $line == *"198.51.100.77:$((30000 + i))"* ]] && break
        done
        echo "($EPOCHREALTIME - $start) * 1000" | bc -l >>"$times"
    done
    exec 9<&-
    wait "$watcher" || true
    stats <"$times"
}

direct() { "$@"; }

# --- file backend -----------------------------------------------------------------------
mkdir -p "$WORK/control/bench/nodes"
make_records "$RECORDS" bench >"$WORK/records.ndjson"
"$PY" - "$WORK/records.ndjson" "$WORK/control/bench/nodes" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    rec = json.loads(line)
    with open(f"{sys.argv[2]}/{rec['id']}.json", "w") as f:
        f.write(line)
PY
fetch_file=("$PS" fetch --control "file://$WORK/control" --network bench --id me)
peers=$("${fetch_file[@]}" | jq '.peers | length')
[[ $peers -eq $RECORDS ]] || { log "file fetch returned $peers peers, not $RECORDS"; exit 1; }
for _ in 1 2 3 4 5; do time_ms "${fetch_file[@]}"; done | stats >"$WORK/file.fetch"
peak_kb "${fetch_file[@]}" >"$WORK/file.peak"
log "file: fetch of $RECORDS: $(cat "$WORK/file.fetch"); peak $(cat "$WORK/file.peak") KiB"
mkdir -p "$WORK/control2"
propagation direct direct "file://$WORK/control2" >"$WORK/file.prop"
log "file: watch propagation: $(cat "$WORK/file.prop")"

# --- etcd in the lab ------------------------------------------------------------------
etcd_before=""
config=/run/natkit-lab/config
lab_args() {  # etcd count: the running lab's options with that etcd count
    local args=(--etcd "$1")
    if [[ -r $config ]] && "$NATLAB" status >/dev/null 2>&1; then
        local routers; routers=$(sed -n 's/^routers=//p' "$config")
        args+=(--routers "${routers// /,}")
        [[ $(sed -n 's/^wg=//p' "$config") == 1 ]] && args+=(--wg)
        local t; t=$(sed -n 's/^timeout=//p' "$config")
        [[ $t != 0 ]] && args+=(--short-timeout "$t")
        [[ $(sed -n 's/^hairpin=//p' "$config") == 1 ]] && args+=(--hairpin)
    fi
    echo "${args[@]}"
}
lab_was_up=0
if "$NATLAB" status >/dev/null 2>&1; then
    lab_was_up=1
    etcd_before=$(sed -n 's/^etcd=//p' "$config")
fi
# shellcheck disable=SC2046
"$NATLAB" up $(lab_args 1) 2>/dev/null
restore_lab() {
    if ((lab_was_up)); then
        # shellcheck disable=SC2046
        "$NATLAB" up $(lab_args "${etcd_before:-0}") 2>/dev/null || true
    else
        "$NATLAB" down 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap restore_lab EXIT
ETCD=etcd://198.51.100.21:2379
on_pr1() { ip netns exec nk-lab-pr1 "$@"; }
on_pr2() { ip netns exec nk-lab-pr2 "$@"; }

network="bench-$$"
log "etcd: loading $RECORDS records"
on_pr1 "$PY" - "$WORK/records.ndjson" "$network" <<'PY'
import base64, json, sys, urllib.request
network = sys.argv[2]
b64 = lambda s: base64.b64encode(s.encode()).decode()
ops = []
def flush():
    body = json.dumps({"success": ops}).encode()
    urllib.request.urlopen(urllib.request.Request("http://198.51.100.21:2379/v3/kv/txn", body)).read()
    ops.clear()
for line in open(sys.argv[1]):
    rec = json.loads(line)
    rec["network"] = network
    ops.append({"request_put": {"key": b64(f"/natkit/{network}/nodes/{rec['id']}"),
                                "value": b64(json.dumps(rec, separators=(",", ":")))}})
    if len(ops) == 100:
        flush()
if ops:
    flush()
PY
fetch_etcd=(on_pr1 "$PS" fetch --control "$ETCD" --network "$network" --id me)
peers=$("${fetch_etcd[@]}" | jq '.peers | length')
[[ $peers -eq $RECORDS ]] || { log "etcd fetch returned $peers peers, not $RECORDS"; exit 1; }
for _ in 1 2 3 4 5; do time_ms "${fetch_etcd[@]}"; done | stats >"$WORK/etcd.fetch"
on_pr1 /usr/bin/time -f %M "$PS" fetch --control "$ETCD" --network "$network" --id me \
    2>&1 >/dev/null | tail -n1 >"$WORK/etcd.peak"
log "etcd: fetch of $RECORDS: $(cat "$WORK/etcd.fetch"); peak $(cat "$WORK/etcd.peak") KiB"
propagation on_pr1 on_pr2 "$ETCD" >"$WORK/etcd.prop"
log "etcd: watch propagation (pr1 watches, pr2 reports): $(cat "$WORK/etcd.prop")"

cat <<REPORT
fetch of $RECORDS records, file backend: $(cat "$WORK/file.fetch"); peak RSS $(($(cat "$WORK/file.peak") / 1024)) MiB
fetch of $RECORDS records, etcd (lab, 1 member): $(cat "$WORK/etcd.fetch"); peak RSS $(($(cat "$WORK/etcd.peak") / 1024)) MiB
watch propagation, file backend ($ROUNDS changes): $(cat "$WORK/file.prop")
watch propagation, etcd (lab, pr1 watches, pr2 reports, $ROUNDS changes): $(cat "$WORK/etcd.prop")
REPORT
