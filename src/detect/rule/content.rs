//! `content` and its modifiers: `nocase`, `depth`, `offset`, `distance`, `within`,
//! `startswith`, `endswith`, `rawbytes` (accepted, no effect) and `fast_pattern`.
//!
//! A content value is `"..."` (optionally `!"..."`), where `|41 42|` is hex and `\;`, `\"`,
//! `\\` (also `\:` and `\,`) are escapes. Modifiers follow their content and are folded into
//! one [`Content`]; the checks Suricata makes when a rule loads (a depth shorter than the
//! pattern, `startswith` with `offset`, two `depth`s, …) are errors here too.

use super::error::ValueResult;

/// Which part of a content goes into the multi-pattern matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FastPattern {
    /// `fast_pattern;`: the whole pattern.
    Plain,
    /// `fast_pattern:only;`: the whole pattern, and the content needs no further check.
    Only,
    /// `fast_pattern:offset,length;`: only this slice of the pattern.
    Chop(u16, u16),
}

/// Largest absolute value Suricata accepts for `distance` and `within` (1 MiB).
pub const MAX_RELATIVE: i32 = 1 << 20;

/// One content match with its modifiers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Content {
    /// The bytes to find.
    pub pattern: Vec<u8>,
    /// `content:!"..."`: the rule needs the pattern to be absent.
    pub negated: bool,
    /// ASCII case-insensitive.
    pub nocase: bool,
    /// Search window length from `offset` (absolute).
    pub depth: Option<u32>,
    /// Search start (absolute).
    pub offset: Option<u32>,
    /// Search start relative to the end of the previous match.
    pub distance: Option<i32>,
    /// Search window end relative to the end of the previous match (plus `distance`).
    pub within: Option<i32>,
    /// Must match at the start of the buffer.
    pub startswith: bool,
    /// Must match at the end of the buffer.
    pub endswith: bool,
    /// `fast_pattern`, if given.
    pub fast_pattern: Option<FastPattern>,
}

impl Content {
    /// A plain content with no modifiers.
    pub fn new(pattern: Vec<u8>) -> Content {
        Content {
            pattern,
            negated: false,
            nocase: false,
            depth: None,
            offset: None,
            distance: None,
            within: None,
            startswith: false,
            endswith: false,
            fast_pattern: None,
        }
    }

    /// Whether the search starts from the previous match (`distance` or `within`).
    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }

    /// The bytes the multi-pattern matcher should look for (after a `fast_pattern` chop).
    pub fn fast_pattern_bytes(&self) -> &[u8] {
        match self.fast_pattern {
            Some(FastPattern::Chop(off, len)) => {
                let start = usize::from(off).min(self.pattern.len());
                let end = start
                    .saturating_add(usize::from(len))
                    .min(self.pattern.len());
                &self.pattern[start..end]
            }
            _ => &self.pattern,
        }
    }

    /// Applies a modifier keyword (with its value) to this content.
    pub fn apply_modifier(&mut self, keyword: &str, value: Option<&str>) -> ValueResult<()> {
        let flag = |set: &mut bool, value: Option<&str>| -> ValueResult<()> {
            if value.is_some() {
                return Err("takes no value".into());
            }
            if *set {
                return Err("given twice for the same content".into());
            }
            *set = true;
            Ok(())
        };
        match keyword {
            "nocase" => flag(&mut self.nocase, value),
            "rawbytes" => match value {
                None => Ok(()),
                Some(_) => Err("takes no value".into()),
            },
            "startswith" => flag(&mut self.startswith, value),
            "endswith" => flag(&mut self.endswith, value),
            "depth" => set_once(&mut self.depth, parse_u32(value)?),
            "offset" => set_once(&mut self.offset, parse_u32(value)?),
            "distance" => set_once(&mut self.distance, parse_relative(value)?),
            "within" => set_once(&mut self.within, parse_relative(value)?),
            "fast_pattern" => {
                let fp = parse_fast_pattern(value)?;
                set_once(&mut self.fast_pattern, fp)
            }
            _ => Err(format!("`{keyword}` is not a content modifier")),
        }
    }

    /// The checks made once every modifier is known.
    pub fn validate(&self) -> ValueResult<()> {
        if self.pattern.is_empty() {
            return Err("empty content".into());
        }
        let len = self.pattern.len();
        if self.startswith
            && (self.depth.is_some()
                || self.offset.is_some()
                || self.distance.is_some()
                || self.within.is_some())
        {
            return Err("startswith can't be mixed with depth, offset, distance or within".into());
        }
        if self.is_relative() && (self.depth.is_some() || self.offset.is_some()) {
            return Err(
                "a relative modifier (distance/within) can't be mixed with depth/offset".into(),
            );
        }
        if let Some(d) = self.depth {
            if d == 0 {
                return Err("depth must be greater than 0".into());
            }
            if (d as usize) < len {
                return Err(format!(
                    "depth {d} is smaller than the content length {len}"
                ));
            }
        }
        if let Some(w) = self.within {
            if w <= 0 || (w as usize) < len {
                return Err(format!(
                    "within {w} is smaller than the content length {len}"
                ));
            }
        }
        match self.fast_pattern {
            Some(FastPattern::Only)
                if self.negated
                    || self.is_relative()
                    || self.depth.is_some()
                    || self.offset.is_some() =>
            {
                return Err("fast_pattern:only can't be used with a negated or \
                            positioned content"
                    .into());
            }
            Some(FastPattern::Chop(off, l))
                if l == 0 || usize::from(off) + usize::from(l) > len =>
            {
                return Err(format!(
                    "fast_pattern:{off},{l} goes past the content length {len}"
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

fn set_once<T>(slot: &mut Option<T>, v: T) -> ValueResult<()> {
    if slot.is_some() {
        return Err("given twice for the same content".into());
    }
    *slot = Some(v);
    Ok(())
}

fn parse_u32(value: Option<&str>) -> ValueResult<u32> {
    let v = value.ok_or("needs a value")?.trim();
    v.parse::<u32>()
        .map_err(|_| format!("invalid number `{v}`"))
}

fn parse_relative(value: Option<&str>) -> ValueResult<i32> {
    let v = value.ok_or("needs a value")?.trim();
    let n: i32 = v.parse().map_err(|_| format!("invalid number `{v}`"))?;
    if n.unsigned_abs() > MAX_RELATIVE as u32 {
        return Err(format!(
            "`{v}` is out of range (at most 1048576 either way)"
        ));
    }
    Ok(n)
}

fn parse_fast_pattern(value: Option<&str>) -> ValueResult<FastPattern> {
    let Some(v) = value.map(str::trim) else {
        return Ok(FastPattern::Plain);
    };
    if v == "only" {
        return Ok(FastPattern::Only);
    }
    let (o, l) = v
        .split_once(',')
        .ok_or_else(|| format!("invalid value `{v}` (expected only or offset,length)"))?;
    let num = |s: &str| {
        s.trim()
            .parse::<u16>()
            .map_err(|_| format!("invalid number `{}`", s.trim()))
    };
    Ok(FastPattern::Chop(num(o)?, num(l)?))
}

/// Parses a content value: optional `!`, then a quoted string with hex and escapes.
/// Returns (negated, bytes).
pub fn parse_content_value(value: &str) -> ValueResult<(bool, Vec<u8>)> {
    let v = value.trim();
    let (negated, v) = match v.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, v),
    };
    let inner = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .filter(|_| v.len() >= 2)
        .ok_or("the value must be in double quotes")?;
    Ok((negated, decode_pattern(inner)?))
}

/// Decodes the inside of a content string: `|hex|` runs and backslash escapes.
pub fn decode_pattern(s: &str) -> ValueResult<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut in_hex = false;
    let mut nibble: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if in_hex {
            match b {
                b'|' => {
                    if nibble.is_some() {
                        return Err("odd number of hex digits".into());
                    }
                    in_hex = false;
                }
                b' ' | b'\t' => {
                    if nibble.is_some() {
                        return Err("odd number of hex digits".into());
                    }
                }
                _ => {
                    let d = (b as char)
                        .to_digit(16)
                        .ok_or_else(|| format!("invalid hex character `{}`", b as char))?
                        as u8;
                    match nibble.take() {
                        Some(h) => out.push(h << 4 | d),
                        None => nibble = Some(d),
                    }
                }
            }
            i += 1;
            continue;
        }
        match b {
            b'|' => in_hex = true,
            b'\\' => {
                let next = *bytes.get(i + 1).ok_or("a trailing backslash")?;
                match next {
                    b'\\' | b'"' | b';' | b':' | b',' => out.push(next),
                    _ => {
                        return Err(format!(
                            "invalid escape `\\{}` (only \\\\ \\\" \\; \\: \\, are allowed)",
                            next as char
                        ))
                    }
                }
                i += 1;
            }
            b'"' => return Err("unescaped `\"` inside the string".into()),
            b';' => return Err("unescaped `;` inside the string".into()),
            _ => out.push(b),
        }
        i += 1;
    }
    if in_hex {
        return Err("unterminated hex block (missing `|`)".into());
    }
    Ok(out)
}

/// Writes bytes as a content string body: printable ASCII as is, the rest (and `"`, `;`,
/// `\`, `|`) as `|hex|` runs.
pub fn encode_pattern(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut in_hex = false;
    for &b in bytes {
        let plain = (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b';' | b'\\' | b'|');
        if plain {
            if in_hex {
                out.push('|');
                in_hex = false;
            }
            out.push(b as char);
        } else {
            if in_hex {
                out.push(' ');
            } else {
                out.push('|');
                in_hex = true;
            }
            out.push_str(&format!("{b:02X}"));
        }
    }
    if in_hex {
        out.push('|');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(
            parse_content_value(r#""abc""#).unwrap(),
            (false, b"abc".to_vec())
        );
        assert_eq!(
            parse_content_value(r#"!"a|3a 20|b""#).unwrap(),
            (true, b"a: b".to_vec())
        );
        assert_eq!(
            parse_content_value(r#" ! "x""#).unwrap(),
            (true, b"x".to_vec())
        );
        assert_eq!(
            parse_content_value(r#""|54A9 7A|""#).unwrap().1,
            vec![0x54, 0xA9, 0x7A]
        );
        assert_eq!(
            parse_content_value(r#""a\;b\"c\\d\:e""#).unwrap().1,
            b"a;b\"c\\d:e".to_vec()
        );
    }

    #[test]
    fn value_errors() {
        for bad in [
            "abc", "\"abc", "\"", "\"a|4\"", "\"a|4|\"", "\"|4g|\"", "\"a\\x\"", "\"a\\\"",
            "\"a\"b\"",
        ] {
            assert!(parse_content_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn encode_round_trips() {
        let samples: [&[u8]; 4] = [b"abc", b"a;b\"c\\d|e", b"\x00\x01\xffab\r\n", b""];
        for s in samples {
            let enc = encode_pattern(s);
            assert_eq!(decode_pattern(&enc).unwrap(), s, "{enc}");
        }
        assert_eq!(encode_pattern(b"a\r\nb"), "a|0D 0A|b");
    }

    #[test]
    fn modifiers_and_validation() {
        let mut c = Content::new(b"abcd".to_vec());
        c.apply_modifier("nocase", None).unwrap();
        assert!(c.apply_modifier("nocase", None).is_err());
        assert!(c.apply_modifier("nocase", Some("1")).is_err());
        c.apply_modifier("depth", Some("10")).unwrap();
        assert!(c.apply_modifier("depth", Some("10")).is_err());
        c.apply_modifier("offset", Some(" 2 ")).unwrap();
        c.apply_modifier("rawbytes", None).unwrap();
        c.validate().unwrap();
        assert_eq!((c.depth, c.offset), (Some(10), Some(2)));

        let mut c = Content::new(b"abcd".to_vec());
        c.apply_modifier("depth", Some("3")).unwrap();
        assert!(c.validate().unwrap_err().contains("smaller"));
        let mut c = Content::new(b"abcd".to_vec());
        c.apply_modifier("depth", Some("0")).unwrap();
        assert!(c.validate().is_err());
        let mut c = Content::new(b"abcd".to_vec());
        c.apply_modifier("within", Some("3")).unwrap();
        assert!(c.validate().is_err());
        let mut c = Content::new(b"abcd".to_vec());
        c.apply_modifier("distance", Some("-5")).unwrap();
        c.apply_modifier("within", Some("9")).unwrap();
        c.validate().unwrap();
        assert!(c.is_relative());
        assert!(Content::new(b"a".to_vec())
            .apply_modifier("distance", Some("2000000"))
            .is_err());
        assert!(Content::new(b"a".to_vec())
            .apply_modifier("depth", Some("-1"))
            .is_err());
        assert!(Content::new(b"a".to_vec())
            .apply_modifier("depth", None)
            .is_err());
        let mut c = Content::new(b"abcd".to_vec());
        c.apply_modifier("startswith", None).unwrap();
        c.apply_modifier("offset", Some("1")).unwrap();
        assert!(c.validate().unwrap_err().contains("startswith"));
        let mut c = Content::new(b"abcd".to_vec());
        c.apply_modifier("distance", Some("0")).unwrap();
        c.apply_modifier("depth", Some("4")).unwrap();
        assert!(c.validate().unwrap_err().contains("relative"));
        assert!(Content::new(Vec::new()).validate().is_err());
        assert!(Content::new(b"a".to_vec())
            .apply_modifier("bogus", None)
            .is_err());
    }

    #[test]
    fn fast_pattern_forms() {
        let mut c = Content::new(b"abcdef".to_vec());
        c.apply_modifier("fast_pattern", None).unwrap();
        assert_eq!(c.fast_pattern, Some(FastPattern::Plain));
        assert!(c.apply_modifier("fast_pattern", None).is_err());
        let mut c = Content::new(b"abcdef".to_vec());
        c.apply_modifier("fast_pattern", Some("1,3")).unwrap();
        assert_eq!(c.fast_pattern_bytes(), b"bcd");
        c.validate().unwrap();
        let mut c = Content::new(b"abcdef".to_vec());
        c.apply_modifier("fast_pattern", Some("4,3")).unwrap();
        assert!(c.validate().is_err());
        let mut c = Content::new(b"abcdef".to_vec());
        c.apply_modifier("fast_pattern", Some("only")).unwrap();
        c.validate().unwrap();
        c.negated = true;
        assert!(c.validate().is_err());
        assert!(Content::new(b"a".to_vec())
            .apply_modifier("fast_pattern", Some("x"))
            .is_err());
        assert!(Content::new(b"a".to_vec())
            .apply_modifier("fast_pattern", Some("1,x"))
            .is_err());
    }
}
