//! Detection: Suricata-syntax rules matched against HTTP transactions, TLS handshakes and TCP
//! payloads.
//!
//! In the pipeline this stage sits between `http` and `output`:
//! `capture → decode → flow → stream → http → detect → output`.
//!
//! - [`rule`]: the rule language (parser, printer, loader, classtypes, variables).
//! - [`engine`]: [`RuleSet`], built once and shared by workers (`Arc<RuleSet>`), with the
//!   inspection entry points; [`Alert`]s come out.
//! - [`buffers`]: the inspection buffers of a transaction side (Suricata semantics).
//! - [`body_use`]: which flows' response bodies a rule may inspect (the others keep only
//!   what an alert's payload shows).
//! - [`content`]: content / pcre / isdataat / bsize inspection with relative matching and
//!   backtracking.
//! - [`profile`]: what each rule and prefilter costs, measured only when asked
//!   (`exhound bench`).
//! - [`state`]: flowbits (per flow); xbits and alert-rate counters (shared by every flow,
//!   settled in capture order); caps and counters.
//!
//! # Using it
//!
//! ```no_run
//! use std::sync::Arc;
//! use exhound::detect::{DetectConfig, FlowDetectState, RuleSet, WorkerDetectState};
//! use exhound::detect::rule::LoadOptions;
//!
//! let rules = Arc::new(RuleSet::load(
//!     &[std::path::Path::new("signatures")],
//!     &LoadOptions::default(),
//!     DetectConfig::default(),
//! ).unwrap());
//! // Per worker:
//! let mut worker = WorkerDetectState::new();
//! // Per flow (kept in the flow entry):
//! let mut flow_state = FlowDetectState::new();
//! // For each finished transaction:
//! // rules.inspect_http(&flow_meta, &tx, &mut flow_state, &mut worker, now, &mut alerts);
//! // For each packet of a TCP flow (with the stream bytes it made available, if any):
//! // rules.inspect_payload(&flow_meta, dir, payload, Some(stream_bytes), ...);
//! ```
//!
//! Which rules go where: a rule with any HTTP buffer (sticky, legacy modifier, pcre letter,
//! `urilen`) or protocol `http` inspects transactions; its plain `content`s then inspect the
//! transaction side's head and body as sent. A rule with a TLS buffer (`tls.sni`,
//! `tls.cert_*`, `tls.certs`, `ja3*`, `ja4.hash`), `tls.version`, `app-layer-protocol:tls` or
//! protocol `tls` inspects each TLS handshake once ([`RuleSet::inspect_tls`]); plain
//! `content`s in such a rule find nothing (the handshake has no payload buffer). Other
//! `tcp`/`ip` rules inspect payloads.
//! `dns`/`udp` rules load but never match (exhound parses neither).

pub mod body_use;
pub mod buffers;
mod compile;
mod confirm;
pub mod content;
pub mod engine;
mod merged;
mod probe;
pub mod profile;
pub mod rule;
pub mod state;

pub use buffers::TxSide;
pub use compile::RuleInfo;
pub use engine::{
    settle_in_order, Alert, AlertDirection, DetectError, FlowMeta, RuleSet, RuleSummary,
};
pub use state::{
    CrossFlow, CrossFlowState, DetectConfig, DetectStats, FlowDetectState, WorkerDetectState,
};
