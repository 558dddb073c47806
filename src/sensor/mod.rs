//! The sensor: one capture thread, N worker threads, one ordered output.
//!
//! ```text
//!                  ┌─ batches ─→ worker 0 (shards 0, N, 2N…) ─ records ─┐
//! capture thread ──┼─ batches ─→ worker 1 (shards 1, N+1…)   ─ records ─┼─→ merger → EVE
//! (Dispatcher)     └─ …                                                  ┘   (ordered)
//! ```
//!
//! The caller's thread is the capture thread: it reads packets (from files or interfaces)
//! and gives them to [`Sensor::packet`]; the [`Dispatcher`] defragments, hashes each flow to
//! one of a fixed number of shards and batches packets for the shard's worker over bounded
//! channels. Each worker owns its shards outright — flow tables, reassembly, HTTP state,
//! detection scratch — so workers share no lock and no mutable state. The [`Merger`] thread
//! puts their records back in capture order and settles the matches that depend on state
//! shared across flows.
//!
//! Same input, same output: which shard a flow lands in, when flows expire (packet time,
//! broadcast as ticks), which flows a memory cap evicts (each shard has its share of every
//! cap) and the order of the output (keyed by the position of the item that made each
//! record) do not depend on the number of workers or on thread timing, so a replay writes
//! the same bytes for any `threads`.
//!
//! Files: [`batch`] (what crosses threads), [`dispatch`] (capture side), [`worker`] (a
//! worker thread), [`merge`] (output side), [`stats`] (counters).

pub mod batch;
pub mod dispatch;
pub mod merge;
pub mod stats;
pub mod worker;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::bounded;

use crate::capture::RawPacket;
use crate::detect::RuleSet;
use crate::pipeline::PipelineConfig;
use crate::time::Timestamp;

pub use batch::AlertNote;
pub use dispatch::{DispatchConfig, Dispatcher, SHARDS};
pub use merge::{Destination, Merger};
pub use stats::{CaptureCounters, KernelCounters, OutputCounters, SensorStats, StatsMoment};
pub use worker::{OutputOptions, WorkerThread};

/// How the sensor runs.
#[derive(Debug, Clone)]
pub struct SensorConfig {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Settings of every stage (memory caps are divided among the shards).
    pub pipeline: PipelineConfig,
    /// What goes into the EVE lines.
    pub output: OutputOptions,
    /// Live capture: drop packets when a worker's queue is full instead of waiting, and
    /// flush the output after each batch of records.
    pub live: bool,
    /// Batches each worker's queue holds.
    pub queue_batches: usize,
}

/// Batches a worker's queue holds by default when reading files: 1 MiB of packets, about a
/// millisecond of a worker's work. In a replay the queues only ride out the moments the
/// reader waits for a core; 16 were no faster than 8 on the 2-core development machine
/// (the same medians within its noise in five rounds of ten interleaved runs with two
/// workers, one round with one) and held 2.5 MiB more with two workers.
pub const REPLAY_QUEUE_BATCHES: usize = 8;

/// Batches a worker's queue holds by default in live capture (16 MiB): what the kernel
/// cannot hold while a worker is busy must wait here, or be dropped.
pub const LIVE_QUEUE_BATCHES: usize = 128;

impl Default for SensorConfig {
    fn default() -> Self {
        SensorConfig {
            threads: 1,
            pipeline: PipelineConfig::default(),
            output: OutputOptions::default(),
            live: false,
            queue_batches: REPLAY_QUEUE_BATCHES,
        }
    }
}

/// Why a run did not end well.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// A thread could not be started.
    #[error("starting a thread: {0}")]
    Spawn(io::Error),
    /// A worker or the output stopped before the end (a bug: it is reported, not hidden).
    #[error("{0} stopped unexpectedly; the output may be incomplete")]
    ThreadLost(String),
}

/// What a finished run leaves.
pub struct SensorReport<D> {
    /// The destination, handed back.
    pub destination: D,
    /// Every counter.
    pub stats: SensorStats,
    /// The first error writing to the destination (nothing was written after it).
    pub write_error: Option<io::Error>,
}

/// A running sensor.
pub struct Sensor<D> {
    dispatcher: Dispatcher,
    workers: Vec<JoinHandle<()>>,
    merger: JoinHandle<Merger<D>>,
    output_failed: Arc<AtomicBool>,
}

impl<D: Destination + 'static> Sensor<D> {
    /// Starts the worker and output threads; the caller's thread then feeds packets.
    pub fn start(
        config: SensorConfig,
        rules: Option<Arc<RuleSet>>,
        destination: D,
    ) -> Result<Sensor<D>, SensorError> {
        let n = config.threads.max(1);
        let (recycle_tx, recycle_rx) = bounded(n * (config.queue_batches + 2));
        let (out_tx, out_rx) = bounded(n * 64);
        let mut queues = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = bounded(config.queue_batches.max(1));
            queues.push(tx);
            let thread = WorkerThread::new(i, n, &config.pipeline, rules.clone(), config.output);
            let (recycle, output) = (recycle_tx.clone(), out_tx.clone());
            let handle = std::thread::Builder::new()
                .name(format!("exhound-worker-{i}"))
                .spawn(move || thread.run(rx, recycle, output))
                .map_err(SensorError::Spawn)?;
            workers.push(handle);
        }
        drop(out_tx);
        let output_failed = Arc::new(AtomicBool::new(false));
        let failed = Arc::clone(&output_failed);
        let mut merger = Merger::new(n, rules, destination, config.live);
        if let Some(e) = &config.pipeline.evidence {
            merger.set_evidence_index(crate::evidence::EvidenceIndex::open(&e.dir, config.live));
        }
        let merger = std::thread::Builder::new()
            .name("exhound-output".into())
            .spawn(move || {
                while let Ok(message) = out_rx.recv() {
                    merger.take(message);
                    if merger.failed() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    if merger.all_done() {
                        break;
                    }
                }
                merger
            })
            .map_err(SensorError::Spawn)?;
        let dispatcher = Dispatcher::new(
            DispatchConfig {
                workers: n,
                drop_when_full: config.live,
                defrag: config.pipeline.defrag.clone(),
                checksums: config.pipeline.checksums,
                fragment_frames: config.pipeline.evidence.is_some(),
                shard_by_address_pair: !config.pipeline.tls.decryption.server_keys.is_empty(),
            },
            queues,
            recycle_rx,
        );
        Ok(Sensor {
            dispatcher,
            workers,
            merger,
            output_failed,
        })
    }

    /// Takes one packet; `pcap_cnt` is its number in the whole capture, from 1.
    pub fn packet(&mut self, packet: &RawPacket<'_>, pcap_cnt: u64) {
        self.dispatcher.packet(packet, pcap_cnt);
    }

    /// Packets from the next one on (numbered from `first_pcap_cnt`) come from the capture
    /// file `name` (for `pcap_filename`).
    pub fn file(&mut self, name: &str, first_pcap_cnt: u64) {
        self.dispatcher.file(name, first_pcap_cnt);
    }

    /// Live capture with no packet for a while: time moves on to `now`.
    pub fn idle(&mut self, now: Timestamp) {
        self.dispatcher.idle(now);
    }

    /// Writes an EVE `stats` record here, taken at `moment`.
    pub fn stats_mark(&mut self, moment: StatsMoment) {
        self.dispatcher.stats_mark(moment);
    }

    /// Inspects with `rules` from the next packet on.
    pub fn reload(&mut self, rules: Arc<RuleSet>) {
        self.dispatcher.reload(rules);
    }

    /// The capture thread's counters so far.
    pub fn counters(&self) -> CaptureCounters {
        self.dispatcher.counters()
    }

    /// True when the sensor cannot go on: the output failed or a worker stopped. The
    /// caller stops reading and calls [`Sensor::finish`], which says why.
    pub fn stopped(&self) -> bool {
        self.output_failed.load(Ordering::Relaxed) || self.dispatcher.worker_gone().is_some()
    }

    /// End of input: the workers finish every flow, the output writes what remains (and,
    /// with `final_stats`, a last `stats` record), and the threads end. The final counters
    /// are taken at `moment` (by default, at the latest packet time).
    pub fn finish(
        self,
        final_stats: bool,
        moment: Option<StatsMoment>,
    ) -> Result<SensorReport<D>, SensorError> {
        let capture = self.dispatcher.finish(moment);
        let mut lost = None;
        for (i, w) in self.workers.into_iter().enumerate() {
            if w.join().is_err() {
                lost.get_or_insert(format!("worker {i}"));
            }
        }
        let mut merger = self
            .merger
            .join()
            .map_err(|_| SensorError::ThreadLost("the output thread".into()))?;
        if let Some(what) = lost {
            return Err(SensorError::ThreadLost(what));
        }
        if !merger.all_done() {
            return Err(SensorError::ThreadLost("a worker".into()));
        }
        if final_stats {
            let stats = merger.stats(capture.clone());
            merger.write_line(&crate::output::stats::stats_line(&stats));
        }
        merger.flush_evidence();
        let stats = merger.stats(capture);
        let (destination, write_error) = merger.into_parts();
        Ok(SensorReport {
            destination,
            stats,
            write_error,
        })
    }
}
