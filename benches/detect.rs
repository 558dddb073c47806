//! Matching cost: the whole pipeline on generated Exchange-like traffic with no rules, with
//! the bundled signature set, and with ten and a hundred times as many rules (the bundled set
//! plus 9 or 99 generated variants of each rule, whose contents differ so that their fast
//! patterns do not collapse). Targets (issue 9): the 10× set at most 1.3× and the 100× set
//! at most 2× the bundled set's time.
//!
//! The bundled response-body rules need a flowbit that the attempt rules set, so benign
//! responses are not searched for them; the `-ungated` cases drop those conditions, to show
//! what body patterns cost when every response must be searched.

mod common;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use common::{replay, traffic, Frame};
use exhound::detect::rule::loader::{LoadOptions, LoadedRules};
use exhound::detect::{DetectConfig, RuleSet};
use exhound::pipeline::{PipelineConfig, Worker};

/// A short lower-case word, different for every (rule, copy): variants must not share their
/// first bytes, or a prefilter keyed on prefixes would look better than on a real rule set.
fn tag(sid: u64, copy: u64) -> String {
    let mut x = sid.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ copy.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (0..4)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(b'a' + ((x >> 33) % 26) as u8)
        })
        .collect()
}

/// The bundled rules, plus `copies - 1` variants of each: sid moved up by 100000 per copy and
/// every content string given a distinct 4-letter prefix. With `ungated`, `flowbits:isset`
/// conditions are removed, so that every response body is searched for the success rules
/// (the cost of a rule set whose body rules do not wait for an attempt).
fn rules(copies: usize, ungated: bool) -> Arc<RuleSet> {
    let mut text = String::new();
    for (_, file) in exhound::signatures::rule_files() {
        for line in file.lines().filter(|l| l.starts_with("alert")) {
            let stripped;
            let line = if ungated {
                stripped = strip_isset(line);
                stripped.as_str()
            } else {
                line
            };
            text.push_str(line);
            text.push('\n');
            for k in 1..copies {
                let sid_at = line.find("sid:").expect("every rule has a sid") + 4;
                let sid_end = sid_at + line[sid_at..].find(';').expect("sid ends");
                let sid: u64 = line[sid_at..sid_end].parse().expect("numeric sid");
                let variant = format!(
                    "{}{}{}",
                    &line[..sid_at],
                    sid + 100_000 * k as u64,
                    &line[sid_end..]
                );
                let tag = tag(sid, k as u64);
                let variant = variant.replace("content:\"", &format!("content:\"{tag}"));
                let variant = variant.replace("content:!\"", &format!("content:!\"{tag}"));
                text.push_str(&variant);
                text.push('\n');
            }
        }
    }
    let mut loaded = LoadedRules::default();
    loaded
        .add_text("bench.rules", &text, &LoadOptions::default())
        .expect("generated rules load");
    Arc::new(RuleSet::build(loaded, DetectConfig::default()).expect("rules build"))
}

/// `line` without its `flowbits:isset,…;` options.
fn strip_isset(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("flowbits:isset,") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').map_or(rest.len(), |e| at + e + 1);
        rest = rest[end..].trim_start();
    }
    out.push_str(rest);
    out
}

fn run(frames: &[Frame], rules: Option<Arc<RuleSet>>) -> u64 {
    replay(frames, Worker::new(PipelineConfig::default(), rules)).alerts
}

fn detect(c: &mut Criterion) {
    let frames = traffic(32, 16);
    let bytes: u64 = frames.iter().map(|f| f.data.len() as u64).sum();
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(20);
    g.bench_function("no-rules", |b| b.iter(|| black_box(run(&frames, None))));
    for ungated in [false, true] {
        let suffix = if ungated { "-ungated" } else { "" };
        let bundled = rules(1, ungated);
        for copies in [1, 10, 100] {
            let set = if copies == 1 {
                Arc::clone(&bundled)
            } else {
                rules(copies, ungated)
            };
            assert_eq!(set.len(), bundled.len() * copies);
            g.bench_function(format!("{copies}x-{}-rules{suffix}", set.len()), |b| {
                b.iter(|| black_box(run(&frames, Some(Arc::clone(&set)))))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, detect);
criterion_main!(benches);
