//! Probes: the first, cheap pass of a prefilter, which finds where any of a few short
//! lower-case strings (the first bytes of the fast patterns) starts in a lower-cased buffer.
//!
//! Most inspected buffers hold none of them, so this pass decides most of the speed. It picks
//! the searcher itself rather than letting `AhoCorasick` choose: for a handful of patterns
//! aho-corasick prefers a "rare bytes" prefilter, which is fast on text without those bytes
//! but stops at every `<`, `%` or `/` of a response body or a URL — on the benchmark capture
//! with ET Open's Exchange rules the rare-bytes probe of the three `file.data` patterns took
//! 18% of all instructions. One string goes to `memchr::memmem` (vectorised, checks a rare
//! byte pair), two to 64 to a packed Teddy searcher (vectorised over every pattern at once);
//! only where Teddy is unavailable (no SSSE3) does a leftmost-first automaton serve.

use aho_corasick::packed::{self, MatchKind as PackedMatchKind};
use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem;

/// Strings per probe (Teddy takes up to 64).
pub const PROBE_PATTERNS: usize = 64;

/// A searcher for where any of its strings starts.
#[derive(Debug, Clone)]
pub enum Probe {
    /// One string.
    One(memmem::Finder<'static>),
    /// Two to [`PROBE_PATTERNS`] strings, vectorised (Teddy).
    Packed(packed::Searcher),
    /// Any number of strings, by automaton (when Teddy cannot be built on this CPU).
    Automaton(AhoCorasick),
}

impl Probe {
    /// A probe for `patterns` (at least one, none empty, at most [`PROBE_PATTERNS`]).
    pub fn new(patterns: &[Vec<u8>]) -> Result<Probe, aho_corasick::BuildError> {
        if let [one] = patterns {
            return Ok(Probe::One(memmem::Finder::new(one).into_owned()));
        }
        let packed = packed::Config::new()
            .match_kind(PackedMatchKind::LeftmostFirst)
            .builder()
            .extend(patterns)
            .build();
        if let Some(searcher) = packed {
            return Ok(Probe::Packed(searcher));
        }
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(patterns)
            .map(Probe::Automaton)
    }

    /// One probe for many strings: a DFA over all of them, without a prefilter. It reads each
    /// byte once whatever the number of strings, where Teddy would need a pass per 64.
    pub fn many(patterns: &[Vec<u8>]) -> Result<Probe, aho_corasick::BuildError> {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .prefilter(false)
            .build(patterns)
            .map(Probe::Automaton)
    }

    /// Which searcher this is (for profiles).
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::One(_) => "memmem",
            Probe::Packed(_) => "teddy",
            Probe::Automaton(_) => "automaton",
        }
    }

    /// Calls `hit` with the start and end of each non-overlapping occurrence in `hay`, in
    /// order, while it returns true.
    pub fn for_each_match(&self, hay: &[u8], mut hit: impl FnMut(usize, usize) -> bool) {
        match self {
            Probe::One(finder) => {
                let len = finder.needle().len();
                for start in finder.find_iter(hay) {
                    if !hit(start, start + len) {
                        return;
                    }
                }
            }
            Probe::Packed(searcher) => {
                for m in searcher.find_iter(hay) {
                    if !hit(m.start(), m.end()) {
                        return;
                    }
                }
            }
            Probe::Automaton(ac) => {
                for m in ac.find_iter(hay) {
                    if !hit(m.start(), m.end()) {
                        return;
                    }
                }
            }
        }
    }

    /// Calls `hit` with the start of each non-overlapping occurrence in `hay`, in order.
    #[cfg(test)]
    pub fn for_each_start(&self, hay: &[u8], mut hit: impl FnMut(usize)) {
        self.for_each_match(hay, |start, _| {
            hit(start);
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(p: &Probe, hay: &[u8]) -> Vec<usize> {
        let mut v = Vec::new();
        p.for_each_start(hay, |s| v.push(s));
        v
    }

    #[test]
    fn one_string_uses_memmem_and_finds_every_start() {
        let p = Probe::new(&[b"/ecp".to_vec()]).unwrap();
        assert!(matches!(p, Probe::One(_)));
        assert_eq!(starts(&p, b"/ecp/y.js?/ecp"), vec![0, 10]);
        assert!(starts(&p, b"/ec/p").is_empty());
    }

    #[test]
    fn several_strings_find_the_same_starts_as_an_automaton() {
        let pats: Vec<Vec<u8>> = [&b"<%@ "[..], b"inpu", b"aspx", b"/a", b"ab"]
            .iter()
            .map(|p| p.to_vec())
            .collect();
        let p = Probe::new(&pats).unwrap();
        assert!(matches!(p, Probe::Packed(_)), "Teddy on x86-64");
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&pats)
            .unwrap();
        let hay = b"x<%@ page inpu aspx /ab /a aspx<%@ abab".repeat(5);
        let expected: Vec<usize> = ac.find_iter(&hay).map(|m| m.start()).collect();
        assert!(!expected.is_empty());
        assert_eq!(starts(&p, &hay), expected);
        assert_eq!(starts(&Probe::Automaton(ac), &hay), expected);
    }

    #[test]
    fn many_strings_in_one_automaton_find_what_packed_passes_find() {
        // 300 prefixes: five Teddy passes, or one DFA.
        let pats: Vec<Vec<u8>> = (0..300u32)
            .map(|i| {
                let t = [
                    b'a' + (i % 26) as u8,
                    b'a' + (i / 26 % 26) as u8,
                    b'/',
                    b'x',
                ];
                t[..2 + (i % 3) as usize].to_vec()
            })
            .collect();
        let hay = b"xxaa/xba/ qz/xcb--zz/x aaa/".repeat(20);
        let many = Probe::many(&pats).unwrap();
        let got = starts(&many, &hay);
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&pats)
            .unwrap();
        let expected: Vec<usize> = ac.find_iter(&hay).map(|m| m.start()).collect();
        assert!(!expected.is_empty());
        assert_eq!(got, expected);
        // Every start a pass of 64 finds is inside or at a match of the single automaton, so
        // the windows walked from its hits cover every occurrence.
        let every = AhoCorasick::new(&pats).unwrap();
        let all: Vec<usize> = every
            .find_overlapping_iter(&hay)
            .map(|m| m.start())
            .collect();
        for chunk in pats.chunks(PROBE_PATTERNS) {
            let packed = Probe::new(chunk).unwrap();
            for s in starts(&packed, &hay) {
                assert!(all.contains(&s));
                let covered = ac
                    .find_iter(&hay)
                    .any(|m| m.start() <= s && s < m.end().max(m.start() + 1));
                assert!(covered, "start {s} not covered");
            }
        }
    }
}
