//! Length checks: `bsize` (buffer length), `dsize` (packet payload length), `urilen` (URI
//! length) and `isdataat` (is there data at a position).
//!
//! Integer comparisons take Suricata's forms: `n` or `=n`, `<n`, `>n`, `<=n`, `>=n`, `!n`
//! and `lo<>hi` (exclusive range).

use std::fmt;

use super::error::ValueResult;

/// An integer comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntCmp {
    /// `n`, `=n`.
    Eq(u64),
    /// `!n`.
    Ne(u64),
    /// `<n`.
    Lt(u64),
    /// `<=n`.
    Le(u64),
    /// `>n`.
    Gt(u64),
    /// `>=n`.
    Ge(u64),
    /// `lo<>hi`: strictly between.
    Range(u64, u64),
}

impl IntCmp {
    /// Parses a comparison whose numbers must be at most `max`.
    pub fn parse(value: &str, max: u64) -> ValueResult<IntCmp> {
        let v = value.trim();
        let num = |s: &str| -> ValueResult<u64> {
            let s = s.trim();
            let n: u64 = s.parse().map_err(|_| format!("invalid number `{s}`"))?;
            if n > max {
                return Err(format!("`{s}` is out of range (at most {max})"));
            }
            Ok(n)
        };
        if let Some((lo, hi)) = v.split_once("<>") {
            let (lo, hi) = (num(lo)?, num(hi)?);
            if lo >= hi {
                return Err(format!("empty range `{v}`"));
            }
            return Ok(IntCmp::Range(lo, hi));
        }
        Ok(if let Some(r) = v.strip_prefix("<=") {
            IntCmp::Le(num(r)?)
        } else if let Some(r) = v.strip_prefix(">=") {
            IntCmp::Ge(num(r)?)
        } else if let Some(r) = v.strip_prefix('<') {
            IntCmp::Lt(num(r)?)
        } else if let Some(r) = v.strip_prefix('>') {
            IntCmp::Gt(num(r)?)
        } else if let Some(r) = v.strip_prefix('!') {
            IntCmp::Ne(num(r)?)
        } else if let Some(r) = v.strip_prefix('=') {
            IntCmp::Eq(num(r)?)
        } else {
            IntCmp::Eq(num(v)?)
        })
    }

    /// Whether `n` satisfies the comparison.
    pub fn matches(self, n: u64) -> bool {
        match self {
            IntCmp::Eq(v) => n == v,
            IntCmp::Ne(v) => n != v,
            IntCmp::Lt(v) => n < v,
            IntCmp::Le(v) => n <= v,
            IntCmp::Gt(v) => n > v,
            IntCmp::Ge(v) => n >= v,
            IntCmp::Range(lo, hi) => lo < n && n < hi,
        }
    }

    /// The largest value that can satisfy the comparison, if bounded.
    pub fn max_value(self) -> Option<u64> {
        match self {
            IntCmp::Eq(v) | IntCmp::Le(v) => Some(v),
            IntCmp::Lt(v) => Some(v.saturating_sub(1)),
            IntCmp::Range(_, hi) => Some(hi.saturating_sub(1)),
            _ => None,
        }
    }
}

impl fmt::Display for IntCmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntCmp::Eq(v) => write!(f, "{v}"),
            IntCmp::Ne(v) => write!(f, "!{v}"),
            IntCmp::Lt(v) => write!(f, "<{v}"),
            IntCmp::Le(v) => write!(f, "<={v}"),
            IntCmp::Gt(v) => write!(f, ">{v}"),
            IntCmp::Ge(v) => write!(f, ">={v}"),
            IntCmp::Range(lo, hi) => write!(f, "{lo}<>{hi}"),
        }
    }
}

/// Which URI `urilen` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UriKind {
    /// The normalised URI (`http.uri`), the default.
    Normalized,
    /// The URI as sent (`http.uri.raw`).
    Raw,
}

/// `urilen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Urilen {
    /// The comparison.
    pub cmp: IntCmp,
    /// Which URI.
    pub kind: UriKind,
}

impl Urilen {
    /// Parses `cmp[,raw|,norm]`.
    pub fn parse(value: &str) -> ValueResult<Urilen> {
        let (cmp, kind) = match value.split_once(',') {
            Some((c, k)) => {
                let kind = match k.trim() {
                    "raw" => UriKind::Raw,
                    "norm" => UriKind::Normalized,
                    other => return Err(format!("invalid urilen option `{other}`")),
                };
                (c, kind)
            }
            None => (value, UriKind::Normalized),
        };
        Ok(Urilen {
            cmp: IntCmp::parse(cmp, u64::from(u32::MAX))?,
            kind,
        })
    }
}

impl fmt::Display for Urilen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.cmp)?;
        if self.kind == UriKind::Raw {
            f.write_str(",raw")?;
        }
        Ok(())
    }
}

/// `isdataat:[!]n[,relative]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Isdataat {
    /// The position.
    pub pos: u32,
    /// `!`: the rule needs no data there.
    pub negated: bool,
    /// Counted from the end of the previous match.
    pub relative: bool,
}

impl Isdataat {
    /// Parses the value.
    pub fn parse(value: &str) -> ValueResult<Isdataat> {
        let v = value.trim();
        let (negated, v) = match v.strip_prefix('!') {
            Some(r) => (true, r.trim_start()),
            None => (false, v),
        };
        let mut parts = v.split(',').map(str::trim);
        let pos_text = parts.next().unwrap_or("");
        let pos: u32 = pos_text
            .parse()
            .map_err(|_| format!("invalid position `{pos_text}`"))?;
        let mut relative = false;
        for p in parts {
            match p {
                "relative" if !relative => relative = true,
                "rawbytes" => {}
                other => return Err(format!("invalid isdataat option `{other}`")),
            }
        }
        Ok(Isdataat {
            pos,
            negated,
            relative,
        })
    }

    /// Whether the check holds on a buffer of `len` bytes with the previous match ending at
    /// `cursor`. Absolute: byte `pos` exists. Relative: `pos` more bytes follow the cursor.
    pub fn matches(&self, len: usize, cursor: usize) -> bool {
        let pos = self.pos as usize;
        let there = if self.relative {
            cursor.saturating_add(pos) <= len
        } else {
            pos < len
        };
        there != self.negated
    }
}

impl fmt::Display for Isdataat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("!")?;
        }
        write!(f, "{}", self.pos)?;
        if self.relative {
            f.write_str(",relative")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_forms() {
        let cases = [
            ("5", IntCmp::Eq(5)),
            ("=5", IntCmp::Eq(5)),
            ("<5", IntCmp::Lt(5)),
            (" > 80", IntCmp::Gt(80)),
            ("<=5", IntCmp::Le(5)),
            (">=5", IntCmp::Ge(5)),
            ("!9", IntCmp::Ne(9)),
            ("3<>20", IntCmp::Range(3, 20)),
            ("0", IntCmp::Eq(0)),
        ];
        for (s, want) in cases {
            let got = IntCmp::parse(s, u64::MAX).unwrap();
            assert_eq!(got, want, "{s}");
            assert_eq!(IntCmp::parse(&got.to_string(), u64::MAX).unwrap(), got);
        }
        assert!(IntCmp::Range(3, 20).matches(4));
        assert!(!IntCmp::Range(3, 20).matches(3));
        assert!(!IntCmp::Range(3, 20).matches(20));
        assert!(IntCmp::Le(5).matches(5) && !IntCmp::Lt(5).matches(5));
        assert!(IntCmp::Ne(5).matches(4) && !IntCmp::Ne(5).matches(5));
        assert_eq!(IntCmp::Lt(0).max_value(), Some(0));
        assert_eq!(IntCmp::Gt(3).max_value(), None);
        for bad in ["", "x", "<", "5<>3", "5<>5", "-1", "70000"] {
            assert!(IntCmp::parse(bad, 65535).is_err(), "{bad}");
        }
    }

    #[test]
    fn urilen_forms() {
        let u = Urilen::parse("15, raw").unwrap();
        assert_eq!(u.kind, UriKind::Raw);
        assert_eq!(u.to_string(), "15,raw");
        let u = Urilen::parse("15, norm").unwrap();
        assert_eq!(u.kind, UriKind::Normalized);
        assert_eq!(u.to_string(), "15");
        assert_eq!(Urilen::parse(" > 80").unwrap().cmp, IntCmp::Gt(80));
        assert!(Urilen::parse("15,foo").is_err());
    }

    #[test]
    fn isdataat_table() {
        // The documented table: a 32-byte payload.
        let t = |s: &str| Isdataat::parse(s).unwrap().matches(32, 0);
        assert!(t("31"));
        assert!(!t("32"));
        assert!(t("31,relative"));
        assert!(t("32,relative"));
        assert!(!t("33,relative"));
        // "abcdefgh", previous match "c" ends at 3.
        let r = |s: &str| Isdataat::parse(s).unwrap().matches(8, 3);
        assert!(r("4,relative"));
        assert!(r("5,relative"));
        assert!(!r("6,relative"));
        assert!(r("!6,relative"));
        let i = Isdataat::parse("!10, relative").unwrap();
        assert!(i.negated && i.relative);
        assert_eq!(i.to_string(), "!10,relative");
        assert!(Isdataat::parse("x").is_err());
        assert!(Isdataat::parse("1,relative,relative").is_err());
        assert!(Isdataat::parse("1,foo").is_err());
        assert!(Isdataat::parse("1,rawbytes").is_ok());
    }
}
