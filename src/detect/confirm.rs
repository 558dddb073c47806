//! Confirming probe hits: which fast patterns of a prefilter occur where its probe found one
//! of their first bytes.
//!
//! A probe reports the non-overlapping, leftmost-first occurrences of the pattern prefixes
//! (see [`super::probe`]), so a pattern can only start at a position inside a hit: at its
//! start, or at one the search stepped over. Each such position is looked up in a sorted
//! index of the prefixes, and only the few patterns with that prefix are compared there.
//! This replaced walking Aho-Corasick automata over a window after each hit: the windows of
//! ordinary URIs and cookies, where some prefix is nearly always present, cost a thousand
//! instructions each (the automaton's start, its own prefilter, a byte-by-byte walk).
//!
//! Comparing is cheap while hits are few and patterns sharing a prefix are few. On a buffer
//! built to hit often (the same prefix repeated, many long patterns behind it), the caller
//! stops confirming when [`Confirm::allowance`] is spent and walks the automata over the
//! rest of the buffer instead, which costs the same per byte whatever the input.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Bytes of each pattern that the probes look for.
pub const PROBE_PREFIX: usize = 4;

/// One fast pattern and the rules it makes candidates.
struct Pattern {
    /// As the rule wrote it, or lower-cased when `nocase`.
    bytes: Vec<u8>,
    /// Compared with the lower-cased buffer (else with the buffer as it is).
    nocase: bool,
    rules: Vec<u32>,
}

/// The fast patterns of one prefilter, found by their lower-cased prefix.
pub struct Confirm {
    patterns: Vec<Pattern>,
    /// Open-addressing table of (prefix key, patterns range): every pattern with that
    /// prefix; a key of 0 (no prefix has it: the length is above the bytes) is a free slot.
    index: Vec<(u64, u32, u32)>,
    /// `index.len() - 1` (a power of two less one).
    mask: usize,
    /// The distinct prefix lengths (a pattern shorter than [`PROBE_PREFIX`] is its own
    /// prefix), shortest first.
    lens: Vec<usize>,
    /// By lower-cased first byte of a pattern, a bit for each lower-cased second byte (its
    /// low five bits) that follows it in some pattern (every bit when a one-byte pattern
    /// starts with it): most positions inside a probe hit start no pattern, and two table
    /// reads tell so.
    pairs: [u32; 256],
    /// Every pattern (by its position in `patterns`) in one automaton that ignores ASCII
    /// case and lists every occurrence, overlapping: a case-sensitive pattern it finds is
    /// then compared as it is.
    full: AhoCorasick,
}

/// The lookup key of a prefix of at most [`PROBE_PREFIX`] bytes: its bytes packed
/// little-endian, its length above them.
fn pack(prefix: &[u8]) -> u64 {
    let mut k = (prefix.len() as u64) << 32;
    for (i, &b) in prefix.iter().enumerate() {
        k |= u64::from(b) << (8 * i);
    }
    k
}

/// The bit of a (lower-cased) second byte in [`Confirm`]'s pair table.
fn pair_bit(second: u8) -> u32 {
    1 << (second & 31)
}

/// The first slot of key `k` in a table of `mask + 1` slots.
fn slot(k: u64, mask: usize) -> usize {
    (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize & mask
}

impl Confirm {
    /// An index of `patterns`: (bytes, nocase, rules), each non-empty and distinct in its
    /// case mode; `nocase` ones already lower-cased.
    pub fn new(
        patterns: impl IntoIterator<Item = (Vec<u8>, bool, Vec<u32>)>,
    ) -> Result<Confirm, aho_corasick::BuildError> {
        let mut patterns: Vec<Pattern> = patterns
            .into_iter()
            .map(|(bytes, nocase, rules)| Pattern {
                bytes,
                nocase,
                rules,
            })
            .collect();
        let prefix_key =
            |p: &Pattern| pack(&p.bytes[..p.bytes.len().min(PROBE_PREFIX)].to_ascii_lowercase());
        patterns.sort_by_key(prefix_key);
        let mut ranges: Vec<(u64, u32, u32)> = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            let k = prefix_key(p);
            match ranges.last_mut() {
                Some((last, _, end)) if *last == k => *end = i as u32 + 1,
                _ => ranges.push((k, i as u32, i as u32 + 1)),
            }
        }
        let mask = (ranges.len() * 2).next_power_of_two() - 1;
        let mut index = vec![(0u64, 0u32, 0u32); mask + 1];
        for range in ranges {
            let mut at = slot(range.0, mask);
            while index[at].0 != 0 {
                at = (at + 1) & mask;
            }
            index[at] = range;
        }
        let mut lens: Vec<usize> = patterns
            .iter()
            .map(|p| p.bytes.len().min(PROBE_PREFIX))
            .collect();
        lens.sort_unstable();
        lens.dedup();
        let mut pairs = [0u32; 256];
        for p in &patterns {
            let lower: Vec<u8> = p.bytes.iter().take(2).map(u8::to_ascii_lowercase).collect();
            match lower[..] {
                [a] => pairs[usize::from(a)] = u32::MAX,
                [a, b, ..] => pairs[usize::from(a)] |= pair_bit(b),
                [] => {}
            }
        }
        let full = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .prefilter(false)
            .build(patterns.iter().map(|p| &p.bytes))?;
        Ok(Confirm {
            patterns,
            index,
            mask,
            lens,
            pairs,
            full,
        })
    }

    /// The automaton's kind (for profiles).
    pub fn kind(&self) -> AhoCorasickKind {
        self.full.kind()
    }

    /// Calls `found` with the rules of each occurrence of a pattern in `hay` by walking the
    /// automaton over it: for buffers whose hits cost too much to confirm one by one. (It
    /// costs about 20 instructions a byte, so it is no way to inspect short buffers either:
    /// probing and confirming a URI costs less.)
    pub fn walk(&self, hay: &[u8], found: &mut impl FnMut(&[u32])) {
        for m in self.full.find_overlapping_iter(hay) {
            let Some(p) = self.patterns.get(m.pattern().as_usize()) else {
                continue;
            };
            if p.nocase || hay.get(m.range()) == Some(&p.bytes[..]) {
                found(&p.rules);
            }
        }
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Number of (pattern, rule) pairs.
    pub fn rules(&self) -> usize {
        self.patterns.iter().map(|p| p.rules.len()).sum()
    }

    /// What confirming the hits in a buffer of `len` bytes may cost before the automata take
    /// over, in the units [`Confirm::at`] returns.
    pub fn allowance(len: usize) -> usize {
        len / 2 + 64
    }

    /// The range of `patterns` with prefix key `k`, if any.
    fn find(&self, k: u64) -> Option<(u32, u32)> {
        let mut at = slot(k, self.mask);
        loop {
            let (key, from, to) = *self.index.get(at)?;
            if key == k {
                return Some((from, to));
            }
            if key == 0 {
                return None;
            }
            at = (at + 1) & self.mask;
        }
    }

    /// Calls `found` with the rules of each pattern that occurs at `at` in `hay`. `folded`
    /// is `hay` lower-cased, when the caller made it: `nocase` patterns are then compared
    /// with it byte for byte (a plain comparison, several times cheaper than one ignoring
    /// case). Returns what it cost: one unit per prefix looked up and per pattern compared,
    /// and one per 16 bytes compared.
    pub fn at(
        &self,
        hay: &[u8],
        folded: Option<&[u8]>,
        at: usize,
        found: &mut impl FnMut(&[u32]),
    ) -> usize {
        let rest = hay.get(at..).unwrap_or_default();
        let folded_rest = folded.and_then(|f| f.get(at..));
        let Some(first) = rest.first() else {
            return 0;
        };
        let seconds = self.pairs[usize::from(first.to_ascii_lowercase())];
        let second_fits = rest
            .get(1)
            .is_none_or(|b| seconds & pair_bit(b.to_ascii_lowercase()) != 0);
        if seconds == 0 || !second_fits {
            return 1;
        }
        let mut prefix = [0u8; PROBE_PREFIX];
        let have = rest.len().min(PROBE_PREFIX);
        for (p, b) in prefix.iter_mut().zip(rest) {
            *p = b.to_ascii_lowercase();
        }
        let mut cost = 1;
        for &len in &self.lens {
            if len > have {
                break;
            }
            cost += 1;
            let Some((from, to)) = self.find(pack(&prefix[..len])) else {
                continue;
            };
            for p in &self.patterns[from as usize..to as usize] {
                cost += 1 + p.bytes.len() / 16;
                let len = p.bytes.len();
                let found_here = match (p.nocase, folded_rest) {
                    (false, _) => rest.get(..len) == Some(&p.bytes[..]),
                    (true, Some(f)) => f.get(..len) == Some(&p.bytes[..]),
                    (true, None) => rest
                        .get(..len)
                        .is_some_and(|t| t.eq_ignore_ascii_case(&p.bytes)),
                };
                if found_here {
                    found(&p.rules);
                }
            }
        }
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found_at(c: &Confirm, hay: &[u8], at: usize) -> Vec<u32> {
        let mut v = Vec::new();
        c.at(hay, None, at, &mut |r| v.extend_from_slice(r));
        v.sort_unstable();
        let folded = hay.to_ascii_lowercase();
        let mut w = Vec::new();
        c.at(hay, Some(&folded), at, &mut |r| w.extend_from_slice(r));
        w.sort_unstable();
        assert_eq!(v, w, "at {at}");
        v
    }

    #[test]
    fn finds_each_pattern_where_it_starts_in_its_case_mode() {
        let c = Confirm::new([
            (b"/owa/auth".to_vec(), true, vec![1]),
            (b"/owa".to_vec(), true, vec![2, 3]),
            (b"/OWA/".to_vec(), false, vec![4]),
            (b".as".to_vec(), true, vec![5]),
            (b"/o".to_vec(), false, vec![6]),
        ])
        .unwrap();
        assert_eq!(c.len(), 5);
        assert_eq!(c.rules(), 6);
        let hay = b"/OWA/Auth/x.aspx";
        assert_eq!(found_at(&c, hay, 0), vec![1, 2, 3, 4]);
        assert_eq!(found_at(&c, hay, 1), Vec::<u32>::new());
        assert_eq!(found_at(&c, hay, 11), vec![5]);
        assert_eq!(found_at(&c, b"/owa", 0), vec![2, 3, 6]);
        assert_eq!(found_at(&c, b"/o", 0), vec![6]);
        assert_eq!(found_at(&c, b"/O", 0), Vec::<u32>::new());
        assert_eq!(found_at(&c, b"/ow", 0), vec![6]);
        assert_eq!(found_at(&c, hay, 99), Vec::<u32>::new());
    }

    #[test]
    fn prefix_keys_tell_lengths_apart() {
        assert_ne!(pack(b"a"), pack(b"a\0"));
        assert_ne!(pack(b""), pack(b"\0"));
    }
}
