//! Meta keywords: `msg`, `sid`, `rev`, `gid`, `classtype`, `priority`, `reference`,
//! `metadata` and `target`. They describe a rule; they never decide whether it matches.

use std::fmt;

use super::error::ValueResult;

/// `reference:system,id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `url`, `cve`, `md5`, …
    pub system: String,
    /// The reference itself.
    pub id: String,
}

/// `target:src_ip|dest_ip`: which side of the alert is the attacked one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `src_ip`.
    SrcIp,
    /// `dest_ip`.
    DestIp,
}

/// Parses a quoted string value (`msg`), undoing `\x` escapes.
pub fn parse_quoted(value: &str) -> ValueResult<String> {
    let v = value.trim();
    let inner = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .filter(|_| v.len() >= 2)
        .ok_or("the value must be in double quotes")?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or("a trailing backslash")?),
            '"' => return Err("unescaped `\"` inside the string".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Writes a string value in double quotes, escaping `\`, `"` and `;`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '\\' | '"' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Parses a decimal `u32` (sid, rev, gid, priority).
pub fn parse_u32(value: &str) -> ValueResult<u32> {
    let v = value.trim();
    v.parse().map_err(|_| format!("invalid number `{v}`"))
}

/// Parses a `sid` (must not be 0).
pub fn parse_sid(value: &str) -> ValueResult<u32> {
    match parse_u32(value)? {
        0 => Err("sid must be greater than 0".into()),
        n => Ok(n),
    }
}

/// Parses a `priority` (1..=255).
pub fn parse_priority(value: &str) -> ValueResult<u32> {
    match parse_u32(value)? {
        n @ 1..=255 => Ok(n),
        n => Err(format!("priority {n} is out of range (1-255)")),
    }
}

/// Checks a classtype name (the loader checks it is defined).
pub fn parse_classtype(value: &str) -> ValueResult<String> {
    let v = value.trim();
    if v.is_empty()
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("invalid classtype `{v}`"));
    }
    Ok(v.to_string())
}

impl Reference {
    /// Parses `system,id`.
    pub fn parse(value: &str) -> ValueResult<Reference> {
        let (system, id) = value
            .split_once(',')
            .ok_or_else(|| format!("`{}`: expected system,id", value.trim()))?;
        let (system, id) = (system.trim(), id.trim());
        if system.is_empty() || id.is_empty() {
            return Err("empty reference system or id".into());
        }
        if system.contains(char::is_whitespace) {
            return Err(format!("invalid reference system `{system}`"));
        }
        Ok(Reference {
            system: system.to_string(),
            id: id.to_string(),
        })
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.system, self.id)
    }
}

/// Parses `metadata:key value, key value, …` into pairs (a lone word is a key with an
/// empty value).
pub fn parse_metadata(value: &str) -> ValueResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim) {
        if part.is_empty() {
            return Err("empty metadata entry".into());
        }
        let (k, v) = match part.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => (part, ""),
        };
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// Writes metadata pairs back.
pub fn format_metadata(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k} {v}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Target {
    /// Parses the value.
    pub fn parse(value: &str) -> ValueResult<Target> {
        match value.trim() {
            "src_ip" => Ok(Target::SrcIp),
            "dest_ip" => Ok(Target::DestIp),
            other => Err(format!(
                "invalid target `{other}` (expected src_ip or dest_ip)"
            )),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::SrcIp => "src_ip",
            Target::DestIp => "dest_ip",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings() {
        assert_eq!(
            parse_quoted(r#""a \"b\" c\;d\\""#).unwrap(),
            r#"a "b" c;d\"#
        );
        assert_eq!(parse_quoted(r#""""#).unwrap(), "");
        assert!(parse_quoted("abc").is_err());
        assert!(parse_quoted("\"").is_err());
        assert!(parse_quoted(r#""a"b""#).is_err());
        assert!(parse_quoted(r#""a\""#).is_err());
        let s = r#"x "y"; \z"#;
        assert_eq!(parse_quoted(&quote(s)).unwrap(), s);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_sid(" 2033754").unwrap(), 2033754);
        assert!(parse_sid("0").is_err());
        assert!(parse_sid("-1").is_err());
        assert!(parse_sid("x").is_err());
        assert!(parse_sid("4294967296").is_err());
        assert_eq!(parse_priority("1").unwrap(), 1);
        assert!(parse_priority("0").is_err());
        assert!(parse_priority("256").is_err());
    }

    #[test]
    fn references_metadata_target() {
        let r = Reference::parse("url,github.com/a/b,c").unwrap();
        assert_eq!(r.system, "url");
        assert_eq!(r.id, "github.com/a/b,c");
        assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
        assert!(Reference::parse("cve").is_err());
        assert!(Reference::parse(",x").is_err());
        assert!(Reference::parse("a b,x").is_err());
        let m = parse_metadata("attack_target Server, created_at 2021_08_20, flag").unwrap();
        assert_eq!(m[0], ("attack_target".into(), "Server".into()));
        assert_eq!(m[2], ("flag".into(), String::new()));
        assert_eq!(parse_metadata(&format_metadata(&m)).unwrap(), m);
        assert!(parse_metadata("a b,,c d").is_err());
        assert_eq!(Target::parse("dest_ip").unwrap(), Target::DestIp);
        assert!(Target::parse("dst").is_err());
        assert_eq!(
            parse_classtype("attempted-admin").unwrap(),
            "attempted-admin"
        );
        assert!(parse_classtype("a b").is_err());
    }
}
