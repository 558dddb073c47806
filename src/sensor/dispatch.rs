//! The capture side of the sensor: packets in capture order → batches for the workers.
//!
//! [`Dispatcher`] decodes each packet to find its TCP flow, reassembles IP fragments (later
//! fragments carry no ports, so this cannot wait for the workers), and appends the packet,
//! with the segment it decoded ([`SegmentLayout`]), to the batch of the worker that owns the
//! flow's shard. Flows are hashed symmetrically into a fixed number of [`SHARDS`], and shard
//! `s` belongs to worker `s % workers`: which flows share a table, and so which flows a
//! memory cap evicts, does not depend on the number of workers.
//!
//! Every packet and control item gets the next position of one sequence; records made from
//! it are ordered by that position (see [`super::batch::OrderKey`]). Control items go to
//! every worker: ticks (once a second of packet time, so that the flows of a quiet worker
//! still expire on time), the start of each capture file, stats marks and rule reloads.
//!
//! Batches are flushed when full, at every tick, and at least every [`FLUSH_EVERY`]
//! positions, so that no worker's records wait long for another's. Sending blocks when a
//! worker's queue is full (a replay never loses a packet); with
//! [`DispatchConfig::drop_when_full`] (live capture) the batch's packets are dropped and
//! counted per worker instead, and its control items go with the next batch.

use std::net::IpAddr;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::capture::RawPacket;
use crate::decode::defrag::{DefragConfig, Defragmenter};
use crate::decode::{self, DecodeError, Decoded, IpHeader, SegmentLayout, TcpSegment};
use crate::detect::RuleSet;
use crate::evidence::fragments::FragmentFrames;
use crate::pipeline::{ChecksumMode, DecodeStats};
use crate::time::Timestamp;

use super::batch::{Batch, Item};
use super::stats::{CaptureCounters, StatsMoment};

/// Flows are spread over this many shards, whatever the number of workers.
pub const SHARDS: usize = 64;

/// A batch is sent when it holds this many items…
const BATCH_ITEMS: usize = 1024;
/// …or this many bytes of packets. 128 KiB: against 256 KiB, a replay of the 469 MB capture
/// holds 6 MiB less with two workers at the same or lower CPU time (a batch and the flows it
/// touches fit the caches better); 64 KiB saves 2 MiB more but hands off too often for
/// full-size frames (a 1 GiB synth capture 7% slower).
const BATCH_BYTES: usize = 128 << 10;
/// Room a batch's byte buffer is made with: its limit plus one largest frame, so that the
/// frame that reaches the limit does not make the buffer grow (doubling would leave up to
/// twice the limit allocated, in every batch, for the rest of the run).
const BATCH_BYTES_ROOM: usize = BATCH_BYTES + (64 << 10);
/// Every batch is flushed at least this often (in positions).
pub const FLUSH_EVERY: u64 = 8192;

/// An empty batch with room for a full one.
fn new_batch() -> Batch {
    Batch {
        items: Vec::with_capacity(BATCH_ITEMS),
        bytes: Vec::with_capacity(BATCH_BYTES_ROOM),
        through: 0,
    }
}

/// The shard of the flow a TCP segment belongs to. `by_address_pair`: the ports are left
/// out, so that every connection between two hosts shares a shard (TLS sessions resumed
/// from an RSA key exchange must meet the shard that saw the first connection).
///
/// The hash is its own, not the flow table's (seeded per run) nor the EVE `flow_id`'s (FNV
/// over every byte, 2% of a replay when it ran per packet here): a few multiplications,
/// the same on every run and platform, and the same for both directions.
pub fn shard_of(segment: &TcpSegment<'_>, by_address_pair: bool) -> usize {
    let port = |p: u16| if by_address_pair { 0 } else { u64::from(p) };
    // Each end hashed on its own and the two added: the same sum in both directions,
    // without ordering the ends first.
    let ends = endpoint_hash(segment.ip.src, port(segment.src_port))
        .wrapping_add(endpoint_hash(segment.ip.dst, port(segment.dst_port)));
    let mut hash = mix(ends);
    for &id in segment.ip.vlan.as_slice() {
        hash = mix(hash ^ u64::from(id));
    }
    // The top bits: the best mixed.
    (hash >> 58) as usize % SHARDS
}

/// One end of a flow, mixed: an IPv4 address and its port fill 48 bits, an IPv6 address is
/// folded to 64 (halves combined, and kept apart from IPv4) before its port goes in.
fn endpoint_hash(addr: IpAddr, port: u64) -> u64 {
    match addr {
        IpAddr::V4(a) => mix((u64::from(a.to_bits()) << 16) | port),
        IpAddr::V6(a) => {
            let bits = a.to_bits();
            let folded = (bits as u64) ^ mix((bits >> 64) as u64) ^ (1 << 63);
            mix(mix(folded) ^ port)
        }
    }
}

/// SplitMix64's finaliser: every input bit reaches every output bit.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// How the dispatcher behaves.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Worker threads.
    pub workers: usize,
    /// Drop a batch's packets (and count them) when the worker's queue is full, instead of
    /// waiting: live capture must not stall the interface.
    pub drop_when_full: bool,
    /// IP defragmentation limits.
    pub defrag: DefragConfig,
    /// Whether fragments with a wrong IPv4 header checksum are dropped (not with `None`).
    pub checksums: ChecksumMode,
    /// Keep the frames of fragments and hand them to the worker with their datagram
    /// (evidence captures on).
    pub fragment_frames: bool,
    /// Shard flows by address pair only (see [`shard_of`]).
    pub shard_by_address_pair: bool,
}

/// Why the dispatcher could not hand a batch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("worker {0} stopped")]
pub struct WorkerGone(pub usize);

/// The capture thread's half of the sensor.
pub struct Dispatcher {
    config: DispatchConfig,
    queues: Vec<Sender<Batch>>,
    recycled: Receiver<Batch>,
    pending: Vec<Batch>,
    next_position: u64,
    last_flush: u64,
    next_tick: Timestamp,
    latest: Option<Timestamp>,
    first: Option<Timestamp>,
    defrag: Defragmenter,
    /// Frames of the fragments of incomplete datagrams (evidence captures on).
    fragment_frames: Option<FragmentFrames>,
    decode: DecodeStats,
    queue_drops: Vec<u64>,
    gone: Option<WorkerGone>,
}

impl Dispatcher {
    /// A dispatcher feeding `queues` (one per worker), reusing the batches that come back
    /// on `recycled`.
    pub fn new(
        config: DispatchConfig,
        queues: Vec<Sender<Batch>>,
        recycled: Receiver<Batch>,
    ) -> Self {
        let workers = queues.len();
        Dispatcher {
            defrag: Defragmenter::new(config.defrag.clone()),
            fragment_frames: config
                .fragment_frames
                .then(|| FragmentFrames::new(config.defrag.memcap, config.defrag.timeout_secs)),
            config,
            queues,
            recycled,
            pending: (0..workers).map(|_| new_batch()).collect(),
            next_position: 1,
            last_flush: 0,
            next_tick: Timestamp(i64::MIN),
            latest: None,
            first: None,
            decode: DecodeStats::default(),
            queue_drops: vec![0; workers],
            gone: None,
        }
    }

    /// The first worker found stopped, if any (the sensor cannot go on without it).
    pub fn worker_gone(&self) -> Option<WorkerGone> {
        self.gone
    }

    /// The latest packet time seen.
    pub fn latest(&self) -> Option<Timestamp> {
        self.latest
    }

    /// Takes one packet; `pcap_cnt` is its number in the whole capture, from 1.
    pub fn packet(&mut self, packet: &RawPacket<'_>, pcap_cnt: u64) {
        self.decode.packets += 1;
        self.decode.bytes += packet.data.len() as u64;
        self.advance_time(packet.ts);
        match decode::decode_frame(packet.link_type, packet.data) {
            Ok(Decoded::Tcp(segment)) => {
                self.decode.tcp += 1;
                let shard = shard_of(&segment, self.config.shard_by_address_pair);
                let position = self.position();
                let layout = SegmentLayout::of(&segment, packet.data);
                self.push_packet(shard, packet.data, |start, len| Item::Frame {
                    position,
                    pcap_cnt,
                    ts: packet.ts,
                    link_type: packet.link_type,
                    shard: shard as u16,
                    wire_len: packet.wire_len,
                    start,
                    len,
                    layout,
                });
            }
            Ok(Decoded::Fragment(fragment)) => {
                if self.config.checksums != ChecksumMode::None && !fragment.header_checksum_ok() {
                    self.decode.invalid_checksum += 1;
                    return;
                }
                self.defrag.expire(packet.ts);
                if let Some(frames) = &mut self.fragment_frames {
                    frames.add(fragment.key, packet);
                }
                let Some(datagram) = self.defrag.insert(packet.ts, &fragment) else {
                    return;
                };
                let held = match &mut self.fragment_frames {
                    Some(frames) => frames.take(&datagram.key),
                    None => Vec::new(),
                };
                let ip = IpHeader::from(datagram.key.ip);
                let protocol = datagram.key.protocol;
                match decode::decode_transport(ip, protocol, &datagram.payload) {
                    Ok(Decoded::Tcp(segment)) => {
                        self.decode.tcp += 1;
                        let shard = shard_of(&segment, self.config.shard_by_address_pair);
                        let position = self.position();
                        let wire_len = packet.data.len() as u32;
                        let w = shard % self.pending.len();
                        for f in &held {
                            // Into the same batch as the datagram, just before it.
                            let b = &mut self.pending[w];
                            let start = b.bytes.len() as u32;
                            b.bytes.extend_from_slice(&f.data);
                            b.items.push(Item::FragmentFrame {
                                ts: f.ts,
                                link_type: f.link_type,
                                wire_len: f.wire_len,
                                start,
                                len: f.data.len() as u32,
                            });
                        }
                        self.push_packet(shard, &datagram.payload, |start, len| Item::Datagram {
                            position,
                            pcap_cnt,
                            ts: packet.ts,
                            ip: Box::new(ip),
                            protocol,
                            shard: shard as u16,
                            wire_len,
                            start,
                            len,
                        });
                    }
                    Ok(_) => self.decode.other_ip += 1,
                    Err(e) => self.count_error(e),
                }
            }
            Ok(Decoded::OtherIp { .. }) => self.decode.other_ip += 1,
            Ok(Decoded::NotIp { .. }) => self.decode.not_ip += 1,
            Err(e) => self.count_error(e),
        }
        if self.next_position - self.last_flush >= FLUSH_EVERY {
            self.flush_all();
        }
    }

    /// Live capture with no packet for a while: moves time on to `now` (wall clock) so that
    /// idle flows expire, and hands out what is waiting in partly filled batches.
    pub fn idle(&mut self, now: Timestamp) {
        if self.latest.is_some_and(|l| now > l) {
            self.latest = Some(now);
            self.next_tick = now.plus_secs(1);
            self.tick(now);
        } else {
            self.flush_all();
        }
    }

    /// Packets from the next one on come from the capture file `name`; the next packet's
    /// number is `first_pcap_cnt`.
    pub fn file(&mut self, name: &str, first_pcap_cnt: u64) {
        let name: Arc<str> = Arc::from(name);
        self.broadcast(|| Item::File {
            first_pcap_cnt,
            name: Arc::clone(&name),
        });
    }

    /// Asks every worker for its counters at this point, for an EVE `stats` record taken
    /// at `moment`.
    pub fn stats_mark(&mut self, moment: StatsMoment) {
        let capture = Arc::new(self.counters_at(moment));
        let position = self.position();
        self.broadcast(|| Item::StatsMark {
            position,
            capture: Arc::clone(&capture),
        });
        self.flush_all();
    }

    /// Inspects with `rules` from the next packet on.
    pub fn reload(&mut self, rules: Arc<RuleSet>) {
        let position = self.position();
        self.broadcast(|| Item::Rules {
            position,
            rules: Arc::clone(&rules),
        });
        self.flush_all();
    }

    /// The capture thread's counters so far, taken at `moment`.
    pub fn counters_at(&self, moment: StatsMoment) -> CaptureCounters {
        CaptureCounters {
            time: moment.time,
            uptime_secs: moment.uptime_secs,
            kernel: moment.kernel,
            ..self.counters()
        }
    }

    /// The capture thread's counters so far (timed at the latest packet).
    pub fn counters(&self) -> CaptureCounters {
        CaptureCounters {
            time: self.latest.unwrap_or_default(),
            uptime_secs: self.uptime_secs(),
            decode: self.decode.clone(),
            defrag: self.defrag.stats().clone(),
            kernel: None,
            queue_drops: self.queue_drops.clone(),
        }
    }

    /// Seconds of packet time since the first packet.
    pub fn uptime_secs(&self) -> u64 {
        match (self.first, self.latest) {
            (Some(a), Some(b)) => b.nanos_since(a) / Timestamp::SECOND as u64,
            _ => 0,
        }
    }

    /// End of input: hands out every waiting batch and closes the queues, so that the
    /// workers finish their flows. Returns the final counters, taken at `moment` (by
    /// default, at the latest packet).
    pub fn finish(mut self, moment: Option<StatsMoment>) -> CaptureCounters {
        self.flush_all();
        match moment {
            Some(m) => self.counters_at(m),
            None => self.counters(),
        }
    }

    fn position(&mut self) -> u64 {
        let p = self.next_position;
        self.next_position += 1;
        p
    }

    fn count_error(&mut self, e: DecodeError) {
        match e {
            DecodeError::UnknownLinkType(_) => self.decode.unknown_link += 1,
            DecodeError::Truncated(_) | DecodeError::Malformed(_) => self.decode.invalid += 1,
        }
    }

    /// Notes packet time `ts`; once a second of packet time, tells every worker.
    fn advance_time(&mut self, ts: Timestamp) {
        self.first.get_or_insert(ts);
        if self.latest.is_none_or(|l| ts > l) {
            self.latest = Some(ts);
        }
        if ts >= self.next_tick {
            self.next_tick = ts.plus_secs(1);
            self.tick(ts);
        }
    }

    fn tick(&mut self, now: Timestamp) {
        let position = self.position();
        self.broadcast(|| Item::Tick { position, now });
        self.flush_all();
    }

    fn broadcast(&mut self, item: impl Fn() -> Item) {
        for b in &mut self.pending {
            b.items.push(item());
        }
    }

    fn push_packet(&mut self, shard: usize, bytes: &[u8], item: impl FnOnce(u32, u32) -> Item) {
        let w = shard % self.pending.len();
        let b = &mut self.pending[w];
        let start = b.bytes.len() as u32;
        b.bytes.extend_from_slice(bytes);
        b.items.push(item(start, bytes.len() as u32));
        if b.items.len() >= BATCH_ITEMS || b.bytes.len() >= BATCH_BYTES {
            self.flush(w);
        }
    }

    fn flush_all(&mut self) {
        for w in 0..self.pending.len() {
            self.flush(w);
        }
        self.last_flush = self.next_position;
    }

    /// Sends worker `w` its batch (even an empty one: it carries the watermark).
    fn flush(&mut self, w: usize) {
        let fresh = self.recycled.try_recv().unwrap_or_else(|_| new_batch());
        let mut batch = std::mem::replace(&mut self.pending[w], fresh);
        batch.through = self.next_position;
        if self.gone.is_some() {
            return;
        }
        let sent = if self.config.drop_when_full {
            match self.queues[w].try_send(batch) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(mut batch)) => {
                    // The packets are lost; the control items go with the next batch.
                    self.queue_drops[w] += batch.packets() as u64;
                    batch
                        .items
                        .retain(|i| !i.is_packet() && !matches!(i, Item::FragmentFrame { .. }));
                    batch.bytes.clear();
                    self.pending[w] = batch;
                    Ok(())
                }
                Err(TrySendError::Disconnected(_)) => Err(()),
            }
        } else {
            self.queues[w].send(batch).map_err(|_| ())
        };
        if sent.is_err() {
            self.gone = Some(WorkerGone(w));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::VlanIds;

    fn segment(a: &str, pa: u16, b: &str, pb: u16) -> TcpSegment<'static> {
        TcpSegment {
            ip: IpHeader {
                src: a.parse().unwrap(),
                dst: b.parse().unwrap(),
                vlan: VlanIds::default(),
            },
            src_port: pa,
            dst_port: pb,
            seq: 0,
            ack: 0,
            flags: crate::decode::TcpFlags(0),
            window: 0,
            window_scale: None,
            payload: b"",
            tcp_bytes: b"",
            ipv4_header: None,
            length_from_capture: false,
        }
    }

    #[test]
    fn both_directions_go_to_one_shard_and_shards_spread() {
        let fwd = segment("10.0.0.1", 51000, "10.0.0.2", 80);
        let rev = segment("10.0.0.2", 80, "10.0.0.1", 51000);
        assert_eq!(shard_of(&fwd, false), shard_of(&rev, false));
        assert_eq!(shard_of(&fwd, true), shard_of(&rev, true));
        let fwd6 = segment("2001:db8::1", 51000, "2001:db8::2", 443);
        let rev6 = segment("2001:db8::2", 443, "2001:db8::1", 51000);
        assert_eq!(shard_of(&fwd6, false), shard_of(&rev6, false));
        assert_eq!(shard_of(&fwd6, true), shard_of(&rev6, true));
        let mut used = [0u32; SHARDS];
        for port in 0..6400u16 {
            used[shard_of(&segment("10.0.0.1", 1024 + port, "10.0.0.2", 80), false)] += 1;
        }
        // Every shard gets some flows, none more than twice its share.
        assert!(used.iter().all(|&n| n > 0 && n < 200), "{used:?}");
        // So do clients that differ only in their address (IPv4 and IPv6).
        for v6 in [false, true] {
            let mut used = [0u32; SHARDS];
            for host in 0..6400u32 {
                let client = if v6 {
                    format!("2001:db8::{:x}:{:x}", host >> 16, host & 0xffff)
                } else {
                    format!("10.{}.{}.{}", host >> 16, (host >> 8) & 0xff, host & 0xff)
                };
                let server = if v6 { "2001:db8::80" } else { "192.0.2.80" };
                used[shard_of(&segment(&client, 51000, server, 443), false)] += 1;
            }
            assert!(used.iter().all(|&n| n > 0 && n < 200), "{used:?}");
        }
    }
}
