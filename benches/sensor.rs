//! The whole sensor — capture-side dispatch, worker threads, ordered output — with the
//! bundled rules, on generated large-frame HTTP traffic held in memory (`common::traffic`),
//! for 1 and 2 worker threads: the scaling figure of the README. On this 2-core machine the
//! capture and output threads share the cores with the workers.

use std::hint::black_box;
use std::io;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
#[allow(dead_code)] // The single-worker replay helpers serve the other benches.
mod common;

use common::{traffic, Frame};
use exhound::detect::rule::loader::{LoadOptions, LoadedRules};
use exhound::detect::{DetectConfig, RuleSet};
use exhound::sensor::{AlertNote, Destination, OutputOptions, Sensor, SensorConfig};

/// Counts what reaches the output.
#[derive(Default)]
struct Lines {
    lines: u64,
    alerts: u64,
}

impl Destination for Lines {
    fn line(&mut self, line: &[u8]) -> io::Result<()> {
        self.lines += 1;
        black_box(line);
        Ok(())
    }
    fn alert(&mut self, _: &AlertNote) {
        self.alerts += 1;
    }
}

/// Runs the frames through a sensor; returns (lines written, alerts).
fn run(frames: &[Frame], threads: usize, rules: &Arc<RuleSet>) -> (u64, u64) {
    let config = SensorConfig {
        threads,
        output: OutputOptions {
            log_http: true,
            ..OutputOptions::default()
        },
        ..SensorConfig::default()
    };
    let mut sensor =
        Sensor::start(config, Some(Arc::clone(rules)), Lines::default()).expect("start the sensor");
    for (n, f) in frames.iter().enumerate() {
        sensor.packet(&f.packet(n as u64 + 1), n as u64 + 1);
    }
    let report = sensor.finish(false, None).expect("finish");
    (report.destination.lines, report.destination.alerts)
}

/// The bundled signature set.
fn bundled_rules() -> RuleSet {
    let mut loaded = LoadedRules::default();
    for (name, text) in exhound::signatures::rule_files() {
        loaded
            .add_text(name, text, &LoadOptions::default())
            .expect("bundled rules load");
    }
    RuleSet::build(loaded, DetectConfig::default()).expect("bundled rules build")
}

fn sensor(c: &mut Criterion) {
    let frames = traffic(256, 4);
    let bytes: u64 = frames.iter().map(|f| f.data.len() as u64).sum();
    let rules = Arc::new(bundled_rules());
    // Every transaction has its line, and the ECP SetObject request of each connection
    // raises one alert.
    assert_eq!(run(&frames, 1, &rules), (256 * 4 + 256, 256));
    assert_eq!(run(&frames, 2, &rules), (256 * 4 + 256, 256));
    let mut g = c.benchmark_group("sensor");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    for threads in [1, 2] {
        g.bench_function(format!("bundled-rules/threads-{threads}"), |b| {
            b.iter(|| black_box(run(&frames, threads, &rules)))
        });
    }
    g.finish();
}

criterion_group!(benches, sensor);
criterion_main!(benches);
