//! Writes the flood captures of the memory-budget table (README "Bounded memory"): one pcap
//! per flood shape, each ending with the same ProxyLogon request on a connection of its own,
//! which must still be reported after the flood.
//!
//! ```text
//! cargo run --release --example gen_floods -- OUT_DIR [--scale 1.0]
//! ```
//!
//! Shapes (counts at scale 1): a SYN flood from 1,000,000 sources; 100,000 connections each
//! holding one out-of-order segment behind a hole; 100,000 first IP fragments never
//! completed; 4,000 connections each sending 60 KB of request head that never ends; 2,000
//! gzip responses each inflating to more than the body limit and never finishing; 500
//! chunked request bodies of 50,000 one-byte chunks each; 200 connections each pipelining
//! 2,000 requests no response answers; 1,000 connections each sending a request one byte per
//! segment. Deterministic: fixed addresses and timestamps from 2021-03-03T10:00:00Z.
//! `scripts/flood-rss.sh` replays each and reports exhound's peak memory.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: gen_floods OUT_DIR [--scale F]");
        return std::process::ExitCode::from(2);
    };
    let mut scale = 1.0f64;
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().and_then(|v| v.parse().ok())) {
            ("--scale", Some(s)) => scale = s,
            _ => {
                eprintln!("usage: gen_floods OUT_DIR [--scale F]");
                return std::process::ExitCode::from(2);
            }
        }
    }
    match support::floods::write_all(&dir, scale) {
        Ok(written) => {
            for (path, n) in written {
                eprintln!("{}: {n}", path.display());
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen_floods: {}: {e}", dir.display());
            std::process::ExitCode::from(1)
        }
    }
}
