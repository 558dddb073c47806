//! IPv4 and IPv6 fragment reassembly, with a timeout in packet time and a memory cap.
//!
//! Fragments are grouped by [`FragmentKey`] (addresses, VLAN ids, IP id, protocol). A datagram
//! is handed back, as an owned payload, once the fragment at offset 0 and the last fragment
//! (More Fragments clear) are held and no byte between them is missing.
//!
//! # Overlaps: the Windows policy
//!
//! Exchange runs on Windows, so overlapping fragments are resolved the way Windows resolves
//! them, as described by Novak's target-based reassembly study and implemented by Suricata's
//! `DEFRAG_POLICY_WINDOWS`: data already received wins, except that a new fragment which
//! starts before an existing fragment and ends after it replaces that fragment. Exactly:
//!
//! 1. Each held fragment keeps the extent `[start, end)` it arrived with and its arrival rank.
//! 2. When a fragment `N` arrives, every held fragment `H` with `N.start < H.start` and
//!    `H.end < N.end` (strictly inside `N`) is discarded.
//! 3. If `N` discarded nothing and every byte of `N` is already held, `N` is dropped (an
//!    identical or shorter duplicate never replaces anything). Otherwise `N` is held.
//! 4. On completion each byte of the datagram comes from the earliest-arrived fragment still
//!    held that covers it.
//!
//! So a fragment that starts at the same offset as a held one, or ends at the same offset, or
//! overlaps only one edge of it, fills only the bytes nobody held; a fragment that strictly
//! encloses a held one supplies its bytes. With Novak's reference sequence (the one in
//! Suricata's `DefragSturgesNovakWindowsIpv4Test`) this gives the published Windows result
//! (see the `sturges_novak_windows` test). Suricata applies rule 2 to the first enclosed
//! fragment its walk meets and leaves ordering of the rest to its copy loop; here every
//! enclosed fragment is discarded, which is the same in every case its tests cover.
//! Every fragment that overlaps held data is counted in [`DefragStats::overlaps`].
//!
//! # Limits
//!
//! - Timeout ([`DefragConfig::timeout_secs`]): a datagram whose first fragment is older than
//!   the timeout, in packet time, is dropped by [`Defragmenter::expire`] and by every
//!   [`Defragmenter::insert`] (counted in `timeouts`).
//! - Memory ([`DefragConfig::memcap`]): [`Defragmenter::memory_used`] is the fragment data
//!   held plus the bookkeeping of every datagram and fragment. When a fragment would push it
//!   past the cap, the oldest other datagrams are dropped until it fits; when it could not fit
//!   even with its own datagram held alone, only the fragment is dropped. Each drop counts in
//!   `memcap_drops`.
//! - Fragments per datagram ([`DefragConfig::max_fragments`], counting duplicates): one more
//!   drops the datagram (counted in `invalid`).
//! - Size: a fragment ending past [`MAX_IPV4_PAYLOAD`] (IPv4: 65535 minus a 20-byte header)
//!   or [`MAX_IPV6_PAYLOAD`] (IPv6: the 16-bit payload length) is dropped, as is a fragment
//!   with More Fragments set whose length is zero or not a multiple of 8 (counted in `invalid`).
//! - Conflicting ends: a second last fragment with a different end, a last fragment ending
//!   before data already held, or a fragment reaching past the known end drops the whole
//!   datagram (counted in `invalid`), as Linux does.

use super::{FragmentKey, IpFragment};
use crate::time::Timestamp;
use std::collections::{hash_map::Entry, BTreeMap, HashMap};
use std::mem::size_of;
use std::net::IpAddr;

/// Largest IPv4 datagram payload: a 65535-byte total length minus the minimal 20-byte header.
pub const MAX_IPV4_PAYLOAD: u64 = 65535 - 20;
/// Largest IPv6 fragmentable part: what the 16-bit payload length can describe.
pub const MAX_IPV6_PAYLOAD: u64 = 65535;

/// Limits of the defragmenter.
#[derive(Debug, Clone)]
pub struct DefragConfig {
    /// A datagram whose first fragment is older than this (packet time) is dropped. By default 60 s.
    pub timeout_secs: u64,
    /// Bytes held at most over all datagrams: fragment data plus bookkeeping, as reported by
    /// [`Defragmenter::memory_used`]. By default 32 MiB.
    pub memcap: usize,
    /// Fragments per datagram at most (duplicates included). By default 256.
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
    /// Of `fragments`, those of IPv6 datagrams.
    pub ipv6_fragments: u64,
    /// Of `reassembled`, the IPv6 datagrams.
    pub ipv6_reassembled: u64,
    /// Of `timeouts`, the IPv6 datagrams.
    pub ipv6_timeouts: u64,
}

impl DefragStats {
    /// Adds another defragmenter's counters to these.
    pub fn merge(&mut self, o: &DefragStats) {
        self.fragments += o.fragments;
        self.reassembled += o.reassembled;
        self.timeouts += o.timeouts;
        self.memcap_drops += o.memcap_drops;
        self.overlaps += o.overlaps;
        self.invalid += o.invalid;
        self.ipv6_fragments += o.ipv6_fragments;
        self.ipv6_reassembled += o.ipv6_reassembled;
        self.ipv6_timeouts += o.ipv6_timeouts;
    }
}

/// A reassembled datagram: its identity and its full upper-layer payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Identity of the datagram (addresses, VLAN ids, id, protocol).
    pub key: FragmentKey,
    /// The upper-layer payload (e.g. the TCP header and data).
    pub payload: Vec<u8>,
}

/// One fragment held, with the extent it arrived with.
#[derive(Debug)]
struct Held {
    start: u32,
    end: u32,
    /// Arrival rank within its datagram: lower arrived earlier and wins overlaps.
    arrival: u32,
    data: Vec<u8>,
}

/// A datagram being reassembled.
#[derive(Debug)]
struct Pending {
    /// Packet time of the first fragment, and a tie-breaker: its key in `by_age`.
    age: (Timestamp, u64),
    /// Held fragments, sorted by `start`.
    frags: Vec<Held>,
    /// Fragments received for this datagram, duplicates included.
    received: usize,
    /// Rank the next held fragment gets.
    next_arrival: u32,
    /// End of the datagram, once a fragment with More Fragments clear arrived.
    total_len: Option<u32>,
    /// Bytes this datagram counts in [`Defragmenter::memory_used`].
    footprint: usize,
}

/// Bookkeeping charged per datagram: the pending record, its key in the hash map and its entry
/// in the age index.
const DATAGRAM_OVERHEAD: usize =
    size_of::<Pending>() + 2 * size_of::<FragmentKey>() + size_of::<(Timestamp, u64)>();

impl Pending {
    fn new(age: (Timestamp, u64)) -> Pending {
        Pending {
            age,
            frags: Vec::new(),
            received: 0,
            next_arrival: 0,
            total_len: None,
            footprint: DATAGRAM_OVERHEAD,
        }
    }

    /// Bytes held right now: bookkeeping, fragment slots and fragment data.
    fn measure(&self) -> usize {
        DATAGRAM_OVERHEAD
            + self.frags.capacity() * size_of::<Held>()
            + self.frags.iter().map(|h| h.data.capacity()).sum::<usize>()
    }

    /// True when held fragments cover every byte of `[start, end)`.
    fn covers(&self, start: u32, end: u32) -> bool {
        let mut reached = start;
        for h in &self.frags {
            if reached >= end {
                break;
            }
            if h.end <= reached {
                continue;
            }
            if h.start > reached {
                return false;
            }
            reached = h.end;
        }
        reached >= end
    }

    /// The payload, each byte from the earliest-arrived fragment that covers it.
    fn assemble(&self, total_len: u32) -> Vec<u8> {
        let mut out = vec![0u8; total_len as usize];
        let mut latest_first: Vec<&Held> = self.frags.iter().collect();
        latest_first.sort_unstable_by_key(|h| std::cmp::Reverse(h.arrival));
        for h in latest_first {
            let start = h.start as usize;
            if let Some(dst) = out.get_mut(start..start + h.data.len()) {
                dst.copy_from_slice(&h.data);
            }
        }
        out
    }
}

/// Reassembles fragments into datagrams. Overlaps follow the Windows policy described in the
/// [module documentation](self).
#[derive(Debug)]
pub struct Defragmenter {
    config: DefragConfig,
    stats: DefragStats,
    pending: HashMap<FragmentKey, Pending>,
    /// Datagrams by the time of their first fragment, oldest first.
    by_age: BTreeMap<(Timestamp, u64), FragmentKey>,
    next_seq: u64,
    memory: usize,
}

impl Defragmenter {
    /// A defragmenter with the given limits.
    pub fn new(config: DefragConfig) -> Defragmenter {
        Defragmenter {
            config,
            stats: DefragStats::default(),
            pending: HashMap::new(),
            by_age: BTreeMap::new(),
            next_seq: 0,
            memory: 0,
        }
    }

    /// Adds a fragment seen at `now`; returns the datagram when this fragment completes it.
    pub fn insert(&mut self, now: Timestamp, fragment: &IpFragment<'_>) -> Option<Datagram> {
        self.stats.fragments += 1;
        let key = fragment.key;
        self.stats.ipv6_fragments += u64::from(key.ip.src.is_ipv6());
        self.expire(now);

        let len = fragment.payload.len();
        let limit = match key.ip.src {
            IpAddr::V4(_) => MAX_IPV4_PAYLOAD,
            IpAddr::V6(_) => MAX_IPV6_PAYLOAD,
        };
        let end = u64::from(fragment.offset) + len as u64;
        let last = !fragment.more_fragments;
        if end > limit || (!last && (len == 0 || len % 8 != 0)) {
            self.stats.invalid += 1;
            return None;
        }
        let (start, end) = (fragment.offset, end as u32);

        // What this fragment does to the datagram, decided before anything changes.
        let (exists, store) = match self.pending.get_mut(&key) {
            None => (false, len > 0),
            Some(p) => {
                p.received += 1;
                let conflict = match (p.total_len, last) {
                    (Some(total), true) => total != end,
                    (None, true) => p.frags.iter().any(|h| h.end > end),
                    (Some(total), false) => end > total,
                    (None, false) => false,
                };
                if p.received > self.config.max_fragments || conflict {
                    self.remove(&key);
                    self.stats.invalid += 1;
                    return None;
                }
                if p.frags.iter().any(|h| h.start < end && start < h.end) {
                    self.stats.overlaps += 1;
                }
                let encloses = p.frags.iter().any(|h| start < h.start && h.end < end);
                (true, len > 0 && (encloses || !p.covers(start, end)))
            }
        };
        if !exists && self.config.max_fragments == 0 {
            self.stats.invalid += 1;
            return None;
        }

        let need = if exists { 0 } else { DATAGRAM_OVERHEAD }
            + if store { len + size_of::<Held>() } else { 0 };
        if !self.make_room(need, &key) {
            self.stats.memcap_drops += 1;
            return None;
        }

        let p = match self.pending.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let age = (now, self.next_seq);
                self.next_seq += 1;
                self.by_age.insert(age, key);
                self.memory += DATAGRAM_OVERHEAD;
                let p = e.insert(Pending::new(age));
                p.received = 1;
                p
            }
        };
        if last {
            p.total_len = Some(end);
        }
        if store {
            p.frags.retain(|h| !(start < h.start && h.end < end));
            p.frags.reserve_exact(1);
            let at = p.frags.partition_point(|h| h.start <= start);
            p.frags.insert(
                at,
                Held {
                    start,
                    end,
                    arrival: p.next_arrival,
                    data: fragment.payload.to_vec(),
                },
            );
            p.next_arrival = p.next_arrival.saturating_add(1);
        }
        let footprint = p.measure();
        self.memory = self.memory - p.footprint + footprint;
        p.footprint = footprint;

        let total_len = p.total_len?;
        if !p.covers(0, total_len) {
            return None;
        }
        let payload = p.assemble(total_len);
        self.remove(&key);
        self.stats.reassembled += 1;
        self.stats.ipv6_reassembled += u64::from(key.ip.src.is_ipv6());
        Some(Datagram { key, payload })
    }

    /// Drops datagrams that timed out at `now`.
    pub fn expire(&mut self, now: Timestamp) {
        let timeout = self
            .config
            .timeout_secs
            .saturating_mul(Timestamp::SECOND as u64);
        while let Some((&(first, _), &key)) = self.by_age.first_key_value() {
            if now.nanos_since(first) <= timeout {
                break;
            }
            self.remove(&key);
            self.stats.timeouts += 1;
            self.stats.ipv6_timeouts += u64::from(key.ip.src.is_ipv6());
        }
    }

    /// Bytes currently held: fragment data plus the bookkeeping of each datagram and fragment.
    pub fn memory_used(&self) -> usize {
        self.memory
    }

    /// Datagrams currently being reassembled.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Counters so far.
    pub fn stats(&self) -> &DefragStats {
        &self.stats
    }

    /// Drops the oldest datagrams other than `keep` until `need` more bytes fit under the cap;
    /// false (dropping nothing) when they could not fit even with `keep` held alone.
    fn make_room(&mut self, need: usize, keep: &FragmentKey) -> bool {
        let own = self.pending.get(keep).map_or(0, |p| p.footprint);
        if own.saturating_add(need) > self.config.memcap {
            return false;
        }
        while self.memory.saturating_add(need) > self.config.memcap {
            let Some(victim) = self.by_age.values().find(|k| *k != keep).copied() else {
                return false;
            };
            self.remove(&victim);
            self.stats.memcap_drops += 1;
        }
        true
    }

    fn remove(&mut self, key: &FragmentKey) {
        if let Some(p) = self.pending.remove(key) {
            self.by_age.remove(&p.age);
            self.memory -= p.footprint;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::*;
    use crate::decode::{decode_frame, decode_transport, linktype, Decoded, IpHeaderKey};
    use crate::decode::{TcpFlags, VlanIds};
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn key4(id: u32) -> FragmentKey {
        FragmentKey {
            ip: IpHeaderKey {
                src: IpAddr::V4(Ipv4Addr::from(V4_SRC)),
                dst: IpAddr::V4(Ipv4Addr::from(V4_DST)),
                vlan: VlanIds::default(),
            },
            id,
            protocol: 1,
        }
    }

    fn key6(id: u32) -> FragmentKey {
        FragmentKey {
            ip: IpHeaderKey {
                src: IpAddr::V6(Ipv6Addr::from(V6_SRC)),
                dst: IpAddr::V6(Ipv6Addr::from(V6_DST)),
                vlan: VlanIds::default(),
            },
            id,
            protocol: 17,
        }
    }

    fn frag(key: FragmentKey, offset: u32, more: bool, payload: &[u8]) -> IpFragment<'_> {
        IpFragment {
            key,
            offset,
            more_fragments: more,
            payload,
            ipv4_header: None,
        }
    }

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    /// Sum of what every held datagram measures: what `memory_used` must equal.
    fn recount(d: &Defragmenter) -> usize {
        d.pending.values().map(Pending::measure).sum()
    }

    #[test]
    fn every_arrival_order_reassembles() {
        let data: Vec<u8> = (0..48).collect();
        let pieces = [(0u32, true), (16, true), (32, false)];
        let orders = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for order in orders {
            let mut d = Defragmenter::new(DefragConfig::default());
            for (n, &i) in order.iter().enumerate() {
                let (off, more) = pieces[i];
                let at = off as usize;
                let f = frag(key4(9), off, more, &data[at..at + 16]);
                let out = d.insert(t(1), &f);
                if n < 2 {
                    assert_eq!(out, None, "order {order:?}");
                    assert_eq!(d.memory_used(), recount(&d));
                    assert!(d.memory_used() >= 16 * (n + 1));
                } else {
                    let out = out.expect("complete");
                    assert_eq!(out.key, key4(9));
                    assert_eq!(out.payload, data, "order {order:?}");
                }
            }
            assert_eq!(d.memory_used(), 0);
            assert_eq!(d.pending(), 0);
            assert_eq!(d.stats().reassembled, 1);
            assert_eq!(d.stats().fragments, 3);
            assert_eq!(d.stats().overlaps, 0);
        }
    }

    #[test]
    fn duplicates_are_counted_and_harmless() {
        let mut d = Defragmenter::new(DefragConfig::default());
        assert_eq!(d.insert(t(1), &frag(key4(1), 0, true, b"AAAAAAAA")), None);
        let held = d.memory_used();
        assert_eq!(d.insert(t(1), &frag(key4(1), 0, true, b"AAAAAAAA")), None);
        assert_eq!(d.memory_used(), held, "a duplicate is not stored");
        let out = d.insert(t(1), &frag(key4(1), 8, false, b"BB")).unwrap();
        assert_eq!(out.payload, b"AAAAAAAABB");
        assert_eq!(d.stats().overlaps, 1);
    }

    #[test]
    fn old_data_wins_on_partial_overlap() {
        // New fragment overlaps the end of an old one: old bytes kept.
        let mut d = Defragmenter::new(DefragConfig::default());
        d.insert(t(1), &frag(key4(1), 0, true, &[b'A'; 16]));
        let out = d
            .insert(t(1), &frag(key4(1), 8, false, &[b'B'; 16]))
            .unwrap();
        assert_eq!(out.payload, b"AAAAAAAAAAAAAAAABBBBBBBB");
        // New fragment overlaps the start of an old one: old bytes kept.
        let mut d = Defragmenter::new(DefragConfig::default());
        d.insert(t(1), &frag(key4(2), 8, false, &[b'A'; 16]));
        let out = d
            .insert(t(1), &frag(key4(2), 0, true, &[b'B'; 16]))
            .unwrap();
        assert_eq!(out.payload, b"BBBBBBBBAAAAAAAAAAAAAAAA");
        assert_eq!(d.stats().overlaps, 1);
    }

    #[test]
    fn new_fragment_strictly_covering_an_old_one_replaces_it() {
        let mut d = Defragmenter::new(DefragConfig::default());
        d.insert(t(1), &frag(key4(1), 8, true, &[b'A'; 8]));
        let out = d
            .insert(t(1), &frag(key4(1), 0, false, &[b'B'; 24]))
            .unwrap();
        assert_eq!(out.payload, [b'B'; 24]);
        assert_eq!(d.stats().overlaps, 1);
    }

    #[test]
    fn shared_edges_do_not_replace() {
        // Same end: old kept.
        let mut d = Defragmenter::new(DefragConfig::default());
        d.insert(t(1), &frag(key4(1), 8, true, &[b'A'; 8]));
        d.insert(t(1), &frag(key4(1), 0, true, &[b'B'; 16]));
        let out = d.insert(t(1), &frag(key4(1), 16, false, b"C")).unwrap();
        assert_eq!(out.payload, b"BBBBBBBBAAAAAAAAC");
        // Same start: old kept.
        let mut d = Defragmenter::new(DefragConfig::default());
        d.insert(t(1), &frag(key4(1), 0, true, &[b'A'; 8]));
        let out = d
            .insert(t(1), &frag(key4(1), 0, false, &[b'B'; 16]))
            .unwrap();
        assert_eq!(out.payload, b"AAAAAAAABBBBBBBB");
        // New inside old: dropped, not held.
        let mut d = Defragmenter::new(DefragConfig::default());
        d.insert(t(1), &frag(key4(1), 0, true, &[b'A'; 24]));
        let held = d.memory_used();
        d.insert(t(1), &frag(key4(1), 8, true, &[b'B'; 8]));
        assert_eq!(d.memory_used(), held);
        let out = d.insert(t(1), &frag(key4(1), 24, false, b"C")).unwrap();
        assert_eq!(out.payload, b"AAAAAAAAAAAAAAAAAAAAAAAAC");
    }

    /// Novak's reference sequence, as in Suricata's `DefragSturgesNovakWindowsIpv4Test`.
    fn sturges_novak(key: FragmentKey) -> Vec<u8> {
        let sequence: [(u32, u8, usize, bool); 17] = [
            (0, b'A', 24, true),
            (32, b'B', 16, true),
            (48, b'C', 24, true),
            (80, b'D', 8, true),
            (104, b'E', 16, true),
            (120, b'F', 24, true),
            (144, b'G', 16, true),
            (160, b'H', 16, true),
            (176, b'I', 8, true),
            (8, b'J', 32, true),
            (48, b'K', 24, true),
            (72, b'L', 24, true),
            (96, b'M', 24, true),
            (128, b'N', 8, true),
            (152, b'O', 8, true),
            (160, b'P', 8, true),
            (176, b'Q', 16, false),
        ];
        let mut d = Defragmenter::new(DefragConfig::default());
        let mut out = None;
        for (n, (offset, byte, len, more)) in sequence.into_iter().enumerate() {
            let payload = vec![byte; len];
            let r = d.insert(t(1), &frag(key, offset, more, &payload));
            assert_eq!(r.is_some(), n == 16, "fragment {n}");
            out = out.or(r);
        }
        assert_eq!(d.stats().overlaps, 8); // J to Q each overlap
        out.unwrap().payload
    }

    #[test]
    fn sturges_novak_windows() {
        let expected: Vec<u8> = "AAAJBBCCCLLLMEEFFFGGHHIQ"
            .bytes()
            .flat_map(|b| [b; 8])
            .collect();
        assert_eq!(sturges_novak(key4(1)), expected);
        assert_eq!(sturges_novak(key6(1)), expected);
    }

    #[test]
    fn timeout_from_first_fragment() {
        let mut d = Defragmenter::new(DefragConfig::default());
        d.insert(t(100), &frag(key4(1), 0, true, &[0; 8]));
        d.insert(t(150), &frag(key4(1), 16, true, &[0; 8]));
        d.expire(t(160));
        assert_eq!(d.pending(), 1, "exactly the timeout is not older");
        d.expire(Timestamp(t(160).0 + 1));
        assert_eq!((d.pending(), d.memory_used()), (0, 0));
        assert_eq!(d.stats().timeouts, 1);
        // Lazily, on insert: the first fragment is gone, so the rest cannot complete.
        d.insert(t(200), &frag(key4(2), 0, true, &[0; 8]));
        assert_eq!(d.insert(t(261), &frag(key4(2), 8, false, &[0; 8])), None);
        assert_eq!(d.stats().timeouts, 2);
        assert_eq!(d.pending(), 1);
        // Packet time going backwards does not expire anything.
        d.expire(t(0));
        assert_eq!(d.pending(), 1);
    }

    #[test]
    fn memcap_drops_oldest_datagram_then_the_fragment() {
        let mut probe = Defragmenter::new(DefragConfig::default());
        probe.insert(t(1), &frag(key4(0), 0, true, &[0; 16]));
        let one = probe.memory_used();
        assert!(one > 16);

        let config = DefragConfig {
            memcap: 2 * one + 100, // room for two 16-byte datagrams and a little more
            ..DefragConfig::default()
        };
        let mut d = Defragmenter::new(config.clone());
        d.insert(t(1), &frag(key4(1), 0, true, &[1; 16]));
        d.insert(t(2), &frag(key4(2), 0, true, &[2; 16]));
        assert_eq!((d.pending(), d.memory_used()), (2, 2 * one));
        d.insert(t(3), &frag(key4(3), 0, true, &[3; 16]));
        assert_eq!(d.stats().memcap_drops, 1);
        assert_eq!(d.pending(), 2);
        assert!(d.memory_used() <= config.memcap);
        // Datagram 1 (the oldest) is gone; 2 still completes.
        let out = d.insert(t(4), &frag(key4(2), 16, false, b"y")).unwrap();
        assert_eq!(out.payload[..16], [2; 16]);
        assert_eq!(&out.payload[16..], b"y");
        assert_eq!(d.insert(t(4), &frag(key4(1), 16, false, b"x")), None);
        assert_eq!(d.stats().memcap_drops, 1);
        assert_eq!(d.pending(), 2);
        // A fragment that cannot fit even alone is dropped without flushing anything.
        let pending = d.pending();
        let big = vec![0; (config.memcap / 8 + 1) * 8];
        assert_eq!(d.insert(t(5), &frag(key4(9), 0, true, &big)), None);
        assert_eq!(d.stats().memcap_drops, 2);
        assert_eq!(d.pending(), pending);
        assert_eq!(d.memory_used(), recount(&d));
    }

    #[test]
    fn too_many_fragments_drop_the_datagram() {
        let mut d = Defragmenter::new(DefragConfig {
            max_fragments: 3,
            ..DefragConfig::default()
        });
        for off in [0, 16, 32] {
            d.insert(t(1), &frag(key4(1), off, true, &[0; 8]));
        }
        assert_eq!(d.pending(), 1);
        d.insert(t(1), &frag(key4(1), 48, true, &[0; 8]));
        assert_eq!((d.pending(), d.memory_used()), (0, 0));
        assert_eq!(d.stats().invalid, 1);
    }

    #[test]
    fn conflicting_ends_drop_the_datagram() {
        let cases: [&[(u32, bool, usize)]; 3] = [
            &[(16, false, 8), (16, false, 16)], // two different ends
            &[(16, false, 8), (24, true, 8)],   // data past the end
            &[(32, true, 8), (8, false, 8)],    // end before held data
        ];
        for case in cases {
            let mut d = Defragmenter::new(DefragConfig::default());
            for &(off, more, len) in case {
                d.insert(t(1), &frag(key4(1), off, more, &vec![0; len]));
            }
            assert_eq!(d.stats().invalid, 1, "{case:?}");
            assert_eq!((d.pending(), d.memory_used()), (0, 0));
        }
        // The same last fragment twice is not a conflict.
        let mut d = Defragmenter::new(DefragConfig::default());
        d.insert(t(1), &frag(key4(1), 8, false, b"zz"));
        d.insert(t(1), &frag(key4(1), 8, false, b"zz"));
        let out = d.insert(t(1), &frag(key4(1), 0, true, &[1; 8])).unwrap();
        assert_eq!(out.payload.len(), 10);
        assert_eq!(d.stats().invalid, 0);
    }

    #[test]
    fn size_and_alignment_limits() {
        let mut d = Defragmenter::new(DefragConfig::default());
        d.insert(t(1), &frag(key4(1), 65512, false, &[0; 8]));
        assert_eq!((d.stats().invalid, d.pending()), (1, 0));
        d.insert(t(1), &frag(key4(1), 65504, false, &[0; 11]));
        assert_eq!((d.stats().invalid, d.pending()), (1, 1), "ends at 65515");
        d.insert(t(1), &frag(key6(1), 65520, false, &[0; 15]));
        assert_eq!(
            (d.stats().invalid, d.pending()),
            (1, 2),
            "IPv6 may end at 65535"
        );
        d.insert(t(1), &frag(key6(1), 65528, false, &[0; 8]));
        assert_eq!(d.stats().invalid, 2);
        d.insert(t(1), &frag(key4(2), 0, true, &[0; 12]));
        d.insert(t(1), &frag(key4(2), 0, true, &[]));
        assert_eq!(d.stats().invalid, 4, "MF needs a non-empty multiple of 8");
        d.insert(t(1), &frag(key4(3), u32::MAX, false, &[0; 8]));
        assert_eq!(d.stats().invalid, 5);
    }

    #[test]
    fn ipv6_fragments_end_to_end() {
        let segment = tcp(40000, 443, 1, TcpFlags::ACK, &[b'q'; 40]); // 60 bytes
        let mut first = vec![44, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop, then fragment header
        first.extend_from_slice(&ipv6_fragment_header(6, 0, true, 77));
        first.extend_from_slice(&segment[..32]);
        let mut second = ipv6_fragment_header(6, 32, false, 77).to_vec();
        second.extend_from_slice(&segment[32..]);
        let frames = [ipv6(0, &first), ipv6(44, &second)];

        let mut d = Defragmenter::new(DefragConfig::default());
        let mut out = None;
        for frame in frames.iter().rev() {
            let Ok(Decoded::Fragment(f)) = decode_frame(linktype::RAW, frame) else {
                panic!("not a fragment");
            };
            out = d.insert(t(1), &f);
        }
        let datagram = out.unwrap();
        assert_eq!(datagram.key.id, 77);
        assert_eq!(
            datagram.payload, segment,
            "hop-by-hop header not in payload"
        );
        let ip = datagram.key.ip.into();
        let Ok(Decoded::Tcp(s)) = decode_transport(ip, datagram.key.protocol, &datagram.payload)
        else {
            panic!("not TCP");
        };
        assert_eq!((s.src_port, s.dst_port), (40000, 443));
        assert_eq!(s.payload, [b'q'; 40]);
    }

    #[test]
    fn ipv4_fragments_end_to_end_with_vlan() {
        let segment = tcp(40000, 80, 1, TcpFlags::ACK, b"POST /owa/auth HTTP/1.1\r\n");
        let a = ethernet(&[(0x8100, 5)], 0x0800, &ipv4(3, 0x2000, 6, &segment[..24]));
        let b = ethernet(&[(0x8100, 5)], 0x0800, &ipv4(3, 3, 6, &segment[24..]));
        let c = ethernet(&[(0x8100, 6)], 0x0800, &ipv4(3, 3, 6, &segment[24..]));
        let mut d = Defragmenter::new(DefragConfig::default());
        for frame in [&a, &c] {
            let Ok(Decoded::Fragment(f)) = decode_frame(linktype::ETHERNET, frame) else {
                panic!("not a fragment");
            };
            assert_eq!(d.insert(t(1), &f), None, "another VLAN is another datagram");
        }
        let Ok(Decoded::Fragment(f)) = decode_frame(linktype::ETHERNET, &b) else {
            panic!("not a fragment");
        };
        let datagram = d.insert(t(1), &f).unwrap();
        assert_eq!(datagram.key.ip.vlan.as_slice(), &[5]);
        assert_eq!(datagram.payload, segment);
    }

    proptest! {
        #[test]
        fn random_fragments_keep_limits(
            ops in proptest::collection::vec(
                (0u32..3, 0u32..24, 0usize..5, any::<bool>(), any::<u8>(), 0i64..3),
                1..120,
            ),
        ) {
            let config = DefragConfig {
                timeout_secs: 5,
                memcap: 4096,
                max_fragments: 12,
            };
            let mut d = Defragmenter::new(config.clone());
            let mut now = 0;
            for (id, units, len_units, more, byte, step) in ops {
                now += step;
                let payload = vec![byte; len_units * 8 + usize::from(!more) * usize::from(byte % 3)];
                let key = if id == 2 { key6(id) } else { key4(id) };
                if let Some(dg) = d.insert(t(now), &frag(key, units * 8, more, &payload)) {
                    prop_assert!(dg.payload.len() >= payload.len());
                }
                prop_assert!(d.memory_used() <= config.memcap);
                prop_assert_eq!(d.memory_used(), recount(&d));
                prop_assert_eq!(d.by_age.len(), d.pending());
            }
            d.expire(t(now + 6));
            prop_assert_eq!((d.pending(), d.memory_used()), (0, 0));
        }
    }
}
