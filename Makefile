# exhound: the two commands a fresh Debian machine needs are `make demo` and `make test`.
.PHONY: all deps build demo test lint bench pcaps clean

CARGO ?= cargo
DEMO_PCAP ?= pcaps/exchange/chain-proxylogon-testanull-keepalive.pcap

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release

# Replays a bundled capture and shows what exhound saw.
demo: build
	./target/release/exhound replay --log-http $(DEMO_PCAP)

# Every test: unit tests, end-to-end replays of pcaps/, tshark agreement, EVE schema checks
# (the ../shared ones skip with a message when ../shared is absent), plus fmt and clippy.
test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) test --all-targets
	$(CARGO) bench --no-run

bench: deps
	$(CARGO) bench --bench pipeline --bench sensor

# Regenerates the synthetic captures in pcaps/ (real ones: sudo scripts/capture-real.sh).
pcaps: deps
	$(CARGO) run --release --example gen_pcaps

clean:
	$(CARGO) clean
