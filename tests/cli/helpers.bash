# Shared by the CLI tests and the benchmarks: a private network namespace with real STUN
# servers on its loopback (coturn with RFC 5780 on, Vovida stund for RFC 3489).
# Nothing here touches the root namespace's network.

NATKIT_BIN=${NATKIT_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}

# nk_ns_create NAME: a namespace with lo up, 127.0.0.0/8 and ::1, plus a veth pair whose
# subnet (192.0.2.0/24, TEST-NET-1) swallows packets: a "dead" server that never answers
# (the far end has no address, so whatever reaches it is dropped without an ICMP error).
nk_ns_create() {
    local ns=$1
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add nk-void type veth peer name nk-void-end
    ip -n "$ns" addr add 192.0.2.1/24 dev nk-void
    ip -n "$ns" link set nk-void up
    ip -n "$ns" link set nk-void-end up
    ip -n "$ns" neigh replace 192.0.2.99 lladdr 02:00:00:00:00:99 dev nk-void nud permanent
}

# nk_in NS CMD...: run CMD inside the namespace.
nk_in() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# nk_start_coturn NS DIR: coturn on 127.0.0.1 and 127.0.0.2 (port 3478, alternate 3479)
# and ::1, RFC 5780 on, anonymous. Debian's /etc/turnserver.conf turns RFC 5780 off, so
# coturn gets a config of its own.
nk_start_coturn() {
    local ns=$1 dir=$2
    cat >"$dir/turnserver.conf" <<CONF
listening-port=3478
alt-listening-port=3479
listening-ip=127.0.0.1
listening-ip=127.0.0.2
listening-ip=::1
no-auth
no-tls
no-dtls
no-tcp
no-cli
no-stdout-log
log-file=$dir/turnserver.log
simple-log
pidfile=$dir/turnserver.pid
CONF
    ip netns exec "$ns" turnserver -c "$dir/turnserver.conf" >/dev/null 2>&1 &
    echo $! >"$dir/turnserver.bgpid"
    nk_wait_udp "$ns" 127.0.0.1 3478
}

# nk_start_stund NS DIR: Vovida stund (RFC 3489) on 127.0.0.3:3480 / 127.0.0.4:3481.
nk_start_stund() {
    local ns=$1 dir=$2
    ip netns exec "$ns" stund -h 127.0.0.3 -a 127.0.0.4 -p 3480 -o 3481 >/dev/null 2>&1 &
    echo $! >"$dir/stund.bgpid"
    nk_wait_udp "$ns" 127.0.0.3 3480
}

# nk_wait_udp NS ADDR PORT: wait (up to 5 s) until something listens on ADDR:PORT/udp.
nk_wait_udp() {
    local ns=$1 addr=$2 port=$3 i
    for i in $(seq 1 100); do
        if ip netns exec "$ns" ss -Hlun 2>/dev/null | awk '{print $4}' | grep -qxF "$addr:$port"; then
            return 0
        fi
        sleep 0.05
    done
    echo "nothing listens on $addr:$port/udp in $ns" >&2
    return 1
}

# nk_stop_all NS DIR: stop what the helpers started and delete the namespace.
nk_stop_all() {
    local ns=$1 dir=$2 f
    for f in "$dir"/*.bgpid; do
        [ -e "$f" ] || continue
        kill "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
    # Anything else still running in the namespace (a held port, a stray server).
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
}
