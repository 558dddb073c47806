//! Decode + reassembly + HTTP throughput on generated large-frame HTTP traffic, no rules.
//!
//! The capture is built in memory (`common::traffic`) so the figure measures exhound, not the
//! disk. Target: at least 1.5 GB/s on one core.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
mod common;

use common::{traffic, Frame};
use exhound::capture::RawPacket;
use exhound::decode::linktype;
use exhound::detect::Alert;
use exhound::http::HttpTransaction;
use exhound::output::FlowFacts;
use exhound::pipeline::{AlertContext, EventSink, PipelineConfig, Worker};

/// Counts what the pipeline hands out.
#[derive(Default)]
struct Count {
    transactions: u64,
    alerts: u64,
}

impl EventSink for Count {
    fn transaction(&mut self, _: &FlowFacts, tx: &HttpTransaction) {
        self.transactions += 1;
        black_box(tx);
    }
    fn alert(&mut self, _: &FlowFacts, alert: &Alert, _: AlertContext<'_>) {
        self.alerts += 1;
        black_box(alert);
    }
}

fn run(frames: &[Frame]) -> u64 {
    let mut worker = Worker::new(PipelineConfig::default(), None);
    let mut sink = Count::default();
    for (n, f) in frames.iter().enumerate() {
        let p = RawPacket {
            ts: f.ts,
            link_type: linktype::ETHERNET,
            data: &f.data,
            wire_len: f.data.len() as u32,
            number: n as u64 + 1,
        };
        worker.process(&p, n as u64 + 1, &mut sink);
    }
    worker.finish(&mut sink);
    sink.transactions
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
