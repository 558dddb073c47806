//! The deployment files in `dist/` are valid: systemd accepts the unit (with the binary
//! under test in its `ExecStart`) and rates its sandboxing, logrotate accepts the snippet,
//! and the command line in the unit is one `exhound live` takes. Needs systemd-analyze and
//! logrotate (`make test` installs them); skips elsewhere, fails under `CI=true`.

#[path = "support/prereq.rs"]
mod prereq;

use std::path::Path;
use std::process::Command;

/// True when `tool` is installed; otherwise skips (or, under `CI=true`, fails).
fn have(tool: &str) -> bool {
    prereq::require_tool(tool, "make test installs it")
}

fn dist(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("dist")
            .join(name),
    )
    .expect("dist file")
}

/// The unit, its ExecStart pointing at the binary under test.
fn unit_for_test() -> String {
    dist("exhound.service").replace("/usr/local/bin/exhound", env!("CARGO_BIN_EXE_exhound"))
}

#[test]
fn systemd_accepts_the_unit_and_its_sandbox() {
    if !have("systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = dir.path().join("exhound.service");
    std::fs::write(&unit, unit_for_test()).expect("write unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze");
    let err = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("exhound.service"))
        .collect();
    assert!(out.status.success() && complaints.is_empty(), "{err}");
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze security");
    let text = String::from_utf8_lossy(&out.stdout);
    let level = text
        .lines()
        .find_map(|l| l.split("exposure level for exhound.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {text}"));
    assert!(level < 4.0, "exposure {level}: {text}");
}

#[test]
fn logrotate_accepts_the_snippet() {
    if !have("logrotate") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("exhound");
    // The exhound user exists only where the sensor is installed: check the rest with root.
    let text = dist("exhound.logrotate").replace("exhound exhound", "root root");
    std::fs::write(&conf, text).expect("write");
    let out = Command::new("logrotate")
        .args(["-d", "-s"])
        .arg(dir.path().join("state"))
        .arg(&conf)
        .output()
        .expect("logrotate");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.to_lowercase().contains("error"), "{err}");
}

#[test]
fn the_unit_command_line_is_one_exhound_takes() {
    let unit = unit_for_test();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let mut words = exec.split_whitespace();
    let program = words.next().expect("program");
    // `--help` after the flags: clap checks every flag before it prints the help.
    let out = Command::new(program)
        .args(words)
        .arg("--help")
        .output()
        .expect("run exhound");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
