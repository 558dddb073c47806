//! A worker thread: the shards it owns, fed batch by batch, and the records they make.
//!
//! Each shard is a [`pipeline::Worker`] of its own (flow table, reassembly memory and
//! caps, one share of each), so a shard behaves the same whichever thread runs it. The
//! worker turns what its shards hand out into EVE lines right away (in parallel with the
//! other workers) and keys each with the position of the item that made it; after each
//! batch it sends its records and its watermark to the output.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::capture::RawPacket;
use crate::detect::{Alert, RuleSet};
use crate::evidence::{EvidenceStats, EvidenceWriter, FlowCapture};
use crate::http::{HttpTransaction, PacketRef};
use crate::output::eve;
use crate::output::redact::Redactor;
use crate::output::FlowFacts;
use crate::pipeline::{self, AlertContext, EventSink, PipelineConfig, WorkerStats};
use crate::tls::TlsInfo;

use super::batch::{
    AlertLine, AlertNote, Batch, DeferredAlert, EvidenceRecord, Item, OrderKey, Record, RecordKind,
    WorkerMessage,
};
use super::dispatch::SHARDS;

/// What goes into the EVE lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputOptions {
    /// Write an `http` record per transaction.
    pub log_http: bool,
    /// Write a `tls` record per TLS connection.
    pub log_tls: bool,
    /// Add the inspected bytes to alerts.
    pub payload: bool,
    /// Name the capture file of each record (`pcap_filename`).
    pub pcap_filename: bool,
    /// Mask credentials in the records with this redactor (`None`: write them as seen, for
    /// forensic work: `--no-redact`).
    pub redact: Option<Redactor>,
}

/// The settings of one shard: the sensor's, with the memory budget divided among the
/// shards.
pub fn shard_config(config: &PipelineConfig) -> PipelineConfig {
    let mut c = config.clone();
    c.memcap = (c.memcap / SHARDS).max(1);
    if let Some(e) = &mut c.evidence {
        e.memcap = (e.memcap / SHARDS).max(1);
    }
    c
}

/// One worker thread's state.
pub struct WorkerThread {
    index: usize,
    workers: usize,
    /// The pipeline of this worker's shards: global shard `s` is its shard `s / workers`.
    pipeline: pipeline::Worker,
    sink: RecordSink,
}

impl WorkerThread {
    /// Worker `index` of `workers`, owning shards `index`, `index + workers`, ….
    pub fn new(
        index: usize,
        workers: usize,
        config: &PipelineConfig,
        rules: Option<Arc<RuleSet>>,
        options: OutputOptions,
    ) -> WorkerThread {
        let owned = (0..SHARDS).filter(|s| s % workers == index).count();
        WorkerThread {
            index,
            workers,
            pipeline: pipeline::Worker::with_shards(shard_config(config), rules, owned),
            sink: RecordSink {
                evidence: config
                    .evidence
                    .as_ref()
                    .map(|e| EvidenceWriter::new(&e.dir)),
                evidence_stats: EvidenceStats::default(),
                options,
                files: Vec::new(),
                records: Vec::new(),
                position: 0,
                closing: false,
                seq: 0,
            },
        }
    }

    /// Processes batches until the capture thread closes the queue, sending records to
    /// `output` and emptied batches back on `recycle`; then finishes every flow.
    pub fn run(
        mut self,
        input: Receiver<Batch>,
        recycle: Sender<Batch>,
        output: Sender<WorkerMessage>,
    ) {
        while let Ok(mut batch) = input.recv() {
            self.batch(&batch);
            let message = WorkerMessage::Records {
                worker: self.index,
                records: std::mem::take(&mut self.sink.records),
                through: OrderKey::at(batch.through),
            };
            if output.send(message).is_err() {
                return;
            }
            batch.clear();
            let _ = recycle.try_send(batch);
        }
        let stats = self.finish();
        let _ = output.send(WorkerMessage::Done {
            worker: self.index,
            records: std::mem::take(&mut self.sink.records),
            stats: Box::new(stats),
        });
    }

    /// Processes one batch.
    pub fn batch(&mut self, batch: &Batch) {
        // The fragment frames of the next datagram (allocated only if there are some).
        let mut fragments: Vec<RawPacket<'_>> = Vec::new();
        for item in &batch.items {
            if let Item::FragmentFrame {
                ts,
                link_type,
                wire_len,
                start,
                len,
            } = item
            {
                if let Some(data) = item_bytes(&batch.bytes, *start, *len) {
                    fragments.push(RawPacket {
                        ts: *ts,
                        link_type: *link_type,
                        data,
                        wire_len: *wire_len,
                        number: 0,
                    });
                }
                continue;
            }
            self.item(item, &batch.bytes, &fragments);
            fragments.clear();
        }
    }

    fn item(&mut self, item: &Item, bytes: &[u8], fragments: &[RawPacket<'_>]) {
        let sink = &mut self.sink;
        match item {
            Item::Frame {
                position,
                pcap_cnt,
                ts,
                link_type,
                shard,
                wire_len,
                start,
                len,
                layout,
            } => {
                let Some(data) = item_bytes(bytes, *start, *len) else {
                    return;
                };
                let packet = RawPacket {
                    ts: *ts,
                    link_type: *link_type,
                    data,
                    wire_len: *wire_len,
                    number: *pcap_cnt,
                };
                sink.begin(*position, false);
                let local = usize::from(*shard) / self.workers;
                match layout.and_then(|l| l.segment(data)) {
                    Some(segment) => self
                        .pipeline
                        .handle_segment(local, &packet, &segment, *pcap_cnt, sink),
                    None => self.pipeline.handle_in(local, &packet, *pcap_cnt, sink),
                }
            }
            Item::Datagram {
                position,
                pcap_cnt,
                ts,
                ip,
                protocol,
                shard,
                wire_len,
                start,
                len,
            } => {
                let Some(payload) = item_bytes(bytes, *start, *len) else {
                    return;
                };
                let at = PacketRef {
                    ts: *ts,
                    pcap_cnt: *pcap_cnt,
                };
                sink.begin(*position, false);
                let local = usize::from(*shard) / self.workers;
                self.pipeline.handle_datagram(
                    local,
                    **ip,
                    *protocol,
                    payload,
                    *wire_len as usize,
                    at,
                    fragments,
                    sink,
                );
            }
            Item::FragmentFrame { .. } => {}
            Item::Tick { position, now } => {
                sink.begin(*position, true);
                self.pipeline.expire(*now, sink);
            }
            Item::File {
                first_pcap_cnt,
                name,
            } => sink.files.push((*first_pcap_cnt, Arc::clone(name))),
            Item::StatsMark { position, capture } => {
                let stats = self.stats();
                self.sink.records.push(Record {
                    key: OrderKey {
                        position: *position,
                        flow: self.index as u64,
                        seq: 0,
                    },
                    kind: RecordKind::Stats {
                        worker: Box::new(stats),
                        capture: Arc::clone(capture),
                    },
                });
            }
            Item::Rules { position, rules } => {
                self.pipeline.set_rules(Arc::clone(rules));
                if self.index == 0 {
                    sink.records.push(Record {
                        key: OrderKey::at(*position),
                        kind: RecordKind::Rules(Arc::clone(rules)),
                    });
                }
            }
        }
    }

    /// The counters of this worker's shards.
    pub fn stats(&self) -> WorkerStats {
        let mut s = self.pipeline.stats();
        s.evidence.merge(&self.sink.evidence_stats);
        s
    }

    /// End of input: finishes every flow (records at the end position, in the order of the
    /// flows' first packets) and returns the final counters.
    pub fn finish(&mut self) -> WorkerStats {
        self.sink.begin(u64::MAX, true);
        self.pipeline.finish(&mut self.sink);
        self.stats()
    }

    /// Records made since the last call.
    pub fn take_records(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.sink.records)
    }
}

/// An item's bytes in its batch.
fn item_bytes(bytes: &[u8], start: u32, len: u32) -> Option<&[u8]> {
    let start = start as usize;
    bytes.get(start..start.checked_add(len as usize)?)
}

/// Turns what the shards hand out into keyed records.
struct RecordSink {
    options: OutputOptions,
    /// Writes evidence files (evidence captures on).
    evidence: Option<EvidenceWriter>,
    /// Files, packets and bytes written, files truncated, errors.
    evidence_stats: EvidenceStats,
    /// (first packet number, name) of each capture file, in order.
    files: Vec<(u64, Arc<str>)>,
    records: Vec<Record>,
    /// Position of the item being processed.
    position: u64,
    /// Flows are being closed (a tick or the end): records are ordered by flow.
    closing: bool,
    seq: u64,
}

impl RecordSink {
    fn begin(&mut self, position: u64, closing: bool) {
        self.position = position;
        self.closing = closing;
    }

    fn key(&mut self, flow: &FlowFacts) -> OrderKey {
        self.seq += 1;
        OrderKey {
            position: self.position,
            flow: if self.closing {
                flow.first_packet
            } else {
                u64::MAX
            },
            seq: self.seq,
        }
    }

    /// The capture file packet `pcap_cnt` came from.
    fn file_of(&self, pcap_cnt: u64) -> Option<&str> {
        if !self.options.pcap_filename {
            return None;
        }
        let i = self.files.partition_point(|(first, _)| *first <= pcap_cnt);
        i.checked_sub(1).map(|i| &*self.files[i].1)
    }
}

impl EventSink for RecordSink {
    fn evidence(&mut self, flow: &FlowFacts, capture: &FlowCapture) {
        let Some(writer) = &mut self.evidence else {
            return;
        };
        let Some(result) = writer.write(flow, capture) else {
            return;
        };
        let s = &mut self.evidence_stats;
        let (outcome, path, counts) = match result {
            Ok(written) => {
                let e = &written.entry;
                s.files += 1;
                s.packets += e.packets;
                s.bytes += e.bytes;
                s.truncated += u64::from(e.truncated_before);
                let path = writer.path_of(&e.file);
                let counts = (e.packets, e.bytes, e.truncated_before);
                (Ok(written.line), Some(path), counts)
            }
            Err(e) => {
                s.errors += 1;
                (Err(e.to_string()), None, (0, 0, false))
            }
        };
        let key = self.key(flow);
        self.records.push(Record {
            key,
            kind: RecordKind::Evidence(EvidenceRecord {
                outcome,
                flow: flow.first_packet,
                certain: capture.certain(),
                path,
                unsettled_sids: capture.unsettled_sids().to_vec(),
                counts,
            }),
        });
    }

    fn transaction(&mut self, flow: &FlowFacts, tx: &HttpTransaction, tls: Option<&TlsInfo>) {
        if !self.options.log_http {
            return;
        }
        let line = eve::http_line(
            flow,
            tx,
            tls,
            self.file_of(tx.completed_at.pcap_cnt),
            self.options.redact.as_ref(),
        );
        let key = self.key(flow);
        self.records.push(Record {
            key,
            kind: RecordKind::Line(line),
        });
    }

    fn tls(&mut self, flow: &FlowFacts, tls: &TlsInfo, at: PacketRef) {
        if !self.options.log_tls {
            return;
        }
        let line = eve::tls_line(flow, tls, at, self.file_of(at.pcap_cnt));
        let key = self.key(flow);
        self.records.push(Record {
            key,
            kind: RecordKind::Line(line),
        });
    }

    fn alert(&mut self, flow: &FlowFacts, alert: &Alert, context: AlertContext<'_>) {
        let line = (!alert.is_silent()).then(|| {
            let message;
            let payload = match (self.options.payload, context.tx) {
                (false, _) => None,
                (true, Some(tx)) => {
                    message = eve::http_payload(tx, alert.direction);
                    Some(message.as_slice())
                }
                (true, None) => Some(context.payload),
            };
            let file = self.file_of(context.at.pcap_cnt);
            if alert.cross_flow.is_some() {
                // It may not stand: the output makes the line if it does.
                return AlertLine::Deferred(Box::new(DeferredAlert {
                    flow: flow.clone(),
                    alert: Alert {
                        rule: Arc::clone(&alert.rule),
                        direction: alert.direction,
                        tx_id: alert.tx_id,
                        cross_flow: None,
                    },
                    at: context.at,
                    tx: context.tx.cloned(),
                    tls: context.tls.cloned(),
                    payload: payload.map(<[u8]>::to_vec),
                    pcap_filename: file.map(str::to_string),
                    redact: self.options.redact,
                }));
            }
            AlertLine::Ready(eve::alert_line(
                flow,
                alert,
                context.at,
                context.tx,
                context.tls,
                payload,
                file,
                self.options.redact.as_ref(),
            ))
        });
        let key = self.key(flow);
        self.records.push(Record {
            key,
            kind: RecordKind::Alert {
                line,
                note: AlertNote {
                    rule: Arc::clone(&alert.rule),
                    client_ip: flow.client_ip,
                    server_ip: flow.server_ip,
                    server_port: flow.server_port,
                    flow: flow.first_packet,
                },
                cross_flow: alert.cross_flow.clone(),
            },
        });
    }
}
