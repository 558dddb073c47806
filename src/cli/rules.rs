//! Rule loading for the commands, and `exhound rules check` / `exhound rules list`.
//!
//! Without `-S`, the bundled signature set (embedded in the binary) is loaded. Errors name
//! `file:line:col`, the keyword and what is wrong; with `--skip-invalid` the rest loads and
//! the skipped rules are listed on standard error.

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use exhound::detect::rule::loader::{LoadOptions, LoadedRules};
use exhound::detect::rule::reads;
use exhound::detect::rule::SkippedRule;
use exhound::detect::{DetectConfig, RuleSet};

use super::args::{RuleSource, RulesCommand};
use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Loads the rules a command asks for: the `-S` paths, or the bundled set.
fn load_rules(src: &RuleSource, skip_invalid: bool) -> anyhow::Result<(RuleSet, &'static str)> {
    let mut opts = LoadOptions {
        skip_invalid,
        ..LoadOptions::default()
    };
    for assignment in &src.vars {
        opts.vars
            .parse_assignment(assignment)
            .map_err(|e| anyhow::anyhow!("--var {assignment}: {e}"))?;
    }
    let mut loaded = LoadedRules::default();
    let origin = if src.rules.is_empty() {
        for (name, text) in exhound::signatures::rule_files() {
            loaded.add_text(&format!("signatures/{name}"), text, &opts)?;
        }
        "bundled signatures"
    } else {
        for path in &src.rules {
            loaded.add_path(path, &opts)?;
        }
        "rules"
    };
    let set = RuleSet::build(loaded, DetectConfig::default())?;
    Ok((set, origin))
}

fn report_skipped(skipped: &[SkippedRule]) {
    let mut e = io::stderr().lock();
    for s in skipped {
        let _ = writeln!(e, "exhound: skipped rule: {}", s.error);
    }
}

/// Loads the rules for a run of the sensor, reporting skipped ones.
pub fn for_sensor(src: &RuleSource) -> anyhow::Result<Arc<RuleSet>> {
    load_checked(src).map(Arc::new)
}

/// Loads the rules a source names (at start-up, or again on SIGUSR2), reporting skipped
/// ones; an error names file:line:col.
pub fn load_checked(src: &RuleSource) -> anyhow::Result<RuleSet> {
    let (set, _) = load_rules(src, src.skip_invalid).context("loading rules")?;
    if !set.skipped().is_empty() {
        report_skipped(set.skipped());
        eprintln!(
            "exhound: {} rules loaded, {} skipped",
            set.len(),
            set.skipped().len()
        );
    }
    Ok(set)
}

/// Runs `exhound rules …`.
pub fn run(cmd: &RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::Check(src) => check(src),
        RulesCommand::List(src) => list(src),
    }
}

/// Loads every rule, reports every bad one (not only the first), and says how many loaded.
fn check(src: &RuleSource) -> anyhow::Result<ExitCode> {
    let (set, origin) = match load_rules(src, true) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("exhound: {e:#}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    report_skipped(set.skipped());
    println!(
        "{}: {} rules loaded, {} invalid",
        origin,
        set.len(),
        set.skipped().len()
    );
    Ok(ExitCode::from(if set.skipped().is_empty() {
        EXIT_OK
    } else {
        EXIT_BAD_INPUT
    }))
}

/// Prints one line per rule: sid, message, CVEs, buffers, fast pattern, and where each buffer
/// reads (the message component and its decoding, [`reads::describe`]).
fn list(src: &RuleSource) -> anyhow::Result<ExitCode> {
    let (set, _) = load_rules(src, src.skip_invalid)?;
    report_skipped(set.skipped());
    let mut out = io::stdout().lock();
    writeln!(out, "sid\tmsg\tcves\tbuffers\tfast_pattern\treads")?;
    for r in set.summaries() {
        let cves: Vec<&str> = r
            .info
            .metadata
            .iter()
            .filter(|(k, _)| k == "cve")
            .map(|(_, v)| v.as_str())
            .collect();
        let fast = match &r.fast_pattern {
            Some((buffer, bytes)) => format!("{buffer}:{}", quote(bytes)),
            None => "-".to_string(),
        };
        let reads: Vec<String> = r.reads.iter().map(reads::describe).collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            r.info.sid,
            r.info.msg,
            super::join_or_dash(&cves, ","),
            super::join_or_dash(&r.buffers, ","),
            fast,
            super::join_or_dash(&reads, " | "),
        )?;
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// Pattern bytes as Suricata content text: printable ASCII as is, the rest in `|hex|`.
fn quote(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    let mut in_hex = false;
    for &b in bytes {
        let plain = (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b';' | b'\\' | b'|');
        if plain {
            if in_hex {
                s.push('|');
                in_hex = false;
            }
            s.push(char::from(b));
        } else {
            s.push_str(if in_hex { " " } else { "|" });
            in_hex = true;
            s.push_str(&format!("{b:02X}"));
        }
    }
    if in_hex {
        s.push('|');
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_mixes_text_and_hex() {
        assert_eq!(quote(b"X-BEResource="), "\"X-BEResource=\"");
        assert_eq!(quote(b"a;b\x00"), "\"a|3B|b|00|\"");
    }
}
