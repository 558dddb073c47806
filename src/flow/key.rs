//! Symmetric flow keys and the two sides of a conversation.

use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;
use std::sync::OnceLock;

use crate::decode::{TcpSegment, VlanIds};

/// One end of a TCP conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// IP address.
    pub addr: IpAddr,
    /// TCP port.
    pub port: u16,
}

/// Which side of a flow sent a packet: the one that opened the connection (the sender of the
/// SYN, or of the first packet seen when the start was not captured) or the other one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The side that opened the connection.
    Initiator,
    /// The side that answered.
    Responder,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Initiator => Side::Responder,
            Side::Responder => Side::Initiator,
        }
    }

    /// 0 for the initiator, 1 for the responder: an index into per-side arrays.
    pub fn index(self) -> usize {
        match self {
            Side::Initiator => 0,
            Side::Responder => 1,
        }
    }
}

/// A key that is the same for both directions of a flow: the two endpoints in a canonical
/// order, plus the VLAN ids.
///
/// The key carries its hash for flow tables, computed once with a keyed hash (foldhash, seeded
/// at random once per process), so that a packet's several table lookups hash it
/// once, and so that an attacker cannot choose addresses that collide in the tables. Nothing
/// the sensor writes depends on that hash (tables are never read in their own order);
/// [`FlowKey::stable_hash`] is the stable hash for everything that must not change between runs.
#[derive(Debug, Clone, Copy)]
pub struct FlowKey {
    low: Endpoint,
    high: Endpoint,
    vlan: VlanIds,
    table_hash: u64,
}

impl PartialEq for FlowKey {
    fn eq(&self, other: &FlowKey) -> bool {
        self.fields() == other.fields()
    }
}

impl Eq for FlowKey {}

impl PartialOrd for FlowKey {
    fn partial_cmp(&self, other: &FlowKey) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FlowKey {
    fn cmp(&self, other: &FlowKey) -> std::cmp::Ordering {
        self.fields().cmp(&other.fields())
    }
}

impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.table_hash);
    }
}

/// The keyed hasher of flow-table hashes, its seed drawn once per process: foldhash, seeded so
/// that attacker-chosen addresses and ports cannot be made to collide (`crates.md`: 831 ns
/// per insert and four lookups against std's SipHash's 1939).
fn table_hasher() -> &'static foldhash::fast::RandomState {
    static KEYS: OnceLock<foldhash::fast::RandomState> = OnceLock::new();
    KEYS.get_or_init(foldhash::fast::RandomState::default)
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`.
    pub fn new(src: Endpoint, dst: Endpoint, vlan: VlanIds) -> FlowKey {
        let (low, high) = if src <= dst { (src, dst) } else { (dst, src) };
        let table_hash = table_hasher().hash_one((low, high, vlan));
        FlowKey {
            low,
            high,
            vlan,
            table_hash,
        }
    }

    fn fields(&self) -> (Endpoint, Endpoint, VlanIds) {
        (self.low, self.high, self.vlan)
    }

    /// The source and destination of a TCP segment, and the key of its flow.
    pub fn of_segment(segment: &TcpSegment<'_>) -> (FlowKey, Endpoint, Endpoint) {
        let src = Endpoint {
            addr: segment.ip.src,
            port: segment.src_port,
        };
        let dst = Endpoint {
            addr: segment.ip.dst,
            port: segment.dst_port,
        };
        (FlowKey::new(src, dst, segment.ip.vlan), src, dst)
    }

    /// The endpoint that sorts first.
    pub fn low(&self) -> Endpoint {
        self.low
    }

    /// The endpoint that sorts second.
    pub fn high(&self) -> Endpoint {
        self.high
    }

    /// VLAN ids of the flow.
    pub fn vlan(&self) -> VlanIds {
        self.vlan
    }

    /// A hash that is the same for both directions, for the EVE `flow_id`. Stable across runs
    /// and platforms (no random state). Workers' shards have their own cheaper hash
    /// (`sensor::dispatch::shard_of`).
    pub fn stable_hash(&self) -> u32 {
        let mut h = Fnv32::default();
        self.fields().hash(&mut h);
        h.finish() as u32
    }
}

/// The hasher of flow tables: the key's own hash, passed through (see [`FlowKey`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyHash(u64);

impl Hasher for KeyHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `FlowKey`; anything else still hashes.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// 32-bit FNV-1a: small, stable across runs and platforms.
struct Fnv32(u32);

impl Default for Fnv32 {
    fn default() -> Self {
        Fnv32(0x811c_9dc5)
    }
}

impl Hasher for Fnv32 {
    fn finish(&self) -> u64 {
        u64::from(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u32::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(a: &str, port: u16) -> Endpoint {
        Endpoint {
            addr: a.parse().unwrap(),
            port,
        }
    }

    #[test]
    fn key_is_symmetric() {
        let a = ep("10.0.0.1", 51000);
        let b = ep("10.0.0.2", 443);
        let k1 = FlowKey::new(a, b, VlanIds::default());
        let k2 = FlowKey::new(b, a, VlanIds::default());
        assert_eq!(k1, k2);
        assert_eq!(k1.stable_hash(), k2.stable_hash());
    }

    #[test]
    fn vlan_is_part_of_the_key() {
        let a = ep("10.0.0.1", 51000);
        let b = ep("10.0.0.2", 443);
        let mut v = VlanIds::default();
        v.push(42);
        assert_ne!(
            FlowKey::new(a, b, v),
            FlowKey::new(a, b, VlanIds::default())
        );
    }

    #[test]
    fn side_opposite() {
        assert_eq!(Side::Initiator.opposite(), Side::Responder);
        assert_eq!(Side::Responder.index(), 1);
    }
}
