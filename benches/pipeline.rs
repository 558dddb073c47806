//! Decode + reassembly + HTTP throughput on generated large-frame HTTP traffic, no rules.
//!
//! The capture is built in memory (`common::traffic`) so the figure measures exhound, not the
//! disk. Target: at least 1.5 GB/s on one core.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
mod common;

use common::{replay, traffic, Frame};
use exhound::pipeline::{PipelineConfig, Worker};

fn run(frames: &[Frame]) -> u64 {
    replay(frames, Worker::new(PipelineConfig::default(), None)).transactions
}

fn pipeline(c: &mut Criterion) {
    let frames = traffic(64, 16);
    let bytes: u64 = frames.iter().map(|f| f.data.len() as u64).sum();
    assert_eq!(run(&frames), 64 * 16, "every transaction must be seen");
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(20);
    g.bench_function("decode+stream+http/large-frames", |b| {
        b.iter(|| black_box(run(&frames)))
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
