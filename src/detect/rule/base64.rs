//! `base64_decode` and the data it exposes to `base64_data`.
//!
//! `base64_decode:[bytes n][, offset n][, relative]` decodes base64 found in the current
//! buffer (from the start, or from the end of the previous match with `relative`, skipping
//! `offset` bytes, reading at most `bytes`). Decoding stops at the first byte that is not
//! base64 (after a `=` pad). The `content`s after `base64_data` inspect the decoded bytes.

use std::fmt;

use super::error::ValueResult;

/// `base64_decode` options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Base64Decode {
    /// Encoded bytes to read at most.
    pub bytes: Option<u32>,
    /// Bytes to skip first.
    pub offset: Option<u32>,
    /// Start at the end of the previous match.
    pub relative: bool,
}

impl Base64Decode {
    /// Parses the (optional) value.
    pub fn parse(value: Option<&str>) -> ValueResult<Base64Decode> {
        let mut d = Base64Decode::default();
        let Some(value) = value else { return Ok(d) };
        for part in value.split(',').map(str::trim) {
            if part == "relative" {
                if d.relative {
                    return Err("`relative` given twice".into());
                }
                d.relative = true;
                continue;
            }
            let (k, v) = part
                .split_once(char::is_whitespace)
                .map(|(k, v)| (k, v.trim()))
                .ok_or_else(|| format!("invalid option `{part}`"))?;
            let n: u32 = v.parse().map_err(|_| format!("invalid number `{v}`"))?;
            let slot = match k {
                "bytes" => &mut d.bytes,
                "offset" => &mut d.offset,
                other => return Err(format!("invalid option `{other}`")),
            };
            if slot.replace(n).is_some() {
                return Err(format!("`{k}` given twice"));
            }
        }
        if d.bytes == Some(0) {
            return Err("bytes must be greater than 0".into());
        }
        Ok(d)
    }

    /// Decodes from `data` (the inspected buffer), the previous match ending at `cursor`.
    pub fn decode(&self, data: &[u8], cursor: usize) -> Vec<u8> {
        let start = if self.relative { cursor } else { 0 }
            .saturating_add(self.offset.unwrap_or(0) as usize);
        let Some(rest) = data.get(start..) else {
            return Vec::new();
        };
        let rest = match self.bytes {
            Some(n) => &rest[..rest.len().min(n as usize)],
            None => rest,
        };
        decode_base64(rest)
    }
}

impl fmt::Display for Base64Decode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(b) = self.bytes {
            parts.push(format!("bytes {b}"));
        }
        if let Some(o) = self.offset {
            parts.push(format!("offset {o}"));
        }
        if self.relative {
            parts.push("relative".into());
        }
        f.write_str(&parts.join(", "))
    }
}

fn b64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes standard base64 until the first byte that is not part of it.
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in input {
        let Some(v) = b64_value(b) else { break };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let d = Base64Decode::parse(Some("bytes 300, offset 0, relative")).unwrap();
        assert_eq!(d.bytes, Some(300));
        assert_eq!(d.offset, Some(0));
        assert!(d.relative);
        assert_eq!(Base64Decode::parse(Some(&d.to_string())).unwrap(), d);
        assert_eq!(Base64Decode::parse(None).unwrap(), Base64Decode::default());
        assert!(Base64Decode::parse(Some("bytes x")).is_err());
        assert!(Base64Decode::parse(Some("bytes 0")).is_err());
        assert!(Base64Decode::parse(Some("size 3")).is_err());
        assert!(Base64Decode::parse(Some("relative,relative")).is_err());
        assert!(Base64Decode::parse(Some("offset 1, offset 2")).is_err());
        assert!(Base64Decode::parse(Some("bogus")).is_err());
    }

    #[test]
    fn decoding() {
        assert_eq!(decode_base64(b"aGVsbG8="), b"hello");
        assert_eq!(decode_base64(b"aGVsbG8"), b"hello");
        assert_eq!(decode_base64(b"aGVs bG8="), b"hel");
        assert_eq!(decode_base64(b""), b"");
        let d = Base64Decode {
            bytes: Some(4),
            offset: Some(1),
            relative: true,
        };
        assert_eq!(d.decode(b"xx:aGVsbG8=", 2), b"hel");
        assert_eq!(d.decode(b"xx", 200), b"");
    }
}
