//! Splits the text of one rule into its header words and its `keyword[:value];` options.
//!
//! A rule is `action proto src sport dir dst dport (options)`. Header words are separated by
//! whitespace; a `[...]` list may contain spaces. Options run from the first `(` to the last
//! `)`; each ends at an unescaped `;` (quotes do not protect a `;`, as in Suricata: write
//! `\;` or `|3B|`). The last option may omit its `;`. Every piece keeps its byte offset so
//! errors can point at it.

use super::error::ParseError;

/// A piece of rule text and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The text.
    pub text: &'a str,
    /// Byte offset of its first character in the rule text.
    pub offset: usize,
}

/// One `keyword[:value]` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionToken<'a> {
    /// Keyword, trimmed.
    pub name: Token<'a>,
    /// Value after the `:`, trimmed; `None` when there is no `:`.
    pub value: Option<Token<'a>>,
}

/// A rule split into header words and options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexed<'a> {
    /// Header words (7 for a valid rule).
    pub header: Vec<Token<'a>>,
    /// Options in rule order.
    pub options: Vec<OptionToken<'a>>,
}

/// Splits one rule (continuation lines already joined).
pub fn lex(text: &str) -> Result<Lexed<'_>, ParseError> {
    let bytes = text.as_bytes();
    // Header: everything before the first `(` outside brackets.
    let mut header = Vec::new();
    let mut depth = 0usize;
    let mut start: Option<usize> = None;
    let mut open = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'[' => {
                depth += 1;
                start.get_or_insert(i);
            }
            b']' => {
                if depth == 0 {
                    return Err(ParseError::at(i, "unbalanced `]` in the rule header"));
                }
                depth -= 1;
            }
            b'(' if depth == 0 => {
                if let Some(s) = start.take() {
                    header.push(token(text, s, i));
                }
                open = Some(i);
                break;
            }
            b if b.is_ascii_whitespace() && depth == 0 => {
                if let Some(s) = start.take() {
                    header.push(token(text, s, i));
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    let open = match open {
        Some(o) => o,
        None if depth > 0 => {
            return Err(ParseError::at(
                start.unwrap_or(0),
                "unbalanced `[` in the rule header",
            ))
        }
        None => return Err(ParseError::at(text.len(), "missing `(` before the options")),
    };
    let close = match text.rfind(')') {
        Some(c) if c > open => c,
        _ => return Err(ParseError::at(text.len(), "missing `)` after the options")),
    };
    if let Some(extra) = text[close + 1..].find(|c: char| !c.is_whitespace()) {
        return Err(ParseError::at(
            close + 1 + extra,
            "unexpected text after the closing `)`",
        ));
    }

    let mut options = Vec::new();
    let mut i = open + 1;
    while i < close {
        // Skip whitespace.
        while i < close && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= close {
            break;
        }
        let opt_start = i;
        // Keyword ends at `:` or `;` (or the end).
        let mut j = i;
        while j < close && bytes[j] != b':' && bytes[j] != b';' {
            j += 1;
        }
        let name = trim_token(text, opt_start, j);
        if name.text.is_empty() {
            return Err(ParseError::at(opt_start, "empty option"));
        }
        if let Some(bad) = name
            .text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
        {
            return Err(ParseError::at(
                name.offset + bad,
                format!("invalid keyword `{}`", name.text),
            ));
        }
        if j < close && bytes[j] == b':' {
            let vstart = j + 1;
            let mut k = vstart;
            while k < close && bytes[k] != b';' {
                if bytes[k] == b'\\' {
                    k += 1;
                }
                k += 1;
            }
            let vend = k.min(close);
            options.push(OptionToken {
                name,
                value: Some(trim_token(text, vstart, vend)),
            });
            i = vend + 1;
        } else {
            options.push(OptionToken { name, value: None });
            i = j + 1;
        }
    }
    Ok(Lexed { header, options })
}

fn token(text: &str, start: usize, end: usize) -> Token<'_> {
    Token {
        text: &text[start..end],
        offset: start,
    }
}

/// `text[start..end]` without surrounding whitespace (the offset follows the trim).
fn trim_token(text: &str, start: usize, end: usize) -> Token<'_> {
    let s = &text[start..end];
    let lead = s.len() - s.trim_start().len();
    Token {
        text: s.trim(),
        offset: start + lead,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_header_and_options() {
        let r = r#"alert http [1.1.1.1, 2.2.2.2] any -> $HOME_NET 80 (msg:"a\;b"; nocase; sid:1;)"#;
        let l = lex(r).unwrap();
        let words: Vec<&str> = l.header.iter().map(|t| t.text).collect();
        assert_eq!(
            words,
            vec![
                "alert",
                "http",
                "[1.1.1.1, 2.2.2.2]",
                "any",
                "->",
                "$HOME_NET",
                "80"
            ]
        );
        assert_eq!(l.options.len(), 3);
        assert_eq!(l.options[0].name.text, "msg");
        assert_eq!(l.options[0].value.unwrap().text, r#""a\;b""#);
        assert_eq!(l.options[1].name.text, "nocase");
        assert!(l.options[1].value.is_none());
        assert_eq!(l.options[2].value.unwrap().text, "1");
        assert_eq!(
            &r[l.options[2].name.offset..l.options[2].name.offset + 3],
            "sid"
        );
    }

    #[test]
    fn last_option_may_omit_semicolon() {
        let l = lex("alert ip any any -> any any (sid:1)").unwrap();
        assert_eq!(l.options.len(), 1);
        assert_eq!(l.options[0].value.unwrap().text, "1");
    }

    #[test]
    fn errors() {
        assert!(lex("alert ip any any -> any any")
            .unwrap_err()
            .message
            .contains("missing `(`"));
        assert!(lex("alert ip any any -> any any (sid:1;")
            .unwrap_err()
            .message
            .contains("missing `)`"));
        assert!(lex("alert ip any any -> any any (sid:1;) x")
            .unwrap_err()
            .message
            .contains("after the closing"));
        assert!(lex("alert ip [1.1.1.1 any -> any any (sid:1;)").is_err());
        assert!(lex("alert ip 1.1.1.1] any -> any any (sid:1;)").is_err());
        assert!(lex("alert ip any any -> any any (; sid:1;)")
            .unwrap_err()
            .message
            .contains("empty option"));
        assert!(lex("alert ip any any -> any any (s id:1;)").is_err());
    }

    #[test]
    fn hostile_input_never_panics() {
        for s in [
            "(",
            ")",
            "()",
            "\\",
            "(\\",
            "(a:\\",
            "[(",
            "a ( b:\\;)",
            "((((",
            "(:;)",
        ] {
            let _ = lex(s);
        }
    }
}
