//! Output: EVE JSON records in Suricata's format (`anchors.md` §5).
//!
//! [`eve`] turns a finished HTTP transaction, a TLS handshake or an alert, with the facts of
//! its flow, into one EVE `http`, `tls` or `alert` line; [`stats`] turns the sensor's counters into an EVE `stats`
//! line. Field names, nesting and types follow Suricata 8's EVE schema, so the lines feed
//! Filebeat, Elastic, Splunk or EveBox unchanged. exhound's own facts go where the schema
//! leaves room (`metadata.flowvars`, `metadata.flowints`). [`redact`] masks the credentials
//! in what the records carry (on unless `--no-redact`).

pub mod eve;
pub mod redact;
pub mod ship;
pub mod stats;

pub use eve::FlowFacts;
