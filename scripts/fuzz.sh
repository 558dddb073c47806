#!/usr/bin/env bash
# Runs exhound's fuzz targets (fuzz/README.md) for a bounded time each, one after the other,
# one process each (the machine is shared):
#
#   scripts/fuzz.sh SECONDS [TARGET...]     (default: every target)
#
# For each target: build it, replay every file of fuzz/regressions/TARGET/ (inputs that once
# crashed it: they must not any more), then fuzz for SECONDS seconds from fuzz/corpus/TARGET/
# (`make fuzz-seeds` fills it; new inputs are added there). A crash stops the script with
# status 1 and the input in fuzz/artifacts/TARGET/ (minimise it with
# `cargo fuzz tmin -s none TARGET FILE`).
#
# cargo-fuzz runs on stable Rust with `-s none`: no sanitizer (AddressSanitizer needs nightly's
# -Zsanitizer), but the targets are built with debug assertions and overflow checks, and
# libFuzzer catches panics, hangs (-timeout) and memory blow-ups (-rss_limit_mb). exhound has
# no unsafe code, so a sanitizer would add little. FUZZ_SANITIZER=address asks for
# AddressSanitizer anyway, through RUSTC_BOOTSTRAP=1 (stable acting as nightly; about 4 times
# slower; built in fuzz/target/address). Without cargo-fuzz the script fails under CI=true
# and skips with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(pcap_reader decode reassembly http tls rules pipeline sensor)
seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

if ! cargo fuzz --version >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
        echo "fuzz: cargo-fuzz is not installed (scripts/install-deps.sh installs it)" >&2
        exit 1
    fi
    echo "fuzz: cargo-fuzz is not installed: skipping the fuzz targets (make deps installs it)" >&2
    exit 0
fi

# libFuzzer dictionary of each target (fuzz/dict/), if it has one.
dict() {
    case "$1" in
        http | pipeline | sensor) echo fuzz/dict/http.dict ;;
        rules) echo fuzz/dict/rules.dict ;;
    esac
}

# Longest input each target is given (the seeds of fuzz_seeds fit).
max_len() {
    case "$1" in
        pcap_reader) echo 65536 ;;
        rules) echo 4096 ;;
        *) echo 16384 ;;
    esac
}

sanitizer=${FUZZ_SANITIZER:-none}
base=(-s "$sanitizer")
if [ "$sanitizer" != none ]; then
    export RUSTC_BOOTSTRAP=1
    base+=(--target-dir "fuzz/target/$sanitizer")
fi

for t in "${targets[@]}"; do
    flags=("${base[@]}")
    [ "$t" = pcap_reader ] && flags+=(--features pcap)
    mkdir -p "fuzz/corpus/$t"
    echo "fuzz: $t: build" >&2
    cargo fuzz build "${flags[@]}" "$t"
    shopt -s nullglob
    regressions=("fuzz/regressions/$t"/*)
    shopt -u nullglob
    if [ ${#regressions[@]} -gt 0 ]; then
        echo "fuzz: $t: replaying ${#regressions[@]} regression input(s)" >&2
        cargo fuzz run "${flags[@]}" "$t" "${regressions[@]}" -- -runs=1 >/dev/null 2>"fuzz/$t.log" ||
            { cat "fuzz/$t.log" >&2; echo "fuzz: $t: a regression input fails again" >&2; exit 1; }
    fi
    echo "fuzz: $t: ${seconds}s" >&2
    options=(-max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1)
    [ -z "$(dict "$t")" ] || options+=(-dict="$(dict "$t")")
    if ! cargo fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" -- "${options[@]}" 2>"fuzz/$t.log"; then
        tail -n 60 "fuzz/$t.log" >&2
        echo "fuzz: $t: CRASH, input saved in fuzz/artifacts/$t/ (log: fuzz/$t.log)" >&2
        exit 1
    fi
    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units)' "fuzz/$t.log" | sed "s/^/fuzz: $t: /" >&2 || true
done
rm -f fuzz/*.log
