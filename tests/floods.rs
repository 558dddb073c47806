//! The memory budget under floods (small versions of `examples/gen_floods.rs`'s captures,
//! with a small `--memcap`): every flood shape is shed the way the policy says and counted,
//! the budget's charge never goes past it by more than what one packet can add per shard,
//! and the ProxyLogon request sent after the flood is still reported. Peak RSS per shape at
//! full size is measured by `scripts/flood-rss.sh` (README "Bounded memory"), not here.

mod support;

use serde_json::Value;

use support::floods;
use support::run::replay_alerts;

/// What one replay of a flood capture said.
struct Outcome {
    attack_reported: bool,
    stats: Value,
    stderr: String,
}

fn replay(path: &std::path::Path, threads: &str) -> Outcome {
    let flags = [
        "--memcap",
        "2m",
        "--request-body-limit",
        "64k",
        "--response-body-limit",
        "64k",
        "--log-stats",
        "--threads",
        threads,
    ];
    let mut args: Vec<&std::ffi::OsStr> = flags.iter().map(std::ffi::OsStr::new).collect();
    args.push(path.as_os_str());
    let run = replay_alerts(&args);
    assert_eq!(run.status, Some(0), "{}: {}", path.display(), run.stderr);
    let stats = run
        .records
        .iter()
        .rev()
        .find(|r| r["event_type"] == "stats")
        .cloned()
        .unwrap_or(Value::Null);
    Outcome {
        attack_reported: run
            .alerts()
            .iter()
            .any(|a| a["alert"]["signature_id"] == 4210001),
        stats,
        stderr: run.stderr,
    }
}

fn count(stats: &Value, path: &[&str]) -> u64 {
    let mut v = stats;
    for p in path {
        v = &v[*p];
    }
    v.as_u64().unwrap_or(0)
}

#[test]
fn every_flood_is_shed_and_the_attack_after_it_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = floods::write_all(dir.path(), 0.01).expect("write floods");
    let mut problems = Vec::new();
    for (path, n) in &written {
        let name = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("?")
            .to_string();
        let o = replay(path, "2");
        if !o.attack_reported {
            problems.push(format!(
                "{name}: the attack after the flood was not reported\n{}",
                o.stderr
            ));
        }
        let s = &o.stats;
        let own = &s["metadata"]["flowints"];
        let cap = count(s, &["stats", "flow", "memcap"]);
        let peak = count(own, &["exhound.memory.peak"]);
        // Past the budget by at most what one packet can add to each of the 64 shards (a body
        // decoded at the end of its message: up to the 64 KiB body limit, and its raw copy).
        if cap == 0 || peak > cap + 64 * 128 * 1024 {
            problems.push(format!("{name}: memory peak {peak} for a budget of {cap}"));
        }
        let evicted = count(s, &["stats", "flow", "wrk", "flows_evicted"]);
        let shed = match name.as_str() {
            "syn-flood.pcap" | "header-bomb.pcap" => evicted,
            "out-of-order-storm.pcap" => {
                evicted + count(s, &["stats", "tcp", "segment_memcap_drop"])
            }
            "fragment-flood.pcap" => count(s, &["stats", "defrag", "max_frags_reached"]),
            "decompression-bomb.pcap" => count(own, &["exhound.http.bodies_truncated"]),
            "pipeline-flood.pcap" => evicted + count(own, &["exhound.http.pending_overflows"]),
            _ => 1,
        };
        if shed == 0 {
            problems.push(format!("{name} ({n}): nothing was shed: {s}"));
        }
        // The same shards evict the same flows whatever the number of workers.
        let one = replay(path, "1");
        if one.stats != o.stats {
            problems.push(format!("{name}: counters differ between 1 and 2 workers"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
