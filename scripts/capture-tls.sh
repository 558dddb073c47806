#!/usr/bin/env bash
# Records the TLS captures of pcaps/tls/ with real TLS stacks (run as root; re-runnable):
#
#   tls13.pcap               curl → openssl s_server on port 443, TLS 1.3 (TLS_AES_256_GCM_SHA384)
#   tls12-ecdhe-8443.pcap    curl → openssl s_server on port 8443, TLS 1.2,
#                            ECDHE-RSA-AES128-GCM-SHA256
#   tls12-rsa-port80.pcap    curl → openssl s_server on port 80 (a TLS server on the HTTP port),
#                            TLS 1.2 with RSA key exchange (AES256-SHA256); the server sends
#                            records of at most 512 bytes (-max_send_frag 512), so its
#                            Certificate message spans several records
#   tls12-truncated.pcap     the first packets of tls12-ecdhe-8443.pcap, up to the server's
#                            first data segment: the handshake ends in the middle of the
#                            Certificate message
#
# Every capture is made in a network namespace of its own (exh-tls) on its loopback, MTU 1500
# and segmentation offload off (gso_max_segs 1),
# so the server's flight is cut into MSS-sized segments as on a wire. curl asks for
# https://mail.exhound.test/ (SNI mail.exhound.test); s_server -www answers with its status
# page. The certificates are made here: a CA "C=US, O=Exhound Test, CN=Exhound Test CA" signs
# the server's "C=US, O=Exhound Test, CN=mail.exhound.test" with serial 0x5C19B7A1E2; the
# server sends both. They (and the test-only private keys, for the decryption work of issue
# 10) are written to pcaps/tls/ beside the captures; tests/tls.rs reads the expected values
# from them with openssl, so change both together.
#
# Needs openssl, curl, tcpdump, editcap (Wireshark's) and iproute2.
set -euo pipefail

cd "$(dirname "$0")/.."
out=pcaps/tls
mkdir -p "$out"
work=$(mktemp -d)
ns=exh-tls
pids=()

cleanup() {
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

if [ "$(id -u)" -ne 0 ]; then
    echo "capture-tls: run as root (tcpdump, network namespaces)" >&2
    exit 1
fi
for tool in openssl curl tcpdump editcap ip; do
    command -v "$tool" >/dev/null || { echo "capture-tls: $tool is missing (make deps)" >&2; exit 1; }
done

# Certificates.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$out/ca.key" -out "$out/ca.pem" \
    -days 3650 -subj "/C=US/O=Exhound Test/CN=Exhound Test CA" -set_serial 0x0A11CE 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$out/server.key" -out "$work/server.csr" \
    -subj "/C=US/O=Exhound Test/CN=mail.exhound.test" 2>/dev/null
printf 'subjectAltName=DNS:mail.exhound.test\n' >"$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -set_serial 0x5C19B7A1E2 -days 3650 -sha256 -extfile "$work/san.ext" \
    -out "$out/server.pem" 2>/dev/null

ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link set lo mtu 1500 gso_max_segs 1
inns() { ip netns exec "$ns" "$@"; }

# Waits until something listens on 127.0.0.1:$1 in the namespace.
wait_listen() {
    for _ in $(seq 100); do
        inns bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "capture-tls: nothing listens on port $1" >&2
    exit 1
}

# capture FILE PORT "S_SERVER OPTIONS" "CURL OPTIONS"
capture() {
    local file=$1 port=$2 server_opts=$3 curl_opts=$4
    # shellcheck disable=SC2086
    inns openssl s_server -quiet -www -accept "$port" -cert "$out/server.pem" \
        -key "$out/server.key" -cert_chain "$out/ca.pem" $server_opts >/dev/null 2>&1 &
    local server=$!
    pids+=("$server")
    wait_listen "$port"
    inns tcpdump -i lo -U -s 0 -w "$work/$file" "tcp port $port" 2>/dev/null &
    local dump=$!
    pids+=("$dump")
    sleep 1
    # shellcheck disable=SC2086
    inns curl -s -o /dev/null --cacert "$out/ca.pem" \
        --resolve "mail.exhound.test:$port:127.0.0.1" $curl_opts \
        "https://mail.exhound.test:$port/"
    sleep 1
    kill "$dump" "$server"
    wait "$dump" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    cp "$work/$file" "$out/$file"
    echo "capture-tls: $out/$file"
}

capture tls13.pcap 443 "-tls1_3" "--tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384"
capture tls12-ecdhe-8443.pcap 8443 "-tls1_2" \
    "--tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256"
capture tls12-rsa-port80.pcap 80 "-tls1_2 -max_send_frag 512" \
    "--tlsv1.2 --tls-max 1.2 --ciphers AES256-SHA256"

# The truncated handshake: everything up to the server's first data segment.
first_server_data=$(tshark -r "$out/tls12-ecdhe-8443.pcap" -Y 'tcp.srcport == 8443 && tcp.len > 0' \
    -T fields -e frame.number | head -1)
editcap -r "$out/tls12-ecdhe-8443.pcap" "$out/tls12-truncated.pcap" "1-$first_server_data"
echo "capture-tls: $out/tls12-truncated.pcap"
