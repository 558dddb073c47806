//! Output: EVE JSON records in Suricata's format (`anchors.md` §5).
//!
//! [`eve`] turns a finished HTTP transaction and the facts of its flow into one EVE `http`
//! line. Field names, nesting and types follow Suricata 8's EVE schema, so the lines feed
//! Filebeat, Elastic, Splunk or EveBox unchanged. exhound's own facts go where the schema
//! leaves room (`metadata.flowvars`).

pub mod eve;

pub use eve::{EveWriter, FlowFacts};
