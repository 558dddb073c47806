//! Hashing for tables whose keys an attacker chooses (flows, header names): foldhash's
//! mixing step, keyed once per process from foldhash's random seed, so that no one can pick
//! keys that all land in one run of a table. Nothing the sensor writes depends on these
//! hashes: the tables are never read in their own order.

use std::hash::BuildHasher;
use std::sync::OnceLock;

/// Keys drawn once per process, each odd (a multiplier that loses no bits).
pub(crate) fn process_keys() -> &'static [u64; 8] {
    static KEYS: OnceLock<[u64; 8]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let state = foldhash::fast::RandomState::default();
        std::array::from_fn(|i| state.hash_one(i as u64) | 1)
    })
}

/// The 128-bit product of `a` and `b`, its halves folded together: foldhash's mixing step.
pub(crate) fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_odd_distinct_and_fixed_for_the_process() {
        let keys = process_keys();
        assert!(keys.iter().all(|k| k & 1 == 1));
        for (i, a) in keys.iter().enumerate() {
            assert!(keys[i + 1..].iter().all(|b| a != b));
        }
        assert!(std::ptr::eq(keys, process_keys()));
        // (2^64 - 1) * 2 = 2^65 - 2: low half 2^64 - 2, high half 1.
        assert_eq!(folded_multiply(u64::MAX, 2), (u64::MAX - 1) ^ 1);
    }
}
