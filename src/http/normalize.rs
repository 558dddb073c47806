//! The request-target as IIS routes it (`proxylogon-markers.md` §1.4, §10; `anchors.md` §3.1).
//!
//! Why: IIS (HTTP.sys) decodes and canonicalises the path *before* it routes the request and
//! before ASP.NET looks at `LocalPath`. A rule that matches the raw target is therefore easy to
//! dodge: `/ecp/y%2Ejs`, `/%65cp/y.js`, `\ecp\y.js`, `//ecp///y.js` and `/owa/../ecp/./y.js` all
//! reach the same handler as `/ecp/y.js` (`proxylogon-markers.md` §10.1 items 2–4). Rules must
//! see the path the server saw, so this module rebuilds it.
//!
//! The raw target is split first, on the raw bytes, as HTTP.sys does: the fragment (from the
//! first `#`) is dropped, the query starts at the first `?`. An absolute-form target
//! (`http://host:port/path`) keeps only its path. The path is then normalised in this order,
//! like libhtp's IIS 7 personality:
//!
//! 1. percent-decoded once: `%XX` gives the byte, `%uXXXX` gives the code point as UTF-8 (or the
//!    byte itself up to 0x7F); an invalid escape such as `%zz` is kept literally;
//! 2. backslashes become slashes (so an encoded `%5c` does too);
//! 3. runs of slashes are folded into one;
//! 4. dot-segments are removed (RFC 3986 §5.2.4); `..` above the root stays at the root.
//!
//! The query is kept raw and, separately, percent-decoded once (`+` stays `+`). Letter case is
//! kept: IIS paths are case-insensitive, so rules should match them without case.

/// A request-target split and normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedUri {
    /// The path as IIS routes it.
    pub path: Vec<u8>,
    /// The query (after `?`, before `#`) as sent, if any.
    pub query_raw: Option<Vec<u8>>,
    /// The query percent-decoded once (`+` stays `+`), if any.
    pub query_decoded: Option<Vec<u8>>,
}

impl NormalizedUri {
    /// Normalises a request-target (origin form, absolute form, `*` or authority form).
    pub fn from_target(target: &[u8]) -> NormalizedUri {
        let without_fragment = match memchr::memchr(b'#', target) {
            Some(i) => &target[..i],
            None => target,
        };
        let (path_raw, query_raw) = match memchr::memchr(b'?', without_fragment) {
            Some(i) => (&without_fragment[..i], Some(&without_fragment[i + 1..])),
            None => (without_fragment, None),
        };
        let path = if path_raw == b"*" {
            b"*".to_vec()
        } else {
            normalize_path(strip_scheme_and_authority(path_raw))
        };
        NormalizedUri {
            path,
            query_raw: query_raw.map(<[u8]>::to_vec),
            query_decoded: query_raw.map(percent_decode),
        }
    }

    /// The normalised path, then `?` and the decoded query when there is one: Suricata's
    /// `http.uri` buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let query = self.query_decoded.as_deref();
        let mut out = Vec::with_capacity(self.path.len() + query.map_or(0, |q| q.len() + 1));
        out.extend_from_slice(&self.path);
        if let Some(q) = query {
            out.push(b'?');
            out.extend_from_slice(q);
        }
        out
    }
}

/// For an absolute-form target (`scheme://authority/path`), the path (`/` when there is none);
/// any other target unchanged.
fn strip_scheme_and_authority(target: &[u8]) -> &[u8] {
    let Some(first) = target.first() else {
        return target;
    };
    if !first.is_ascii_alphabetic() {
        return target;
    }
    let scheme_len = target
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        .count();
    let Some(after) = target[scheme_len..].strip_prefix(b"://") else {
        return target;
    };
    match after.iter().position(|b| *b == b'/' || *b == b'\\') {
        Some(i) => &after[i..],
        None => b"/",
    }
}

/// Percent-decodes once: `%XX` and `%uXXXX` (either case of `u`); invalid escapes stay as sent.
pub fn percent_decode(input: &[u8]) -> Vec<u8> {
    decode_escapes(input, false)
}

/// As [`percent_decode`], and `+` is a space (`application/x-www-form-urlencoded`). The same as
/// replacing every `+` first, since no escape takes a `+` and a decoded `%2B` stays a `+`.
pub fn percent_decode_form(input: &[u8]) -> Vec<u8> {
    decode_escapes(input, true)
}

/// Copies `input` to a new buffer, decoding escapes (and `+` when `plus_is_space`); the runs
/// between them are found with `memchr` and copied whole.
fn decode_escapes(input: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    loop {
        let next = if plus_is_space {
            memchr::memchr2(b'%', b'+', rest)
        } else {
            memchr::memchr(b'%', rest)
        };
        let Some(at) = next else {
            out.extend_from_slice(rest);
            return out;
        };
        out.extend_from_slice(&rest[..at]);
        let after = &rest[at + 1..];
        rest = if rest[at] == b'+' {
            out.push(b' ');
            after
        } else if let Some(used) = decode_escape(after, &mut out) {
            &after[used..]
        } else {
            out.push(b'%');
            after
        };
    }
}

/// Decodes the escape after a `%` into `out`; returns how many bytes after the `%` it used, or
/// `None` when the escape is not valid (nothing written).
fn decode_escape(after: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    if let [b'u' | b'U', a, b, c, d, ..] = after {
        if let (Some(a), Some(b), Some(c), Some(d)) = (hex(*a), hex(*b), hex(*c), hex(*d)) {
            let cp =
                (u32::from(a) << 12) | (u32::from(b) << 8) | (u32::from(c) << 4) | u32::from(d);
            if cp <= 0x7F {
                out.push(cp as u8);
                return Some(5);
            }
            // Surrogate halves have no UTF-8 form: keep such an escape literally.
            let ch = char::from_u32(cp)?;
            let mut utf8 = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
            return Some(5);
        }
    }
    if let [a, b, ..] = after {
        if let (Some(a), Some(b)) = (hex(*a), hex(*b)) {
            out.push((a << 4) | b);
            return Some(2);
        }
    }
    None
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Is `raw` a path that [`normalize_path`] leaves as it is: no escape, no backslash, no
/// `//`, no segment that starts with a dot (so no dot-segment)? Most paths are; they are
/// copied without the four passes.
fn is_normal_path(raw: &[u8]) -> bool {
    raw.first() != Some(&b'.')
        && memchr::memchr2(b'%', b'\\', raw).is_none()
        && memchr::memchr_iter(b'/', raw).all(|i| !matches!(raw.get(i + 1), Some(b'/' | b'.')))
}

/// Decode, backslash → slash, fold slashes, remove dot-segments.
fn normalize_path(raw: &[u8]) -> Vec<u8> {
    if is_normal_path(raw) {
        return raw.to_vec();
    }
    normalize_path_in_full(raw)
}

/// [`normalize_path`] pass after pass.
fn normalize_path_in_full(raw: &[u8]) -> Vec<u8> {
    let mut decoded = percent_decode(raw);
    for b in decoded.iter_mut() {
        if *b == b'\\' {
            *b = b'/';
        }
    }
    let mut folded = Vec::with_capacity(decoded.len());
    for &b in &decoded {
        if b == b'/' && folded.last() == Some(&b'/') {
            continue;
        }
        folded.push(b);
    }
    remove_dot_segments(&folded)
}

/// RFC 3986 §5.2.4 on bytes.
fn remove_dot_segments(mut input: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(input.len());
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix(b"../") {
            input = rest; // A
        } else if let Some(rest) = input.strip_prefix(b"./") {
            input = rest; // A
        } else if input.starts_with(b"/./") {
            input = &input[2..]; // B: "/./" → "/"
        } else if input == b"/." {
            input = b"/"; // B
        } else if input.starts_with(b"/../") {
            input = &input[3..]; // C: "/../" → "/"
            pop_segment(&mut out);
        } else if input == b"/.." {
            input = b"/"; // C
            pop_segment(&mut out);
        } else if input == b"." || input == b".." {
            input = &[]; // D
        } else {
            // E: move the first segment (with its leading "/", if any) to the output.
            let start = usize::from(input.first() == Some(&b'/'));
            let end = input[start..]
                .iter()
                .position(|b| *b == b'/')
                .map_or(input.len(), |i| i + start);
            out.extend_from_slice(&input[..end]);
            input = &input[end..];
        }
    }
    out
}

/// Removes the last segment of `out` and the `/` before it.
fn pop_segment(out: &mut Vec<u8>) {
    let cut = out.iter().rposition(|b| *b == b'/').unwrap_or(0);
    out.truncate(cut);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(target: &str) -> String {
        String::from_utf8(NormalizedUri::from_target(target.as_bytes()).path).unwrap()
    }

    #[test]
    fn percent_decoded_path() {
        assert_eq!(path("/ecp/y%2Ejs"), "/ecp/y.js");
        assert_eq!(path("/ecp/%79.js"), "/ecp/y.js");
        assert_eq!(path("/%65cp/y.js"), "/ecp/y.js");
        assert_eq!(path("/%u0065cp/y.js"), "/ecp/y.js");
        assert_eq!(path("/%U0065cp/y.js"), "/ecp/y.js");
    }

    #[test]
    fn percent_u_above_ascii_is_utf8() {
        let uri = NormalizedUri::from_target(b"/a%u00e9b");
        assert_eq!(uri.path, "/aéb".as_bytes());
        // A surrogate half has no UTF-8 form: kept as sent.
        assert_eq!(path("/a%ud800"), "/a%ud800");
    }

    #[test]
    fn invalid_escapes_kept() {
        assert_eq!(path("/a%zz/b"), "/a%zz/b");
        assert_eq!(path("/a%"), "/a%");
        assert_eq!(path("/a%4"), "/a%4");
        assert_eq!(path("/a%u12"), "/a%u12");
        assert_eq!(path("/a%u12zz"), "/a%u12zz");
        // Decoded once only.
        assert_eq!(path("/a%252e"), "/a%2e");
    }

    #[test]
    fn backslashes_and_slashes() {
        assert_eq!(path("\\ecp\\y.js"), "/ecp/y.js");
        assert_eq!(path("//ecp///y.js"), "/ecp/y.js");
        assert_eq!(path("/ecp%5cy.js"), "/ecp/y.js");
        assert_eq!(path("/ecp%2f%2fy.js"), "/ecp/y.js");
    }

    #[test]
    fn dot_segments() {
        assert_eq!(path("/owa/../ecp/./y.js"), "/ecp/y.js");
        assert_eq!(path("/a/%2e%2e/b"), "/b");
        assert_eq!(path("/a/%2E/b"), "/a/b");
        assert_eq!(path("/../../ecp/y.js"), "/ecp/y.js");
        assert_eq!(path("/a/b/.."), "/a/");
        assert_eq!(path("/a/b/."), "/a/b/");
        assert_eq!(path("/a\\..\\b"), "/b");
        assert_eq!(path("/.."), "/");
        assert_eq!(path("/a/..b/c"), "/a/..b/c");
        assert_eq!(path("a/../b"), "/b"); // RFC 3986 §5.2.4 gives "/b"
    }

    #[test]
    fn absolute_form_keeps_path() {
        assert_eq!(path("http://mail.example.com/ecp/y.js"), "/ecp/y.js");
        assert_eq!(path("HTTPS://mail.example.com:444/owa/x.js"), "/owa/x.js");
        assert_eq!(path("http://mail.example.com"), "/");
        let uri = NormalizedUri::from_target(b"http://h/a?b=1");
        assert_eq!(uri.path, b"/a");
        assert_eq!(uri.query_raw.as_deref(), Some(&b"b=1"[..]));
    }

    #[test]
    fn asterisk_and_authority_form() {
        assert_eq!(path("*"), "*");
        assert_eq!(path("mail.example.com:443"), "mail.example.com:443");
    }

    #[test]
    fn query_kept_raw_and_decoded() {
        let uri =
            NormalizedUri::from_target(b"/autodiscover/autodiscover.json?a=%40x+y%u0041&b#frag");
        assert_eq!(uri.path, b"/autodiscover/autodiscover.json");
        assert_eq!(uri.query_raw.as_deref(), Some(&b"a=%40x+y%u0041&b"[..]));
        assert_eq!(uri.query_decoded.as_deref(), Some(&b"a=@x+yA&b"[..]));
        assert_eq!(uri.to_bytes(), b"/autodiscover/autodiscover.json?a=@x+yA&b");
    }

    #[test]
    fn query_split_on_raw_question_mark_only() {
        // An encoded `?` is part of the path, as HTTP.sys splits before decoding.
        let uri = NormalizedUri::from_target(b"/a%3Fb?c?d");
        assert_eq!(uri.path, b"/a?b");
        assert_eq!(uri.query_raw.as_deref(), Some(&b"c?d"[..]));
        // `#` before `?`: the rest is fragment.
        let uri = NormalizedUri::from_target(b"/a#b?c");
        assert_eq!(uri.path, b"/a");
        assert_eq!(uri.query_raw, None);
        assert_eq!(uri.to_bytes(), b"/a");
        // An empty query still exists.
        assert_eq!(NormalizedUri::from_target(b"/a?").to_bytes(), b"/a?");
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for t in [
            &b""[..],
            b"%",
            b"%u",
            b"?",
            b"#",
            b"\\\\..\\..",
            b"http://",
            b"a://",
            b"/\xff%ff%uffff",
        ] {
            let _ = NormalizedUri::from_target(t).to_bytes();
        }
        assert_eq!(path(""), "");
        assert_eq!(NormalizedUri::from_target(b"/%ff").path, b"/\xff");
    }

    proptest::proptest! {
        #[test]
        fn the_shortcut_changes_nothing(target in proptest::collection::vec(
            proptest::sample::select(b"/\\.%a2eu?#".to_vec()), 0..24)) {
            if is_normal_path(&target) {
                proptest::prop_assert_eq!(normalize_path_in_full(&target), target);
            }
        }

        #[test]
        fn never_panics_and_is_canonical(target in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let uri = NormalizedUri::from_target(&target);
            // No backslashes, no "//" and no dot-segments survive in the path.
            proptest::prop_assert!(!uri.path.contains(&b'\\') || uri.path == b"*");
            proptest::prop_assert!(!uri.path.windows(2).any(|w| w == b"//"));
            proptest::prop_assert!(!uri.path.windows(4).any(|w| w == b"/../"));
            proptest::prop_assert!(!uri.path.windows(3).any(|w| w == b"/./"));
        }

        #[test]
        fn decoding_is_the_byte_at_a_time_definition(
            input in proptest::collection::vec(proptest::sample::select(
                b"%%%++uU0a9fFgz\xc3\xa9/".to_vec()), 0..48),
        ) {
            // One byte at a time: an escape is decoded where it is valid, a `+` of a form is
            // a space, anything else is copied.
            fn reference(input: &[u8], plus_is_space: bool) -> Vec<u8> {
                let mut out = Vec::new();
                let mut i = 0;
                while let Some(&b) = input.get(i) {
                    if b == b'%' {
                        if let Some(used) = decode_escape(&input[i + 1..], &mut out) {
                            i += 1 + used;
                            continue;
                        }
                    }
                    out.push(if plus_is_space && b == b'+' { b' ' } else { b });
                    i += 1;
                }
                out
            }
            proptest::prop_assert_eq!(percent_decode(&input), reference(&input, false));
            proptest::prop_assert_eq!(percent_decode_form(&input), reference(&input, true));
        }
    }
}
