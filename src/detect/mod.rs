//! Detection: Suricata-syntax rules matched against HTTP transactions and TCP streams.
//!
//! [`rule`] is the rule language (parser, printer, loader).
//!
//! In the pipeline this stage sits between `http` and `output`:
//! `capture → decode → flow → stream → http → detect → output`.

pub mod rule;
