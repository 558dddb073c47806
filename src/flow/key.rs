//! Symmetric flow keys and the two sides of a conversation.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use crate::decode::{TcpSegment, VlanIds};
use crate::keyed_hash::{folded_multiply, process_keys};

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
/// Flow tables place it by [`FlowKey::table_hash`], a keyed hash (foldhash's mixing step,
/// keyed at random once per process: `crate::keyed_hash`), so that an attacker cannot choose
/// addresses that collide in the tables. Nothing the sensor writes depends on that hash
/// (tables are never read in their own order); [`FlowKey::stable_hash`] is the stable hash for
/// everything that must not change between runs. The hash is not kept in the key: every
/// flow holds its key, and a busy sensor holds tens of thousands of flows (a kept hash made
/// each flow's state 16 bytes larger in the allocator), while a packet's flow is looked up
/// by one hash computation of a few multiplications.
#[derive(Debug, Clone, Copy)]
pub struct FlowKey {
    low: Endpoint,
    high: Endpoint,
    vlan: VlanIds,
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
        state.write_u64(self.table_hash());
    }
}

/// An address as 128 bits; an IPv4 address is tagged, to stay apart from the IPv6 address
/// with the same low bits (a tie only costs a comparison, never a wrong flow).
fn address_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)) | 1 << 100,
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The keyed hash of a flow for its table: three folded multiplications over the two
/// endpoints and the VLAN ids (hashing the fields through `Hash` cost five times that: a
/// write and a mix per discriminant, address, port and VLAN id, at every packet).
fn table_hash(low: Endpoint, high: Endpoint, vlan: VlanIds) -> u64 {
    // Keyed per process, so that attacker-chosen addresses and ports cannot be made to collide.
    let k = process_keys();
    let (a, b) = (address_bits(low.addr), address_bits(high.addr));
    let ids = vlan.as_slice();
    let mut v = ids.len() as u64;
    for &id in ids {
        v = (v << 16) ^ u64::from(id);
    }
    let ports = u64::from(low.port) << 16 | u64::from(high.port);
    let h = folded_multiply(a as u64 ^ k[0], (a >> 64) as u64 ^ k[1]);
    let h = folded_multiply(h ^ b as u64 ^ k[2], (b >> 64) as u64 ^ k[3]);
    folded_multiply(h ^ ports ^ k[4], v ^ k[5])
}

/// Whether `a` sorts before or with `b`: the derived order, with IPv4 pairs (nearly every
/// packet) compared as numbers.
fn in_order(a: &Endpoint, b: &Endpoint) -> bool {
    match (a.addr, b.addr) {
        (IpAddr::V4(x), IpAddr::V4(y)) => (u32::from(x), a.port) <= (u32::from(y), b.port),
        _ => a <= b,
    }
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`.
    #[inline]
    pub fn new(src: Endpoint, dst: Endpoint, vlan: VlanIds) -> FlowKey {
        let (low, high) = if in_order(&src, &dst) {
            (src, dst)
        } else {
            (dst, src)
        };
        FlowKey { low, high, vlan }
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

    /// The hash flow tables place this key by (fast, keyed per process: never for anything
    /// written out; see [`FlowKey::stable_hash`]).
    pub fn table_hash(&self) -> u64 {
        table_hash(self.low, self.high, self.vlan)
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
    fn order_and_table_hash_follow_the_fields() {
        let addrs = [
            "10.0.0.1",
            "10.0.0.2",
            "9.255.255.255",
            "192.0.2.1",
            "::ffff:10.0.0.1",
            "::a00:1",
            "2001:db8::1",
            "2001:db8::2",
        ];
        let eps: Vec<Endpoint> = addrs
            .iter()
            .flat_map(|a| [ep(a, 80), ep(a, 443), ep(a, 65535)])
            .collect();
        let mut vlan = VlanIds::default();
        vlan.push(7);
        let mut hashes = std::collections::HashSet::new();
        for a in &eps {
            for b in &eps {
                assert_eq!(in_order(a, b), a <= b, "{a:?} {b:?}");
                for v in [VlanIds::default(), vlan] {
                    let k = FlowKey::new(*a, *b, v);
                    assert_eq!(k.table_hash(), FlowKey::new(*b, *a, v).table_hash());
                    if a <= b {
                        hashes.insert(k.table_hash());
                    }
                }
            }
        }
        // Distinct keys spread: no two of these collide.
        assert_eq!(hashes.len(), eps.len() * (eps.len() + 1));
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
