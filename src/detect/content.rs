//! Content inspection with Suricata's semantics: one rule's checks on one buffer, in rule
//! order, each relative one starting where the previous match ended.
//!
//! A positive `content` searches its window: `offset`/`depth` (absolute), or, when it has
//! `distance`/`within`, from the end of the previous match plus `distance` up to `within`
//! bytes further; `startswith` pins it to the start, `endswith` to the end. When a later
//! check that depends on this match fails, the next occurrence of the pattern is tried
//! (Suricata retries later occurrences of earlier contents); a check that does not depend on
//! the previous match ends the retries. A negated content fails the list if the pattern is in
//! its window, and leaves the position where it was. `pcre` (with `/R`, from the previous
//! match), `isdataat`, `bsize` and `base64_decode` take part the same way.
//!
//! The number of steps of one list inspection is capped ([`MatchBudget`]) so that a rule
//! with many relative contents can't be driven into exponential backtracking; running out
//! means "no match" and is counted.

use memchr::memmem;

use super::rule::{Base64Decode, Content, IntCmp, Isdataat};

/// A compiled `content`.
#[derive(Debug, Clone)]
pub struct ContentItem {
    /// The pattern (lower-cased when `nocase`).
    pattern: Vec<u8>,
    finder: memmem::Finder<'static>,
    nocase: bool,
    negated: bool,
    /// Absolute window: start and (exclusive) end.
    offset: usize,
    depth_end: Option<usize>,
    /// Relative window.
    relative: bool,
    distance: i64,
    within: Option<i64>,
    startswith: bool,
    endswith: bool,
}

impl ContentItem {
    /// Compiles a parsed content.
    pub fn new(c: &Content) -> ContentItem {
        let pattern = if c.nocase {
            c.pattern.to_ascii_lowercase()
        } else {
            c.pattern.clone()
        };
        let offset = c.offset.unwrap_or(0) as usize;
        ContentItem {
            finder: memmem::Finder::new(&pattern).into_owned(),
            pattern,
            nocase: c.nocase,
            negated: c.negated,
            offset,
            depth_end: c.depth.map(|d| offset.saturating_add(d as usize)),
            relative: c.is_relative(),
            distance: i64::from(c.distance.unwrap_or(0)),
            within: c.within.map(i64::from),
            startswith: c.startswith,
            endswith: c.endswith,
        }
    }

    /// The search window `[start, end)` in a buffer of `len` bytes, given the cursor.
    fn window(&self, len: usize, cursor: usize) -> Option<(usize, usize)> {
        let (start, end) = if self.startswith {
            (0, self.pattern.len())
        } else if self.relative {
            let base = cursor as i64 + self.distance;
            let end = match self.within {
                Some(w) => base.saturating_add(w),
                None => len as i64,
            };
            (base.max(0) as usize, end.clamp(0, len as i64) as usize)
        } else {
            (self.offset, self.depth_end.unwrap_or(len))
        };
        let end = end.min(len);
        (start <= end && end - start >= self.pattern.len()).then_some((start, end))
    }

    /// The first occurrence starting at or after `from`, ending by `end`.
    fn find(&self, buf: &[u8], from: usize, end: usize) -> Option<usize> {
        let hay = buf.get(from..end)?;
        if self.nocase {
            let first = *self.pattern.first()?;
            let n = self.pattern.len();
            let mut i = 0;
            while i + n <= hay.len() {
                let rel =
                    memchr::memchr2(first, first.to_ascii_uppercase(), &hay[i..=hay.len() - n])?;
                let p = i + rel;
                if hay[p..p + n].eq_ignore_ascii_case(&self.pattern) {
                    return Some(from + p);
                }
                i = p + 1;
            }
            None
        } else {
            self.finder.find(hay).map(|p| from + p)
        }
    }
}

/// A compiled `pcre`.
#[derive(Debug, Clone)]
pub struct PcreItem {
    /// The regex.
    pub regex: regex::bytes::Regex,
    /// Needs no match.
    pub negated: bool,
    /// Starts at the end of the previous match.
    pub relative: bool,
}

/// One check of a list.
#[derive(Debug, Clone)]
pub enum Item {
    /// `content`.
    Content(Box<ContentItem>),
    /// `pcre`.
    Pcre(PcreItem),
    /// `isdataat`.
    Isdataat(Isdataat),
    /// `bsize`.
    Bsize(IntCmp),
    /// `base64_decode` and the `base64_data` checks on what it decoded.
    Base64(Base64Decode, Vec<Item>),
}

impl Item {
    /// Whether the check starts from the previous match.
    fn is_relative(&self) -> bool {
        match self {
            Item::Content(c) => c.relative,
            Item::Pcre(p) => p.relative,
            Item::Isdataat(i) => i.relative,
            Item::Base64(d, _) => d.relative,
            Item::Bsize(_) => false,
        }
    }
}

/// Steps left for one inspection; shared by the backtracking search.
#[derive(Debug, Clone, Copy)]
pub struct MatchBudget {
    /// Steps left.
    pub left: u32,
    /// Set when the budget ran out.
    pub exhausted: bool,
}

impl MatchBudget {
    /// A budget of `steps`.
    pub fn new(steps: u32) -> MatchBudget {
        MatchBudget {
            left: steps,
            exhausted: false,
        }
    }

    fn step(&mut self) -> bool {
        match self.left.checked_sub(1) {
            Some(l) => {
                self.left = l;
                true
            }
            None => {
                self.exhausted = true;
                false
            }
        }
    }
}

/// Whether every check of `items` holds on `buf`.
pub fn match_items(items: &[Item], buf: &[u8], budget: &mut MatchBudget) -> bool {
    match_from(items, buf, 0, budget)
}

fn next_is_relative(rest: &[Item]) -> bool {
    rest.first().is_some_and(Item::is_relative)
}

fn match_from(items: &[Item], buf: &[u8], cursor: usize, budget: &mut MatchBudget) -> bool {
    let Some((item, rest)) = items.split_first() else {
        return true;
    };
    if !budget.step() {
        return false;
    }
    match item {
        Item::Content(c) => {
            let Some((start, end)) = c.window(buf.len(), cursor) else {
                return c.negated && match_from(rest, buf, cursor, budget);
            };
            if c.endswith {
                // Only an occurrence ending at the end of the buffer counts.
                let p = buf.len().saturating_sub(c.pattern.len());
                let found = end == buf.len() && p >= start && c.find(buf, p, buf.len()) == Some(p);
                return if c.negated {
                    !found && match_from(rest, buf, cursor, budget)
                } else {
                    found && match_from(rest, buf, buf.len(), budget)
                };
            }
            if c.negated {
                return c.find(buf, start, end).is_none() && match_from(rest, buf, cursor, budget);
            }
            let mut from = start;
            while let Some(p) = c.find(buf, from, end) {
                if match_from(rest, buf, p + c.pattern.len(), budget) {
                    return true;
                }
                if !next_is_relative(rest) || budget.exhausted || !budget.step() {
                    return false;
                }
                from = p + 1;
            }
            false
        }
        Item::Pcre(p) => {
            let base = if p.relative { cursor.min(buf.len()) } else { 0 };
            let subject = &buf[base..];
            if p.negated {
                return !p.regex.is_match(subject) && match_from(rest, buf, cursor, budget);
            }
            let mut at = 0;
            while at <= subject.len() {
                let Some(m) = p.regex.find_at(subject, at) else {
                    return false;
                };
                if match_from(rest, buf, base + m.end(), budget) {
                    return true;
                }
                if !next_is_relative(rest) || budget.exhausted || !budget.step() {
                    return false;
                }
                at = m.start() + 1;
            }
            false
        }
        Item::Isdataat(i) => i.matches(buf.len(), cursor) && match_from(rest, buf, cursor, budget),
        Item::Bsize(cmp) => cmp.matches(buf.len() as u64) && match_from(rest, buf, cursor, budget),
        Item::Base64(decode, sub) => {
            let decoded = decode.decode(buf, cursor);
            !decoded.is_empty()
                && match_from(sub, &decoded, 0, budget)
                && match_from(rest, buf, cursor, budget)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rule::{parse_rule, MatchKind};

    /// Compiles the payload checks of a rule body.
    fn items(body: &str) -> Vec<Item> {
        let r = parse_rule(&format!("alert tcp any any -> any any ({body} sid:1;)")).unwrap();
        let mut out = Vec::new();
        for m in r.match_items() {
            out.push(match &m.kind {
                MatchKind::Content(c) => Item::Content(Box::new(ContentItem::new(c))),
                MatchKind::Pcre(p) => Item::Pcre(PcreItem {
                    regex: p.compile().unwrap(),
                    negated: p.negated,
                    relative: p.flags.relative,
                }),
                MatchKind::Isdataat(i) => Item::Isdataat(*i),
                MatchKind::Bsize(b) => Item::Bsize(*b),
                MatchKind::Base64Decode(_) => unreachable!(),
            });
        }
        out
    }

    fn m(body: &str, buf: &str) -> bool {
        match_items(&items(body), buf.as_bytes(), &mut MatchBudget::new(3000))
    }

    #[test]
    fn content_semantics_table() {
        let cases: &[(&str, &str, bool)] = &[
            // Plain, nocase.
            (r#"content:"abc";"#, "xxabcxx", true),
            (r#"content:"ABC";"#, "xxabcxx", false),
            (r#"content:"ABC"; nocase;"#, "xxabcxx", true),
            (r#"content:"aBc"; nocase;"#, "xxABCxx", true),
            // Negation.
            (r#"content:!"abc";"#, "xxabxx", true),
            (r#"content:!"abc";"#, "xxabcxx", false),
            // Offset / depth.
            (r#"content:"def"; offset:3; depth:3;"#, "abcdefgh", true),
            (r#"content:"def"; offset:4;"#, "abcdefgh", false),
            (r#"content:"def"; depth:5;"#, "abcdefgh", false),
            (r#"content:"def"; depth:6;"#, "abcdefgh", true),
            (r#"content:"abc"; depth:3;"#, "abcdefgh", true),
            // Distance / within.
            (
                r#"content:"ab"; content:"ef"; distance:2;"#,
                "abcdefgh",
                true,
            ),
            (
                r#"content:"ab"; content:"ef"; distance:3;"#,
                "abcdefgh",
                false,
            ),
            (r#"content:"ab"; content:"ef"; within:4;"#, "abcdefgh", true),
            (
                r#"content:"ab"; content:"ef"; within:3;"#,
                "abcdefgh",
                false,
            ),
            (
                r#"content:"ab"; content:"ef"; distance:1; within:3;"#,
                "abcdefgh",
                true,
            ),
            (
                r#"content:"ab"; content:"ef"; distance:1; within:2;"#,
                "abcdefgh",
                false,
            ),
            (
                r#"content:"cd"; content:"bc"; distance:-3;"#,
                "abcdefgh",
                true,
            ),
            (
                r#"content:"cd"; content:"bc"; distance:0;"#,
                "abcdefgh",
                false,
            ),
            // Relative negation.
            (
                r#"content:"ab"; content:!"ef"; within:3;"#,
                "abcdefgh",
                true,
            ),
            (
                r#"content:"ab"; content:!"ef"; within:4;"#,
                "abcdefgh",
                false,
            ),
            // startswith / endswith.
            (r#"content:"GET"; startswith;"#, "GET /", true),
            (r#"content:"GET"; startswith;"#, " GET /", false),
            (r#"content:".php"; endswith;"#, "/a.php", true),
            (r#"content:".php"; endswith;"#, "/a.php?x", false),
            (r#"content:".php"; endswith;"#, "/a.php.php", true),
            (r#"content:!".com"; endswith;"#, "a.com.org", true),
            (r#"content:!".com"; endswith;"#, "a.org.com", false),
            (
                r#"content:"a"; content:"b"; distance:0; endswith;"#,
                "abab",
                true,
            ),
            // Backtracking: a later relative content fails, the first retries further on.
            (r#"content:"a"; content:"c"; within:2;"#, "abxxxxacz", true),
            (
                r#"content:"this"; content:"is"; within:9; content:"big"; within:12; content:"string"; within:8;"#,
                "/now_this_is_is_is_big_big_big_string_now",
                true,
            ),
            (
                r#"content:"fix_this"; isdataat:!10,relative;"#,
                "/we_need_to_fix_this_and_yes_fix_this_now",
                true,
            ),
            (
                r#"content:"fix_this"; isdataat:!3,relative;"#,
                "/we_need_to_fix_this_and_yes_fix_this_now",
                false,
            ),
            // A non-relative later content ends the retries (same result either way).
            (r#"content:"a"; content:"z";"#, "aaaa", false),
            // Within measured after distance.
            (
                r#"content:"x"; content:"yz"; distance:2; within:2;"#,
                "x..yz",
                true,
            ),
            (
                r#"content:"x"; content:"yz"; distance:2; within:2;"#,
                "x...yz",
                false,
            ),
            // Relative content at the start of a list: relative to 0.
            (r#"content:"ab"; within:2;"#, "abc", true),
            (r#"content:"bc"; within:2;"#, "abc", false),
        ];
        for (body, buf, want) in cases {
            assert_eq!(m(body, buf), *want, "{body} on {buf:?}");
        }
    }

    #[test]
    fn isdataat_bsize_pcre() {
        assert!(m(r#"content:"c"; isdataat:5,relative;"#, "abcdefgh"));
        assert!(!m(r#"content:"c"; isdataat:6,relative;"#, "abcdefgh"));
        assert!(m("isdataat:7;", "abcdefgh"));
        assert!(!m("isdataat:8;", "abcdefgh"));
        assert!(m(r#"pcre:"/^gEt/i";"#, "GET /two/ HTTP/1.1"));
        assert!(m(
            r#"pcre:"/GET \/two\//"; pcre:"/\s+HTTP/R";"#,
            "GET /two/ HTTP/1.1"
        ));
        assert!(!m(
            r#"pcre:"/HTTP/"; pcre:"/\s+GET/R";"#,
            "GET /two/ HTTP/1.1"
        ));
        assert!(m(
            r#"content:"Backdoor="; pcre:"/^[a-f0-9]{4}/R";"#,
            "x; Backdoor=beef"
        ));
        assert!(!m(
            r#"content:"Backdoor="; pcre:"/^[a-f0-9]{4}/R";"#,
            "x; Backdoor=zbeef"
        ));
        // pcre backtracks too: the second "a" is the one followed by "b".
        assert!(m(r#"pcre:"/a/"; content:"b"; within:1;"#, "acab"));
        assert!(m(r#"content:"GET"; pcre:!"/two/";"#, "GET /one/"));
        assert!(!m(r#"content:"GET"; pcre:!"/two/";"#, "GET /two/"));
        // pcre sets the cursor.
        assert!(m(
            r#"pcre:"/a+/"; content:"b"; distance:0; within:1;"#,
            "xaaab"
        ));
        // Empty buffers.
        assert!(!m(r#"content:"a";"#, ""));
        assert!(m(r#"content:!"a";"#, ""));
        assert!(m("isdataat:!1;", ""));
    }

    #[test]
    fn bsize_and_base64() {
        let its = vec![Item::Bsize(IntCmp::Eq(3))];
        assert!(match_items(&its, b"abc", &mut MatchBudget::new(10)));
        assert!(!match_items(&its, b"abcd", &mut MatchBudget::new(10)));
        let sub = items(r#"content:"hello";"#);
        let its = vec![
            Item::Content(Box::new(ContentItem::new(&Content::new(b"data=".to_vec())))),
            Item::Base64(
                Base64Decode {
                    bytes: None,
                    offset: None,
                    relative: true,
                },
                sub,
            ),
        ];
        assert!(match_items(
            &its,
            b"x data=aGVsbG8gd29ybGQ=",
            &mut MatchBudget::new(10)
        ));
        assert!(!match_items(
            &its,
            b"x data=d29ybGQ=",
            &mut MatchBudget::new(10)
        ));
        assert!(!match_items(&its, b"x data=", &mut MatchBudget::new(10)));
    }

    #[test]
    fn budget_stops_exponential_backtracking() {
        let body = r#"content:"a"; content:"a"; distance:0; content:"a"; distance:0; content:"a"; distance:0; content:"b"; distance:0;"#;
        let its = items(body);
        let hay = "a".repeat(2000);
        let mut budget = MatchBudget::new(3000);
        assert!(!match_items(&its, hay.as_bytes(), &mut budget));
        assert!(budget.exhausted);
        let mut budget = MatchBudget::new(3000);
        assert!(match_items(&its, b"aaaab", &mut budget));
        assert!(!budget.exhausted);
    }

    #[test]
    fn nocase_search_edges() {
        let mut c = Content::new(b"AbC".to_vec());
        c.nocase = true;
        let it = ContentItem::new(&c);
        assert_eq!(it.find(b"xxaBcxx", 0, 7), Some(2));
        assert_eq!(it.find(b"xxaBcxx", 3, 7), None);
        assert_eq!(it.find(b"ab", 0, 2), None);
        assert_eq!(it.find(b"abc", 5, 2), None);
    }
}
