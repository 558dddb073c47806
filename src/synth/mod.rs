//! Synthetic Exchange traffic: deterministic captures of realistic client traffic with
//! attack flows mixed in, for benchmarks, the README figures and tests (`exhound synth`,
//! `examples/gen_bench_capture.rs`).
//!
//! Each file does one job:
//!
//! * [`rng`]: the seeded random generator everything is drawn from;
//! * [`text`], [`body`]: identifiers, header lines, dates, and bodies of any length;
//! * [`tcp`]: one connection's packets (handshake, segments, ACKs, loss, reordering, close);
//! * [`pcap`]: frames with correct checksums, in a pcap file;
//! * [`merge`]: open connections interleaved in time order, in bounded memory;
//! * [`scenarios`]: the attack (and benign, near-miss) conversations the signatures are
//!   tested on;
//! * [`answer`]: the front end's answers to benign requests;
//! * [`mix`]: the benign clients (browsers, Outlook, phones, admins) and what they send;
//! * [`generate`]: the capture `exhound synth` writes, and its manifest.
//!
//! Output depends only on the arguments: no clock, no hash-map order, no floating point.

pub mod answer;
pub mod body;
pub mod generate;
pub mod merge;
pub mod mix;
pub mod pcap;
pub mod rng;
pub mod scenarios;
pub mod tcp;
pub mod text;

pub use generate::{generate, AttackFlow, Config, Manifest, SynthError};
