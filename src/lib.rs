//! exhound: a passive network sensor for Microsoft Exchange exploitation.
//!
//! The library is the inspection pipeline; each stage is one module and data flows one way:
//!
//! ```text
//! capture → decode → flow → stream → http → detect → output
//!  (pcap)   (L2-L4,  (keys,  (TCP      (HTTP/1.x     (rules)  (EVE JSON)
//!           defrag)  table)  reassembly) transactions)
//!                                  ↘ tls ↗
//!                                 (handshake metadata)
//! ```
//!
//! A connection whose first bytes are a TLS handshake record goes to [`tls`] instead of
//! [`http`], on any port. With evidence captures on, each flow also keeps its recent frames
//! ([`evidence`]); a flow that raised an alert has them written as a pcap when it ends.
//!
//! [`pipeline`] wires the stages together for one worker: it owns a flow table (with the TCP
//! session and HTTP state of each flow), an IP defragmenter and the counters. Packet time
//! ([`time::Timestamp`]), not wall time, drives every timeout, so replaying a capture gives the
//! same answer every time. No stage keeps global mutable state, so several workers can each
//! own a share of the flows: [`sensor`] runs a capture thread, N worker threads and an ordered
//! output, with the same output for any N.
//!
//! Reading files and interfaces needs libpcap (feature `pcap`, on by default); without it the
//! rest of the library builds on its own, for fuzzers and programs that bring their packets.

#![deny(missing_docs)]

pub mod capture;
pub mod decode;
pub mod detect;
pub mod evidence;
pub mod flow;
pub mod http;
mod keyed_hash;
pub mod output;
pub mod pipeline;
pub mod report;
pub mod sensor;
pub mod signatures;
pub mod stream;
pub mod synth;
pub mod time;
pub mod tls;
