//! Keywords on what the parsers noticed rather than on bytes: `flags` (the TCP flags of the
//! packet, Suricata's syntax) and `app-layer-event` (an anomaly the HTTP parser recorded on
//! the transaction, Suricata's `app-layer-event:http.<name>`).
//!
//! `flags:[+*!]<FSRPAUCE0>[,<mask>]`: without a modifier the packet's flags, less the mask's,
//! are exactly those listed; `+` all listed are set (others may be); `*` any listed is set;
//! `!` none listed is set. `0` means no flag.

use std::fmt;

use crate::http::HttpEvent;

use super::error::ValueResult;

/// How the listed flags are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagsMode {
    /// Exactly these (outside the mask).
    Exact,
    /// At least these.
    All,
    /// Any of these.
    Any,
    /// None of these.
    Not,
}

/// The `flags` keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpFlagsMatch {
    /// How `bits` are compared.
    pub mode: FlagsMode,
    /// The listed flags.
    pub bits: u8,
    /// Flags left out of the comparison.
    pub mask: u8,
}

const LETTERS: [(char, u8); 8] = [
    ('F', 0x01),
    ('S', 0x02),
    ('R', 0x04),
    ('P', 0x08),
    ('A', 0x10),
    ('U', 0x20),
    ('E', 0x40),
    ('C', 0x80),
];

fn parse_letters(s: &str) -> ValueResult<u8> {
    let mut bits = 0u8;
    for c in s.trim().chars() {
        let c = c.to_ascii_uppercase();
        match c {
            '0' => {}
            // Snort's names of the ECN bits.
            '1' => bits |= 0x80,
            '2' => bits |= 0x40,
            _ => match LETTERS.iter().find(|(l, _)| *l == c) {
                Some((_, b)) => bits |= b,
                None => return Err(format!("unknown TCP flag `{c}` (FSRPAUCE0)")),
            },
        }
    }
    Ok(bits)
}

fn write_letters(f: &mut fmt::Formatter<'_>, bits: u8) -> fmt::Result {
    if bits == 0 {
        return f.write_str("0");
    }
    for (l, b) in LETTERS {
        if bits & b != 0 {
            write!(f, "{l}")?;
        }
    }
    Ok(())
}

impl TcpFlagsMatch {
    /// Parses the value of `flags`.
    pub fn parse(value: &str) -> ValueResult<TcpFlagsMatch> {
        let (flags, mask) = match value.split_once(',') {
            Some((f, m)) => (f.trim(), parse_letters(m)?),
            None => (value.trim(), 0),
        };
        let (mode, letters) = match flags.chars().next() {
            Some('+') => (FlagsMode::All, &flags[1..]),
            Some('*') => (FlagsMode::Any, &flags[1..]),
            Some('!') => (FlagsMode::Not, &flags[1..]),
            _ => (FlagsMode::Exact, flags),
        };
        if letters.trim().is_empty() {
            return Err("no TCP flag given".into());
        }
        Ok(TcpFlagsMatch {
            mode,
            bits: parse_letters(letters)?,
            mask,
        })
    }

    /// Whether a packet with TCP flags `flags` matches.
    pub fn matches(&self, flags: u8) -> bool {
        let flags = flags & !self.mask;
        match self.mode {
            FlagsMode::Exact => flags == self.bits,
            FlagsMode::All => flags & self.bits == self.bits,
            FlagsMode::Any => flags & self.bits != 0,
            FlagsMode::Not => flags & self.bits == 0,
        }
    }
}

impl fmt::Display for TcpFlagsMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mode {
            FlagsMode::Exact => {}
            FlagsMode::All => f.write_str("+")?,
            FlagsMode::Any => f.write_str("*")?,
            FlagsMode::Not => f.write_str("!")?,
        }
        write_letters(f, self.bits)?;
        if self.mask != 0 {
            f.write_str(",")?;
            write_letters(f, self.mask)?;
        }
        Ok(())
    }
}

/// Parses the value of `app-layer-event`: `http.<event>`.
pub fn parse_app_layer_event(value: &str) -> ValueResult<HttpEvent> {
    let v = value.trim();
    let Some(name) = v.strip_prefix("http.") else {
        return Err(format!(
            "unsupported app-layer event `{v}` (exhound knows http.<event>)"
        ));
    };
    HttpEvent::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = HttpEvent::ALL.iter().map(|e| e.name()).collect();
        format!("unknown HTTP event `{name}` (known: {})", known.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_modes() {
        let syn = TcpFlagsMatch::parse("S").unwrap();
        assert!(syn.matches(0x02) && !syn.matches(0x12));
        let syn_any_ecn = TcpFlagsMatch::parse("S,CE").unwrap();
        assert!(syn_any_ecn.matches(0x02 | 0x80 | 0x40));
        let plus = TcpFlagsMatch::parse("+SA").unwrap();
        assert!(plus.matches(0x12) && plus.matches(0x1a) && !plus.matches(0x02));
        let any = TcpFlagsMatch::parse("*FR").unwrap();
        assert!(any.matches(0x01) && any.matches(0x04) && !any.matches(0x10));
        let not = TcpFlagsMatch::parse("!R").unwrap();
        assert!(not.matches(0x10) && !not.matches(0x14));
        let none = TcpFlagsMatch::parse("0").unwrap();
        assert!(none.matches(0) && !none.matches(0x10));
        assert!(TcpFlagsMatch::parse("SX").is_err());
        assert!(TcpFlagsMatch::parse("+").is_err());
        for text in ["S", "+SA", "*FR", "!R", "0", "S,CE", "FSRPAUEC"] {
            let f = TcpFlagsMatch::parse(text).unwrap();
            assert_eq!(TcpFlagsMatch::parse(&f.to_string()).unwrap(), f, "{text}");
        }
    }

    #[test]
    fn events_by_name() {
        assert_eq!(
            parse_app_layer_event("http.invalid_request_field_folding").unwrap(),
            HttpEvent::RequestFieldFolding
        );
        assert!(parse_app_layer_event("http.no_such_thing").is_err());
        assert!(parse_app_layer_event("tls.invalid_record").is_err());
    }
}
