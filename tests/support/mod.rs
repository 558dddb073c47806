//! Support code shared by the end-to-end tests and `examples/gen_pcaps.rs`: a capture-file
//! writer ([`pcap`]), frame builders ([`frame`]), a TCP conversation builder ([`conv`]), the
//! synthetic scenarios of `pcaps/` ([`scenarios`]), the Exchange attack, benign and near-miss
//! conversations ([`exchange_scenarios`]) and their captures in `pcaps/exchange/`
//! ([`exchange_pcaps`]), helpers to run the `exhound` binary and read its EVE output
//! ([`run`]), and the one rule for missing prerequisites ([`prereq`]: skip, or fail under
//! `CI=true`).
//!
//! Every test crate includes this module and uses a different part of it.
#![allow(dead_code)]

pub mod conv;
pub mod evasions;
pub mod exchange_pcaps;
pub mod exchange_scenarios;
pub mod floods;
pub mod frame;
pub mod netns;
pub mod pcap;
pub mod prereq;
pub mod run;
pub mod scenarios;
