#!/usr/bin/env python3
"""JA4 (TCP) of every ClientHello in a capture, computed from tshark's dissection.

An implementation of FoxIO's JA4 definition (technical_details/JA4.md) that shares nothing
with exhound's: tshark parses the hellos, this script builds the fingerprint. tests/tls.rs
compares exhound's `ja4` with its output. Usage: ja4.py FILE [tshark -d options...]
Prints one JA4 per ClientHello, in capture order.
"""
import hashlib
import subprocess
import sys

GREASE = {0x0A0A + 0x1010 * i for i in range(16)}
VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
            0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}
FIELDS = ["tls.handshake.version", "tls.handshake.ciphersuite", "tls.handshake.extension.type",
          "tls.handshake.sig_hash_alg", "tls.handshake.extensions_alpn_str",
          "tls.handshake.extensions.supported_version"]


def numbers(text):
    return [int(v, 0) for v in text.split(",") if v]


def truncated_sha256(text):
    if not text:
        return "000000000000"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def ja4(version, ciphers, extensions, sig_algs, alpns, supported):
    ciphers = [c for c in ciphers if c not in GREASE]
    extensions = [e for e in extensions if e not in GREASE]
    sig_algs = [s for s in sig_algs if s not in GREASE]
    supported = [v for v in supported if v not in GREASE]
    v = VERSIONS.get(max(supported) if supported else version, "00")
    sni = "d" if 0 in extensions else "i"
    first = alpns[0] if alpns else ""
    if not first:
        alpn = "00"
    elif first[0].isalnum() and first[-1].isalnum() and first.isascii():
        alpn = first[0] + first[-1]
    else:
        h = first.encode().hex()
        alpn = h[0] + h[-1]
    a = "t%s%s%02d%02d%s" % (v, sni, min(len(ciphers), 99), min(len(extensions), 99), alpn)
    b = truncated_sha256(",".join("%04x" % c for c in sorted(ciphers)))
    exts = ",".join("%04x" % e for e in sorted(e for e in extensions if e not in (0, 16)))
    if exts and sig_algs:
        exts += "_" + ",".join("%04x" % s for s in sig_algs)
    c = truncated_sha256(exts)
    return "%s_%s_%s" % (a, b, c)


def main():
    cmd = ["tshark", "-r", sys.argv[1], *sys.argv[2:], "-Y", "tls.handshake.type == 1",
           "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        version, ciphers, exts, sigs, alpns, supported = line.split("|")
        print(ja4(int(version, 0), numbers(ciphers), numbers(exts), numbers(sigs),
                  [a for a in alpns.split(",") if a], numbers(supported)))


if __name__ == "__main__":
    main()
