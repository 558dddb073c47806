//! The deterministic randomness every synthetic capture is drawn from: SplitMix64 (Steele,
//! Lea, Flood 2014), tiny, fast and good enough to vary traffic, with integer-only helpers so
//! that the output depends on the seed alone, on every platform.

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// True with probability `per_million`/1,000,000.
    pub fn per_million(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }

    /// One of `items` (not empty), uniformly.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// One of `items` (not empty), each with its weight (not all zero).
    pub fn weighted<T: Copy>(&mut self, items: &[(u64, T)]) -> T {
        let total: u64 = items.iter().map(|(w, _)| w).sum();
        let mut x = self.below(total);
        for &(w, item) in items {
            if x < w {
                return item;
            }
            x -= w;
        }
        items[items.len() - 1].1
    }

    /// Log-uniform in `lo..=hi` (0 < lo <= hi): as many values between 1 and 10 KB as between
    /// 10 and 100 KB, the long tail of file and message sizes.
    pub fn log_range(&mut self, lo: u64, hi: u64) -> u64 {
        // Pick a power-of-two octave, then uniformly inside it.
        let octaves = u64::from(hi.ilog2() - lo.ilog2()) + 1;
        let octave = self.below(octaves) as u32 + lo.ilog2();
        let from = (1u64 << octave).max(lo);
        let to = ((1u64 << octave) * 2 - 1).min(hi);
        self.range(from, to.max(from))
    }
}

/// A seed for one purpose derived from the user's seed (independent streams).
pub fn derive(seed: u64, purpose: u64) -> u64 {
    Rng::new(seed ^ purpose.wrapping_mul(0xd1b5_4a32_d192_ed03)).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_ranges_hold() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let r = a.range(5, 9);
            assert_eq!(r, b.range(5, 9));
            assert!((5..=9).contains(&r));
            let l = a.log_range(1_000, 3_000_000);
            assert_eq!(l, b.log_range(1_000, 3_000_000));
            assert!((1_000..=3_000_000).contains(&l), "{l}");
        }
        assert_ne!(
            Rng::new(derive(7, 1)).next_u64(),
            Rng::new(derive(7, 2)).next_u64()
        );
    }

    #[test]
    fn weighted_follows_the_weights() {
        let mut rng = Rng::new(1);
        let mut hits = [0u32; 3];
        for _ in 0..10_000 {
            hits[rng.weighted(&[(1, 0usize), (0, 1), (3, 2)])] += 1;
        }
        assert_eq!(hits[1], 0);
        assert!((2_300..2_700).contains(&hits[0]), "{hits:?}");
    }
}
