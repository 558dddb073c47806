//! `exhound report`: EVE alerts → a report a responder can hand on.
//!
//! [`model`] reads EVE lines (exhound's or Suricata's) and builds the [`Report`]: one chain
//! per attacker → server pair with the stages reached in the attack's order, the web shells
//! written and used, and the campaigns. The writers turn it into a self-contained HTML page
//! ([`html`]), Markdown ([`markdown`]), JSON with a documented schema ([`json`],
//! `docs/report.schema.json`) and indicators for MISP or OpenCTI ([`indicators`]: CSV and a
//! STIX 2.1 bundle). Every writer is a pure function of the report, and the report a pure
//! function of the alerts, so the same EVE gives the same bytes.

pub mod html;
pub mod indicators;
pub mod json;
pub mod markdown;
pub mod model;

use std::path::Path;

pub use model::{Builder, Report};

/// What can go wrong reading EVE for a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The input could not be read.
    #[error("{name}: {source}")]
    Read {
        /// The file (or `standard input`).
        name: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not an EVE record.
    #[error("{name}:{line}: not an EVE record: {reason}")]
    Malformed {
        /// The file.
        name: String,
        /// Its line number (from 1).
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// The formats a report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// A self-contained HTML page.
    Html,
    /// Markdown.
    Markdown,
    /// JSON (`docs/report.schema.json`).
    Json,
    /// Indicators as CSV.
    Csv,
    /// Indicators and observed data as a STIX 2.1 bundle (JSON).
    Stix,
}

impl Format {
    /// The names `--format` takes.
    pub const NAMES: &'static [&'static str] = &["html", "md", "json", "csv", "stix"];

    /// The format a name (`--format`) stands for.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name.to_ascii_lowercase().as_str() {
            "html" | "htm" => Format::Html,
            "md" | "markdown" => Format::Markdown,
            "json" => Format::Json,
            "csv" => Format::Csv,
            "stix" | "stix.json" => Format::Stix,
            _ => return None,
        })
    }

    /// The format a file name asks for by its extension: `.html`/`.htm`, `.md`, `.json`,
    /// `.csv`, `.stix.json` or `.stix`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".stix.json") || name.ends_with(".stix") {
            return Some(Format::Stix);
        }
        let ext = name.rsplit_once('.')?.1;
        Format::from_name(ext)
    }

    /// `report` written in this format.
    pub fn render(self, report: &Report) -> String {
        match self {
            Format::Html => html::render(report),
            Format::Markdown => markdown::render(report),
            Format::Json => json::render(report),
            Format::Csv => indicators::csv(report),
            Format::Stix => indicators::stix(report),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An alert line with arbitrary values where EVE carries strings, numbers or times.
    fn line() -> impl Strategy<Value = String> {
        (
            any::<String>(),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([+-][0-9]{4}|Z)?",
            prop::sample::select(vec!["10.0.0.1", "10.0.0.2", "::1", "2001:db8::7", "x"]),
            prop::sample::select(vec!["ssrf", "file-write", "webshell", "tool", "odd", ""]),
            any::<u64>(),
            any::<bool>(),
            any::<Option<u16>>(),
        )
            .prop_map(|(text, ts, ip, stage, sid, back, status)| {
                serde_json::json!({
                    "timestamp": ts, "event_type": "alert",
                    "src_ip": if back { "10.0.0.9" } else { ip },
                    "dest_ip": if back { ip } else { "10.0.0.9" },
                    "alert": {"signature_id": sid, "signature": text, "severity": sid % 5,
                              "metadata": {"stage": [stage], "tag": ["webshell"],
                                           "outcome": if back { "succeeded" } else { "" }}},
                    "http": {"url": text, "http_user_agent": text, "hostname": text, "status": status},
                    "payload_printable": format!("FilePathName C:\\{text}.aspx {text}"),
                    "direction": if back { "to_client" } else { "to_server" },
                })
                .to_string()
            })
    }

    proptest! {
        /// Whatever the alerts hold, every format is written, without a panic, and the same
        /// alerts in another order give the same bytes.
        #[test]
        fn any_alerts_give_the_same_report_in_every_format(lines in prop::collection::vec(line(), 0..12)) {
            let build = |lines: &[String]| {
                let mut b = Builder::new();
                for l in lines {
                    let _ = b.line(l.as_bytes());
                }
                b.finish()
            };
            let r = build(&lines);
            let mut reversed = lines.clone();
            reversed.reverse();
            let r2 = build(&reversed);
            for f in [Format::Html, Format::Markdown, Format::Json, Format::Csv, Format::Stix] {
                prop_assert_eq!(f.render(&r), f.render(&r2));
            }
        }

        /// Arbitrary bytes are an error or a record, never a panic.
        #[test]
        fn any_bytes_are_handled(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut b = Builder::new();
            let _ = b.line(&bytes);
            let _ = b.read("x", bytes.as_slice());
            let _ = Format::Html.render(&b.finish());
        }
    }
}
