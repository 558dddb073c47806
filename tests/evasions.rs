//! The evasion matrix (README "Evasions the server does not fall for"): each capture of
//! `pcaps/evasion/` hides the same ProxyLogon request behind a trick the Windows server does
//! not fall for; exhound must raise on it exactly the alerts it raises on the request sent
//! plainly. Where a flag turns the defence off, the trick must then work: the test can fail.
//! The committed captures must be what `tests/support/evasions.rs` builds.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::evasions::{self, EvasionCapture};
use support::pcap::{self as pcapw, Format, LinkType};
use support::run::{pcaps_dir, replay_alerts};

/// sid → alerts, of `exhound replay <flags> FILE`.
fn sids(file: &Path, flags: &[&str]) -> BTreeMap<u64, usize> {
    let mut args: Vec<&std::ffi::OsStr> = flags.iter().map(std::ffi::OsStr::new).collect();
    args.push(file.as_os_str());
    let run = replay_alerts(&args);
    assert_eq!(run.status, Some(0), "{}: {}", file.display(), run.stderr);
    let mut m = BTreeMap::new();
    for a in run.alerts() {
        *m.entry(a["alert"]["signature_id"].as_u64().unwrap_or(0))
            .or_insert(0) += 1;
    }
    m
}

fn write(dir: &Path, name: &str, frames: &[pcapw::Frame]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, pcapw::write(Format::PCAP, LinkType::Ethernet, frames)).expect("write");
    p
}

#[test]
fn every_trick_yields_the_alerts_of_the_plain_attack() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alone = sids(
        &write(dir.path(), "alone.pcap", &evasions::attack_alone()),
        &[],
    );
    assert!(
        alone.contains_key(&4210001),
        "the plain attack alerts: {alone:?}"
    );
    assert!(alone.contains_key(&4210050), "and its success: {alone:?}");
    let mut problems = Vec::new();
    for EvasionCapture {
        file,
        defence_off,
        anomalies,
        frames,
        ..
    } in evasions::all()
    {
        let path = write(dir.path(), file, &frames);
        let got = sids(&path, &[]);
        let mut want = alone.clone();
        for a in anomalies {
            *want.entry(*a).or_insert(0) += 1;
        }
        if got != want {
            problems.push(format!(
                "{file}: {got:?}, want {want:?} (the plain attack's and the trick's anomaly)"
            ));
        }
        if !defence_off.is_empty() {
            let off = sids(&path, defence_off);
            if off == alone {
                problems.push(format!(
                    "{file}: with {defence_off:?} the trick should work, yet the alerts are the same"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn committed_captures_match_the_builder() {
    let dir = pcaps_dir().join("evasion");
    for c in evasions::all() {
        let want = pcapw::write(Format::PCAP, LinkType::Ethernet, &c.frames);
        let have = std::fs::read(dir.join(c.file)).unwrap_or_default();
        assert!(
            have == want,
            "pcaps/evasion/{} is not what tests/support/evasions.rs builds: run `cargo run --example gen_pcaps`",
            c.file
        );
    }
}
