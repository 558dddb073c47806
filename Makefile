# exhound: the two commands a fresh Debian machine needs are `make demo` and `make test`.
.PHONY: all deps build demo test lint bench pcaps fuzz fuzz-seeds clean

CARGO ?= cargo
DEMO_PCAP ?= pcaps/exchange/chain-proxylogon-testanull-keepalive.pcap
# Seconds each fuzz target runs: in `make fuzz`, and in the short pass of `make test`.
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 10

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release

# Replays a bundled capture and shows what exhound saw.
demo: build
	./target/release/exhound replay --log-http $(DEMO_PCAP)

# Every test: unit tests, end-to-end replays of pcaps/, tshark agreement, EVE schema checks
# (the ../shared ones skip with a message when ../shared is absent), plus fmt and clippy, and
# a short pass of every fuzz target (fuzz/README.md).
test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) test --all-targets
	$(CARGO) bench --no-run
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(MAKE) --no-print-directory fuzz-seeds
	scripts/fuzz.sh $(FUZZ_TEST_SECONDS)

# Every fuzz target for FUZZ_SECONDS seconds each (cargo-fuzz, stable Rust, no sanitizer: see
# fuzz/README.md), from the seeds of fuzz-seeds; `make fuzz FUZZ_TARGETS=http` for one.
fuzz: fuzz-seeds
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Fills fuzz/corpus/<target>/ with seeds from pcaps/ and signatures/ (not committed).
fuzz-seeds: deps
	$(CARGO) run --quiet --example fuzz_seeds -- fuzz/corpus

bench: deps
	$(CARGO) bench --bench pipeline --bench stages --bench sensor --bench shapes

# Regenerates the synthetic captures in pcaps/ (real ones: sudo scripts/capture-real.sh).
pcaps: deps
	$(CARGO) run --release --example gen_pcaps

clean:
	$(CARGO) clean
