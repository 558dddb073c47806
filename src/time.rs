//! Packet timestamps.
//!
//! Every timeout in exhound runs on packet time, carried as [`Timestamp`]: nanoseconds since the
//! Unix epoch. A capture's clock is the only clock the pipeline knows.

use std::fmt;

/// Nanoseconds since the Unix epoch, from the capture (never from the wall clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// One second, in the unit of a [`Timestamp`].
    pub const SECOND: i64 = 1_000_000_000;

    /// Builds a timestamp from seconds and a fraction in nanoseconds.
    pub fn from_parts(secs: i64, nanos: u32) -> Timestamp {
        Timestamp(
            secs.saturating_mul(Self::SECOND)
                .saturating_add(i64::from(nanos)),
        )
    }

    /// Builds a timestamp from whole seconds.
    pub fn from_secs(secs: i64) -> Timestamp {
        Timestamp::from_parts(secs, 0)
    }

    /// Whole seconds since the epoch (floor).
    pub fn secs(self) -> i64 {
        self.0.div_euclid(Self::SECOND)
    }

    /// Sub-second part in nanoseconds.
    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(Self::SECOND) as u32
    }

    /// Sub-second part in microseconds.
    pub fn subsec_micros(self) -> u32 {
        self.subsec_nanos() / 1000
    }

    /// This timestamp plus `secs` seconds.
    pub fn plus_secs(self, secs: u64) -> Timestamp {
        let add = i64::try_from(secs).unwrap_or(i64::MAX / Self::SECOND);
        Timestamp(self.0.saturating_add(add.saturating_mul(Self::SECOND)))
    }

    /// Nanoseconds from `earlier` to `self`, zero when `earlier` is later.
    pub fn nanos_since(self, earlier: Timestamp) -> u64 {
        u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs(), self.subsec_nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip() {
        let t = Timestamp::from_parts(1_614_556_800, 123_456_789);
        assert_eq!(t.secs(), 1_614_556_800);
        assert_eq!(t.subsec_nanos(), 123_456_789);
        assert_eq!(t.subsec_micros(), 123_456);
    }

    #[test]
    fn negative_times_floor() {
        let t = Timestamp(-1);
        assert_eq!(t.secs(), -1);
        assert_eq!(t.subsec_nanos(), 999_999_999);
    }

    #[test]
    fn plus_and_since() {
        let t = Timestamp::from_secs(10);
        assert_eq!(t.plus_secs(5).nanos_since(t), 5 * 1_000_000_000);
        assert_eq!(t.nanos_since(t.plus_secs(5)), 0);
    }
}
