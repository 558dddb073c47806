//! Symmetric flow keys and the two sides of a conversation.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    low: Endpoint,
    high: Endpoint,
    vlan: VlanIds,
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`.
    pub fn new(src: Endpoint, dst: Endpoint, vlan: VlanIds) -> FlowKey {
        let (low, high) = if src <= dst { (src, dst) } else { (dst, src) };
        FlowKey { low, high, vlan }
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

    /// A hash that is the same for both directions, for sharding flows over workers and for
    /// the EVE `flow_id`. Stable across runs (no random state).
    pub fn shard_hash(&self) -> u32 {
        let mut h = Fnv32::default();
        self.hash(&mut h);
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
    fn key_is_symmetric() {
        let a = ep("10.0.0.1", 51000);
        let b = ep("10.0.0.2", 443);
        let k1 = FlowKey::new(a, b, VlanIds::default());
        let k2 = FlowKey::new(b, a, VlanIds::default());
        assert_eq!(k1, k2);
        assert_eq!(k1.shard_hash(), k2.shard_hash());
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
