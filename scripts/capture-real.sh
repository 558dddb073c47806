#!/usr/bin/env bash
# Records the real-traffic captures of pcaps/ (run as root; re-runnable):
#
#   pcaps/real-loopback.pcap  tcpdump on lo while curl talks to a small Python HTTP server on
#                             127.0.0.1:18080: GET /index.html; GET /a and GET /b on one
#                             keep-alive connection; POST /upload with a 3000-byte body.
#   pcaps/real-veth.pcap      two network namespaces (exh-a client 10.250.0.1, exh-b server
#                             10.250.0.2) joined by a veth pair, MTU 1500, segmentation
#                             offload off (gso_max_segs 1) so the capture holds MSS-sized
#                             segments as a wire tap would; tcpdump in the server namespace;
#                             curl POSTs a 20000-byte body to /ews/upload, then GET /owa/one
#                             and GET /owa/two on one keep-alive connection.
#
# Needs tcpdump, curl, python3 and iproute2. The namespaces, the veth pair and the helper
# processes are removed on exit, whatever happens. tests/replay.rs knows what these files
# contain, so change both together.
set -euo pipefail

cd "$(dirname "$0")/.."
out=pcaps
mkdir -p "$out"
work=$(mktemp -d)
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    ip netns del exh-a 2>/dev/null || true
    ip netns del exh-b 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
    echo "capture-real: run as root (tcpdump, network namespaces)" >&2
    exit 1
fi
for tool in tcpdump curl python3 ip; do
    command -v "$tool" >/dev/null || { echo "capture-real: $tool is missing (make deps)" >&2; exit 1; }
done

# An HTTP/1.1 server that answers any method and path with a short text body, keeping
# connections alive; request bodies (Content-Length) are read and discarded.
cat >"$work/server.py" <<'PY'
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "exhound-test"
    sys_version = ""

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = ("%s %s\n" % (self.command, self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = answer

    def log_message(self, *args):
        pass

HTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
PY

head -c 3000 /dev/zero | tr '\0' 'L' >"$work/body3k"
head -c 20000 /dev/zero | tr '\0' 'V' >"$work/body20k"

# Waits until something listens on $2:$3 (inside netns $1, or "" for the host).
wait_listen() {
    local ns=$1 host=$2 port=$3 i
    for i in $(seq 50); do
        if ${ns:+ip netns exec "$ns"} python3 -c "import socket; socket.create_connection(('$host', $port), 0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "capture-real: nothing listens on $host:$port" >&2
    return 1
}

# Starts tcpdump in the background ($1: netns or ""), waits until it captures. It runs in
# immediate mode: otherwise packets still in the kernel buffer are lost when it is stopped.
start_tcpdump() {
    local ns=$1
    shift
    ${ns:+ip netns exec "$ns"} tcpdump -Z root --immediate-mode -U -s 0 "$@" 2>"$work/tcpdump.err" &
    pids+=($!)
    local i
    for i in $(seq 50); do
        grep -q "listening on" "$work/tcpdump.err" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "capture-real: tcpdump did not start:" >&2
    cat "$work/tcpdump.err" >&2
    return 1
}

stop_last() {
    sleep 1.5
    local pid=${pids[-1]}
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset 'pids[-1]'
    cat "$work/tcpdump.err" >&2
}

# --- (a) loopback ------------------------------------------------------------------------
port=18080
python3 "$work/server.py" 127.0.0.1 "$port" &
server_pid=$!
pids+=("$server_pid")
wait_listen "" 127.0.0.1 "$port"
start_tcpdump "" -i lo -w "$work/real-loopback.pcap" "tcp port $port"
base="http://127.0.0.1:$port"
curl -sS -o /dev/null "$base/index.html"
curl -sS -o /dev/null -o /dev/null "$base/a" "$base/b"
curl -sS -o /dev/null -H 'Expect:' --data-binary @"$work/body3k" "$base/upload"
stop_last                       # tcpdump
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; unset 'pids[-1]'

# --- (b) veth between two namespaces -----------------------------------------------------
ip netns del exh-a 2>/dev/null || true
ip netns del exh-b 2>/dev/null || true
ip netns add exh-a
ip netns add exh-b
ip link add exh-va netns exh-a type veth peer name exh-vb netns exh-b
for side in a b; do
    ip -n "exh-$side" link set lo up
    ip -n "exh-$side" link set "exh-v$side" mtu 1500 gso_max_segs 1 up
done
ip -n exh-a addr add 10.250.0.1/24 dev exh-va
ip -n exh-b addr add 10.250.0.2/24 dev exh-vb

ip netns exec exh-b python3 "$work/server.py" 10.250.0.2 80 &
pids+=($!)
wait_listen exh-b 10.250.0.2 80
start_tcpdump exh-b -i exh-vb -w "$work/real-veth.pcap" "tcp port 80"
base="http://10.250.0.2"
ip netns exec exh-a curl -sS -o /dev/null -H 'Expect:' --data-binary @"$work/body20k" "$base/ews/upload"
ip netns exec exh-a curl -sS -o /dev/null -o /dev/null "$base/owa/one" "$base/owa/two"
stop_last                       # tcpdump

install -m 644 "$work/real-loopback.pcap" "$work/real-veth.pcap" "$out/"
ls -l "$out"/real-*.pcap
