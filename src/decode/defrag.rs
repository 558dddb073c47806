//! IPv4 and IPv6 fragment reassembly, with a timeout in packet time and a memory cap.
//!
//! Overlapping fragments are resolved the way Windows resolves them: see [`Defragmenter`].

use super::{FragmentKey, IpFragment};
use crate::capture::Timestamp;

/// Limits of the defragmenter.
#[derive(Debug, Clone)]
pub struct DefragConfig {
    /// A datagram whose first fragment is older than this (packet time) is dropped. By default 60 s.
    pub timeout_secs: u64,
    /// Bytes of fragment data held at most, over all datagrams. By default 32 MiB.
    pub memcap: usize,
    /// Fragments per datagram at most. By default 256.
    pub max_fragments: usize,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            timeout_secs: 60,
            memcap: 32 << 20,
            max_fragments: 256,
        }
    }
}

/// Counters of the defragmenter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped on timeout.
    pub timeouts: u64,
    /// Fragments or datagrams dropped because the memory cap was hit.
    pub memcap_drops: u64,
    /// Fragments that overlapped data already held.
    pub overlaps: u64,
    /// Fragments that were invalid (too big, conflicting ends, too many).
    pub invalid: u64,
}

/// A reassembled datagram: its identity and its full upper-layer payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Identity of the datagram (addresses, VLAN ids, id, protocol).
    pub key: FragmentKey,
    /// The upper-layer payload (e.g. the TCP header and data).
    pub payload: Vec<u8>,
}

/// Reassembles fragments into datagrams.
#[derive(Debug)]
pub struct Defragmenter {
    config: DefragConfig,
    stats: DefragStats,
}

impl Defragmenter {
    /// A defragmenter with the given limits.
    pub fn new(config: DefragConfig) -> Defragmenter {
        Defragmenter {
            config,
            stats: DefragStats::default(),
        }
    }

    /// Adds a fragment seen at `now`; returns the datagram when this fragment completes it.
    pub fn insert(&mut self, now: Timestamp, fragment: &IpFragment<'_>) -> Option<Datagram> {
        let _ = (now, fragment, &self.config);
        unimplemented!("Defragmenter::insert")
    }

    /// Drops datagrams that timed out at `now`.
    pub fn expire(&mut self, now: Timestamp) {
        let _ = now;
        unimplemented!("Defragmenter::expire")
    }

    /// Bytes of fragment data currently held.
    pub fn memory_used(&self) -> usize {
        0
    }

    /// Counters so far.
    pub fn stats(&self) -> &DefragStats {
        &self.stats
    }
}
