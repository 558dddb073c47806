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
