//! Cookies as ASP.NET parses them (`proxylogon-markers.md` §1.4): split on `;` only (never on
//! `,`), each piece trimmed, the name before the first `=`, values not URL-decoded, `$`-names
//! taken as attributes of the previous cookie. Names compare case-insensitively and the first
//! of duplicate names wins.
//!
//! Why: the CVE-2021-26855 markers live in the `X-BEResource` / `X-AnonResource-Backend`
//! cookies, and the server-side parse decides what the server uses. A naive split on `,` or a
//! case-sensitive lookup gives both false positives (`a=b, X-BEResource=x~1` is one cookie
//! named `a`) and misses (`x-beresource=`), so we follow `HttpRequest.FillInCookiesCollection`
//! and `CreateCookieFromString` from the .NET reference source step by step:
//!
//! * segments end at `;`; each is trimmed of ASCII white space (SP, HTAB, LF, VT, FF, CR, as
//!   .NET's `String.Trim` does for ASCII); empty segments are skipped;
//! * the name is the text before the first `=` when that `=` comes before the first `&`, and
//!   the value is everything after it (the multi-value form `k1=v1&k2=v2` reads back as the
//!   same text);
//! * a segment with neither `=` nor `&` is a cookie whose *name* is the whole segment and whose
//!   value is empty; a segment whose first `&` comes before any `=` has an empty name and the
//!   whole segment as value;
//! * a segment whose name starts with `$` (`$Path`, `$Domain`, `$Version`, …) that follows a
//!   cookie of the same header is an attribute of that cookie and not a cookie; at the start
//!   of a header it is an ordinary cookie.

use std::sync::OnceLock;

use super::fields::{Field, FieldList};

/// One cookie: its name as sent and its value as sent (not URL-decoded).
pub type Cookie<'a> = Field<'a>;

/// The cookies of a request, in wire order.
///
/// The `Cookie` values are kept as sent and split the first time the cookies are read:
/// a request's cookies are looked at far less often than requests are parsed, and the split
/// was a fifth of the cost of parsing an ordinary OWA request head.
#[derive(Clone, Default)]
pub struct Cookies {
    /// Every `Cookie` value given to [`Cookies::parse_header`], one after another.
    raw: Vec<u8>,
    /// Where each value after the first starts in `raw` (none for a single value).
    starts: Vec<u32>,
    /// The cookies, split on first use.
    split: OnceLock<FieldList>,
}

impl PartialEq for Cookies {
    fn eq(&self, other: &Cookies) -> bool {
        self.list() == other.list()
    }
}

impl Eq for Cookies {}

impl std::fmt::Debug for Cookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Cookies {
    /// The cookies.
    pub fn iter(&self) -> impl Iterator<Item = Cookie<'_>> + '_ {
        self.list().iter()
    }

    /// The number of cookies.
    pub fn len(&self) -> usize {
        self.list().len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.list().is_empty()
    }

    /// The value of the first cookie named `name` (case-insensitive), as ASP.NET's
    /// `Request.Cookies[name]` returns it.
    pub fn find(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|c| c.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|c| c.value)
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.raw.capacity()
            + self.starts.capacity() * std::mem::size_of::<u32>()
            + self.split.get().map_or(0, FieldList::heap_bytes)
    }

    /// Takes one `Cookie` header value: its cookies come after those taken before.
    pub fn parse_header(&mut self, value: &[u8]) {
        if !self.raw.is_empty() || !self.starts.is_empty() || self.split.get().is_some() {
            // A value after the first (or after the cookies were read).
            let at = u32::try_from(self.raw.len()).unwrap_or(u32::MAX);
            self.starts.push(at);
            self.split = OnceLock::new();
        }
        self.raw.extend_from_slice(value);
    }

    /// The cookies of every value taken, split.
    fn list(&self) -> &FieldList {
        self.split.get_or_init(|| {
            let mut list = FieldList::default();
            let mut from = 0;
            for &to in &self.starts {
                let to = (to as usize).min(self.raw.len());
                split_value(&mut list, &self.raw[from..to]);
                from = to;
            }
            split_value(&mut list, &self.raw[from..]);
            list
        })
    }
}

/// Splits one `Cookie` header value as ASP.NET does, appending its cookies to `list`.
fn split_value(list: &mut FieldList, value: &[u8]) {
    let mut seen_cookie = false;
    let segments = memchr::memchr_iter(b';', value).count() + 1;
    list.reserve(segments, value.len());
    let mut rest = value;
    while !rest.is_empty() {
        let end = memchr::memchr(b';', rest).unwrap_or(rest.len());
        let segment = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or_default();
        let segment = trim(segment);
        if segment.is_empty() {
            continue;
        }
        // The first `=` or `&` decides: `=` first splits name and value, `&` first makes
        // the whole segment a value, neither makes it a name.
        let (name, value): (&[u8], &[u8]) = match memchr::memchr2(b'=', b'&', segment) {
            Some(eq) if segment[eq] == b'=' => (&segment[..eq], &segment[eq + 1..]),
            Some(_) => (b"", segment),
            None => (segment, b""),
        };
        if seen_cookie && name.first() == Some(&b'$') {
            continue; // an attribute of the previous cookie
        }
        seen_cookie = true;
        list.push(name, value);
    }
}

/// Trims ASCII white space (SP, HTAB, LF, VT, FF, CR) from both ends.
fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_space(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Vec<(String, String)> {
        let mut out = Cookies::default();
        out.parse_header(value.as_bytes());
        out.iter()
            .map(|c| {
                (
                    String::from_utf8(c.name.to_vec()).unwrap(),
                    String::from_utf8(c.value.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn splits_on_semicolon_and_trims() {
        assert_eq!(
            parse("a=1; b=2;c=3"),
            pairs(&[("a", "1"), ("b", "2"), ("c", "3")])
        );
        assert_eq!(
            parse(" \t X-BEResource=localhost~1942062522 ;\t\tb=2 "),
            pairs(&[("X-BEResource", "localhost~1942062522"), ("b", "2")])
        );
    }

    #[test]
    fn comma_is_not_a_separator() {
        assert_eq!(
            parse("a=b, X-BEResource=x~1"),
            pairs(&[("a", "b, X-BEResource=x~1")])
        );
        let mut out = Cookies::default();
        out.parse_header(b"a=b, X-BEResource=x~1");
        assert_eq!(out.find("X-BEResource"), None);
    }

    #[test]
    fn value_is_everything_after_first_equals_and_not_decoded() {
        assert_eq!(
            parse("X-BEResource=Admin@ex01:444/autodiscover/autodiscover.xml?a=~1942062522"),
            pairs(&[(
                "X-BEResource",
                "Admin@ex01:444/autodiscover/autodiscover.xml?a=~1942062522"
            )])
        );
        assert_eq!(parse("x=a%7E1"), pairs(&[("x", "a%7E1")]));
        assert_eq!(parse("x=k1=v1&k2=v2"), pairs(&[("x", "k1=v1&k2=v2")]));
        assert_eq!(parse("x="), pairs(&[("x", "")]));
        assert_eq!(parse("=v"), pairs(&[("", "v")]));
    }

    #[test]
    fn segments_without_equals() {
        // Neither `=` nor `&`: the whole segment is the name.
        assert_eq!(parse("lonely; a=1"), pairs(&[("lonely", ""), ("a", "1")]));
        // `&` before any `=`: no name, the segment is the value.
        assert_eq!(parse("k&a=1"), pairs(&[("", "k&a=1")]));
    }

    #[test]
    fn empty_segments_skipped() {
        assert_eq!(parse(";; ;a=1;;\t;"), pairs(&[("a", "1")]));
        assert_eq!(parse(""), pairs(&[]));
    }

    #[test]
    fn dollar_names_are_attributes_of_previous_cookie() {
        assert_eq!(
            parse("$Version=1; a=1; $Path=/; $Domain=x; b=2"),
            pairs(&[("$Version", "1"), ("a", "1"), ("b", "2")])
        );
    }

    #[test]
    fn find_is_case_insensitive_and_first_wins() {
        let mut out = Cookies::default();
        out.parse_header(b"x-beresource=first~1; X-BERESOURCE=second~2");
        out.parse_header(b"X-BEResource=third~3");
        assert_eq!(out.len(), 3);
        assert_eq!(out.find("X-BEResource"), Some(&b"first~1"[..]));
        assert_eq!(out.find("x-anonresource-backend"), None);
    }

    #[test]
    fn hostile_bytes() {
        let mut out = Cookies::default();
        out.parse_header(b"\xff\x00=\x80; \r\n=;&&&;====");
        let got: Vec<Cookie<'_>> = out.iter().collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].name, b"\xff\x00");
        assert_eq!(got[1].name, b"");
        assert_eq!(got[2].value, b"&&&");
        assert_eq!(got[3].value, b"===");
    }
}
