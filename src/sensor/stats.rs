//! The sensor's counters: those of the capture thread, and all of them together.
//!
//! Workers count what happens to their flows ([`WorkerStats`]); the capture thread counts
//! packets, decoding, defragmentation, libpcap's own figures and packets it had to drop
//! because a worker's queue was full ([`CaptureCounters`]); the output counts alerts
//! settled against shared state and records written. [`SensorStats`] is the sum, as the
//! EVE `stats` record and the summary report it.

use crate::decode::defrag::DefragStats;
use crate::detect::DetectStats;
use crate::pipeline::{DecodeStats, WorkerStats};
use crate::time::Timestamp;

/// libpcap's counters of a live capture, summed over the interfaces and widened to 64 bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelCounters {
    /// Packets that passed the kernel filter (`ps_recv`, dropped ones included).
    pub packets: u64,
    /// Packets dropped because the capture buffer was full (`ps_drop`).
    pub drops: u64,
    /// Packets the interface dropped (`ps_ifdrop`; 0 when unknown).
    pub ifdrops: u64,
}

/// When a `stats` record is taken, and what only the caller knows then.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsMoment {
    /// The record's time: packet time in a replay, wall-clock time live.
    pub time: Timestamp,
    /// Seconds since the start.
    pub uptime_secs: u64,
    /// libpcap's counters (live capture only).
    pub kernel: Option<KernelCounters>,
}

/// The capture thread's counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureCounters {
    /// When they were taken: packet time in a replay, wall-clock time live.
    pub time: Timestamp,
    /// Seconds since the start (of packet time in a replay).
    pub uptime_secs: u64,
    /// Packets read and how they decoded.
    pub decode: DecodeStats,
    /// IP defragmentation.
    pub defrag: DefragStats,
    /// libpcap's counters (live capture only).
    pub kernel: Option<KernelCounters>,
    /// Packets dropped because a worker's queue was full, per worker (live capture only).
    pub queue_drops: Vec<u64>,
}

/// The counters of one output that ships records elsewhere (syslog, Redis), as the
/// destination reports them when a `stats` record is made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputCounters {
    /// Records the receiver took.
    pub sent: u64,
    /// Records waiting to be sent.
    pub queued: u64,
    /// Records dropped (queue full, or could not travel).
    pub dropped: u64,
    /// Connections that failed or broke.
    pub failures: u64,
}

/// Every counter of the sensor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SensorStats {
    /// The capture thread's.
    pub capture: CaptureCounters,
    /// The workers', summed (their `decode` counters are the capture thread's).
    pub workers: WorkerStats,
    /// EVE records written.
    pub records: u64,
    /// The shipping outputs', in the order they were given (none: no such output).
    pub outputs: Vec<OutputCounters>,
}

impl SensorStats {
    /// The sum of the capture thread's counters, the workers' and the output's.
    pub fn new(
        capture: CaptureCounters,
        workers: &[&WorkerStats],
        shared: &DetectStats,
        records: u64,
    ) -> SensorStats {
        let mut sum = WorkerStats::default();
        for w in workers {
            sum.merge(w);
        }
        sum.detect.merge(shared);
        sum.decode = capture.decode.clone();
        sum.defrag = capture.defrag.clone();
        SensorStats {
            capture,
            workers: sum,
            records,
            outputs: Vec::new(),
        }
    }

    /// Packets dropped on the way to the workers (queues full), all workers together.
    pub fn queue_drops(&self) -> u64 {
        self.capture.queue_drops.iter().sum()
    }
}
