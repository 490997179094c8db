#!/usr/bin/env bats
# The NAT lab checks itself: topology and isolation, idempotent up, the NAT
# behaviour of every router as seen by coturn's turnutils_natdiscovery and by
# Vovida's stun client, hairpin on/off, short UDP timeouts, WireGuard through
# the lab, etcd with one and three members, and a clean down.
# Needs root. Run: bats tests/lab/lab.bats   (about 40 s)

bats_require_minimum_version 1.5.0

NATLAB="$BATS_TEST_DIRNAME/natlab"
CLIENTS=(fc rc pr1 pr2 sym1 sym2 blk open)

root_snapshot() {  # links and routes of the root namespace
  ip -o link show | awk '{print $2}' | sort
  ip route show table all
}

field() {  # node column: column 3 = local address, 4 = public address
  "$NATLAB" nodes | awk -v n="$1" -v c="$2" '$1 == n {print $c}'
}

setup_file() {
  [[ $EUID -eq 0 ]] || skip "the NAT lab needs root"
  "$NATLAB" down 2>/dev/null   # leftovers of an earlier run
  root_snapshot >"$BATS_FILE_TMPDIR/root.before"
  local t0=$SECONDS
  "$NATLAB" up --etcd 1 --wg 2>"$BATS_FILE_TMPDIR/up.err" >"$BATS_FILE_TMPDIR/up.out"
  echo $((SECONDS - t0)) >"$BATS_FILE_TMPDIR/up.seconds"
  # The behaviour checks take a few seconds each (timeouts): run them all at once.
  local n lan
  for n in "${CLIENTS[@]}"; do
    lan=$(field "$n" 3)
    "$NATLAB" exec "$n" timeout 30 turnutils_natdiscovery -m -f -L "$lan" 198.51.100.1 \
      >"$BATS_FILE_TMPDIR/$n.natdiscovery" 2>&1 &
    "$NATLAB" exec "$n" timeout 30 stun 198.51.100.3 >"$BATS_FILE_TMPDIR/$n.stun" 2>&1 &
  done
  wait
}

teardown_file() {
  "$NATLAB" down 2>/dev/null || true
}

# --- topology -------------------------------------------------------------

@test "up prints progress on stderr only, and status says up" {
  [[ ! -s $BATS_FILE_TMPDIR/up.out ]]
  grep -q '^natlab: up:' "$BATS_FILE_TMPDIR/up.err"
  run "$NATLAB" status
  [[ $status -eq 0 ]]
  [[ $output == *"lab: up"* ]]
  grep -Eq '^ +turnserver +pid [0-9]+' <<<"$output"
  grep -Eq '^ +stund +pid [0-9]+' <<<"$output"
  grep -Eq '^ +etcd1 +pid [0-9]+' <<<"$output"
  grep -Eq '^ +wg-open +pid [0-9]+' <<<"$output"
}

@test "nodes: one line per node with role, local and public address" {
  run "$NATLAB" nodes
  [[ $status -eq 0 ]]
  local lines
  lines=$(tr -s ' ' <<<"$output")
  grep -qx 'fc full-cone 10.0.1.2 203.0.113.1' <<<"$lines"
  grep -qx 'rc restricted-cone 10.0.2.2 203.0.113.2' <<<"$lines"
  grep -qx 'pr1 port-restricted 10.0.3.2 203.0.113.3' <<<"$lines"
  grep -qx 'pr2 port-restricted 10.0.4.2 203.0.113.4' <<<"$lines"
  grep -qx 'sym1 symmetric 10.0.5.2 203.0.113.5' <<<"$lines"
  grep -qx 'sym2 symmetric 10.0.6.2 203.0.113.6' <<<"$lines"
  grep -qx 'blk udp-blocked 10.0.7.2 203.0.113.7' <<<"$lines"
  grep -qx 'open open 203.0.113.10 203.0.113.10' <<<"$lines"
  grep -q '^stun stun 198.51.100.1 ' <<<"$lines"
  grep -qx 'etcd1 etcd 198.51.100.21 198.51.100.21' <<<"$lines"
  # every node is a namespace nk-lab-NAME, every router nk-lab-NAME-r
  local n
  for n in "${CLIENTS[@]}" stun wan etcd1; do ip netns list | grep -q "^nk-lab-$n\b"; done
  for n in fc rc pr1 pr2 sym1 sym2 blk; do ip netns list | grep -q "^nk-lab-$n-r\b"; done
}

@test "no link to the root namespace: its links and routes are unchanged" {
  root_snapshot >"$BATS_TEST_TMPDIR/root.after"
  diff "$BATS_FILE_TMPDIR/root.before" "$BATS_TEST_TMPDIR/root.after"
  [[ -z $(ip -o addr show | grep -E '198\.51\.100\.|203\.0\.113\.|10\.99\.0\.' || true) ]]
  # a client reaches the public side only through its router
  run "$NATLAB" exec pr1 ip route show
  [[ $output == *"default via 10.0.3.1 dev eth0"* ]]
}

@test "up again is quick and changes nothing" {
  snapshot() {
    cat /run/natkit-lab/pids/* /run/natkit-lab/keys/*.pub
    local n
    for n in $(ip netns list | awk '/^nk-lab-/ {print $1}' | sort); do
      echo "== $n"
      ip -n "$n" -o addr show | awk '{print $2, $4}'
      ip netns exec "$n" nft -t list ruleset
    done
  }
  snapshot >"$BATS_TEST_TMPDIR/before"
  local t0=$SECONDS
  run --separate-stderr "$NATLAB" up --etcd 1 --wg
  [[ $status -eq 0 && -z $output ]]
  ((SECONDS - t0 <= 3))
  # no step ran: only the summary line
  # shellcheck disable=SC2154  # $stderr is set by run --separate-stderr
  [[ $(grep -vc '^natlab: up:' <<<"$stderr") -eq 0 ]]
  snapshot >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

# --- each router shows the behaviour it claims ------------------------------

natdiscovery() { cat "$BATS_FILE_TMPDIR/$1.natdiscovery"; }
stun_primary() { grep '^Primary:' "$BATS_FILE_TMPDIR/$1.stun"; }

@test "natdiscovery: fc is endpoint-independent mapping + filtering (full cone)" {
  run natdiscovery fc
  [[ $output == *"NAT with Endpoint Independent Mapping!"* ]]
  [[ $output == *"NAT with Endpoint Independent Filtering!"* ]]
  [[ $output == *"UDP reflexive addr: 203.0.113.1:"* ]]
}

@test "natdiscovery: rc is endpoint-independent mapping, address-dependent filtering" {
  run natdiscovery rc
  [[ $output == *"NAT with Endpoint Independent Mapping!"* ]]
  [[ $output == *"NAT with Address Dependent Filtering!"* ]]
}

@test "natdiscovery: pr1 and pr2 are EIM + address-and-port-dependent filtering" {
  local n
  for n in pr1 pr2; do
    run natdiscovery "$n"
    [[ $output == *"NAT with Endpoint Independent Mapping!"* ]]
    [[ $output == *"NAT with Address and Port Dependent Filtering!"* ]]
  done
}

@test "natdiscovery: sym1 and sym2 are address-and-port-dependent mapping (symmetric)" {
  local n
  for n in sym1 sym2; do
    run natdiscovery "$n"
    [[ $output == *"NAT with Address and Port Dependent Mapping!"* ]]
    [[ $output == *"NAT with Address and Port Dependent Filtering!"* ]]
  done
}

@test "natdiscovery: blk gets no answer" {
  run natdiscovery blk
  [[ $output == *"STUN receive timeout"* ]]
  [[ $output != *"reflexive addr"* ]]
  [[ $output != *"NAT with"* && $output != *"No NAT"* ]]
}

@test "natdiscovery: open has no NAT, endpoint-independent and open" {
  run natdiscovery open
  [[ $output == *"No NAT! (Endpoint Independent Mapping)"* ]]
  [[ $output == *"NAT with Endpoint Independent Filtering!"* ]]
  [[ $output == *"UDP reflexive addr: 203.0.113.10:"* ]]
}

@test "Vovida stun (RFC 3489) agrees with every router" {
  [[ $(stun_primary fc) == *"Independent Mapping, Independent Filter, preserves ports, no hairpin"* ]]
  [[ $(stun_primary rc) == *"Independent Mapping, Address Dependent Filter, preserves ports, no hairpin"* ]]
  [[ $(stun_primary pr1) == *"Independent Mapping, Port Dependent Filter, preserves ports, no hairpin"* ]]
  [[ $(stun_primary pr2) == *"Independent Mapping, Port Dependent Filter, preserves ports, no hairpin"* ]]
  [[ $(stun_primary sym1) == *"Dependent Mapping, random port, no hairpin"* ]]
  [[ $(stun_primary sym2) == *"Dependent Mapping, random port, no hairpin"* ]]
  [[ $(stun_primary blk) == *"Blocked or could not reach STUN server"* ]]
  [[ $(stun_primary open) == *"Primary: Open"* ]]
}

# --- hairpin and mapping lifetime ------------------------------------------

# Sends from NODE's LAN port to NODE's own public address:port (cone routers
# keep the port) and prints what came back.
hairpin_probe() {  # node port
  local lan pub
  lan=$(field "$1" 3) pub=$(field "$1" 4)
  # make the mapping first, towards the open host
  "$NATLAB" exec "$1" socat -u - "UDP-DATAGRAM:203.0.113.10:9,bind=$lan:$2" <<<mapping
  "$NATLAB" exec "$1" timeout 5 socat -t1 - "UDP-DATAGRAM:$pub:$2,bind=$lan:$2" <<<hairpin-probe || true
}

@test "hairpin: off by default, on with --hairpin, off again without it" {
  run hairpin_probe pr1 40000
  [[ $output != *hairpin-probe* ]]

  "$NATLAB" up --etcd 1 --wg --hairpin 2>/dev/null
  run hairpin_probe pr1 40001
  [[ $output == *hairpin-probe* ]]
  run hairpin_probe fc 40001
  [[ $output == *hairpin-probe* ]]
  # the symmetric router reflects too (stun finds its random mapping itself)
  run "$NATLAB" exec sym1 stun 198.51.100.3
  [[ $output == *"Dependent Mapping, random port, will hairpin"* ]]

  "$NATLAB" up --etcd 1 --wg 2>/dev/null
  run hairpin_probe pr1 40002
  [[ $output != *hairpin-probe* ]]
}

@test "short timeout: routers' conntrack UDP timeouts, and a mapping expires" {
  local root_timeout
  root_timeout=$(sysctl -n net.netfilter.nf_conntrack_udp_timeout)
  "$NATLAB" up --etcd 1 --wg --short-timeout 2 2>/dev/null
  local r
  for r in fc rc pr1 pr2 sym1 sym2 blk; do
    run "$NATLAB" exec "$r-r" sysctl -n net.netfilter.nf_conntrack_udp_timeout \
      net.netfilter.nf_conntrack_udp_timeout_stream
    [[ $output == $'2\n2' ]]
  done
  # the root namespace keeps its own value
  [[ $(sysctl -n net.netfilter.nf_conntrack_udp_timeout) == "$root_timeout" ]]

  # pr1 opens a mapping to open:42000; open answers at once, and again after 3 s idle
  { echo out; sleep 6; } | "$NATLAB" exec pr1 timeout 7 \
    socat -T 7 - UDP-DATAGRAM:203.0.113.10:42000,bind=10.0.3.2:41000 >"$BATS_TEST_TMPDIR/pr1.got" &
  local client=$!
  sleep 0.5
  "$NATLAB" exec open socat -u - UDP-DATAGRAM:203.0.113.3:41000,bind=203.0.113.10:42000 <<<early
  sleep 3.5
  "$NATLAB" exec open socat -u - UDP-DATAGRAM:203.0.113.3:41000,bind=203.0.113.10:42000 <<<late
  wait "$client" || true
  run cat "$BATS_TEST_TMPDIR/pr1.got"
  [[ $output == *early* ]]
  [[ $output != *late* ]]

  "$NATLAB" up --etcd 1 --wg 2>/dev/null
  run "$NATLAB" exec pr1-r sysctl -n net.netfilter.nf_conntrack_udp_timeout
  [[ $output == 30 ]]
}

# --- WireGuard and etcd ----------------------------------------------------

tunnel_ping() {  # node peer-node peer-overlay-address
  if command -v ping >/dev/null; then
    "$NATLAB" exec "$1" ping -c 2 -W 2 "$3"
  else  # no iputils-ping: a TCP echo through the tunnel
    "$NATLAB" exec "$2" timeout 5 socat TCP-LISTEN:7777,bind="$3",reuseaddr EXEC:cat &
    sleep 0.3
    [[ $("$NATLAB" exec "$1" timeout 4 socat -t2 - "TCP:$3:7777" <<<wg-echo) == wg-echo ]]
    wait
  fi
}

@test "wireguard: each node has its own wg0 and UAPI socket; peers talk through the NATs" {
  local kopen kfc kpr1
  kopen=$("$NATLAB" wg-up open)
  kfc=$("$NATLAB" wg-up fc)
  kpr1=$("$NATLAB" wg-up pr1)
  [[ $kopen != "$kfc" && $kfc != "$kpr1" && ${#kopen} -eq 44 ]]
  # every node sees exactly its own device
  [[ $("$NATLAB" exec fc wg show wg0 public-key) == "$kfc" ]]
  [[ $("$NATLAB" exec pr1 wg show interfaces) == wg0 ]]
  [[ $("$NATLAB" exec pr1 wg show wg0 public-key) == "$kpr1" ]]
  [[ -z $(wg show all public-key 2>/dev/null | grep -F -e "$kfc" -e "$kopen" || true) ]]

  "$NATLAB" exec open wg set wg0 peer "$kfc" allowed-ips 10.99.0.1/32 \
    peer "$kpr1" allowed-ips 10.99.0.3/32
  "$NATLAB" exec fc wg set wg0 peer "$kopen" endpoint 203.0.113.10:51820 allowed-ips 10.99.0.10/32
  "$NATLAB" exec pr1 wg set wg0 peer "$kopen" endpoint 203.0.113.10:51820 allowed-ips 10.99.0.10/32
  tunnel_ping fc open 10.99.0.10
  tunnel_ping pr1 open 10.99.0.10
  tunnel_ping open fc 10.99.0.1
  # open saw both peers at their routers' public addresses
  run "$NATLAB" exec open wg show wg0 endpoints
  [[ $output == *"203.0.113.1:51820"* && $output == *"203.0.113.3:51820"* ]]
}

etcdctl_in() {  # node etcdctl-args...
  local node=$1; shift
  "$NATLAB" exec "$node" env ETCDCTL_API=3 etcdctl --endpoints "$("$NATLAB" etcd-endpoints)" "$@"
}

@test "etcd, one member: put from one client node, get from another" {
  [[ $("$NATLAB" etcd-endpoints) == http://198.51.100.21:2379 ]]
  etcdctl_in pr1 put /natlab/one hello
  run etcdctl_in sym1 get --print-value-only /natlab/one
  [[ $status -eq 0 && $output == hello ]]
}

@test "etcd, three members: still serves after one member is killed" {
  "$NATLAB" up --etcd 3 --wg 2>/dev/null
  [[ $("$NATLAB" etcd-endpoints) == http://198.51.100.21:2379,http://198.51.100.22:2379,http://198.51.100.23:2379 ]]
  etcdctl_in pr1 put /natlab/three before
  local pid
  pid=$("$NATLAB" status | awk '$1 == "etcd1" && $2 == "pid" {print $3}')
  [[ -n $pid ]]
  kill "$pid"
  # etcd shuts down gracefully on SIGTERM (it may first hand over leadership): wait until it is
  # gone (a zombie has no exe link), so the status check below sees what the test did.
  local i
  for ((i = 0; i < 100; i++)); do
    readlink "/proc/$pid/exe" >/dev/null 2>&1 || break
    sleep 0.1
  done
  ! readlink "/proc/$pid/exe" >/dev/null 2>&1
  etcdctl_in pr1 put /natlab/three after
  run etcdctl_in rc get --print-value-only /natlab/three
  [[ $status -eq 0 && $output == after ]]
  run "$NATLAB" status
  [[ $status -eq 1 ]]
  grep -Eq '^ +etcd1 +NOT RUNNING' <<<"$output"
}

# --- down ----------------------------------------------------------------

@test "down leaves no namespace, no daemon it started, the root namespace as it was" {
  local pids
  pids=$(awk '{print $1}' /run/natkit-lab/pids/*)
  [[ -n $pids ]]
  local t0=$SECONDS
  "$NATLAB" down 2>/dev/null
  ((SECONDS - t0 <= 5))
  [[ -z $(ip netns list | grep '^nk-lab-' || true) ]]
  local p
  for p in $pids; do
    if [[ -e /proc/$p/stat ]]; then
      # gone, or a zombie waiting for init to reap it
      [[ $(awk '{print $3}' "/proc/$p/stat") == Z ]]
    fi
  done
  run pgrep -f /run/natkit-lab
  [[ $status -eq 1 ]]
  run "$NATLAB" status
  [[ $status -eq 3 ]]
  root_snapshot >"$BATS_TEST_TMPDIR/root.after"
  diff "$BATS_FILE_TMPDIR/root.before" "$BATS_TEST_TMPDIR/root.after"
  # and down again is fine
  "$NATLAB" down 2>/dev/null
}
