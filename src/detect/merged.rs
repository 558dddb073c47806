//! The merged view of a message's header lines, as libhtp presents them to Suricata's
//! buffers: one entry per name (ASCII case ignored, the first spelling kept), in order of
//! first appearance, the values of a repeated name joined with `", "`.
//!
//! The view is the header list itself plus what sets it apart: the lines whose name came
//! before (left out) and the joined values of the names that repeat. Every other entry is
//! borrowed as it is, so that a request with 1,000 distinct header lines costs one pass that
//! finds the repeats (a hash per name, one table probe) and nothing per entry after it:
//! building an entry per line was 160 instructions a line.
//!
//! Long lists find names through a table keyed by a per-process random seed, so that
//! attacker-chosen header names cannot be made to collide into long probe runs; the table
//! also answers single-header lookups (`http.user_agent` and friends) without a pass over
//! every line.

use crate::keyed_hash::{folded_multiply, process_keys};
use std::borrow::Cow;

use crate::http::fields::trim_end_blanks;
use crate::http::{Header, Headers};

/// Lists at most this long find repeats by comparing each name with the ones before it.
pub(crate) const LINEAR_MERGE: usize = 32;

/// A table slot with no line (a slot holds the upper half of the name's hash, then its
/// first line).
const EMPTY: u64 = u64::MAX;

/// One entry of the merged view: the first spelling of a name, its value (the values joined
/// with `", "` when the name repeats) and, while the name occurs once, its line.
pub(crate) struct MergedHeader<'a, 'm> {
    /// The name as first spelt.
    pub name: &'a [u8],
    /// The value, or every value joined.
    pub value: &'m [u8],
    /// `Name: value` (trailing blanks left out) as one slice of the header list, when the
    /// name occurs once.
    pub line: Option<&'a [u8]>,
}

impl<'a> MergedHeader<'a, '_> {
    /// `Name: value` (the value's trailing blanks left out): borrowed from the header list
    /// while the name occurs once, built when its values were joined.
    pub fn line(&self) -> Cow<'a, [u8]> {
        if let Some(line) = self.line {
            return Cow::Borrowed(line);
        }
        let value = trim_end_blanks(self.value);
        let mut v = Vec::with_capacity(self.name.len() + 2 + value.len());
        v.extend_from_slice(self.name);
        v.extend_from_slice(b": ");
        v.extend_from_slice(value);
        Cow::Owned(v)
    }
}

/// A repeated name: its first line and every value joined.
struct Joined {
    first: u32,
    value: Vec<u8>,
}

/// The merged view of one header list.
pub(crate) struct MergedHeaders<'a> {
    headers: &'a Headers,
    /// The lines whose name occurred on an earlier line, ascending.
    later: Vec<u32>,
    /// The names that repeat, by their first line, ascending.
    joined: Vec<Joined>,
    /// Long lists: each name's first line and the upper half of its hash, at the slot of
    /// its hash (open addressing).
    table: Vec<u64>,
    /// The bytes of all distinct names.
    names_len: usize,
}

impl<'a> MergedHeaders<'a> {
    /// The merged view of `headers`.
    pub fn new(headers: &'a Headers) -> MergedHeaders<'a> {
        let mut m = MergedHeaders {
            headers,
            later: Vec::new(),
            joined: Vec::new(),
            table: Vec::new(),
            names_len: 0,
        };
        if headers.len() <= LINEAR_MERGE {
            m.find_repeats_linear();
        } else {
            m.find_repeats_hashed();
        }
        m
    }

    fn find_repeats_linear(&mut self) {
        let mut names: [&[u8]; LINEAR_MERGE] = [&[]; LINEAR_MERGE];
        // The first lines so far, as (line, name); names[..firsts] are their names.
        let mut first_lines = [0u32; LINEAR_MERGE];
        let mut firsts = 0;
        for (i, h) in self.headers.iter().enumerate().take(LINEAR_MERGE) {
            match names[..firsts]
                .iter()
                .position(|n| n.eq_ignore_ascii_case(h.name))
            {
                Some(k) => self.repeat(first_lines[k], i as u32, h.value),
                None => {
                    names[firsts] = h.name;
                    first_lines[firsts] = i as u32;
                    firsts += 1;
                    self.names_len += h.name.len();
                }
            }
        }
        self.sort_joined();
    }

    fn find_repeats_hashed(&mut self) {
        let headers = self.headers;
        let size = (headers.len() * 2).next_power_of_two();
        let mask = size - 1;
        let mut table = vec![EMPTY; size];
        let seed = name_seed();
        // Names only: a line's value is looked up when its name repeats.
        for (i, name) in headers.iter().map(|h| h.name).enumerate() {
            let hash = folded_hash(name, seed);
            let tag = hash >> 32;
            let mut at = hash as usize & mask;
            while let Some(slot) = table.get_mut(at) {
                if *slot == EMPTY {
                    *slot = tag << 32 | i as u64;
                    self.names_len += name.len();
                    break;
                }
                let first = *slot as u32;
                if *slot >> 32 == tag
                    && headers
                        .line(first as usize)
                        .is_some_and(|f| f.name.eq_ignore_ascii_case(name))
                {
                    let value = headers.line(i).map_or(&[][..], |h| h.value);
                    self.repeat(first, i as u32, value);
                    break;
                }
                at = (at + 1) & mask;
            }
        }
        self.table = table;
        self.sort_joined();
    }

    /// Line `line` repeats the name of line `first`: it leaves the view, its value joins.
    fn repeat(&mut self, first: u32, line: u32, value: &[u8]) {
        self.later.push(line);
        // A name's later lines are met in order; most lists repeat few names.
        let j = match self.joined.iter().rposition(|j| j.first == first) {
            Some(j) => j,
            None => {
                let start = self
                    .headers
                    .line(first as usize)
                    .map_or(&[][..], |h| h.value);
                self.joined.push(Joined {
                    first,
                    value: start.to_vec(),
                });
                self.joined.len() - 1
            }
        };
        let v = &mut self.joined[j].value;
        v.extend_from_slice(b", ");
        v.extend_from_slice(value);
    }

    fn sort_joined(&mut self) {
        self.joined.sort_unstable_by_key(|j| j.first);
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.headers.len() - self.later.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The joined value of the name first on line `first`, when it repeats.
    fn joined_at(&self, first: usize) -> Option<&[u8]> {
        if self.joined.is_empty() {
            return None;
        }
        self.joined
            .binary_search_by_key(&(first as u32), |j| j.first)
            .ok()
            .map(|j| self.joined[j].value.as_slice())
    }

    /// The items of the lines that open an entry, each with its line's index.
    fn firsts<'s, T>(
        &'s self,
        items: impl Iterator<Item = T> + 's,
    ) -> impl Iterator<Item = (usize, T)> + 's {
        let mut later = self.later.iter().copied().peekable();
        items.enumerate().filter(move |(i, _)| {
            if later.peek() == Some(&(*i as u32)) {
                later.next();
                false
            } else {
                true
            }
        })
    }

    /// The entries, in order of first appearance.
    pub fn iter(&self) -> impl Iterator<Item = MergedHeader<'a, '_>> + '_ {
        self.firsts(self.headers.iter_with_lines())
            .map(|(i, (h, line))| match self.joined_at(i) {
                Some(value) => MergedHeader {
                    name: h.name,
                    value,
                    line: None,
                },
                None => MergedHeader {
                    name: h.name,
                    value: h.value,
                    line: Some(line),
                },
            })
    }

    /// Each entry's name and value, in order of first appearance (as [`MergedHeaders::iter`]
    /// without the lines).
    pub fn pairs(&self) -> impl Iterator<Item = (&'a [u8], &[u8])> + '_ {
        let headers: &'a Headers = self.headers;
        self.firsts(headers.iter())
            .map(|(i, h)| (h.name, self.joined_at(i).unwrap_or(h.value)))
    }

    /// At least the bytes of every entry as `Name: value` and a line end: the lines' bytes
    /// and two more a line (a later line of a name adds `", "` and its value to an entry,
    /// fewer bytes than its own line).
    pub fn block_len(&self) -> usize {
        self.headers.bytes().len() + 2 * self.headers.len()
    }

    /// The names, as first spelt, in order of first appearance.
    #[cfg(test)]
    pub fn names(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let headers: &'a Headers = self.headers;
        self.firsts(headers.iter()).map(|(_, h)| h.name)
    }

    /// Suricata's `http.header_names`: `\r\n`, each name (as first spelt, in order of first
    /// appearance) followed by `\r\n`, then `\r\n`.
    pub fn header_names(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.names_len + 2 * self.len() + 4);
        out.extend_from_slice(b"\r\n");
        if self.later.is_empty() {
            for h in self.headers.iter() {
                out.extend_from_slice(h.name);
                out.extend_from_slice(b"\r\n");
            }
        } else {
            for (_, h) in self.firsts(self.headers.iter()) {
                out.extend_from_slice(h.name);
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The entries of the names that repeat (their values joined), in order.
    pub fn repeated(&self) -> impl Iterator<Item = MergedHeader<'a, '_>> + '_ {
        self.joined.iter().filter_map(|j| {
            let h: Header<'a> = self.headers.line(j.first as usize)?;
            Some(MergedHeader {
                name: h.name,
                value: &j.value,
                line: None,
            })
        })
    }

    /// The value of `name` (ASCII case ignored) as [`Headers::value`] gives it: borrowed when
    /// the name occurs once, its values joined when it repeats; found through the table in a
    /// long list.
    pub fn value(&self, name: &str) -> Option<Cow<'a, [u8]>> {
        if self.table.is_empty() {
            return self.headers.value(name);
        }
        let name = name.as_bytes();
        let mask = self.table.len() - 1;
        let hash = folded_hash(name, name_seed());
        let tag = hash >> 32;
        let mut at = hash as usize & mask;
        loop {
            let slot = *self.table.get(at)?;
            if slot == EMPTY {
                return None;
            }
            let first = slot as u32 as usize;
            if slot >> 32 == tag {
                let h = self.headers.line(first)?;
                if h.name.eq_ignore_ascii_case(name) {
                    return Some(match self.joined_at(first) {
                        Some(v) => Cow::Owned(v.to_vec()),
                        None => Cow::Borrowed(h.value),
                    });
                }
            }
            at = (at + 1) & mask;
        }
    }
}

/// The key of name hashes, drawn once per process (the flow table's keys are the first six).
fn name_seed() -> u64 {
    process_keys()[7]
}

/// A keyed hash of `name` that is the same for every spelling of it in ASCII case: words of
/// it with bit 0x20 set in each byte (which maps `A` and `a` together, and some other pairs
/// too: those are only collisions, told apart by comparing the names). Words may overlap: a
/// name of 4 to 8 bytes is its first and last four, one of 9 or more its 8-byte chunks and
/// its last eight.
fn folded_hash(name: &[u8], seed: u64) -> u64 {
    const FOLD: u64 = 0x2020_2020_2020_2020;
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let word8 = |b: &[u8]| b.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok());
    let word4 = |b: &[u8]| {
        b.get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
    };
    let mix = |h: u64, w: u64| folded_multiply(h ^ (w | FOLD), K);
    let n = name.len();
    let mut h = seed ^ n as u64;
    if n > 8 {
        let mut rest = name;
        while rest.len() > 8 {
            h = mix(h, word8(rest).map_or(0, u64::from_le_bytes));
            rest = &rest[8..];
        }
        h = mix(h, word8(&name[n - 8..]).map_or(0, u64::from_le_bytes));
    } else if n >= 4 {
        h = mix(h, word4(name) | word4(&name[n - 4..]) << 32);
    } else if n > 0 {
        let w = u64::from(name[0]) | u64::from(name[n / 2]) << 8 | u64::from(name[n - 1]) << 16;
        h = mix(h, w);
    }
    folded_multiply(h, seed | 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libhtp's merge, written the plain quadratic way.
    fn merge_reference(headers: &Headers) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for h in headers.iter() {
            match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(h.name)) {
                Some((_, v)) => {
                    v.extend_from_slice(b", ");
                    v.extend_from_slice(h.value);
                }
                None => out.push((h.name.to_vec(), h.value.to_vec())),
            }
        }
        out
    }

    fn hdrs(list: &[(String, String)]) -> Headers {
        Headers::from_pairs(list.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }

    /// Every view of `h` agrees with the reference merge and with [`Headers::value`].
    fn check(h: &Headers, what: &str) {
        let m = MergedHeaders::new(h);
        let want = merge_reference(h);
        let got: Vec<(Vec<u8>, Vec<u8>)> = m
            .iter()
            .map(|e| (e.name.to_vec(), e.value.to_vec()))
            .collect();
        assert_eq!(got, want, "{what}");
        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
            m.pairs().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
        assert_eq!(pairs, want, "{what}");
        let block: usize = want.iter().map(|(n, v)| n.len() + 2 + v.len() + 2).sum();
        assert!(
            block <= m.block_len(),
            "{what}: {block} > {}",
            m.block_len()
        );
        assert_eq!(m.len(), want.len(), "{what}");
        let names: Vec<&[u8]> = m.names().collect();
        assert_eq!(
            names,
            want.iter().map(|(n, _)| n.as_slice()).collect::<Vec<_>>(),
            "{what}"
        );
        let mut header_names = b"\r\n".to_vec();
        for (n, _) in &want {
            header_names.extend_from_slice(n);
            header_names.extend_from_slice(b"\r\n");
        }
        header_names.extend_from_slice(b"\r\n");
        let got_names = m.header_names();
        assert_eq!(got_names, header_names, "{what}");
        assert_eq!(
            got_names.capacity(),
            got_names.len(),
            "{what}: sized exactly"
        );
        for e in m.iter() {
            let line = e.line();
            let mut expect = e.name.to_vec();
            expect.extend_from_slice(b": ");
            expect.extend_from_slice(trim_end_blanks(e.value));
            assert_eq!(&line[..], &expect[..], "{what}");
            assert_eq!(e.line.is_some(), matches!(line, Cow::Borrowed(_)));
        }
        let repeated: Vec<&[u8]> = m.repeated().map(|e| e.name).collect();
        let want_repeated: Vec<&[u8]> = m
            .iter()
            .filter(|e| e.line.is_none())
            .map(|e| e.name)
            .collect();
        assert_eq!(repeated, want_repeated, "{what}");
        for (n, _) in &want {
            let name = String::from_utf8(n.clone()).unwrap();
            for spelling in [name.clone(), name.to_uppercase(), name.to_lowercase()] {
                assert_eq!(m.value(&spelling), h.value(&spelling), "{what}: {spelling}");
            }
        }
        assert_eq!(m.value("Not-There"), None, "{what}");
        assert_eq!(m.value(""), h.value(""), "{what}");
    }

    #[test]
    fn long_header_lists_merge_as_short_ones_do() {
        for n in [0, 1, 5, LINEAR_MERGE, LINEAR_MERGE + 1, 300] {
            // Names repeat in varying case, with gaps, some once only.
            let list: Vec<(String, String)> = (0..n)
                .map(|i| {
                    let name = match i % 7 {
                        0 => format!("X-Once-{i}"),
                        1 | 4 => "x-dup".to_string(),
                        2 => format!("X-Set-{}", i % 5),
                        3 => "X-DUP".to_string(),
                        _ => format!("x-set-{}", i % 3),
                    };
                    (name, format!("v{i}"))
                })
                .collect();
            check(&hdrs(&list), &format!("{n} headers"));
        }
    }

    #[test]
    fn duplicate_edge_cases() {
        let s = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        // Same name in three cases, three repeats, empty values (first, middle, last).
        let three = s(&[
            ("Accept", ""),
            ("Host", "a"),
            ("ACCEPT", "x"),
            ("accept", ""),
            ("Via", "1 "),
            ("vIA", "2\t"),
        ]);
        let three_h = hdrs(&three);
        let m = MergedHeaders::new(&three_h);
        let got: Vec<(&[u8], &[u8])> = m.iter().map(|e| (e.name, e.value)).collect();
        assert_eq!(
            got,
            [
                (&b"Accept"[..], &b", x, "[..]),
                (b"Host", b"a"),
                (b"Via", b"1 , 2\t"),
            ]
        );
        check(&hdrs(&three), "three repeats");
        // Names of every length up to 20 (all hash paths), each twice, far apart, in both
        // short and long lists; names that differ only past the eighth byte or in case.
        for gap in [3usize, 40, 500] {
            let mut list: Vec<(String, String)> = Vec::new();
            for len in 0..=20 {
                list.push((
                    "N".repeat(len.max(1)) + &"a".repeat(len.saturating_sub(1)),
                    format!("a{len}"),
                ));
            }
            for i in 0..gap {
                list.push((format!("Filler-Header-{i:05}"), String::new()));
            }
            for len in 0..=20 {
                list.push((
                    "n".repeat(len.max(1)) + &"A".repeat(len.saturating_sub(1)),
                    format!("b{len}"),
                ));
            }
            list.push(("X-Long-Name-Ending-1".into(), "p".into()));
            list.push(("X-Long-Name-Ending-2".into(), "q".into()));
            list.push(("x-long-name-ending-1".into(), "".into()));
            check(&hdrs(&list), &format!("gap {gap}"));
        }
        // A single name repeated throughout.
        let same: Vec<(String, String)> =
            (0..100).map(|i| ("X-A".into(), format!("{i}"))).collect();
        check(&hdrs(&same), "one name");
        check(&Headers::default(), "empty");
    }

    #[test]
    fn hash_ignores_ascii_case_only() {
        let seed = name_seed();
        for name in [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "x-owa-explicitlogonuser",
        ] {
            let upper = name.to_uppercase();
            assert_eq!(
                folded_hash(name.as_bytes(), seed),
                folded_hash(upper.as_bytes(), seed)
            );
        }
        assert_ne!(folded_hash(b"X-H0001", seed), folded_hash(b"X-H0002", seed));
        assert_ne!(
            folded_hash(b"abcdefghi", seed),
            folded_hash(b"abcdefghj", seed)
        );
    }
}
