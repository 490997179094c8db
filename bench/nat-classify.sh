#!/usr/bin/env bash
# natkit nat-classify side by side with coturn's turnutils_natdiscovery (RFC 5780) and
# Vovida's stun (RFC 3489), in one run, from every client node of the NAT lab
# (tests/lab/natlab): wall time per run and the verdict, RUNS runs per node and tool.
#
#   nat-classify:  nat-classify --probe 198.51.100.1            (coturn; verdict .nat_type, .mapping/.filtering)
#   natdiscovery:  turnutils_natdiscovery -m -f -H -L LAN_IP 198.51.100.1   (its "NAT with ..." lines)
#   stun:          stun 198.51.100.3                           (stund; its "Primary:" line; exit status is a bitmask)
#
# Wall time: date +%s%N taken inside the node's namespace right around the command (the
# `natlab exec` start-up is not counted). Runs are interleaved: run i does every node,
# and for each node the three tools one after the other.
#
# The lab may be shared: if it is up it is used as it is (never re-`up`ed, never taken
# down); if it is down it is brought up with defaults and taken down on exit.
#
# Usage: [RUNS=5] [NATKIT_BIN=./build] bench/nat-classify.sh      (root)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-5}
NATKIT_BIN=${NATKIT_BIN:-./build}
NODES=${NODES:-"fc rc pr1 pr2 sym1 sym2 blk open"}
COTURN_IP=198.51.100.1
STUND_IP=198.51.100.3
TOOL_TIMEOUT=${TOOL_TIMEOUT:-60}   # seconds; a hung tool counts as "timeout"
natlab="$top/tests/lab/natlab"

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
for t in turnutils_natdiscovery stun jq timeout; do
    command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/nk-bench-nat-classify.XXXXXX)
we_started_lab=0
cleanup() {
    if (( we_started_lab )); then "$natlab" down >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The binary: another engineer may be rebuilding ./build, so wait for a working one
# (up to 3 minutes) and run a private copy, so every run uses the same build.
bin_dir=$(cd "$NATKIT_BIN" 2>/dev/null && pwd || echo "$NATKIT_BIN")
for attempt in 1 2 3 4; do
    if [[ -x $bin_dir/nat-classify ]] && "$bin_dir/nat-classify" --version >/dev/null 2>&1; then
        cp "$bin_dir/nat-classify" "$WORK/nat-classify" && break
    fi
    (( attempt < 4 )) || { echo "no working $bin_dir/nat-classify" >&2; exit 2; }
    echo "$bin_dir/nat-classify missing or broken; retrying in 60 s" >&2
    sleep 60
done
nc_bin="$WORK/nat-classify"
nc_version=$("$nc_bin" --version 2>&1 | head -n1)
nc_mtime=$(date -u -r "$bin_dir/nat-classify" '+%Y-%m-%d %H:%M UTC')

# The lab: status exits 0 up, 1 broken, 3 down.
set +e
"$natlab" status >"$WORK/status" 2>&1
st=$?
set -e
case $st in
0) lab_note="lab already up (shared), used as it is" ;;
3) echo "lab is down: bringing it up (and down again at exit)" >&2
   we_started_lab=1
   "$natlab" up >&2
   "$natlab" status >"$WORK/status" 2>&1
   lab_note="lab brought up by this script, taken down at exit" ;;
*) cat "$WORK/status" >&2
   echo "lab is broken (status $st); it may be shared: not touching it" >&2
   exit 2 ;;
esac
lab_opts=$(grep -m1 '^options:' "$WORK/status" || echo "options: ?")
"$natlab" nodes >"$WORK/nodes"

# lan_ip NODE: column 3 of `natlab nodes`
lan_ip() { awk -v n="$1" '$1 == n { print $3 }' "$WORK/nodes"; }

# timed NODE OUT CMD...: run CMD in NODE, stdout+stderr to OUT; prints "MICROSECONDS RC"
timed() {
    local node=$1 out=$2
    shift 2
    # shellcheck disable=SC2016  # expanded by the inner bash
    "$natlab" exec "$node" bash -c '
        out=$1 limit=$2; shift 2
        s=$(date +%s%N)
        timeout "$limit" "$@" >"$out" 2>&1
        rc=$?
        e=$(date +%s%N)
        echo "$(( (e - s) / 1000 )) $rc"' _ "$out" "$TOOL_TIMEOUT" "$@"
}

abbr() {   # "Address and Port Dependent" -> APD etc.
    sed -e 's/Address and Port Dependent/APD/; s/Address Dependent/AD/; s/Endpoint Independent/EI/'
}

verdict_nc() {   # OUT RC
    local out=$1 rc=$2 v
    if v=$(jq -er 'select(.kind == "nat.report")
                   | "\(.nat_type) (\(.mapping)|\(.filtering))"' "$out" 2>/dev/null | head -n1) && [[ -n $v ]]; then
        v=$(sed -E -e 's/address-and-port-dependent/APD/g; s/address-dependent/AD/g; s/endpoint-independent/EI/g' \
                   -e 's/\((EI|AD|APD)\|(EI|AD|APD)\)/(\1M\/\2F)/; s/\|/\//' <<<"$v")
        (( rc == 0 )) || v="$v, exit $rc"
        echo "$v"
    else
        echo "no report (exit $rc)"
    fi
}

verdict_nd() {   # OUT RC
    local out=$1 rc=$2 m f nonat=""
    m=$(grep -m1 -oE 'NAT with .* Mapping!' "$out" | sed -e 's/^NAT with //; s/ Mapping!$//' | abbr || true)
    f=$(grep -m1 -oE 'NAT with .* Filtering!' "$out" | sed -e 's/^NAT with //; s/ Filtering!$//' | abbr || true)
    grep -q '^No NAT!' "$out" && nonat="no NAT, "
    if [[ -z $m && -z $f ]]; then
        if grep -q 'STUN receive timeout' "$out"; then echo "no answer (exit $rc)"; else echo "no verdict (exit $rc)"; fi
    else
        echo "${nonat}${m:-?}M/${f:-?}F"
    fi
}

verdict_stun() {   # OUT RC  (rc is a bitmask, not an error)
    local out=$1 v
    v=$(grep -m1 '^Primary:' "$out" | sed -e 's/^Primary: *//; s/[[:space:]]*$//' || true)
    echo "${v:-no Primary line}"
}

# results: one line per (node, tool, run): node<TAB>tool<TAB>run<TAB>us<TAB>verdict
res="$WORK/results.tsv"
: >"$res"
nodes=()
for n in $NODES; do
    if [[ -n $(lan_ip "$n") ]]; then nodes+=("$n"); else echo "node $n is not in the lab; skipped" >&2; fi
done

# The shared lab can be changed or rebuilt by others while this runs. fingerprint NODE:
# what a probe from NODE depends on (the namespaces on the path, the STUN daemons, the
# router's rules, the options that change NAT behaviour). A node's three measurements of
# one run are redone when it changed under them (up to 5 attempts; waits while the lab is down).
state=${NATLAB_STATE:-/run/natkit-lab}
fingerprint() {
    {
        stat -c '%n %i %Y' "/run/netns/nk-lab-$1" "/run/netns/nk-lab-$1-r" /run/netns/nk-lab-stun \
            /run/netns/nk-lab-wan "$state/nft/$1.nft" 2>/dev/null
        cat "$state/pids/turnserver" "$state/pids/stund" 2>/dev/null
        grep -E '^(routers|timeout|hairpin)=' "$state/config" 2>/dev/null
    } | md5sum
}
wait_lab_up() {
    local waited=0
    until "$natlab" status >/dev/null 2>&1; do
        (( waited < 300 )) || { echo "lab down for 5 minutes (someone else took it down); giving up" >&2; exit 1; }
        (( waited > 0 )) || echo "lab not up (changed by someone else?); waiting" >&2
        sleep 5; waited=$(( waited + 5 ))
    done
}
disturbed=0
for (( i = 1; i <= RUNS; i++ )); do
    for n in "${nodes[@]}"; do
        ip=$(lan_ip "$n")
        o="$WORK/$n.$i"
        for (( attempt = 1; ; attempt++ )); do
            wait_lab_up
            fp=$(fingerprint "$n")
            read -r us1 rc1 < <(timed "$n" "$o.nc" "$nc_bin" --probe "$COTURN_IP") || true
            read -r us2 rc2 < <(timed "$n" "$o.nd" turnutils_natdiscovery -m -f -H -L "$ip" "$COTURN_IP") || true
            read -r us3 rc3 < <(timed "$n" "$o.stun" stun "$STUND_IP") || true
            if [[ $(fingerprint "$n") == "$fp" && -n ${us1:-} && -n ${us2:-} && -n ${us3:-} ]]; then break; fi
            disturbed=$(( disturbed + 1 ))
            echo "run $i $n: the lab changed during the measurement (attempt $attempt); redoing" >&2
            (( attempt < 5 )) || { echo "lab keeps changing; giving up" >&2; exit 1; }
            sleep 2
        done
        {
            printf '%s\tnc\t%s\t%s\t%s\n' "$n" "$i" "$us1" "$(verdict_nc "$o.nc" "$rc1")"
            printf '%s\tnd\t%s\t%s\t%s\n' "$n" "$i" "$us2" "$(verdict_nd "$o.nd" "$rc2")"
            printf '%s\tstun\t%s\t%s\t%s\n' "$n" "$i" "$us3" "$(verdict_stun "$o.stun" "$rc3")"
        } >>"$res"
        echo "run $i/$RUNS $n done" >&2
    done
done

# stats NODE TOOL -> "median max" in ms (one decimal)
stats() {
    awk -F'\t' -v n="$1" -v t="$2" '$1 == n && $2 == t { print $4 / 1000 }' "$res" | sort -g |
        awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "- -"; exit }
            med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.1f %.1f\n", med, v[NR] }'
}
# verdict NODE TOOL -> "V (5/5)" when every run agrees, else "VARIES: V1 ×a; V2 ×b"
verdict() {
    awk -F'\t' -v n="$1" -v t="$2" '$1 == n && $2 == t { c[$5]++; k++ } END {
        j = 0; for (v in c) j++
        if (j == 1) { for (v in c) printf "%s (%d/%d)\n", v, c[v], k }
        else { s = "VARIES: "; sep = ""; for (v in c) { s = s sep v " ×" c[v]; sep = "; " } print s } }' "$res"
}
same_mf() {   # do nat-classify's mapping/filtering equal natdiscovery's in every run?
    local n=$1 i a b ok=yes
    for (( i = 1; i <= RUNS; i++ )); do
        a=$(awk -F'\t' -v n="$n" -v i="$i" '$1 == n && $2 == "nc" && $3 == i { print $5 }' "$res" |
            sed -nE 's/.*\(((EI|AD|APD)M\/(EI|AD|APD)F)\).*/\1/p')
        b=$(awk -F'\t' -v n="$n" -v i="$i" '$1 == n && $2 == "nd" && $3 == i { print $5 }' "$res" |
            sed -nE 's/^(no NAT, )?//p')
        if [[ -z $a ]]; then   # no mapping/filtering: both must have got no answer (blk)
            a=$(awk -F'\t' -v n="$n" -v i="$i" '$1 == n && $2 == "nc" && $3 == i { print $5 }' "$res")
            [[ $a == udp-blocked* && $b == "no answer"* ]] || ok=no
        else
            [[ $a == "$b" ]] || ok=no
        fi
    done
    echo "$ok"
}

echo
echo "nat-classify: $nc_version (build from $nc_mtime); $lab_note; $lab_opts; RUNS=$RUNS;" \
    "node measurements redone because the shared lab changed under them: $disturbed"
echo
echo "| node | nat-classify ms (median/max) | nat-classify verdict | natdiscovery ms (median/max) | natdiscovery verdict | stun ms (median/max) | stun verdict | speed-up vs natdiscovery |"
echo "|---|---|---|---|---|---|---|---|"
for n in "${nodes[@]}"; do
    read -r ncm ncx < <(stats "$n" nc)
    read -r ndm ndx < <(stats "$n" nd)
    read -r sm sx < <(stats "$n" stun)
    sp=$(awk -v a="$ndm" -v b="$ncm" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "-" }')
    printf '| %s | %s / %s | %s | %s / %s | %s | %s / %s | %s | %s |\n' \
        "$n" "$ncm" "$ncx" "$(verdict "$n" nc)" "$ndm" "$ndx" "$(verdict "$n" nd)" \
        "$sm" "$sx" "$(verdict "$n" stun)" "$sp"
done
echo
echo "EI/AD/APD = endpoint-independent / address-dependent / address-and-port-dependent; M = mapping, F = filtering."
printf 'nat-classify mapping/filtering equal to natdiscovery'"'"'s in every run:'
for n in "${nodes[@]}"; do printf ' %s=%s' "$n" "$(same_mf "$n")"; done
echo
"$natlab" status 2>/dev/null | grep -m1 '^options:' | sed 's/^/lab at the end: /' || true
