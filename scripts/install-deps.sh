#!/usr/bin/env bash
# Installs the system packages exhound's build and tests need, when they are missing:
#   libpcap-dev  the pcap crate links libpcap
#   tshark       the end-to-end tests compare exhound's HTTP view with Wireshark's
#   tcpdump      scripts/capture-real.sh records real traffic with it
#   openssl      tests/tls.rs reads the test certificate's fields with openssl x509
#                (scripts/capture-tls.sh also runs its s_server)
#   iproute2     network namespaces for the veth captures and the live-capture tests
#   tcpreplay    the live-capture tests replay pcaps/ onto veth pairs with it
#   systemd, logrotate  the tests check dist/'s unit and logrotate snippet with
#                systemd-analyze and logrotate -d
#   rsyslog, rsyslog-gnutls, redis-server, openssl
#                the shipping tests (tests/shipping.rs) start their own rsyslogd (UDP,
#                TCP, and TLS through the gtls driver) and redis-server, with certificates
#                made by openssl
#   chromium     tests/report.rs renders the HTML report in headless Chromium and takes a
#                screenshot
#   cargo-fuzz   (with cargo install) builds and runs the fuzz targets of fuzz/; make test
#                runs each briefly. Under CI=true a failed install is an error; elsewhere
#                the fuzz step is then skipped with a message.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

need=()
dpkg -s libpcap-dev >/dev/null 2>&1 || need+=(libpcap-dev)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v tcpreplay >/dev/null 2>&1 || need+=(tcpreplay)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v logrotate >/dev/null 2>&1 || need+=(logrotate)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v rsyslogd >/dev/null 2>&1 || need+=(rsyslog)
dpkg -s rsyslog-gnutls >/dev/null 2>&1 || need+=(rsyslog-gnutls)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
    echo "install-deps: installing ${need[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "install-deps: cargo not found: install Rust (https://rustup.rs), then run make again" >&2
    exit 1
fi

# cargo-fuzz: a pinned version, built with the dependency versions it was released with
# (about 1.5 minutes on two cores). Any cargo-fuzz already installed is used as it is.
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "install-deps: installing cargo-fuzz $CARGO_FUZZ_VERSION (cargo install)"
    if ! cargo install --quiet --locked --version "$CARGO_FUZZ_VERSION" cargo-fuzz; then
        if [ "${CI:-}" = "true" ]; then
            echo "install-deps: could not install cargo-fuzz" >&2
            exit 1
        fi
        echo "install-deps: could not install cargo-fuzz: the fuzz targets will be skipped" >&2
    fi
fi
