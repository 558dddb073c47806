//! `pcre:"/regex/flags"`: Perl-compatible regular expressions, run with Rust's `regex` crate.
//!
//! Flags: `i s m x` (as in Perl), `A` (anchored at the start of the buffer, or of the
//! relative window), `E` (`$` only at the very end; without it `$` also matches before a
//! final newline, as in PCRE), `G`
//! (ungreedy), `R` (relative to the previous match), `O` and `B` (accepted, no effect), and the
//! buffer letters `U I P Q H D M C S Y V W Z` ([`Buffer::from_pcre_flag`]). The pattern is
//! translated for `regex` ([`Pcre::regex_source`]): an escaped punctuation character becomes
//! a hex escape (`\/`, `\<` are literals in PCRE but assertions or errors in `regex`), `\Z`
//! becomes `\z`. What `regex` cannot do (back-references, look-around, atomic groups,
//! possessive quantifiers) is a load error naming the construct.

use super::buffer::Buffer;
use super::error::ValueResult;

/// Modifier flags other than the buffer letters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PcreFlags {
    /// `i`: case-insensitive.
    pub caseless: bool,
    /// `s`: `.` matches `\n` too.
    pub dotall: bool,
    /// `m`: `^`/`$` at line boundaries.
    pub multiline: bool,
    /// `x`: whitespace and `#` comments in the pattern are ignored.
    pub extended: bool,
    /// `A`: anchored at the start.
    pub anchored: bool,
    /// `E`: `$` matches only at the very end.
    pub dollar_endonly: bool,
    /// `G`: quantifiers are lazy by default.
    pub ungreedy: bool,
    /// `R`: starts at the end of the previous match.
    pub relative: bool,
    /// `O`: override the match limit (no effect here).
    pub match_limit: bool,
    /// `B`: raw bytes (no effect).
    pub rawbytes: bool,
}

/// One `pcre` option.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pcre {
    /// The pattern as written between the slashes.
    pub pattern: String,
    /// `pcre:!"..."`: the rule needs no match.
    pub negated: bool,
    /// Flags.
    pub flags: PcreFlags,
}

/// Parses a pcre value. Returns the pcre and the buffer its letter selects, if any.
pub fn parse_pcre(value: &str) -> ValueResult<(Pcre, Option<Buffer>)> {
    let v = value.trim();
    let (negated, v) = match v.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, v),
    };
    let v = match v.strip_prefix('"') {
        Some(rest) => rest
            .strip_suffix('"')
            .ok_or("unterminated quoted pcre value")?,
        None => v,
    };
    let body = v
        .strip_prefix('/')
        .ok_or("the regex must be written /regex/flags")?;
    let end = body.rfind('/').ok_or("missing closing `/`")?;
    let pattern = &body[..end];
    let flag_text = &body[end + 1..];
    if flag_text.contains(',') {
        return Err("pcre capture variables (`, flow:...`) are not supported".into());
    }
    let mut flags = PcreFlags::default();
    let mut buffer = None;
    for c in flag_text.chars() {
        let slot = match c {
            'i' => &mut flags.caseless,
            's' => &mut flags.dotall,
            'm' => &mut flags.multiline,
            'x' => &mut flags.extended,
            'A' => &mut flags.anchored,
            'E' => &mut flags.dollar_endonly,
            'G' => &mut flags.ungreedy,
            'R' => &mut flags.relative,
            'O' => &mut flags.match_limit,
            'B' => &mut flags.rawbytes,
            c if c.is_whitespace() => continue,
            c => match Buffer::from_pcre_flag(c) {
                Some(b) => {
                    if buffer.is_some_and(|old| old != b) {
                        return Err(format!("pcre flag `{c}` selects a second buffer"));
                    }
                    buffer = Some(b);
                    continue;
                }
                None => return Err(format!("unsupported pcre flag `{c}`")),
            },
        };
        *slot = true;
    }
    let pcre = Pcre {
        pattern: pattern.to_string(),
        negated,
        flags,
    };
    pcre.compile()?;
    Ok((pcre, buffer))
}

impl Pcre {
    /// The flag letters (buffer letters excluded), in a fixed order.
    pub fn flag_letters(&self) -> String {
        let f = &self.flags;
        let mut s = String::new();
        for (on, c) in [
            (f.caseless, 'i'),
            (f.dotall, 's'),
            (f.multiline, 'm'),
            (f.extended, 'x'),
            (f.anchored, 'A'),
            (f.dollar_endonly, 'E'),
            (f.ungreedy, 'G'),
            (f.relative, 'R'),
            (f.match_limit, 'O'),
            (f.rawbytes, 'B'),
        ] {
            if on {
                s.push(c);
            }
        }
        s
    }

    /// The pattern rewritten for the `regex` crate, flags included.
    pub fn regex_source(&self) -> ValueResult<String> {
        let f = &self.flags;
        let mut out = String::from("(?");
        for (on, c) in [
            (f.caseless, 'i'),
            (f.dotall, 's'),
            (f.multiline, 'm'),
            (f.extended, 'x'),
            (f.ungreedy, 'U'),
        ] {
            if on {
                out.push(c);
            }
        }
        out.push_str("-u)");
        if f.anchored {
            out.push_str("\\A");
        }
        out.push_str("(?:");
        // PCRE's `$` also matches before a final newline unless `m` or `E` is given.
        let pcre_dollar = !f.multiline && !f.dollar_endonly;
        out.push_str(&translate(&self.pattern, pcre_dollar)?);
        out.push(')');
        Ok(out)
    }

    /// Compiles the regex for byte buffers.
    pub fn compile(&self) -> ValueResult<regex::bytes::Regex> {
        let src = self.regex_source()?;
        regex::bytes::RegexBuilder::new(&src)
            .unicode(false)
            .size_limit(1 << 22)
            .dfa_size_limit(1 << 22)
            .build()
            .map_err(|e| {
                let msg = e.to_string();
                let last = msg.lines().rev().find(|l| !l.trim().is_empty());
                format!(
                    "regex `{}` is not supported: {}",
                    self.pattern,
                    last.unwrap_or("invalid").trim()
                )
            })
    }
}

/// Rewrites PCRE syntax that `regex` reads differently, and rejects what it lacks.
fn translate(p: &str, pcre_dollar: bool) -> ValueResult<String> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    return Err("pattern ends with a backslash".into());
                };
                match n {
                    '1'..='9' if !in_class => {
                        return Err(format!(
                            "back-reference `\\{n}` is not supported by the regex engine"
                        ))
                    }
                    'k' | 'g' if !in_class => {
                        return Err(format!(
                            "back-reference `\\{n}` is not supported by the regex engine"
                        ))
                    }
                    'Z' => out.push_str("\\z"),
                    'G' | 'K' | 'R' | 'X' | 'C' | 'h' | 'H' | 'v' | 'V' | 'N' => {
                        return Err(format!("`\\{n}` is not supported by the regex engine"))
                    }
                    n if n.is_ascii_punctuation() || n == ' ' => {
                        out.push_str(&format!("\\x{:02X}", n as u32));
                    }
                    n => {
                        out.push('\\');
                        out.push(n);
                    }
                }
                i += 2;
                continue;
            }
            '$' if !in_class && pcre_dollar => out.push_str("(?:\\n?\\z)"),
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                i += 1;
                // A leading `^` and a `]` right after `[` or `[^` are literal.
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            '[' if in_class => {
                // POSIX classes `[:alpha:]` pass through; a lone `[` is a literal in PCRE.
                if chars.get(i + 1) == Some(&':') {
                    let end = (i + 2..chars.len().saturating_sub(1))
                        .find(|&j| chars[j] == ':' && chars[j + 1] == ']');
                    if let Some(end) = end {
                        out.extend(&chars[i..end + 2]);
                        i = end + 2;
                        continue;
                    }
                    out.push_str("\\[");
                } else {
                    out.push_str("\\[");
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '(' if !in_class && chars.get(i + 1) == Some(&'?') => {
                let rest: String = chars[i + 2..].iter().take(3).collect();
                let construct = if rest.starts_with('=') || rest.starts_with('!') {
                    Some("look-ahead")
                } else if rest.starts_with("<=") || rest.starts_with("<!") {
                    Some("look-behind")
                } else if rest.starts_with('>') {
                    Some("atomic group")
                } else if rest.starts_with('|') {
                    Some("branch reset group")
                } else if rest.starts_with('(') {
                    Some("conditional group")
                } else if rest.starts_with('R') || rest.starts_with(|c: char| c.is_ascii_digit()) {
                    Some("recursion")
                } else {
                    None
                };
                if let Some(what) = construct {
                    return Err(format!(
                        "{what} `(?{rest}` is not supported by the regex engine"
                    ));
                }
                out.push('(');
            }
            '+' if !in_class
                && i > 0
                && matches!(chars[i - 1], '+' | '*' | '?' | '}')
                && !(i >= 2 && chars[i - 2] == '\\') =>
            {
                return Err("possessive quantifier is not supported by the regex engine".into());
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(v: &str) -> regex::bytes::Regex {
        parse_pcre(v).unwrap().0.compile().unwrap()
    }

    #[test]
    fn parses_forms_and_flags() {
        let (p, b) = parse_pcre(r#""/^[a-f0-9]{32}/R""#).unwrap();
        assert_eq!(p.pattern, "^[a-f0-9]{32}");
        assert!(p.flags.relative && !p.negated);
        assert_eq!(b, None);
        let (p, b) = parse_pcre(r"/\.\/a/I").unwrap();
        assert_eq!(p.pattern, r"\.\/a");
        assert_eq!(b, Some(Buffer::HttpUriRaw));
        let (p, b) = parse_pcre(r#"!"/dummy/C""#).unwrap();
        assert!(p.negated);
        assert_eq!(b, Some(Buffer::HttpCookie));
        let (p, b) = parse_pcre(r#""/x/ismxAEGROBU""#).unwrap();
        assert_eq!(p.flag_letters(), "ismxAEGROB");
        assert_eq!(b, Some(Buffer::HttpUri));
        let (_, b) = parse_pcre(r#""/ST/RM""#).unwrap();
        assert_eq!(b, Some(Buffer::HttpMethod));
        // A slash inside the pattern: the last one ends it.
        let (p, _) = parse_pcre(r#""/a/b/i""#).unwrap();
        assert_eq!(p.pattern, "a/b");
    }

    #[test]
    fn parse_errors() {
        assert!(parse_pcre(r#""abc""#).is_err());
        assert!(parse_pcre(r#""/abc""#).is_err());
        assert!(parse_pcre(r#""/abc/""#).is_ok());
        assert!(parse_pcre(r#""/abc/L""#).unwrap_err().contains("flag `L`"));
        assert!(parse_pcre(r#""/abc/UH""#)
            .unwrap_err()
            .contains("second buffer"));
        assert!(parse_pcre(r#""/abc/""#.trim_end_matches('"')).is_err());
        assert!(parse_pcre(r#""/a(b/""#)
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_pcre(r#""/(a)\1/""#)
            .unwrap_err()
            .contains("back-reference"));
        assert!(parse_pcre(r#""/a(?=b)/""#)
            .unwrap_err()
            .contains("look-ahead"));
        assert!(parse_pcre(r#""/(?<!a)b/""#)
            .unwrap_err()
            .contains("look-behind"));
        assert!(parse_pcre(r#""/(?>a)/""#).unwrap_err().contains("atomic"));
        assert!(parse_pcre(r#""/a++/""#).unwrap_err().contains("possessive"));
        assert!(parse_pcre(r#""/a/i, flow:x""#).is_err());
        assert!(parse_pcre(r#""/a\/""#).is_err());
    }

    #[test]
    fn translation_matches_pcre_meaning() {
        assert!(re(r#""/\.\/a/""#).is_match(b"x./a"));
        assert!(re(r#""/\<b\>/""#).is_match(b"<b>"));
        assert!(re(r#""/User[-_]Agent[:]?\sMozilla/""#).is_match(b"User-Agent: Mozilla"));
        assert!(re(r#""/[\d\-a]/""#).is_match(b"-"));
        assert!(re(r#""/[]a]/""#).is_match(b"]"));
        assert!(re(r#""/[^]a]/""#).is_match(b"b"));
        assert!(re(r#""/[[:alpha:]]+/""#).is_match(b"abc"));
        assert!(re(r#""/a[[]b/""#).is_match(b"a[b"));
        assert!(re(r#""/gEt/i""#).is_match(b"GET"));
        assert!(!re(r#""/a.b/""#).is_match(b"a\nb"));
        assert!(re(r#""/a.b/s""#).is_match(b"a\nb"));
        assert!(re(r#""/^b/m""#).is_match(b"a\nb"));
        assert!(!re(r#""/^b/""#).is_match(b"a\nb"));
        assert!(re(r#""/a b/x""#).is_match(b"ab"));
        assert!(!re(r#""/b/A""#).is_match(b"ab"));
        assert!(re(r#""/a\Z/""#).is_match(b"xa"));
        // `$` before a final newline, unless E (or m, where it is a line end).
        assert!(re(r#""/a$/""#).is_match(b"xa\n"));
        assert!(!re(r#""/a$/E""#).is_match(b"xa\n"));
        assert!(!re(r#""/a$/""#).is_match(b"xa\nb"));
        assert!(re(r#""/a$/m""#).is_match(b"xa\nb"));
        assert!(re(r#""/[$]/""#).is_match(b"$"));
        // Binary bytes.
        assert!(re(r#""/\xff\x00/""#).is_match(b"\xff\x00"));
        assert!(re(r#""/a.c/""#).is_match(b"a\xffc"));
        // Ungreedy.
        let m = re(r#""/a.+/G""#).find(b"abcd").unwrap();
        assert_eq!(m.end(), 2);
    }
}
