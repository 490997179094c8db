#!/usr/bin/env bats
# punch's command line against a real `punch serve` on the loopback of a private namespace:
# usage and permission errors, bad input (65), an unreachable rendezvous (69), two clients
# punching to each other, and the server's manners: forged packets get no answer, no answer is
# larger than its request, replays are ignored.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
    export NS="nk-cli-punch-$$"
    export WORK="$BATS_FILE_TMPDIR"
    nk_ns_create "$NS"
    head -c 32 /dev/urandom | base64 >"$WORK/secret"
    chmod 600 "$WORK/secret"
    ip netns exec "$NS" "$NATKIT_BIN/punch" serve --secret-file "$WORK/secret" \
        --listen 127.0.0.1:3480 --listen '[::1]:3480' 2>"$WORK/serve.log" &
    echo $! >"$WORK/serve.bgpid"
    nk_wait_udp "$NS" 127.0.0.1 3480
    # Sends DATAGRAM (hex, or "register[:pad]" / "stun[:pad]" built here, signed with the
    # secret) to the server and prints the size of each answer within 0.5 s.
    cat >"$WORK/send.py" <<'PY'
import hmac, hashlib, os, socket, struct, sys, time
secret = open(sys.argv[1], "rb").read().rstrip(b"\n")
what, pad = (sys.argv[2].split(":") + ["0"])[:2]
pad = int(pad)
def punch(kind, body, ts=None, nonce=None):
    ts = int(time.time() * 1000) if ts is None else ts
    nonce = int.from_bytes(os.urandom(8), "big") if nonce is None else nonce
    m = b"N\x01" + bytes([kind, 0]) + b"\x21\x12\xa4\x42" + struct.pack(">QQ", ts, nonce) + body
    m += b"\0" * max(0, pad - 16 - len(m))
    return m + hmac.new(secret, m, hashlib.sha256).digest()[:16]
name = lambda s: bytes([len(s)]) + s
if what == "register":
    packets = [punch(1, name(b"home") + name(b"x") + b"\0")]
elif what == "stale":
    packets = [punch(1, name(b"home") + name(b"x") + b"\0", ts=int(time.time() * 1000) - 60000)]
elif what == "forged":
    p = bytearray(punch(1, name(b"home") + name(b"x") + b"\0")); p[-1] ^= 1; packets = [bytes(p)]
elif what == "replay":
    p = punch(1, name(b"home") + name(b"r") + b"\0"); packets = [p, p]
elif what == "stun":
    body = b"" if pad == 0 else struct.pack(">HH", 0x0026, pad) + b"\0" * pad
    packets = [struct.pack(">HHI", 1, len(body), 0x2112A442) + os.urandom(12) + body]
else:
    packets = [bytes.fromhex(what)]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for p in packets:
    s.sendto(p, ("127.0.0.1", 3480))
    try:
        data = s.recv(4096)
        print(f"sent {len(p)} answer {len(data)}")
    except socket.timeout:
        print(f"sent {len(p)} no-answer")
PY
}

teardown_file() {
    nk_stop_all "$NS" "$WORK"
}

punch() { ip netns exec "$NS" "$NATKIT_BIN/punch" "$@"; }
send() { ip netns exec "$NS" python3 "$WORK/send.py" "$WORK/secret" "$1"; }

peer_set() {  # peer_set ID...
    local first=1 id
    printf '{"kind":"peer-set","network":"home","peers":['
    for id in "$@"; do
        [ $first -eq 1 ] || printf ','
        first=0
        printf '{"id":"%s","public_key":"%s","allowed_ips":["10.66.0.1/32"],"x-extra":1}' \
            "$id" "$(head -c 32 /dev/urandom | base64)"
    done
    printf ']}\n'
}

@test "--version, --help" {
    run punch --version
    [ "$status" -eq 0 ]
    [[ "$output" == "punch (natkit) "* ]]
    run punch --help
    [[ "$output" == *"--secret-file"* ]]
}

@test "usage errors exit 2" {
    run punch --server 127.0.0.1 --secret-file "$WORK/secret" --peer b
    [ "$status" -eq 2 ]
    [[ "$output" == *"--id"* ]]
    run punch serve
    [ "$status" -eq 2 ]
    [[ "$output" == *"--secret-file"* ]]
    run punch dance --secret-file "$WORK/secret"
    [ "$status" -eq 2 ]
    run punch --id a --peer b --secret-file "$WORK/secret"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--server"* ]]
}

@test "a secret file others can read is refused (77) unless --insecure-permissions" {
    cp "$WORK/secret" "$WORK/open-secret"
    chmod 644 "$WORK/open-secret"
    run punch --server 127.0.0.1 --id a --peer b --secret-file "$WORK/open-secret"
    [ "$status" -eq 77 ]
    [[ "$output" == *"chmod 600"* ]]
    run punch --server 127.0.0.1 --id a --peer nobody --window 300 --insecure-permissions \
        --secret-file "$WORK/open-secret"
    [ "$status" -eq 0 ]
    [[ "$output" == *'"outcome":"unreachable"'* ]]
}

@test "bad input exits 65 naming the line, before anything is sent" {
    run punch --server 192.0.2.99 --id a --secret-file "$WORK/secret" <<<'{"kind":"peer-set"'
    [ "$status" -eq 65 ]
    run punch --server 192.0.2.99 --id a --secret-file "$WORK/secret" \
        <<<$'{"kind":"x"}\n{"kind":"peer-set","network":"home","peers":[{"id":"b"}]}'
    [ "$status" -eq 65 ]
    [[ "$output" == *":2:"* ]]
}

@test "--nat-report: a missing file is a usage error, a file without a nat.report is bad input" {
    run punch --server 127.0.0.1 --id a --peer b --secret-file "$WORK/secret" --nat-report "$WORK/none"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--nat-report"*"No such file"* ]]
    echo '{"kind":"stun.binding"}' >"$WORK/no-report"
    run punch --server 127.0.0.1 --id a --peer b --secret-file "$WORK/secret" --nat-report "$WORK/no-report"
    [ "$status" -eq 65 ]
    [[ "$output" == *"no nat.report"* ]]
    echo '{"kind":"nat.report","mapping":"sideways"}' >"$WORK/bad-report"
    run punch --server 127.0.0.1 --id a --peer b --secret-file "$WORK/secret" --nat-report "$WORK/bad-report"
    [ "$status" -eq 65 ]
    [[ "$output" == *":1: field 'mapping'"* ]]
    run punch --server 127.0.0.1 --id a --secret-file "$WORK/secret" \
        <<<$'{"kind":"nat.report","mapping":5}\n{"kind":"peer-set","network":"home","peers":[]}'
    [ "$status" -eq 65 ]
    [[ "$output" == *"stdin:1: field 'mapping'"* ]]
}

@test "stun-probe gets its public endpoint from punch serve (one host serves both roles)" {
    run --separate-stderr ip netns exec "$NS" "$NATKIT_BIN/stun-probe" -p 41020 127.0.0.1:3480
    [ "$status" -eq 0 ]
    [[ "$output" == *'"mapped":"127.0.0.1:41020"'* ]]
    run --separate-stderr ip netns exec "$NS" "$NATKIT_BIN/stun-probe" -p 41020 '[::1]:3480'
    [ "$status" -eq 0 ]
    [[ "$output" == *'"mapped":"[::1]:41020"'* ]]
}

@test "an unreachable rendezvous exits 69" {
    run punch --server 192.0.2.99 --id a --peer b --secret-file "$WORK/secret" --register-timeout 400
    [ "$status" -eq 69 ]
    [[ "$output" == *"did not answer"* ]]
    run punch --server 127.0.0.1:3999 --id a --peer b --secret-file "$WORK/secret" --register-timeout 400
    [ "$status" -eq 69 ]
}

@test "a wrong secret is the same as no server: 69" {
    head -c 32 /dev/urandom | base64 >"$WORK/wrong"
    chmod 600 "$WORK/wrong"
    run punch --server 127.0.0.1 --id a --peer b --secret-file "$WORK/wrong" --register-timeout 400
    [ "$status" -eq 69 ]
}

@test "two clients punch to each other; the peer-set comes back with endpoint and path" {
    peer_set a b >"$WORK/set-a"
    punch --server 127.0.0.1 --id b --network home --peer a --secret-file "$WORK/secret" -p 41002 \
        >"$WORK/b.out" 2>/dev/null &
    local b=$!
    run --separate-stderr punch --server 127.0.0.1 --id a --secret-file "$WORK/secret" -p 41001 \
        --results <"$WORK/set-a"
    wait "$b"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[0]}" == *'"kind":"punch.result","peer":"b","local":"127.0.0.1:41001","remote":"127.0.0.1:41002","outcome":"direct"'* ]]
    [[ "${lines[1]}" == *'"kind":"peer-set"'* ]]
    [[ "${lines[1]}" == *'"id":"b"'*'"endpoint":"127.0.0.1:41002"'*'"path":"direct"'* ]]
    [[ "${lines[1]}" == *'"x-extra":1'* ]]
    grep -q '"peer":"a","local":"127.0.0.1:41002","remote":"127.0.0.1:41001"' "$WORK/b.out"
}

@test "a peer that never registers is unreachable: an outcome, not an error" {
    run --separate-stderr punch --server 127.0.0.1 --id a --secret-file "$WORK/secret" \
        --window 500 < <(peer_set a ghost)
    [ "$status" -eq 0 ]
    [[ "$output" == *'"id":"ghost"'*'"path":"unreachable"'* ]]
}

@test "the server answers a signed register, not a forged, stale or replayed one" {
    run send register:256
    [[ "$output" == "sent 256 answer "* ]]
    run send forged:256
    [ "$output" = "sent 256 no-answer" ]
    run send stale:256
    [ "$output" = "sent 256 no-answer" ]
    run send replay:256
    [[ "${lines[0]}" == "sent 256 answer "* ]]
    [ "${lines[1]}" = "sent 256 no-answer" ]
    run send 00ff00ff2112a442deadbeef
    [ "$output" = "sent 12 no-answer" ]
}

@test "no punch answer is larger than its request; STUN gets the minimal answer" {
    local line sent got
    for what in register register:64 stun:16 stun:64; do
        run send "$what"
        line=$output
        sent=$(awk '{print $2}' <<<"$line")
        got=$(awk '{print $4}' <<<"$line")
        [[ "$got" == "" ]] && continue
        [ "$got" -le "$sent" ] || { echo "$what: $line"; false; }
    done
    run send stun:16
    [[ "$output" == "sent 40 answer 32" ]]
    run send stun
    [ "$output" = "sent 20 answer 32" ]
    run send stun:8
    [ "$output" = "sent 32 answer 32" ]
}

@test "--follow stays registered and answers introductions; one-shot peers punch to it" {
    punch --server 127.0.0.1 --id f --follow --secret-file "$WORK/secret" -p 41010 \
        >"$WORK/f.out" 2>/dev/null &
    local f=$!
    sleep 0.3
    run --separate-stderr punch --server 127.0.0.1 --id c1 --peer f --secret-file "$WORK/secret" -p 41011
    [ "$status" -eq 0 ]
    [[ "$output" == *'"remote":"127.0.0.1:41010","outcome":"direct"'* ]]
    run --separate-stderr punch --server 127.0.0.1 --id c2 --peer f --secret-file "$WORK/secret" -p 41012
    [[ "$output" == *'"outcome":"direct"'* ]]
    sleep 0.2
    kill "$f"
    wait "$f" || true
    grep -q '"peer":"c1","local":"127.0.0.1:41010","remote":"127.0.0.1:41011"' "$WORK/f.out"
    grep -q '"peer":"c2"' "$WORK/f.out"
}

@test "--follow reads peer-sets as they come, writes each back with what answered, ends with its input" {
    mkfifo "$WORK/in"
    punch --server 127.0.0.1 --id f --network home --follow --secret-file "$WORK/secret" \
        -p 41030 <"$WORK/in" >"$WORK/ff.out" 2>"$WORK/ff.err" &
    local f=$! w i
    exec {w}>"$WORK/in"
    sleep 0.3
    punch --server 127.0.0.1 --id c1 --network home --peer f --secret-file "$WORK/secret" \
        -p 41031 >"$WORK/c1.out" 2>/dev/null &
    local c=$!
    peer_set f c1 >&"$w"
    wait "$c"
    for i in $(seq 1 50); do
        grep -q '"kind":"peer-set"' "$WORK/ff.out" && break
        sleep 0.1
    done
    cat "$WORK/ff.out" "$WORK/ff.err"
    grep '"kind":"peer-set"' "$WORK/ff.out" |
        grep -q '"id":"c1".*"endpoint":"127.0.0.1:41031".*"path":"direct"'
    grep -q '"kind":"punch.result","peer":"c1"' "$WORK/ff.out"
    # Records of other kinds pass through; the end of the input ends the follower.
    echo '{"kind":"other","x":1}' >&"$w"
    exec {w}>&-
    for i in $(seq 1 50); do
        kill -0 "$f" 2>/dev/null || break
        sleep 0.1
    done
    ! kill -0 "$f" 2>/dev/null || { kill "$f"; false; }
    wait "$f"
    grep -q '"kind":"other","x":1' "$WORK/ff.out"
}

@test "--follow: bad input on stdin exits 65 naming the line" {
    run punch --server 127.0.0.1 --id f --follow --secret-file "$WORK/secret" -p 41032 \
        <<<$'{"kind":"x"}\n{"kind":"peer-set","network":"default","peers":[{"id":"b"}]}'
    [ "$status" -eq 65 ]
    [[ "$output" == *"stdin:2: field 'peers[0]"* ]]
}
