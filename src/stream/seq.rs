//! TCP sequence numbers, compared modulo 2^32.
//!
//! A sequence number is a position on a circle of 2^32 bytes (RFC 9293 §3.4): after
//! `0xffff_ffff` comes `0`. Two numbers are compared by the signed distance between them, so
//! `a` is before `b` when `b` is less than 2^31 bytes ahead of `a`. That relation is not a total
//! order (it is not transitive around the whole circle), so [`SeqNum`] deliberately implements
//! neither `Ord` nor `PartialOrd`: callers ask for the distance and decide.
//!
//! The reassembler turns every sequence number into a 64-bit stream offset (bytes since the
//! start of the direction) as soon as it arrives, by adding the signed distance to the offset
//! of the next expected byte. Past that point all arithmetic is on plain `u64` offsets, which
//! never wrap.

use std::fmt;

/// A TCP sequence (or acknowledgement) number, with wrapping arithmetic and comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// The number `n` bytes after this one, wrapping past 2^32.
    pub fn wrapping_add(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }

    /// The signed distance from `origin` to `self`: positive when `self` is ahead of
    /// `origin`, negative when behind. Exactly 2^31 apart counts as behind.
    pub fn distance_from(self, origin: SeqNum) -> i32 {
        // Reinterpreting the wrapped difference as two's complement is the whole trick.
        self.0.wrapping_sub(origin.0) as i32
    }

    /// True when `self` comes strictly before `other` on the circle.
    pub fn is_before(self, other: SeqNum) -> bool {
        self.distance_from(other) < 0
    }

    /// True when `self` comes strictly after `other` on the circle.
    pub fn is_after(self, other: SeqNum) -> bool {
        self.distance_from(other) > 0
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_wraps() {
        assert_eq!(SeqNum(u32::MAX).wrapping_add(1), SeqNum(0));
        assert_eq!(SeqNum(u32::MAX - 2).wrapping_add(10), SeqNum(7));
        assert_eq!(SeqNum(5).wrapping_add(0), SeqNum(5));
    }

    #[test]
    fn distance_across_the_wrap() {
        assert_eq!(SeqNum(3).distance_from(SeqNum(u32::MAX - 2)), 6);
        assert_eq!(SeqNum(u32::MAX - 2).distance_from(SeqNum(3)), -6);
        assert_eq!(SeqNum(100).distance_from(SeqNum(100)), 0);
    }

    #[test]
    fn half_circle_is_behind() {
        let a = SeqNum(0);
        assert_eq!(SeqNum(1 << 31).distance_from(a), i32::MIN);
        assert!(SeqNum(1 << 31).is_before(a));
        assert_eq!(SeqNum((1 << 31) - 1).distance_from(a), i32::MAX);
        assert!(SeqNum((1 << 31) - 1).is_after(a));
    }

    #[test]
    fn before_and_after() {
        assert!(SeqNum(u32::MAX).is_before(SeqNum(0)));
        assert!(SeqNum(0).is_after(SeqNum(u32::MAX)));
        assert!(!SeqNum(7).is_before(SeqNum(7)));
        assert!(!SeqNum(7).is_after(SeqNum(7)));
    }
}
