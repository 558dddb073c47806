//! The report as JSON: the [`Report`] serialised as it is, pretty-printed, keys in the
//! order of the structs. The schema is `docs/report.schema.json` (JSON Schema draft
//! 2020-12; `tests/report.rs` validates the output against it), and [`SCHEMA`] holds it.

use super::Report;

/// `docs/report.schema.json`.
pub const SCHEMA: &str = include_str!("../../docs/report.schema.json");

/// The report as pretty-printed JSON, ending with a newline.
pub fn render(report: &Report) -> String {
    // The report is plain strings, numbers and lists: it always serialises.
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}
