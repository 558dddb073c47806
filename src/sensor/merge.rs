//! The output side of the sensor: the workers' records, merged into one ordered stream.
//!
//! Each worker sends its records (keyed, see [`OrderKey`]) with a watermark: none of its
//! later records will have a lower key. [`Merger`] holds records until every worker's
//! watermark has passed them, then writes them in key order — the same order whatever the
//! number of workers and however their threads were scheduled. On the way it settles the
//! matches that touch state shared across flows (xbits, `threshold`, `detection_filter`)
//! against one [`CrossFlowState`], in that same order, and assembles the workers' counters
//! at each stats mark into one EVE `stats` record. With evidence captures on, it also
//! writes the evidence index, in the same order.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::Arc;

use crate::detect::{CrossFlowState, RuleSet};
use crate::evidence::EvidenceIndex;
use crate::output;
use crate::pipeline::WorkerStats;

use super::batch::{AlertNote, EvidenceRecord, OrderKey, Record, RecordKind, WorkerMessage};
use super::stats::{CaptureCounters, OutputCounters, SensorStats};

/// Where the ordered EVE lines go.
pub trait Destination: Send {
    /// Writes one EVE line (with its newline).
    fn line(&mut self, line: &[u8]) -> io::Result<()>;
    /// An alert that stands (after settling), for the summary's tallies; its line follows.
    fn alert(&mut self, _note: &AlertNote) {}
    /// Called after each batch of records in live capture: a chance to write out what is
    /// buffered.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// The counters of the outputs that ship records elsewhere, for `stats` records (none
    /// by default).
    fn counters(&self) -> Vec<OutputCounters> {
        Vec::new()
    }
}

/// Merges the workers' records and writes them in order.
pub struct Merger<D> {
    destination: D,
    pending: Vec<Record>,
    through: Vec<OrderKey>,
    released: OrderKey,
    finished: Vec<Option<WorkerStats>>,
    shared: CrossFlowState,
    rules: Option<Arc<RuleSet>>,
    marks: BTreeMap<u64, (Vec<WorkerStats>, Arc<CaptureCounters>)>,
    records: u64,
    error: Option<io::Error>,
    flush: bool,
    evidence: Option<EvidenceIndex>,
    /// Flows with alerts that stood once settled (their sids), until their evidence record
    /// comes.
    settled_alerts: HashMap<u64, Vec<u32>>,
    /// Evidence files taken back because none of their flow's alerts stood once settled:
    /// files, packets, bytes, truncated files (subtracted from the workers' counters).
    withdrawn: (u64, u64, u64, u64),
}

impl<D: Destination> Merger<D> {
    /// A merger of `workers` workers' records, settling with `rules`' settings; with
    /// `flush`, the destination is flushed after each message.
    pub fn new(
        workers: usize,
        rules: Option<Arc<RuleSet>>,
        destination: D,
        flush: bool,
    ) -> Merger<D> {
        Merger {
            destination,
            pending: Vec::new(),
            through: vec![OrderKey::at(0); workers],
            released: OrderKey::at(0),
            finished: (0..workers).map(|_| None).collect(),
            shared: CrossFlowState::new(),
            rules,
            marks: BTreeMap::new(),
            records: 0,
            error: None,
            flush,
            evidence: None,
            settled_alerts: HashMap::new(),
            withdrawn: (0, 0, 0, 0),
        }
    }

    /// Writes the index lines of evidence files to `index`.
    pub fn set_evidence_index(&mut self, index: EvidenceIndex) {
        self.evidence = Some(index);
    }

    /// Takes one worker message and writes what it makes writable.
    pub fn take(&mut self, message: WorkerMessage) {
        match message {
            WorkerMessage::Records {
                worker,
                records,
                through,
            } => {
                self.pending.extend(records);
                if let Some(t) = self.through.get_mut(worker) {
                    *t = through;
                }
            }
            WorkerMessage::Done {
                worker,
                records,
                stats,
            } => {
                self.pending.extend(records);
                if let Some(t) = self.through.get_mut(worker) {
                    *t = OrderKey::END;
                }
                if let Some(f) = self.finished.get_mut(worker) {
                    *f = Some(*stats);
                }
            }
        }
        self.release();
        if self.flush && self.error.is_none() {
            if let Err(e) = self.destination.flush() {
                self.error = Some(e);
            }
        }
        if self.flush {
            if let Some(index) = &mut self.evidence {
                index.flush();
            }
        }
    }

    /// True once every worker has finished.
    pub fn all_done(&self) -> bool {
        self.finished.iter().all(Option::is_some)
    }

    /// The first write error, if any (nothing is written after it).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Writes the records below every watermark, in key order.
    fn release(&mut self) {
        let low = self.through.iter().copied().min().unwrap_or(OrderKey::END);
        if low <= self.released {
            return;
        }
        self.released = low;
        self.pending.sort_unstable_by_key(|r| r.key);
        let n = self.pending.partition_point(|r| r.key < low);
        let ready: Vec<Record> = self.pending.drain(..n).collect();
        for r in ready {
            self.record(r);
        }
    }

    fn record(&mut self, r: Record) {
        match r.kind {
            RecordKind::Line(line) => self.write(&line),
            RecordKind::Alert {
                line,
                note,
                cross_flow,
            } => {
                if let Some(c) = cross_flow {
                    let config = self
                        .rules
                        .as_ref()
                        .map(|r| r.config().clone())
                        .unwrap_or_default();
                    if !self.shared.settle(&c, &config) {
                        return;
                    }
                    if self.evidence.is_some() {
                        self.settled_alerts
                            .entry(note.flow)
                            .or_default()
                            .push(note.rule.sid);
                    }
                }
                if let Some(line) = line {
                    self.destination.alert(&note);
                    self.write(&line.into_line());
                }
            }
            RecordKind::Stats { worker, capture } => {
                let workers = self.through.len();
                let entry = self
                    .marks
                    .entry(r.key.position)
                    .or_insert_with(|| (Vec::new(), capture));
                entry.0.push(*worker);
                if entry.0.len() == workers {
                    if let Some((stats, capture)) = self.marks.remove(&r.key.position) {
                        let all: Vec<&WorkerStats> = stats.iter().collect();
                        let mut s = SensorStats::new(
                            (*capture).clone(),
                            &all,
                            &self.shared.stats,
                            self.records,
                        );
                        s.outputs = self.destination.counters();
                        self.correct_evidence(&mut s);
                        self.write(&output::stats::stats_line(&s));
                    }
                }
            }
            RecordKind::Evidence(e) => self.evidence_record(e),
            RecordKind::Rules(new) => {
                if let Some(old) = &self.rules {
                    self.shared.rebind(old.xbit_names(), new.xbit_names());
                }
                self.rules = Some(new);
            }
        }
    }

    fn write(&mut self, line: &[u8]) {
        if self.error.is_some() {
            return;
        }
        match self.destination.line(line) {
            Ok(()) => self.records += 1,
            Err(e) => self.error = Some(e),
        }
    }

    /// Writes a record made outside the workers (the final stats record).
    pub fn write_line(&mut self, line: &[u8]) {
        self.write(line);
    }

    /// The sensor's counters: `capture`'s, the finished workers', the output's.
    pub fn stats(&self, capture: CaptureCounters) -> SensorStats {
        let all: Vec<&WorkerStats> = self.finished.iter().flatten().collect();
        let mut s = SensorStats::new(capture, &all, &self.shared.stats, self.records);
        s.outputs = self.destination.counters();
        self.correct_evidence(&mut s);
        s
    }

    /// Evidence index lines that could not be written.
    fn evidence_errors(&self) -> u64 {
        self.evidence.as_ref().map_or(0, |i| i.errors)
    }

    /// Indexes an evidence file, or takes it back when its flow's alerts all waited on
    /// state shared across flows (xbits, thresholds) and none of them stood: a worker writes
    /// the file before the output has settled them.
    fn evidence_record(&mut self, e: EvidenceRecord) {
        let stood = self.settled_alerts.remove(&e.flow).unwrap_or_default();
        let Some(index) = &mut self.evidence else {
            return;
        };
        match e.outcome {
            Ok(_) if !e.certain && stood.is_empty() => {
                if let Some(path) = &e.path {
                    if let Err(err) = std::fs::remove_file(path) {
                        index.report(&format!("removing {}: {err}", path.display()));
                    }
                }
                let (packets, bytes, truncated) = e.counts;
                self.withdrawn.0 += 1;
                self.withdrawn.1 += packets;
                self.withdrawn.2 += bytes;
                self.withdrawn.3 += u64::from(truncated);
            }
            Ok(line) => {
                let dropped: Vec<u32> = e
                    .unsettled_sids
                    .iter()
                    .copied()
                    .filter(|sid| !stood.contains(sid))
                    .collect();
                if dropped.is_empty() {
                    index.line(&line);
                } else {
                    index.line(&without_sids(&line, &dropped));
                }
            }
            Err(message) => index.report(&message),
        }
    }

    /// Takes the withdrawn evidence files out of the counters.
    fn correct_evidence(&self, s: &mut SensorStats) {
        let e = &mut s.workers.evidence;
        e.errors += self.evidence_errors();
        e.files = e.files.saturating_sub(self.withdrawn.0);
        e.packets = e.packets.saturating_sub(self.withdrawn.1);
        e.bytes = e.bytes.saturating_sub(self.withdrawn.2);
        e.truncated = e.truncated.saturating_sub(self.withdrawn.3);
    }

    /// Writes out the evidence index (at the end).
    pub fn flush_evidence(&mut self) {
        if let Some(index) = &mut self.evidence {
            index.flush();
        }
    }

    /// The destination, and the first write error.
    pub fn into_parts(self) -> (D, Option<io::Error>) {
        (self.destination, self.error)
    }
}

/// An evidence index line without the sids of alerts that did not stand once settled (the
/// `"sids":[…]` array rewritten in place, so the line keeps its field order).
fn without_sids(line: &[u8], dropped: &[u32]) -> Vec<u8> {
    const KEY: &[u8] = b"\"sids\":[";
    let Some(start) = memchr::memmem::find(line, KEY).map(|i| i + KEY.len()) else {
        return line.to_vec();
    };
    let Some(len) = line[start..].iter().position(|&b| b == b']') else {
        return line.to_vec();
    };
    let kept: Vec<&[u8]> = line[start..start + len]
        .split(|&b| b == b',')
        .filter(|n| {
            std::str::from_utf8(n)
                .ok()
                .and_then(|n| n.trim().parse::<u32>().ok())
                .is_none_or(|n| !dropped.contains(&n))
        })
        .collect();
    let mut out = line[..start].to_vec();
    out.extend_from_slice(&kept.join(&b","[..]));
    out.extend_from_slice(&line[start + len..]);
    out
}
