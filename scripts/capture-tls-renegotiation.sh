#!/usr/bin/env bash
# Records pcaps/tls/renegotiation/: TLS 1.2 connections renegotiated by the server between
# two HTTP exchanges, as IIS does when a path asks for a client certificate (Exchange's
# certificate-based authentication). Run as root; re-runnable; NOT run by `make test` (the
# tests replay the committed captures: tests/tls_decrypt.rs).
#
#   resumed.pcap   ECDHE-RSA-AES128-GCM-SHA256; the renegotiation resumes the session
#                  (abbreviated handshake, inside the first keys)
#   full.pcap      ECDHE-RSA-AES256-SHA384 (CBC); no ticket and no server session cache, so
#                  the renegotiation is a full handshake (certificate, key exchange) inside
#                  the first keys
#   rsa.pcap       AES128-GCM-SHA256 (RSA key exchange), full renegotiation: decrypted with
#                  pcaps/tls/server.key alone (the key log is kept as rsa.reference-keylog,
#                  for tshark)
#
# Each connection: GET /owa/auth/logon.aspx (benign) and its answer; the server's "r"
# command (openssl s_server: HelloRequest, then the client's new handshake); then the
# ProxyLogon SSRF probe GET /ecp/y.js with Cookie: X-BEResource=localhost~1942062522 and a
# 500 with X-CalculatedBETarget. openssl s_server answers by hand (its standard input), the
# client is openssl s_client -keylogfile. In a network namespace of its own (exh-tlsreneg),
# on its loopback, MTU 1500, segmentation offload off; certificates of pcaps/tls/ (reused,
# never regenerated).
#
# Needs openssl, tcpdump and iproute2.
set -euo pipefail

cd "$(dirname "$0")/.."
out=pcaps/tls/renegotiation
certs=pcaps/tls
ns=exh-tlsreneg
work=$(mktemp -d)
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
    echo "capture-tls-renegotiation: run as root (tcpdump, network namespaces)" >&2
    exit 1
fi
for tool in openssl tcpdump ip; do
    command -v "$tool" >/dev/null || {
        echo "capture-tls-renegotiation: $tool is missing (apt-get install openssl tcpdump iproute2)" >&2
        exit 1
    }
done

mkdir -p "$out"
ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link set lo mtu 1500
ip -n "$ns" link set lo gso_max_segs 1 2>/dev/null || true

# renegotiated NAME "S_CLIENT OPTIONS" "S_SERVER OPTIONS". Background processes are started
# with `ip netns exec` itself (which execs the command), so that $! is the process to stop.
renegotiated() {
    local name=$1 client_opts=$2 server_opts=$3 d=$work/$1
    mkdir -p "$d"
    : >"$d/tcpdump.err"
    ip netns exec "$ns" tcpdump -Z root --immediate-mode -B 32768 -U -s 0 -i lo -w "$d/$name.pcap" \
        'tcp port 443' 2>"$d/tcpdump.err" &
    local dump=$!
    pids+=("$dump")
    for _ in $(seq 50); do
        grep -q "listening on" "$d/tcpdump.err" && break
        sleep 0.1
    done
    mkfifo "$d/server-in" "$d/client-in"
    # shellcheck disable=SC2086
    ip netns exec "$ns" openssl s_server -accept 443 -cert "$certs/server.pem" -key "$certs/server.key" \
        -ign_eof $server_opts <"$d/server-in" >"$d/server.out" 2>&1 &
    local server=$!
    pids+=("$server")
    exec 3>"$d/server-in"
    sleep 0.5
    # shellcheck disable=SC2086
    ip netns exec "$ns" openssl s_client -connect 127.0.0.1:443 -servername mail.exhound.test \
        -keylogfile "$d/$name.keylog" -ign_eof $client_opts \
        <"$d/client-in" >"$d/client.out" 2>&1 &
    local client=$!
    pids+=("$client")
    exec 4>"$d/client-in"
    sleep 0.5
    printf 'GET /owa/auth/logon.aspx HTTP/1.1\r\nHost: mail.exhound.test\r\n\r\n' >&4
    sleep 0.3
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' >&3
    sleep 0.3
    printf 'r\n' >&3
    sleep 0.5
    printf 'GET /ecp/y.js HTTP/1.1\r\nHost: mail.exhound.test\r\nCookie: X-BEResource=localhost~1942062522\r\n\r\n' >&4
    sleep 0.3
    printf 'HTTP/1.1 500 Internal Server Error\r\nX-CalculatedBETarget: localhost\r\nContent-Length: 2\r\n\r\nno' >&3
    sleep 0.3
    exec 4>&-
    sleep 0.3
    exec 3>&-
    sleep 0.5
    kill "$server" 2>/dev/null || true
    wait "$client" 2>/dev/null || true
    sleep 0.5
    kill "$dump"
    wait "$dump" 2>/dev/null || true
    grep -q "^0 packets dropped by kernel" "$d/tcpdump.err" || {
        echo "capture-tls-renegotiation: $name: tcpdump lost packets" >&2
        cat "$d/tcpdump.err" >&2
        exit 1
    }
    [ "$(grep -c CLIENT_RANDOM "$d/$name.keylog")" -ge 2 ] || {
        echo "capture-tls-renegotiation: $name: no renegotiation (one CLIENT_RANDOM line)" >&2
        exit 1
    }
    install -m 644 "$d/$name.pcap" "$out/$name.pcap"
    install -m 644 "$d/$name.keylog" "$out/$name.keylog"
    echo "capture-tls-renegotiation: $out/$name.pcap: $(grep -o '[0-9]* packets captured' "$d/tcpdump.err")"
}

renegotiated resumed "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256" ""
renegotiated full "-tls1_2 -cipher ECDHE-RSA-AES256-SHA384 -no_ticket" "-no_cache"
renegotiated rsa "-tls1_2 -cipher AES128-GCM-SHA256 -no_ticket" "-no_cache"
mv "$out/rsa.keylog" "$out/rsa.reference-keylog"
