//! `exhound synth`: writes a synthetic capture ([`exhound::synth`]) to a file or standard
//! output, optionally its manifest as JSON, and a one-line summary on standard error.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{json, Value};

use exhound::synth::generate::benign_counts;
use exhound::synth::{generate, Config, Manifest};

use super::args::SynthArgs;
use super::EXIT_OK;

/// Runs `exhound synth`.
pub fn run(args: &SynthArgs) -> anyhow::Result<ExitCode> {
    let config = Config {
        size: args.size,
        attacks_per_billion: args.attack_rate,
        seed: args.seed,
    };
    config.check()?;
    let name = args.output.display().to_string();
    let manifest = if args.output == Path::new("-") {
        let out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
        let (manifest, mut out) =
            generate(&config, out).context("writing the capture to standard output")?;
        out.flush()
            .context("writing the capture to standard output")?;
        manifest
    } else {
        let file = File::create(&args.output).with_context(|| format!("creating {name}"))?;
        let out = BufWriter::with_capacity(1 << 20, file);
        let (manifest, mut out) =
            generate(&config, out).with_context(|| format!("writing {name}"))?;
        out.flush().with_context(|| format!("writing {name}"))?;
        manifest
    };
    if let Some(path) = &args.manifest {
        let text = serde_json::to_string_pretty(&manifest_json(&manifest))?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("writing the manifest {}", path.display()))?;
    }
    eprintln!("exhound synth: {name}: {}", summary(&manifest));
    Ok(ExitCode::from(EXIT_OK))
}

/// The one-line summary.
fn summary(m: &Manifest) -> String {
    let benign: Vec<String> = benign_counts(m)
        .into_iter()
        .map(|(k, n, _)| format!("{} {n}", k.name()))
        .collect();
    let forms: Vec<String> = m
        .attacks_by_form()
        .into_iter()
        .map(|(f, n)| format!("{f} {n}"))
        .collect();
    format!(
        "{} flows ({} open at most), {} transactions, {} packets, {} bytes, {}.{:06} s of packet time; benign: {}; attacks: {} ({})",
        m.flows,
        m.max_open,
        m.transactions,
        m.packets,
        m.bytes,
        m.span_us / 1_000_000,
        m.span_us % 1_000_000,
        benign.join(", "),
        m.attacks.len(),
        super::join_or_dash(&forms, ", "),
    )
}

/// The manifest as JSON: counts, and each attack connection with the sids it must raise.
fn manifest_json(m: &Manifest) -> Value {
    let benign: serde_json::Map<String, Value> = benign_counts(m)
        .into_iter()
        .map(|(k, n, bytes)| (k.name().to_string(), json!({"flows": n, "bytes": bytes})))
        .collect();
    let by_form: serde_json::Map<String, Value> = m
        .attacks_by_form()
        .into_iter()
        .map(|(f, n)| (f.to_string(), json!(n)))
        .collect();
    let attacks: Vec<Value> = m
        .attacks
        .iter()
        .map(|a| {
            json!({
                "form": a.form,
                "src_ip": Ipv4Addr::from(a.client.0).to_string(),
                "src_port": a.client.1,
                "dest_ip": Ipv4Addr::from(a.server.0).to_string(),
                "dest_port": a.server.1,
                "expect_sids": a.expect_sids,
                "transactions": a.transactions,
            })
        })
        .collect();
    json!({
        "flows": m.flows,
        "transactions": m.transactions,
        "packets": m.packets,
        "bytes": m.bytes,
        "span_us": m.span_us,
        "max_open": m.max_open,
        "benign": benign,
        "attacks_by_form": by_form,
        "attacks": attacks,
    })
}

/// A size: plain bytes, or a number with a unit (`KB`, `MB`, `GB`, `TB` decimal; `KiB`,
/// `MiB`, `GiB`, `TiB` binary; `B`), case-insensitive, optionally a decimal fraction
/// (`1.5GiB`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_bytes: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit {other:?} (B, KB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    // Integer arithmetic: whole part, then up to 9 fraction digits.
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(format!("not a size: {text:?}"));
    }
    let bad = || format!("not a size: {text:?}");
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    if fraction.len() > 9 || fraction.contains('.') {
        return Err(bad());
    }
    let frac_value: u64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| bad())?
    };
    let frac_scale = 10u64.pow(fraction.len() as u32);
    let frac_bytes = u128::from(frac_value) * u128::from(unit_bytes) / u128::from(frac_scale);
    whole
        .checked_mul(unit_bytes)
        .and_then(|b| b.checked_add(u64::try_from(frac_bytes).ok()?))
        .ok_or_else(|| format!("size too large: {text:?}"))
}

/// An attack rate between 0 and 1, as attacks per billion connections.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let rate: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("not a number: {text:?}"))?;
    if !(0.0..=1.0).contains(&rate) {
        return Err(format!("{text} is not between 0 and 1"));
    }
    let per_billion = (rate * 1e9).round() as u64;
    if rate > 0.0 && per_billion == 0 {
        return Err(format!("{text} is below one per billion"));
    }
    Ok(per_billion)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert_eq!(parse_size("123456"), Ok(123_456));
        assert_eq!(parse_size("1.5 gib"), Ok(3 << 29));
        assert_eq!(parse_size("64k"), Ok(64_000));
        assert!(parse_size("").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("1..5GB").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }

    #[test]
    fn rates_become_parts_per_billion() {
        assert_eq!(parse_rate("1e-4"), Ok(100_000));
        assert_eq!(parse_rate("0"), Ok(0));
        assert_eq!(parse_rate("1"), Ok(1_000_000_000));
        assert_eq!(parse_rate("0.05"), Ok(50_000_000));
        assert!(parse_rate("1.5").is_err());
        assert!(parse_rate("-0.1").is_err());
        assert!(parse_rate("1e-12").is_err());
        assert!(parse_rate("often").is_err());
    }
}
