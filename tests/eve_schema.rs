//! Every EVE record exhound writes for the captures in `pcaps/` validates against Suricata's
//! own EVE JSON schema (`../shared/third-party/suricata-eve-schema.json`, Suricata 8.0.6), so
//! it feeds any tool that reads Suricata's output. Skips with a message when `../shared` is
//! absent (a user's clone); under `CI=true` that is a failure (CI lays `../shared` beside the
//! checkout). The `tls` records of `pcaps/tls/`, and alerts carrying `tls`, are checked by
//! `tests/tls.rs`.

#[path = "support/prereq.rs"]
mod prereq;
#[allow(dead_code)]
#[path = "support/run.rs"]
mod run;

use std::path::{Path, PathBuf};
use std::process::Command;

use run::key_logged_pcaps;

/// The schema file, if `../shared` holds it (otherwise the test skips, or fails under CI).
fn schema_file() -> Option<PathBuf> {
    prereq::require_shared("third-party/suricata-eve-schema.json")
}

fn pcaps() -> Vec<(PathBuf, Vec<String>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| {
        matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        )
    });
    out.sort();
    out.into_iter().map(|p| (p, Vec::new())).collect()
}

/// Every capture under `pcaps/` that has its TLS key log beside it, with the flag that
/// decrypts it.
fn decryptable_pcaps() -> Vec<(PathBuf, Vec<String>)> {
    key_logged_pcaps()
        .into_iter()
        .map(|p| {
            let flag = vec![
                "--tls-keylog".to_string(),
                p.with_extension("keylog").display().to_string(),
            ];
            (p, flag)
        })
        .collect()
}

#[test]
fn http_alert_and_stats_records_validate_against_suricata_schema() {
    let Some(schema_file) = schema_file() else {
        return;
    };
    let schema_text = std::fs::read_to_string(schema_file).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut checked = 0;
    let mut alerts = 0;
    let mut stats = 0;
    let mut decrypted = 0;
    let mut runs = pcaps();
    runs.extend(decryptable_pcaps());
    for (pcap, flags) in runs {
        let out = Command::new(env!("CARGO_BIN_EXE_exhound"))
            .args([
                "replay",
                "--log-http",
                "--log-tls",
                "--payload",
                "--log-stats",
                "-q",
            ])
            .args(&flags)
            .arg(&pcap)
            .output()
            .unwrap();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&record)
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            assert!(
                errors.is_empty(),
                "{}: record {line}\nviolates the EVE schema: {errors:?}",
                pcap.display()
            );
            checked += 1;
            alerts += usize::from(record["event_type"] == "alert");
            stats += usize::from(record["event_type"] == "stats");
            decrypted += usize::from(record.get("http").is_some() && record.get("tls").is_some());
        }
    }
    assert!(
        decrypted > 0,
        "no record of a decrypted transaction (with `http` and `tls`) was produced"
    );
    assert!(checked > 0, "no EVE record was produced from pcaps/");
    assert!(alerts > 0, "no alert record was produced from pcaps/");
    assert!(stats > 0, "no stats record was produced from pcaps/");
}

#[test]
fn schema_rejects_a_wrongly_typed_record() {
    // The check above can fail: a record with a string where the schema wants an integer is
    // refused by the same validator.
    let Some(schema_file) = schema_file() else {
        return;
    };
    let schema_text = std::fs::read_to_string(schema_file).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad = serde_json::json!({"timestamp":"2021-03-03T10:00:00.000000+0000","event_type":"http","src_port":"80","http":{"url":"/","status":"200"}});
    assert!(!validator.is_valid(&bad));
    let unknown = serde_json::json!({"timestamp":"2021-03-03T10:00:00.000000+0000","event_type":"http","exhound_extra":1});
    assert!(!validator.is_valid(&unknown));
}

#[test]
fn stats_records_with_shipping_counters_validate() {
    // A shipping output (here to a port nothing listens on) adds its counters to every
    // `stats` record: they too must fit the schema.
    let Some(schema_file) = schema_file() else {
        return;
    };
    let schema_text = std::fs::read_to_string(schema_file).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pcaps/exchange/chain-proxylogon-testanull-keepalive.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_exhound"))
        .args([
            "replay",
            "--log-stats",
            "-q",
            "--drain-timeout",
            "0",
            "-o",
            "-",
        ])
        .args(["-o", &format!("syslog+tcp://127.0.0.1:{port}")])
        .arg(&pcap)
        .output()
        .unwrap();
    let mut shipping_stats = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        if record["event_type"] != "stats" {
            continue;
        }
        assert!(
            record["metadata"]["flowints"]["exhound.ship.0.dropped"].is_u64(),
            "{line}"
        );
        let errors: Vec<String> = validator
            .iter_errors(&record)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{line}\nviolates the EVE schema: {errors:?}"
        );
        shipping_stats += 1;
    }
    assert!(shipping_stats > 0, "no stats record");
}
