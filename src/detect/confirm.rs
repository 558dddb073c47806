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
    /// (prefix key, patterns range) sorted by key: every pattern with that prefix.
    index: Vec<(u64, u32, u32)>,
    /// The distinct prefix lengths (a pattern shorter than [`PROBE_PREFIX`] is its own
    /// prefix), shortest first.
    lens: Vec<usize>,
    /// The lower-cased first bytes of the patterns: any other starts none.
    first: [bool; 256],
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
        let mut index: Vec<(u64, u32, u32)> = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            let k = prefix_key(p);
            match index.last_mut() {
                Some((last, _, end)) if *last == k => *end = i as u32 + 1,
                _ => index.push((k, i as u32, i as u32 + 1)),
            }
        }
        let mut lens: Vec<usize> = patterns
            .iter()
            .map(|p| p.bytes.len().min(PROBE_PREFIX))
            .collect();
        lens.sort_unstable();
        lens.dedup();
        let mut first = [false; 256];
        for p in &patterns {
            if let Some(b) = p.bytes.first() {
                first[usize::from(b.to_ascii_lowercase())] = true;
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
            lens,
            first,
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

    /// Calls `found` with the rules of each pattern that occurs at `at` in `hay`. Returns
    /// what it cost: one unit per prefix looked up and per pattern compared, and one per 16
    /// bytes compared.
    pub fn at(&self, hay: &[u8], at: usize, found: &mut impl FnMut(&[u32])) -> usize {
        let rest = hay.get(at..).unwrap_or_default();
        let Some(first) = rest.first() else {
            return 0;
        };
        if !self.first[usize::from(first.to_ascii_lowercase())] {
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
            let k = pack(&prefix[..len]);
            let Ok(pos) = self.index.binary_search_by_key(&k, |e| e.0) else {
                continue;
            };
            let (_, from, to) = self.index[pos];
            for p in &self.patterns[from as usize..to as usize] {
                cost += 1 + p.bytes.len() / 16;
                let there = rest.get(..p.bytes.len());
                let found_here = if p.nocase {
                    there.is_some_and(|t| t.eq_ignore_ascii_case(&p.bytes))
                } else {
                    there == Some(&p.bytes[..])
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
        c.at(hay, at, &mut |r| v.extend_from_slice(r));
        v.sort_unstable();
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
