#!/usr/bin/env bats
# peer-sync against real etcd in the NAT lab, run from nodes behind the lab's NATs: one member
# (report/fetch/sync, lease expiry, watch, allocation under concurrency, auth with roles), then
# three members with one killed during a run. Needs root. A lab that is already up is used as
# it is, with only its etcd changed (and put back afterwards).

bats_require_minimum_version 1.5.0

load common

ETCD1=http://198.51.100.21:2379
# etcd fsyncs every write; on a busy machine a request can take seconds.
export NATKIT_TIMEOUT=15000

# lab_with_etcd N: the lab as it is (or as `up` makes it), with N etcd members.
lab_with_etcd() {
    local config=/run/natkit-lab/config args=(--etcd "$1")
    if [[ -e $BATS_FILE_TMPDIR/lab.reused && -r $config ]]; then
        local routers wg timeout hairpin
        routers=$(sed -n 's/^routers=//p' "$config")
        wg=$(sed -n 's/^wg=//p' "$config")
        timeout=$(sed -n 's/^timeout=//p' "$config")
        hairpin=$(sed -n 's/^hairpin=//p' "$config")
        args+=(--routers "${routers// /,}")
        [[ $wg == 1 ]] && args+=(--wg)
        [[ $timeout != 0 ]] && args+=(--short-timeout "$timeout")
        [[ $hairpin == 1 ]] && args+=(--hairpin)
    fi
    "$NATLAB" up "${args[@]}" 2>/dev/null
}

setup_file() {
    lab_setup
    if [[ -e $BATS_FILE_TMPDIR/lab.reused ]]; then
        sed -n 's/^etcd=//p' /run/natkit-lab/config >"$BATS_FILE_TMPDIR/etcd.before"
    else
        touch "$BATS_FILE_TMPDIR/lab.started"
    fi
    lab_with_etcd 1
}

# Takes down only a lab this file started; someone else's gets its etcd back as it was.
teardown_file() {
    if [[ -e $BATS_FILE_TMPDIR/lab.started ]]; then
        "$NATLAB" down 2>/dev/null || true
    elif [[ -e $BATS_FILE_TMPDIR/etcd.before ]]; then
        lab_with_etcd "$(cat "$BATS_FILE_TMPDIR/etcd.before")"
    fi
}

# on NODE ARGS...: peer-sync inside a lab node.
on() {
    local node=$1
    shift
    "$NATLAB" exec "$node" "$NATKIT_BIN/peer-sync" "$@"
}

key() { wg genkey | wg pubkey; }
ids() { jq -c '[.peers[].id]' <<<"$1"; }
etcdctl_lab() { "$NATLAB" exec pr2 env ETCDCTL_API=3 etcdctl --endpoints "$ETCD1" "$@"; }

# A network name per test, so tests do not see each other's nodes.
net() { echo "t$BATS_TEST_NUMBER-$$"; }

nat_report() {  # public endpoint
    printf '{"kind":"nat.report","public":"%s","mapping":"endpoint-independent","filtering":"address-and-port-dependent","nat_type":"port-restricted-cone"}\n' "$1"
}

@test "etcd, one member: sync from behind two NATs; each sees the other, with its candidates" {
    local n; n=$(net)
    nat_report 203.0.113.3:51820 | on pr1 sync --control "etcd://198.51.100.21:2379" \
        --network "$n" --id pr1 --public-key "$(key)" --listen-port 51820 >/dev/null
    run --separate-stderr bash -c "$(declare -f nat_report); nat_report 203.0.113.2:51820 | \
        '$NATLAB' exec rc '$NATKIT_BIN/peer-sync' sync --control etcd://198.51.100.21:2379 \
        --network $n --id rc --public-key $(key) --listen-port 51820"
    [ "$status" -eq 0 ]
    [ "$(ids "$output")" = '["pr1"]' ]
    [ "$(jq -r '.peers[0].endpoint' <<<"$output")" = 203.0.113.3:51820 ]
    # The LAN address of pr1 (found by getifaddrs inside its namespace) is a candidate too.
    jq -e '.peers[0].candidates | index("10.0.3.2:51820")' <<<"$output"
    run --separate-stderr on pr1 fetch --control "etcd://198.51.100.21:2379" --network "$n" --id pr1
    [ "$(ids "$output")" = '["rc"]' ]
}

@test "etcd: a record lives as long as its lease (--ttl), unless kept alive by watch --report" {
    local n; n=$(net)
    on pr1 report --control "etcd://198.51.100.21:2379" --network "$n" --id gone --ttl 2 \
        --public-key "$(key)" --listen-port 1 </dev/null >/dev/null
    # ip netns exec execs peer-sync itself, so $! is the watcher's PID (natlab exec forks).
    ip netns exec nk-lab-pr2 timeout 120 "$NATKIT_BIN/peer-sync" watch --report --control "etcd://198.51.100.21:2379" --network "$n" --id kept --ttl 2 \
        --public-key "$(key)" --listen-port 1 </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/keep.err" &
    local watcher=$!
    run --separate-stderr on rc fetch --control "etcd://198.51.100.21:2379" --network "$n" --id x
    [[ "$(ids "$output")" == *'"gone"'* ]]
    local seen=""
    for _ in $(seq 1 100); do
        seen=$(on rc fetch --control "etcd://198.51.100.21:2379" --network "$n" --id x | jq -c '[.peers[].id]')
        [ "$seen" = '["kept"]' ] && break
        sleep 0.1
    done
    # Twice the TTL later, the kept record is still there.
    sleep 4
    seen=$(on rc fetch --control "etcd://198.51.100.21:2379" --network "$n" --id x | jq -c '[.peers[].id]')
    kill "$watcher"
    wait "$watcher" || true
    cat "$BATS_TEST_TMPDIR/keep.err"
    [ "$seen" = '["kept"]' ]
}

@test "etcd: watch prints the new set when another node reports" {
    local n; n=$(net)
    "$NATLAB" exec open timeout 30 "$NATKIT_BIN/peer-sync" watch --control "etcd://198.51.100.21:2379" --network "$n" --id w --count 2 \
        >"$BATS_TEST_TMPDIR/watch.out" 2>"$BATS_TEST_TMPDIR/watch.err" &
    local watcher=$!
    for _ in $(seq 1 50); do [ -s "$BATS_TEST_TMPDIR/watch.out" ] && break; sleep 0.1; done
    on pr2 report --control "etcd://198.51.100.21:2379" --network "$n" --id b \
        --public-key "$(key)" --listen-port 1 </dev/null >/dev/null
    wait "$watcher"
    run cat "$BATS_TEST_TMPDIR/watch.out"
    [ "${#lines[@]}" -eq 2 ]
    [ "$(ids "${lines[0]}")" = '[]' ]
    [ "$(ids "${lines[1]}")" = '["b"]' ]
}

@test "etcd: --allocate gives unique addresses under concurrency (a transaction each)" {
    local n i; n=$(net)
    for i in $(seq 1 12); do
        on pr1 report --control "etcd://198.51.100.21:2379" --network "$n" --id "n$i" \
            --public-key "$(key)" --listen-port 1 --allocate 10.77.0.0/24 </dev/null \
            >"$BATS_TEST_TMPDIR/out.$i" &
    done
    wait
    cat "$BATS_TEST_TMPDIR"/out.* | jq -r '.allowed_ips[0]' | sort >"$BATS_TEST_TMPDIR/addresses"
    cat "$BATS_TEST_TMPDIR/addresses"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/addresses")" -eq 12 ]
    [ "$(sort -u "$BATS_TEST_TMPDIR/addresses" | wc -l)" -eq 12 ]
    again=$(on pr1 report --control "etcd://198.51.100.21:2379" --network "$n" --id n5 \
        --public-key "$(key)" --listen-port 1 --allocate 10.77.0.0/24 </dev/null | jq -r '.allowed_ips[0]')
    [ "$again" = "$(jq -r '.allowed_ips[0]' "$BATS_TEST_TMPDIR/out.5")" ]
}

@test "etcd auth: a node may write only its own record and read its network" {
    local n=authnet
    local pw="$BATS_TEST_TMPDIR/pw"
    echo node-a-secret >"$pw"
    chmod 600 "$pw"
    etcdctl_lab user add root --new-user-password=rootpw >/dev/null
    etcdctl_lab user grant-role root root >/dev/null
    etcdctl_lab role add natkit-authnet-read >/dev/null
    etcdctl_lab role grant-permission natkit-authnet-read --prefix=true read /natkit/authnet/ >/dev/null
    etcdctl_lab role add natkit-authnet-node-a >/dev/null
    etcdctl_lab role grant-permission natkit-authnet-node-a readwrite /natkit/authnet/nodes/a >/dev/null
    etcdctl_lab user add node-a --new-user-password=node-a-secret >/dev/null
    etcdctl_lab user grant-role node-a natkit-authnet-read >/dev/null
    etcdctl_lab user grant-role node-a natkit-authnet-node-a >/dev/null
    etcdctl_lab auth enable >/dev/null
    local ok=0
    # Its own record: allowed. Another node's: refused (77). Without credentials: refused.
    on pr1 sync --control "etcd://198.51.100.21:2379" --network "$n" --id a --user node-a \
        --password-file "$pw" --public-key "$(key)" --listen-port 1 </dev/null >/dev/null || ok=1
    run --separate-stderr on pr1 report --control "etcd://198.51.100.21:2379" --network "$n" \
        --id b --user node-a --password-file "$pw" --public-key "$(key)" --listen-port 1 </dev/null
    local other=$status other_err=$stderr
    run --separate-stderr on pr1 fetch --control "etcd://198.51.100.21:2379" --network "$n" --id b
    local anonymous=$status
    run --separate-stderr on open fetch --control "etcd://198.51.100.21:2379" --network "$n" \
        --id b --user node-a --password-file "$pw"
    local fetched=$output
    etcdctl_lab --user root:rootpw auth disable >/dev/null
    echo "own=$ok other=$other ($other_err) anonymous=$anonymous fetched=$fetched"
    [ "$ok" -eq 0 ]
    [ "$other" -eq 77 ]
    [[ "$other_err" == *"permission denied"* ]]
    [ "$anonymous" -eq 77 ]
    [ "$(ids "$fetched")" = '["a"]' ]
}

@test "identity from the WireGuard device: --interface wg0 gives the port and overlay address" {
    [[ $(sed -n 's/^wg=//p' /run/natkit-lab/config) == 1 ]] || skip "the lab runs without --wg"
    local n; n=$(net)
    # wireguard-go's UAPI gives no public key (only the private one), so it is passed here.
    local pub; pub=$("$NATLAB" exec pr1 wg show wg0 public-key)
    run --separate-stderr on pr1 report --control "etcd://198.51.100.21:2379" --network "$n" \
        --id pr1 --interface wg0 --public-key "$pub" </dev/null
    [ "$status" -eq 0 ]
    [ "$(jq -r .listen_port <<<"$output")" = "$("$NATLAB" exec pr1 wg show wg0 listen-port)" ]
    [ "$(jq -c .allowed_ips <<<"$output")" = '["10.99.0.3/32"]' ]
    # The device's own address is not offered as a way to reach it.
    [ "$(jq -c .candidates <<<"$output")" = '["10.0.3.2:51820"]' ]
}

@test "etcd, three members: report, fetch and watch go on when a member is killed mid-run" {
    lab_with_etcd 3
    local all; all=$("$NATLAB" etcd-endpoints)
    local control="etcd://${all//http:\/\//}"
    local n; n=$(net)
    "$NATLAB" exec open timeout 30 "$NATKIT_BIN/peer-sync" watch --control "$control" --network "$n" --id w --count 3 \
        >"$BATS_TEST_TMPDIR/watch.out" 2>"$BATS_TEST_TMPDIR/watch.err" &
    local watcher=$!
    for _ in $(seq 1 50); do [ -s "$BATS_TEST_TMPDIR/watch.out" ] && break; sleep 0.1; done
    on pr1 report --control "$control" --network "$n" --id before --public-key "$(key)" \
        --listen-port 1 </dev/null >/dev/null
    # The watch and the first member listed: kill etcd1.
    local pid
    pid=$("$NATLAB" status | awk '$1 == "etcd1" && $2 == "pid" {print $3}')
    [[ -n $pid ]]
    kill -KILL "$pid"
    on pr2 report --control "$control" --network "$n" --id after --public-key "$(key)" \
        --listen-port 1 </dev/null >/dev/null
    run --separate-stderr on rc fetch --control "$control" --network "$n" --id x
    [ "$status" -eq 0 ]
    [ "$(ids "$output")" = '["after","before"]' ]
    wait "$watcher"
    run cat "$BATS_TEST_TMPDIR/watch.out"
    cat "$BATS_TEST_TMPDIR/watch.err"
    [ "${#lines[@]}" -eq 3 ]
    [ "$(ids "${lines[2]}")" = '["after","before"]' ]
}

@test "etcd: every member unreachable is exit 69 and nothing on stdout" {
    run --separate-stderr on pr1 fetch --control etcd://198.51.100.99:2379,198.51.100.98:2379 \
        --timeout 500
    [ "$status" -eq 69 ]
    [ -z "$output" ]
}
