#!/usr/bin/env bash
# Records pcaps/tls/decrypt/: real TLS stacks carrying Exchange attacks and benign requests,
# each capture with the key log its client wrote, for exhound's TLS decryption (issue 10 §3;
# tests/tls_decrypt.rs). Run as root; re-runnable; NOT run by `make test` (the tests replay
# the committed captures).
#
# Every case runs in a network namespace of its own (exh-tlsdec) on its loopback, MTU 1500,
# segmentation offload off (gso_max_segs 1), as scripts/capture-tls.sh does; the server
# listens on 127.0.0.1:443 with the certificates of pcaps/tls/ (server.pem, signed by
# ca.pem, name mail.exhound.test; made by capture-tls.sh, reused here, never regenerated:
# tests read them). tcpdump records `tcp port 443` (plain.pcap: port 80), full snap length.
#
# Servers: scripts/fake-exchange.py (Python ssl, `--keylog` = SSLContext.keylog_filename,
# version and TLS 1.2 cipher list per case), or examples/tls_peer.rs (a rustls 0.23 server,
# aws-lc-rs provider) in front of fake-exchange.py on 127.0.0.1:8080 (not captured).
# Clients: curl (SSLKEYLOGFILE), openssl s_client -keylogfile, Python ssl
# (keylog_filename), the rustls client of examples/tls_peer.rs (SSLKEYLOGFILE, KeyLogFile).
# The committed `.keylog` is the client's.
#
# Two request sets, each on one keep-alive connection, the last request with
# `Connection: close`:
#   raw   the same bytes from every client that can send raw bytes (s_client, Python,
#         rustls): GET /owa/auth/logon.aspx (benign), GET /ecp/y.js with
#         `Cookie: X-BEResource=localhost~1942062522` (ProxyLogon SSRF), the ProxyShell
#         autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com,
#         a 20,000-byte JSON POST to /owa/service.svc (benign; spans TLS records), and a
#         web-shell POST exec_code=… to /owa/auth/qwzxa.aspx
#   curl  the same five requests written by curl (`--next`, its own headers)
# plain.pcap holds both sets in plain HTTP (port 80), so tests can compare the alerts.
#
# Needs openssl, curl, python3, tcpdump, tshark, editcap, iproute2 and cargo (builds
# examples/tls_peer.rs).
set -euo pipefail

cd "$(dirname "$0")/.."
tls=pcaps/tls
out=$tls/decrypt
ns=exh-tlsdec
HOST=mail.exhound.test
work=$(mktemp -d)
pids=()

cleanup() {
    local status=$?
    if [ "$status" -ne 0 ]; then
        for log in "$work"/client.log "$work"/server.log; do
            [ -s "$log" ] && { echo "--- $log" >&2; tail -20 "$log" >&2; }
        done
    fi
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
    echo "capture-tls-decrypt: run as root (tcpdump, network namespaces)" >&2
    exit 1
fi
for tool in openssl curl python3 tcpdump tshark editcap ip cargo; do
    command -v "$tool" >/dev/null || {
        echo "capture-tls-decrypt: $tool is missing (apt-get install openssl curl python3 tcpdump tshark iproute2; cargo: rustup)" >&2
        exit 1
    }
done
for f in server.pem server.key ca.pem; do
    [ -f "$tls/$f" ] || { echo "capture-tls-decrypt: $tls/$f is missing (scripts/capture-tls.sh makes it)" >&2; exit 1; }
done

cargo build --quiet --example tls_peer
peer=$PWD/target/debug/examples/tls_peer
mkdir -p "$out"
rm -f "$out"/*.pcap "$out"/*.keylog "$out"/*.reference-keylog
cat "$tls/server.pem" "$tls/ca.pem" >"$work/chain.pem"

ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link set lo mtu 1500 gso_max_segs 1
# In the namespace. Background processes are started with `ip netns exec` itself (which
# execs the command), so that $! is the process to stop.
inns() { ip netns exec "$ns" "$@"; }

# Waits until something listens on 127.0.0.1:$1 in the namespace.
wait_listen() {
    for _ in $(seq 100); do
        inns bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "capture-tls-decrypt: nothing listens on port $1" >&2
    exit 1
}

# --- the requests ------------------------------------------------------------------------
UA='Mozilla/5.0 (Windows NT 10.0; Win64; x64) exhound-capture'
SHELL_BODY='exec_code=Response.Write(new%20ActiveXObject(%22WScript.Shell%22).exec(%22cmd%20%2Fc%20whoami%22).stdout.readall())'
python3 - "$work" <<'PY'
import sys
big = '{"__type":"CreateItemJsonRequest:#Exchange","Body":{"Items":[{"Subject":"Q3 report","Body":"' \
    + "".join(chr(ord("a") + i % 26) for i in range(19_900)) + '"}]}}'
open(sys.argv[1] + "/big.json", "w").write(big)
PY
req() {  # req FILE METHOD TARGET [HEADER…] [-- BODY]
    local file=$1 method=$2 target=$3 body="" h
    shift 3
    local headers=("Host: $HOST" "User-Agent: $UA" "Accept: */*")
    while [ $# -gt 0 ]; do
        if [ "$1" = "--" ]; then body=$2; break; fi
        headers+=("$1")
        shift
    done
    {
        printf '%s %s HTTP/1.1\r\n' "$method" "$target"
        for h in "${headers[@]}"; do printf '%s\r\n' "$h"; done
        [ "$method" = GET ] || printf 'Content-Length: %d\r\n' "${#body}"
        printf '\r\n%s' "$body"
    } >"$work/$file"
}
req r1.http GET '/owa/auth/logon.aspx?url=https%3a%2f%2fmail.exhound.test%2fowa%2f&reason=0'
req r2.http GET /ecp/y.js 'Cookie: X-BEResource=localhost~1942062522'
req r3.http GET '/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com'
req r4.http POST '/owa/service.svc?action=CreateItem&app=Mail' \
    'Content-Type: application/json; charset=utf-8' -- "$(cat "$work/big.json")"
req r5.http POST /owa/auth/qwzxa.aspx 'Content-Type: application/x-www-form-urlencoded' \
    'Connection: close' -- "$SHELL_BODY"
RAW=("$work"/r{1,2,3,4,5}.http)
cat "${RAW[@]}" >"$work/raw.http"

# The Python client: the raw requests one after the other on one connection, each answer
# read before the next request. python-client.py HOST PORT TLS(0|1) KEYLOG MIN MAX CIPHERS FILE…
cat >"$work/python-client.py" <<'PY'
import http.client, socket, ssl, sys
host, port, use_tls, keylog, vmin, vmax, ciphers, *files = sys.argv[1:]
versions = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
            "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
sock = socket.create_connection(("127.0.0.1", int(port)))
if use_tls == "1":
    ctx = ssl.create_default_context(cafile=sys.argv[0].rsplit("/", 1)[0] + "/ca.pem")
    ctx.keylog_filename = keylog
    if vmin != "-":
        ctx.minimum_version = versions[vmin]
    if vmax != "-":
        ctx.maximum_version = versions[vmax]
    if ciphers != "-":
        ctx.set_ciphers(ciphers)
    sock = ctx.wrap_socket(sock, server_hostname=host)
for f in files:
    sock.sendall(open(f, "rb").read())
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    resp.read()
    print(f"python-client: {f} -> {resp.status}", file=sys.stderr)
if use_tls == "1":
    try:
        sock.unwrap()  # close_notify; the server closes without one (Connection: close)
    except (ssl.SSLError, OSError):
        pass
sock.close()
PY
cp "$tls/ca.pem" "$work/ca.pem"

# --- servers -----------------------------------------------------------------------------
server=""
# python_server KEYLOG MIN MAX CIPHERS: fake-exchange.py on :443 only.
python_server() {
    local opts=(--port 0 --tls-port 443 --cert "$work/chain.pem" --key "$tls/server.key"
        --keylog "$1")
    [ "$2" = - ] || opts+=(--tls-min "$2")
    [ "$3" = - ] || opts+=(--tls-max "$3")
    [ "$4" = - ] || opts+=(--ciphers "$4")
    ip netns exec "$ns" python3 scripts/fake-exchange.py 127.0.0.1 "${opts[@]}" \
        2>>"$work/server.log" &
    server=$!
    pids+=("$server")
    wait_listen 443
}
# rustls_server VERSION SUITE: tls_peer in front of fake-exchange.py on :8080.
rustls_server() {
    ip netns exec "$ns" python3 scripts/fake-exchange.py 127.0.0.1 --port 8080 \
        2>>"$work/server.log" &
    backend=$!
    pids+=("$backend")
    wait_listen 8080
    ip netns exec "$ns" env SSLKEYLOGFILE="$work/server.keylog" \
        "$peer" server 127.0.0.1:443 127.0.0.1:8080 \
        --cert "$work/chain.pem" --key "$tls/server.key" --version "$1" --suite "$2" \
        2>>"$work/server.log" &
    server=$!
    pids+=("$server")
    wait_listen 443
}
stop_servers() {
    local pid
    for pid in "$server" ${backend:-}; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    server=""
    backend=""
}

# --- clients -----------------------------------------------------------------------------
CO=(-sS -o /dev/null --max-time 10 --http1.1 --cacert "$tls/ca.pem"
    --resolve "$HOST:443:127.0.0.1" --resolve "$HOST:80:127.0.0.1" -A "$UA" -H 'Expect:')
# curl_set SCHEME [CURL TLS OPTIONS…]: the curl request set on one connection.
curl_set() {
    local base=$1://$HOST
    shift
    local o=("${CO[@]}" "$@")
    inns curl "${o[@]}" "$base/owa/auth/logon.aspx?url=https%3a%2f%2fmail.exhound.test%2fowa%2f&reason=0" \
        --next "${o[@]}" -b 'X-BEResource=localhost~1942062522' "$base/ecp/y.js" \
        --next "${o[@]}" "$base/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com" \
        --next "${o[@]}" -H 'Content-Type: application/json; charset=utf-8' \
            --data-binary @"$work/big.json" "$base/owa/service.svc?action=CreateItem&app=Mail" \
        --next "${o[@]}" -H 'Connection: close' --data-binary "$SHELL_BODY" \
            "$base/owa/auth/qwzxa.aspx"
}
# s_client KEYLOG [S_CLIENT OPTIONS…]: the raw requests in one write (the server reads them
# one after the other); the server closes after the last answer (Connection: close).
s_client() {
    local keylog=$1
    shift
    local status=0
    inns openssl s_client -quiet -connect 127.0.0.1:443 -servername "$HOST" \
        -CAfile "$tls/ca.pem" -verify_return_error -keylogfile "$keylog" "$@" \
        <"$work/raw.http" >/dev/null 2>"$work/s_client.err" || status=$?
    cat "$work/s_client.err" >>"$work/client.log"
    # fake-exchange.py closes without close_notify: s_client calls that an error.
    [ "$status" -eq 0 ] || grep -q 'unexpected eof while reading' "$work/s_client.err"
}
# python_client KEYLOG MIN MAX CIPHERS
python_client() {
    inns python3 "$work/python-client.py" "$HOST" 443 1 "$@" "${RAW[@]}" 2>>"$work/client.log"
}
# rustls_client [TLS_PEER OPTIONS…]
rustls_client() {
    inns env SSLKEYLOGFILE="$1" "$peer" client 127.0.0.1:443 "$HOST" --ca "$tls/ca.pem" "${@:2}" \
        "${RAW[@]}" 2>>"$work/client.log"
}

# --- recording ---------------------------------------------------------------------------
# record NAME PORT COMMAND…: tcpdump on the namespace's loopback while COMMAND runs.
record() {
    local name=$1 port=$2 i
    shift 2
    : >"$work/tcpdump.err"
    # A 32 MiB buffer: with --immediate-mode and the default one, tcpdump loses most segments
    # of a burst on loopback ("packets dropped by kernel").
    ip netns exec "$ns" tcpdump -Z root --immediate-mode -B 32768 -U -s 0 -i lo \
        -w "$work/$name.pcap" \
        "tcp port $port" 2>"$work/tcpdump.err" &
    local dump=$!
    pids+=("$dump")
    for i in $(seq 50); do
        grep -q "listening on" "$work/tcpdump.err" && break
        [ "$i" -lt 50 ] || { echo "capture-tls-decrypt: tcpdump did not start" >&2; exit 1; }
        sleep 0.1
    done
    "$@"
    sleep 1
    kill "$dump"
    wait "$dump" 2>/dev/null || true
    install -m 644 "$work/$name.pcap" "$out/$name.pcap"
    echo "capture-tls-decrypt: $out/$name.pcap: $(grep -o '[0-9]* packets captured' "$work/tcpdump.err")"
    if ! grep -q '^0 packets dropped by kernel' "$work/tcpdump.err"; then
        echo "capture-tls-decrypt: tcpdump lost packets:" >&2
        cat "$work/tcpdump.err" >&2
        exit 1
    fi
}

# case NAME SERVER… -- CLIENT…: one capture, the client's key log in NAME.keylog.
case_() {
    local name=$1
    shift
    local srv=()
    while [ "$1" != -- ]; do srv+=("$1"); shift; done
    shift
    local keylog=$work/$name.keylog
    rm -f "$keylog"
    if [ "${srv[0]}" = python ]; then
        python_server "$work/$name.server-keylog" "${srv[@]:1}"
    else
        rustls_server "${srv[@]:1}"
    fi
    record "$name" 443 "$@"
    stop_servers
    [ -s "$keylog" ] || { echo "capture-tls-decrypt: $name: the client wrote no key log" >&2; exit 1; }
    install -m 644 "$keylog" "$out/$name.keylog"
}
# Clients as case_ calls them: the key log path first.
curl_tls() {
    export SSLKEYLOGFILE=$work/$name.keylog
    curl_set https "$@"
    unset SSLKEYLOGFILE
}
s_client_tls() { s_client "$work/$name.keylog" "$@"; }
python_tls() { python_client "$work/$name.keylog" "$@"; }
rustls_tls() { rustls_client "$work/$name.keylog" "$@"; }

# TLS 1.3 (Python's ssl cannot restrict TLS 1.3 suites: the client chooses).
name=tls13-aes128-gcm-sha256
case_ $name rustls 1.3 TLS13_AES_128_GCM_SHA256 -- \
    rustls_tls --version 1.3 --suite TLS13_AES_128_GCM_SHA256
name=tls13-aes256-gcm-sha384
case_ $name python 1.3 1.3 - -- curl_tls --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384
name=tls13-chacha20-poly1305-sha256
case_ $name python 1.3 1.3 - -- s_client_tls -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256
# KeyUpdate (update_requested: both directions change keys) before requests 3 and 5.
name=tls13-keyupdate
case_ $name rustls 1.3 TLS13_AES_256_GCM_SHA384 -- \
    rustls_tls --version 1.3 --suite TLS13_AES_256_GCM_SHA384 --key-update-before 3,5

# TLS 1.2, AEAD.
name=tls12-ecdhe-rsa-aes128-gcm-sha256
case_ $name python 1.2 1.2 ECDHE-RSA-AES128-GCM-SHA256 -- \
    curl_tls --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256
name=tls12-ecdhe-rsa-aes256-gcm-sha384
case_ $name python 1.2 1.2 ECDHE-RSA-AES256-GCM-SHA384 -- \
    python_tls 1.2 1.2 ECDHE-RSA-AES256-GCM-SHA384
name=tls12-ecdhe-rsa-chacha20-poly1305
case_ $name rustls 1.2 TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 -- \
    rustls_tls --version 1.2 --suite TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
name=tls12-rustls-aes256-gcm-sha384
case_ $name rustls 1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 -- \
    rustls_tls --version 1.2 --suite TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384

# TLS 1.2, CBC: encrypt-then-MAC (OpenSSL's default), then MAC-then-encrypt (-no_etm).
name=tls12-ecdhe-rsa-aes128-sha-etm
case_ $name python 1.2 1.2 ECDHE-RSA-AES128-SHA -- \
    s_client_tls -tls1_2 -cipher ECDHE-RSA-AES128-SHA
name=tls12-aes128-sha256-noetm
case_ $name python 1.2 1.2 AES128-SHA256 -- s_client_tls -tls1_2 -cipher AES128-SHA256 -no_etm
name=tls12-ecdhe-rsa-aes256-sha384-noetm
case_ $name python 1.2 1.2 ECDHE-RSA-AES256-SHA384 -- \
    s_client_tls -tls1_2 -cipher ECDHE-RSA-AES256-SHA384 -no_etm

# TLS 1.0 (encrypt-then-MAC) and 1.1 (-no_etm), CBC with SHA-1: OpenSSL 3.0 allows them only
# at security level 0.
name=tls10-ecdhe-rsa-aes128-sha-etm
case_ $name python 1.0 1.0 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0' -- \
    s_client_tls -tls1 -cipher 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0'
name=tls11-ecdhe-rsa-aes256-sha-noetm
case_ $name python 1.1 1.1 'ECDHE-RSA-AES256-SHA:@SECLEVEL=0' -- \
    s_client_tls -tls1_1 -cipher 'ECDHE-RSA-AES256-SHA:@SECLEVEL=0' -no_etm

# RSA key exchange, decrypted with pcaps/tls/server.key; four connections in one capture:
#   1. a full handshake without tickets (-no_ticket): the server gives a session ID;
#   2. a session-ID resumption of 1 (-no_ticket: the client offers only the session ID);
#   3. a full handshake with a ticket (OpenSSL's server then gives no session ID);
#   4. a ticket resumption of 3.
# (OpenSSL's server never gives a session ID and a ticket in the same handshake, and s_client
# does not save the session of a resumed handshake, hence two full handshakes.)
# The key log is kept as NAME.reference-keylog: tests decrypt these with the RSA key; the key
# log only lets tshark check the RSA-key view.
rsa_resumption() {
    local keylog=$work/$name.keylog
    s_client "$keylog" -tls1_2 -cipher "$cipher" -no_ticket -sess_out "$work/sess-id.pem"
    s_client "$keylog" -tls1_2 -cipher "$cipher" -no_ticket -sess_in "$work/sess-id.pem"
    s_client "$keylog" -tls1_2 -cipher "$cipher" -sess_out "$work/sess-ticket.pem"
    s_client "$keylog" -tls1_2 -cipher "$cipher" -sess_in "$work/sess-ticket.pem"
}
for cipher in AES128-GCM-SHA256 AES256-SHA256; do
    name=tls12-rsa-$(echo "$cipher" | tr 'A-Z' 'a-z')-resumption
    case_ "$name" python 1.2 1.2 "$cipher" -- rsa_resumption
    mv "$out/$name.keylog" "$out/$name.reference-keylog"
done

# Plain HTTP: both request sets against fake-exchange.py on :80.
ip netns exec "$ns" python3 scripts/fake-exchange.py 127.0.0.1 --port 80 2>>"$work/server.log" &
server=$!
pids+=("$server")
wait_listen 80
plain() {
    inns python3 "$work/python-client.py" "$HOST" 80 0 - - - - "${RAW[@]}" 2>>"$work/client.log"
    curl_set http
}
record plain 80 plain
stop_servers

# A connection split over two capture files: tls13-aes128-gcm-sha256.pcap cut before the
# segment that carries the third request (the ProxyShell one), so each half holds requests.
src=$out/tls13-aes128-gcm-sha256.pcap
cut=$(tshark -r "$src" -o "tls.keylog_file:$out/tls13-aes128-gcm-sha256.keylog" -2 \
    -Y http.request -T fields -e frame.number | sed -n 3p)
total=$(tshark -r "$src" -T fields -e frame.number | tail -1)
editcap -r "$src" "$out/split-1.pcap" "1-$((cut - 1))"
editcap -r "$src" "$out/split-2.pcap" "$cut-$total"
echo "capture-tls-decrypt: $out/split-1.pcap (frames 1-$((cut - 1))), $out/split-2.pcap ($cut-$total)"

# What each capture holds, as tshark decrypts it.
for f in "$out"/*.pcap; do
    base=${f%.pcap}
    keylog=$base.keylog
    [ -f "$keylog" ] || keylog=$base.reference-keylog
    [ -f "$keylog" ] || keylog=$out/tls13-aes128-gcm-sha256.keylog
    echo "== $f: $(tshark -r "$f" -o "tls.keylog_file:$keylog" -2 -Y http.request \
        -T fields -e http.request.method | tr '\n' ' ')"
done
