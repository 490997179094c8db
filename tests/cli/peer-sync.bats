#!/usr/bin/env bats
# peer-sync against its file backend (a directory of node records): report, fetch, sync,
# watch, TTL expiry, concurrent writers and allocations, bad input, an unreachable control
# plane, and the stale cache.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    CTL="$BATS_TEST_TMPDIR/control"
    mkdir -p "$CTL"
    export CTL
}

teardown() {
    if [[ -e $BATS_TEST_TMPDIR/etcd.pid ]]; then
        kill "$(cat "$BATS_TEST_TMPDIR/etcd.pid")" 2>/dev/null || true
        ip netns del "nk-cli-ps-$$" 2>/dev/null || true
    fi
}

ps() { "$NATKIT_BIN/peer-sync" "$@"; }

# tls_files DIR: a CA, a server certificate for 127.0.0.1 and a client certificate.
tls_files() {
    local d=$1 ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.pem" -days 1 -subj /CN=test-ca
    for who in server client; do
        openssl req "${ec[@]}" -keyout "$d/$who.key" -out "$d/$who.csr" -subj "/CN=$who"
        printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$d/ext"
        openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
            -CAcreateserial -out "$d/$who.pem" -days 1 -extfile "$d/ext"
    done
    chmod 600 "$d"/*.key
}

# key: a fresh WireGuard public key.
key() { wg genkey | wg pubkey; }

# node ID [OPTIONS...]: report node ID with a fresh key, no stdin.
node() {
    local id=$1
    shift
    ps report --control "file://$CTL" --id "$id" --public-key "$(key)" --listen-port 51820 \
        --no-local-candidates "$@" </dev/null
}

ids() { jq -c '[.peers[].id]' <<<"$1"; }

NAT_REPORT='{"kind":"nat.report","local":"10.0.0.2:51820","public":"203.0.113.7:51820","behind_nat":true,"mapping":"endpoint-independent","filtering":"address-and-port-dependent","nat_type":"port-restricted-cone","port_preserving":true,"hairpinning":false,"servers_used":2,"elapsed_ms":310}'

@test "--version, --help and usage errors" {
    run ps --version
    [ "$status" -eq 0 ]
    [[ "$output" == "peer-sync (natkit) "* ]]
    run ps --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"report|fetch|sync|watch"* ]]
    run ps dance
    [ "$status" -eq 2 ]
    run ps
    [ "$status" -eq 2 ]
    run ps fetch --control http://example.net
    [ "$status" -eq 2 ]
    run ps fetch --control "file://$CTL" --allow-stale
    [ "$status" -eq 2 ]
}

@test "report, then fetch prints the other nodes, never this one" {
    node a >/dev/null
    node b >/dev/null
    run --separate-stderr ps fetch --control "file://$CTL" --id a
    [ "$status" -eq 0 ]
    [ "$(jq -r .kind <<<"$output")" = peer-set ]
    [ "$(ids "$output")" = '["b"]' ]
    run --separate-stderr ps fetch --control "file://$CTL" --id c
    [ "$(ids "$output")" = '["a","b"]' ]
}

@test "sync publishes the nat.report's public endpoint first, then prints the peers" {
    node b >/dev/null
    run --separate-stderr ps sync --control "file://$CTL" --id a --public-key "$(key)" \
        --listen-port 51820 --candidate 192.168.1.20:51820 --no-local-candidates <<<"$NAT_REPORT"
    [ "$status" -eq 0 ]
    [ "$(ids "$output")" = '["b"]' ]
    run --separate-stderr ps fetch --control "file://$CTL" --id b
    [ "$(jq -r '.peers[0].endpoint' <<<"$output")" = 203.0.113.7:51820 ]
    [ "$(jq -c '.peers[0].candidates' <<<"$output")" = '["203.0.113.7:51820","192.168.1.20:51820"]' ]
    [ "$(jq -r '.peers[0].nat.nat_type' <<<"$output")" = port-restricted-cone ]
}

@test "records older than --ttl are left out" {
    node fresh >/dev/null
    node old >/dev/null
    # Age the record of "old" by rewriting its timestamp, as a node that stopped would leave it.
    jq -c '.updated_at = "2020-01-01T00:00:00Z"' "$CTL/default/nodes/old.json" >"$CTL/x"
    mv "$CTL/x" "$CTL/default/nodes/old.json"
    run --separate-stderr ps fetch --control "file://$CTL" --id me
    [ "$(ids "$output")" = '["fresh"]' ]
}

@test "records that fail validation are skipped with a warning" {
    node good >/dev/null
    echo '{"kind":"peer-sync.node","id":"bad","public_key":"short"}' >"$CTL/default/nodes/bad.json"
    run --separate-stderr ps fetch --control "file://$CTL" --id me
    [ "$status" -eq 0 ]
    [ "$(ids "$output")" = '["good"]' ]
    [[ "$stderr" == *"bad.json"* ]]
}

@test "bad stdin: exit 65 naming the line, nothing published" {
    run --separate-stderr ps report --control "file://$CTL" --id a --public-key "$(key)" \
        --listen-port 1 <<<$'{"kind":"stun.binding"}\n{"kind":"nat.report","public":"nowhere"}'
    [ "$status" -eq 65 ]
    [ -z "$output" ]
    [[ "$stderr" == *"stdin:2"*"'public'"* ]]
    [ ! -e "$CTL/default/nodes/a.json" ]
}

@test "control plane unreachable: exit 69 and nothing on stdout" {
    run --separate-stderr ps fetch --control "file://$CTL/missing" --id a
    [ "$status" -eq 69 ]
    [ -z "$output" ]
    run --separate-stderr ps sync --control "file://$CTL/missing" --id a --public-key "$(key)" \
        --listen-port 1 </dev/null
    [ "$status" -eq 69 ]
    [ -z "$output" ]
    run --separate-stderr ps fetch --control etcd://127.0.0.1:1,127.0.0.1:2 --timeout 500
    [ "$status" -eq 69 ]
    [ -z "$output" ]
    [[ "$stderr" == *"127.0.0.1:2"* ]]
}

@test "--cache keeps the last good set; --allow-stale serves it, marked stale" {
    node b >/dev/null
    run --separate-stderr ps fetch --control "file://$CTL" --id a --cache "$CTL/cache.json"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.stale // false' <<<"$output")" = false ]
    run --separate-stderr ps fetch --control "file://$CTL/gone" --id a --cache "$CTL/cache.json"
    [ "$status" -eq 69 ]
    [ -z "$output" ]
    run --separate-stderr ps fetch --control "file://$CTL/gone" --id a --cache "$CTL/cache.json" \
        --allow-stale
    [ "$status" -eq 0 ]
    [ "$(jq -r .stale <<<"$output")" = true ]
    [ "$(ids "$output")" = '["b"]' ]
    [[ "$stderr" == *stale* ]]
}

@test "many concurrent writers never produce a torn record" {
    local pids=()
    for w in $(seq 1 8); do
        (for i in $(seq 1 15); do node "n$((i % 3))" --candidate "192.0.2.$w:$i" >/dev/null; done) &
        pids+=($!)
    done
    local bad=0 reads=0
    while kill -0 "${pids[@]}" 2>/dev/null; do
        out=$(ps fetch --control "file://$CTL" --id me 2>"$CTL/err") || bad=$((bad + 1))
        [ -s "$CTL/err" ] && bad=$((bad + 1))
        jq -e '.kind == "peer-set"' <<<"$out" >/dev/null || bad=$((bad + 1))
        reads=$((reads + 1))
    done
    wait "${pids[@]}"
    echo "reads=$reads bad=$bad"
    [ "$bad" -eq 0 ]
    [ "$reads" -gt 0 ]
    run --separate-stderr ps fetch --control "file://$CTL" --id me
    [ "$(ids "$output")" = '["n0","n1","n2"]' ]
    [ -z "$(ls -A "$CTL/default/nodes" | grep -v '\.json$')" ]
}

@test "--allocate: unique addresses under concurrency, the same one across restarts" {
    for i in $(seq 1 20); do
        node "n$i" --allocate 10.66.0.0/24 >"$CTL/out.$i" &
    done
    wait
    cat "$CTL"/out.* | jq -r '.allowed_ips[0]' | sort >"$CTL/addresses"
    [ "$(wc -l <"$CTL/addresses")" -eq 20 ]
    [ "$(sort -u "$CTL/addresses" | wc -l)" -eq 20 ]
    first=$(jq -r '.allowed_ips[0]' "$CTL/out.7")
    again=$(node n7 --allocate 10.66.0.0/24 | jq -r '.allowed_ips[0]')
    [ "$first" = "$again" ]
}

@test "watch prints the set, then a new one on each change, including an expiry" {
    ps watch --control "file://$CTL" --id me --ttl 3 --count 3 >"$CTL/watch.out" 2>&1 &
    local watcher=$!
    # The first set (empty) is printed when the watch is in place.
    for _ in $(seq 1 50); do [ -s "$CTL/watch.out" ] && break; sleep 0.1; done
    node b >/dev/null
    wait "$watcher"
    run cat "$CTL/watch.out"
    [ "${#lines[@]}" -eq 3 ]
    [ "$(ids "${lines[0]}")" = '[]' ]
    [ "$(ids "${lines[1]}")" = '["b"]' ]
    [ "$(ids "${lines[2]}")" = '[]' ]   # b's record expired after --ttl
}

@test "secret files readable by others are refused (exit 77)" {
    echo secret >"$CTL/pw"
    chmod 644 "$CTL/pw"
    run --separate-stderr ps fetch --control etcd://127.0.0.1:1 --user u --password-file "$CTL/pw"
    [ "$status" -eq 77 ]
    [[ "$stderr" == *"chmod 600"* ]]
}

@test "etcds://: TLS with a CA and a client certificate (real etcd in a private namespace)" {
    command -v etcd >/dev/null || skip "etcd is not installed"
    local d=$BATS_TEST_TMPDIR ns="nk-cli-ps-$$"
    tls_files "$d" 2>/dev/null
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" etcd --name t --data-dir "$d/data" \
        --listen-client-urls https://127.0.0.1:2379 --advertise-client-urls https://127.0.0.1:2379 \
        --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
        --initial-cluster t=http://127.0.0.1:2380 --cert-file "$d/server.pem" \
        --key-file "$d/server.key" --client-cert-auth --trusted-ca-file "$d/ca.pem" \
        >"$d/etcd.log" 2>&1 &
    echo $! >"$d/etcd.pid"
    local tls=(--control etcds://127.0.0.1:2379 --cacert "$d/ca.pem" --cert "$d/client.pem"
        --key "$d/client.key")
    for _ in $(seq 1 50); do
        ip netns exec "$ns" "$NATKIT_BIN/peer-sync" fetch "${tls[@]}" >/dev/null 2>&1 && break
        sleep 0.2
    done
    ip netns exec "$ns" "$NATKIT_BIN/peer-sync" report "${tls[@]}" --id a --public-key "$(key)" \
        --listen-port 1 </dev/null >/dev/null
    run --separate-stderr ip netns exec "$ns" "$NATKIT_BIN/peer-sync" fetch "${tls[@]}" --id b
    [ "$status" -eq 0 ]
    [ "$(ids "$output")" = '["a"]' ]
    # A server certificate nobody vouches for: refused (77), nothing on stdout.
    run --separate-stderr ip netns exec "$ns" "$NATKIT_BIN/peer-sync" fetch \
        --control etcds://127.0.0.1:2379 --id b
    [ "$status" -eq 77 ]
    [ -z "$output" ]
    # A client key others can read: refused before connecting.
    chmod 644 "$d/client.key"
    run --separate-stderr ip netns exec "$ns" "$NATKIT_BIN/peer-sync" fetch "${tls[@]}" --id b
    [ "$status" -eq 77 ]
    [[ "$stderr" == *"client.key"* ]]
}

@test "watch --report keeps this node's record fresh past --ttl while it runs" {
    timeout 8 "$NATKIT_BIN/peer-sync" watch --report --control "file://$CTL" --id live --ttl 2 \
        --public-key "$(key)" \
        --listen-port 1 --no-local-candidates </dev/null >/dev/null 2>"$CTL/watch.err" &
    local watcher=$!
    for _ in $(seq 1 50); do [ -e "$CTL/default/nodes/live.json" ] && break; sleep 0.1; done
    sleep 4  # twice the TTL
    run --separate-stderr ps fetch --control "file://$CTL" --id me --ttl 2
    wait "$watcher" || true  # timeout ends it
    cat "$CTL/watch.err"
    [ "$(ids "$output")" = '["live"]' ]
}
