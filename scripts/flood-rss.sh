#!/usr/bin/env bash
# Peak memory of exhound per flood shape (README "Bounded memory").
#
#   scripts/flood-rss.sh [DIR] [-- EXHOUND-FLAGS...]
#
# Replays every capture written by `cargo run --release --example gen_floods -- DIR`
# (generated first when DIR has none) with the release binary, and prints per flood: peak
# resident memory (GNU time's %M), wall time, whether the ProxyLogon request sent after the
# flood was reported (sid 4210001), and what the sensor evicted or dropped on the way.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/exhound-floods}
shift || true
[ "${1:-}" = "--" ] && shift
flags=("$@")
cargo build --release --quiet --bin exhound --example gen_floods
if ! ls "$dir"/*.pcap >/dev/null 2>&1; then
    ./target/release/examples/gen_floods "$dir"
fi
printf '| %-26s | %9s | %8s | %-8s | %s |\n' flood "peak RSS" time "attack" "shed by the sensor"
printf '|%s|%s|%s|%s|%s|\n' "----------------------------" "-----------:" "---------:" "----------" "---"
for f in "$dir"/*.pcap; do
    out=$(mktemp)
    err=$(mktemp)
    /usr/bin/time -f '%M %e' -o "$out.time" ./target/release/exhound replay "${flags[@]}" "$f" >"$out" 2>"$err" || true
    read -r rss secs <"$out.time"
    if grep -q '"signature_id":4210001' "$out"; then attack=reported; else attack=MISSED; fi
    shed=$(grep -E 'flows  |TCP limits|fragments |HTTP limits|memory  ' "$err" | sed 's/^ *//' | tr -s ' ' | paste -sd ';' -)
    printf '| %-26s | %6d MiB | %6.2f s | %-8s | %s |\n' "$(basename "$f")" $((rss / 1024)) "$secs" "$attack" "$shed"
    rm -f "$out" "$out.time" "$err"
done
