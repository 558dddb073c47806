//! Writes every synthetic capture of `pcaps/` and `pcaps/README.md`.
//!
//! `cargo run --example gen_pcaps` (or `make pcaps`). The output is deterministic: fixed
//! timestamps from 2021-03-03T10:00:00Z, fixed documentation addresses, so regenerating
//! changes nothing unless the scenarios in `tests/support/scenarios.rs` or
//! `tests/support/exchange_scenarios.rs` changed (`tests/replay.rs` and `tests/exchange.rs`
//! check that the committed files match). The Exchange captures go to `pcaps/exchange/`
//! (stale `.pcap` files there are removed), the evasion matrix's to `pcaps/evasion/`
//! (`tests/support/evasions.rs`, checked by `tests/evasions.rs`). The real captures
//! (`real-*.pcap`) come from `scripts/capture-real.sh`; the README's section on
//! `pcaps/real-clients/` (recorded by `scripts/capture-clients.sh`) is kept as it is.

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::path::Path;

const README_HEAD: &str = "\
# Test captures

Synthetic captures are written by `cargo run --example gen_pcaps` (scenarios in
`tests/support/scenarios.rs`, pcap writer and frame builders in `tests/support/`): frame *i*
of each file is stamped 2021-03-03T10:00:00Z + *i* ms (ns-resolution files: + 999 ns),
clients are 192.0.2.10, servers 198.51.100.5 (IPv6: 2001:db8::10 → 2001:db8::5), Host
`mail.lab`, User-Agent `curl/7.88.1`, unless said otherwise. Real captures come from
`sudo scripts/capture-real.sh`. `tests/replay.rs` states what exhound must report for each
file; `tests/tshark.rs` compares exhound's requests with tshark's.

| file | contents, how it was made |
|---|---|
";

const README_TAIL: &str = "
## Overlap policies

The two overlap captures hold one request whose URL depends on which bytes win where two
TCP segments overlap with different bytes (`--stream-policy`):

| file | windows (default) | bsd | linux | first | last |
|---|---|---|---|---|---|
| tcp-overlap-before.pcap (new segment starts before the held one) | /owa/auth/new.js | /owa/auth/new.js | /owa/auth/new.js | /owa/auth/old.js | /owa/auth/new.js |
| tcp-overlap-after.pcap (new segment starts after the held one) | /owa/auth/old.js | /owa/auth/old.js | /owa/auth/old.js | /owa/auth/old.js | /owa/auth/new.js |

tshark 4.0 reports the same URLs as the `windows` policy for both files.
";

const EXCHANGE_HEAD: &str = "
## Exchange attacks, benign traffic and near misses (`exchange/`)

One capture per scenario of `tests/support/exchange_scenarios.rs` (built by
`tests/support/exchange_pcaps.rs`): one TCP connection from the client to the Exchange
server 198.51.100.20 on the given port (decrypted HTTP/1.1, keep-alive), every exchange of
the scenario in order. Attackers are 203.0.113.x, benign and near-miss clients 192.0.2.x
(from .100), each scenario its own address; Host is whatever the requests say. Transport:
*plain* = MSS 1460, each response after its request; *tiny segments* = requests in 1–8 byte
segments; *pipelined* = all requests back to back, then all responses; *overlap* = each
request sent as overlapping segments with different bytes, read as the true request under
exhound's default `--stream-policy windows` (and bsd, linux) and as a harmless
`GET|POST /owa/auth/logon.aspx?replaceCurrent=1&x=aaa…` decoy under `first` and `last`;
*IPv4 fragments* = each request segment split into 2–3 fragments sent out of order;
*forged resets* = before each request, RSTs whose sequence numbers the server would not take
(RFC 5961), which must not end inspection. sids are
the bundled signatures (`signatures/`) that must fire with `exhound replay FILE`, exactly;
CVEs are the labels those alerts carry (the union of their rules' `metadata: cve`), exactly
(`signatures/README.md`, \"How labels are chosen\"); `tests/exchange.rs` checks both.
`make demo` replays `exchange/chain-proxylogon-testanull-keepalive.pcap`.

| file | kind | client → server port | transport | sids | CVEs | contents |
|---|---|---|---|---|---|---|
";

const EVASION_HEAD: &str = "
## Evasions (`evasion/`)

The captures of the README's evasion matrix (\"Evasions the server does not fall for\"), built
by `tests/support/evasions.rs`: each hides the ProxyLogon SSRF request of
`tests/support/evasions.rs` (client 203.0.113.66, server 198.51.100.20:443) behind one
trick, and `tests/evasions.rs` checks that exhound raises on it exactly the alerts of the
request sent plainly (plus the trick's own anomaly alert, where there is one).

| file | the trick | what the Windows server does |
|---|---|---|
";

/// The heading of the README section that `scripts/capture-clients.sh` captures are
/// described in, kept from the existing README.
const REAL_CLIENTS_HEAD: &str = "\n## Real clients against a fake Exchange";

const REAL: &[(&str, &str)] = &[
    (
        "real-loopback.pcap",
        "real traffic, `scripts/capture-real.sh`: tcpdump on lo while curl talks to a Python HTTP server on 127.0.0.1:18080 (GET /index.html, keep-alive GET /a + GET /b, POST /upload with a 3000-byte body)",
    ),
    (
        "real-veth.pcap",
        "real traffic, `scripts/capture-real.sh`: two network namespaces joined by a veth pair (10.250.0.1 client, 10.250.0.2 server, MTU 1500), tcpdump in the server namespace, curl POST /ews/upload with a 20000-byte body (MSS-sized segments), then keep-alive GET /owa/one + GET /owa/two",
    ),
];

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps");
    std::fs::create_dir_all(&dir)?;
    let mut readme = README_HEAD.to_string();
    let mut rows = Vec::new();
    for s in support::scenarios::all() {
        let bytes = s.bytes();
        std::fs::write(dir.join(s.file), &bytes)?;
        println!("{:>8} bytes  pcaps/{}", bytes.len(), s.file);
        rows.push((s.file.to_string(), format!("synthetic: {}", s.about)));
    }
    for (file, about) in REAL {
        rows.push((file.to_string(), about.to_string()));
    }
    rows.sort();
    for (file, about) in rows {
        let _ = writeln!(readme, "| {file} | {about} |");
    }
    readme.push_str(README_TAIL);
    readme.push_str(EXCHANGE_HEAD);
    let exchange_dir = dir.join(support::exchange_pcaps::DIR);
    std::fs::create_dir_all(&exchange_dir)?;
    let mut written = Vec::new();
    for cap in support::exchange_pcaps::all() {
        let bytes = cap.bytes();
        std::fs::write(dir.join(&cap.file), &bytes)?;
        println!("{:>8} bytes  pcaps/{}", bytes.len(), cap.file);
        let _ = writeln!(readme, "{}", cap.readme_row());
        written.push(dir.join(&cap.file));
    }
    for entry in std::fs::read_dir(&exchange_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "pcap") && !written.contains(&path) {
            println!("removed stale {}", path.display());
            std::fs::remove_file(path)?;
        }
    }
    readme.push_str(EVASION_HEAD);
    let evasion_dir = dir.join("evasion");
    std::fs::create_dir_all(&evasion_dir)?;
    for c in support::evasions::all() {
        let bytes = support::pcap::write(
            support::pcap::Format::PCAP,
            support::pcap::LinkType::Ethernet,
            &c.frames,
        );
        std::fs::write(evasion_dir.join(c.file), &bytes)?;
        println!("{:>8} bytes  pcaps/evasion/{}", bytes.len(), c.file);
        let _ = writeln!(
            readme,
            "| evasion/{} | {} | {} |",
            c.file, c.trick, c.server
        );
    }
    let old = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    if let Some(at) = old.find(REAL_CLIENTS_HEAD) {
        readme.push_str(&old[at..]);
    }
    std::fs::write(dir.join("README.md"), readme)?;
    Ok(())
}
