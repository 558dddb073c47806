//! The decoding transforms exhound adds to Suricata's: `json_decode`, `xml_decode` and
//! `form_decode` give a rule the text the server's code reads, not the bytes it was sent as.
//!
//! Exchange's handlers read decoded values: ECP's DDI service parses its body with WCF's JSON
//! serializer (every `\uXXXX`, `\/`, `\"` undone), EWS and the PowerShell endpoint parse XML
//! (entities, character references and CDATA undone), ASP.NET's `Request.Form` and
//! `Request.QueryString` percent-decode with `HttpUtility.UrlDecode` (which also takes
//! `%uXXXX`). A signature written on the wire bytes has to guess every spelling an attacker
//! may pick; one written after these transforms does not. Suricata has no such transforms
//! (its `url_decode` knows neither `%uXXXX` nor JSON or XML), so rules that use them load in
//! exhound only; `signatures/README.md` says which.
//!
//! Each decoder is total: what is not a valid escape stays as sent, so a decoded buffer never
//! loses bytes an attacker could hide something in. Decoding is one pass (`&amp;lt;` becomes
//! `&lt;`, as an XML parser reads it), and the output is never longer than the input.

use crate::http::normalize::percent_decode_form;

/// `json_decode`: undoes JSON string escapes as a JSON parser does — `\"`, `\\`, `\/`, `\b`,
/// `\f`, `\n`, `\r`, `\t` and `\uXXXX` (surrogate pairs joined; a lone surrogate becomes
/// U+FFFD). Text outside strings passes unchanged: the whole body is one buffer.
pub fn json_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let simple = match input.get(i + 1) {
            Some(b'"') => Some(b'"'),
            Some(b'\\') => Some(b'\\'),
            Some(b'/') => Some(b'/'),
            Some(b'b') => Some(0x08),
            Some(b'f') => Some(0x0c),
            Some(b'n') => Some(b'\n'),
            Some(b'r') => Some(b'\r'),
            Some(b't') => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        match json_unit(&input[i..]) {
            Some(hi @ 0xD800..=0xDBFF) => {
                let low = json_unit(&input[i + 6..]).filter(|u| (0xDC00..=0xDFFF).contains(u));
                match low {
                    Some(lo) => {
                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        push_char(&mut out, cp);
                        i += 12;
                    }
                    None => {
                        push_char(&mut out, 0xFFFD);
                        i += 6;
                    }
                }
            }
            Some(unit) => {
                push_char(&mut out, unit);
                i += 6;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The code unit of a `\uXXXX` escape at the start of `s`.
fn json_unit(s: &[u8]) -> Option<u32> {
    match s {
        [b'\\', b'u', a, b, c, d, ..] => {
            Some((hex(*a)? << 12) | (hex(*b)? << 8) | (hex(*c)? << 4) | hex(*d)?)
        }
        _ => None,
    }
}

/// Appends `cp` as UTF-8 (U+FFFD for a value that is no scalar).
fn push_char(out: &mut Vec<u8>, cp: u32) {
    let ch = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
}

fn hex(b: u8) -> Option<u32> {
    char::from(b).to_digit(16)
}

/// `xml_decode`: reads text as an XML parser hands it to the application — the five
/// predefined entities, decimal and hex character references, `<![CDATA[…]]>` sections
/// unwrapped and `<!-- … -->` comments dropped (text split by a comment is one string to
/// the code that reads it). Markup is kept, so element names stay matchable.
pub fn xml_decode(input: &[u8]) -> Vec<u8> {
    const CDATA: &[u8] = b"<![CDATA[";
    const COMMENT: &[u8] = b"<!--";
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        let rest = &input[i..];
        if b == b'<' && rest.starts_with(CDATA) {
            let body = &rest[CDATA.len()..];
            match memchr::memmem::find(body, b"]]>") {
                Some(end) => {
                    out.extend_from_slice(&body[..end]);
                    i += CDATA.len() + end + 3;
                }
                None => {
                    out.extend_from_slice(body);
                    i = input.len();
                }
            }
            continue;
        }
        if b == b'<' && rest.starts_with(COMMENT) {
            match memchr::memmem::find(&rest[COMMENT.len()..], b"-->") {
                Some(end) => i += COMMENT.len() + end + 3,
                None => {
                    // An unclosed comment is not well-formed XML: keep it as text.
                    out.extend_from_slice(rest);
                    i = input.len();
                }
            }
            continue;
        }
        if b == b'&' {
            if let Some(used) = xml_reference(rest, &mut out) {
                i += used;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Decodes the entity or character reference at the start of `s` (which begins with `&`)
/// into `out`; returns the bytes it used, or `None` when it is none (nothing written).
fn xml_reference(s: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    // The longest reference worth reading: `&#x10FFFF;` with leading zeros allowed, capped.
    let end = s.iter().take(16).position(|&c| c == b';')?;
    let name = &s[1..end];
    let named = match name {
        b"lt" => Some(b'<'),
        b"gt" => Some(b'>'),
        b"amp" => Some(b'&'),
        b"quot" => Some(b'"'),
        b"apos" => Some(b'\''),
        _ => None,
    };
    if let Some(c) = named {
        out.push(c);
        return Some(end + 1);
    }
    let cp = match name {
        [b'#', b'x' | b'X', digits @ ..] if !digits.is_empty() => digits
            .iter()
            .try_fold(0u32, |acc, &d| Some(acc.checked_mul(16)? + hex(d)?))?,
        [b'#', digits @ ..] if !digits.is_empty() => digits.iter().try_fold(0u32, |acc, &d| {
            Some(acc.checked_mul(10)? + char::from(d).to_digit(10)?)
        })?,
        _ => return None,
    };
    // XML forbids references to surrogates and to values past U+10FFFF: not decoded.
    let ch = char::from_u32(cp)?;
    let mut buf = [0u8; 4];
    let utf8 = ch.encode_utf8(&mut buf).as_bytes();
    if utf8.len() > end + 1 {
        return None;
    }
    out.extend_from_slice(utf8);
    Some(end + 1)
}

/// `form_decode`: ASP.NET's `HttpUtility.UrlDecode`, as `Request.Form` and
/// `Request.QueryString` apply it: `+` is a space, then `%XX` and `%uXXXX` are decoded once.
pub fn form_decode(input: &[u8]) -> Vec<u8> {
    percent_decode_form(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Vec<u8>) -> String {
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn json_escapes_of_every_kind() {
        assert_eq!(
            s(json_decode(
                br#"{"Ext\u0065rnalUrl":"http:\/\/f\/\u003cscript \u0072unat=\"server\"\u003e"}"#
            )),
            r#"{"ExternalUrl":"http://f/<script runat="server">"}"#
        );
        assert_eq!(s(json_decode(br"\\\\127.0.0.1\\c$")), r"\\127.0.0.1\c$");
        assert_eq!(
            s(json_decode(br"a\tb\nc\bd\fe\rf")),
            "a\tb\nc\u{8}d\u{c}e\rf"
        );
        assert_eq!(s(json_decode(br"\U003c\u003C")), "\\U003c<");
    }

    #[test]
    fn json_surrogates_and_broken_escapes() {
        assert_eq!(s(json_decode(br"\ud83d\ude00")), "\u{1F600}");
        assert_eq!(s(json_decode(br"\ud83dx")), "\u{FFFD}x");
        assert_eq!(s(json_decode(br"\ude00")), "\u{FFFD}");
        // Not escapes: kept as sent, nothing dropped.
        assert_eq!(s(json_decode(br"\u12 \q \")), r"\u12 \q \");
        assert_eq!(json_decode(b""), b"");
    }

    #[test]
    fn xml_entities_references_cdata_and_comments() {
        assert_eq!(
            s(xml_decode(
                b"<a>New-Mailbox&#69;xport&#x52;equest &lt;&gt;&amp;&quot;&apos;</a>"
            )),
            "<a>New-MailboxExportRequest <>&\"'</a>"
        );
        assert_eq!(
            s(xml_decode(b"<a><![CDATA[<b>&lt;]]></a>")),
            "<a><b>&lt;</a>"
        );
        assert_eq!(
            s(xml_decode(b"Serialized<!-- x -->SecurityContext")),
            "SerializedSecurityContext"
        );
        // One pass: a double-escaped entity decodes once.
        assert_eq!(s(xml_decode(b"&amp;lt;")), "&lt;");
    }

    #[test]
    fn xml_leaves_what_is_not_a_reference() {
        assert_eq!(
            s(xml_decode(b"&nbsp; &#xD800; &#; & x &#99999999999;")),
            "&nbsp; &#xD800; &#; & x &#99999999999;"
        );
        assert_eq!(s(xml_decode(b"<![CDATA[open")), "open");
        assert_eq!(s(xml_decode(b"a<!-- open")), "a<!-- open");
    }

    #[test]
    fn form_decoding_as_aspnet() {
        assert_eq!(s(form_decode(b"a+b%2Bc%u0041%41")), "a b+cAA");
        assert_eq!(s(form_decode(b"%zz%4")), "%zz%4");
    }

    #[test]
    fn never_longer_than_the_input() {
        for input in [
            &b"&#x10FFFF;"[..],
            b"&#65;",
            br"\u00e9",
            br"\ud83d\ude00",
            b"%u00e9",
            b"%C3%A9",
        ] {
            assert!(json_decode(input).len() <= input.len());
            assert!(xml_decode(input).len() <= input.len());
            assert!(form_decode(input).len() <= input.len());
        }
    }
}
