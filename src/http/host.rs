//! The host a request names, once for everyone who needs it (EVE's `hostname` and
//! `http_port`, the `http.host` and `http.host.raw` buffers).
//!
//! As libhtp reads it: the authority of an absolute-form target (`http://user@host:port/…`,
//! userinfo dropped) when the target is one and names a host, else the `Host` header (several
//! `Host` lines joined with `", "`, as header buffers join them). The host name is that
//! authority lower-cased, without a numeric `:port` and without trailing dots; an IPv6
//! literal keeps its brackets.

use std::borrow::Cow;

use super::HttpRequest;

/// The authority `req` names, as sent (see the module documentation).
pub fn raw_host(req: &HttpRequest) -> Option<Cow<'_, [u8]>> {
    if let Some(authority) = absolute_authority(req.target()).filter(|a| !a.is_empty()) {
        return Some(Cow::Borrowed(authority));
    }
    req.headers.value("host")
}

/// The host name `req` names, normalised, with the port when a numeric one was given; `None`
/// when the request names no host.
pub fn hostname(req: &HttpRequest) -> Option<(Vec<u8>, Option<u16>)> {
    let raw = raw_host(req)?;
    let (host, port) = split_port(&raw);
    let host = normalize_host(host);
    (!host.is_empty()).then_some((host, port))
}

/// True when an absolute-form target and the `Host` header name different hosts: HTTP.sys
/// and the IIS log go by the target, ASP.NET's `Request.Url` by the header.
pub fn is_ambiguous(req: &HttpRequest) -> bool {
    let Some(target) = absolute_authority(req.target()).filter(|a| !a.is_empty()) else {
        return false;
    };
    let Some(header) = req.headers.value("host") else {
        return false;
    };
    normalize_host(split_port(target).0) != normalize_host(split_port(&header).0)
}

/// The authority of an absolute-form target, userinfo dropped, if the target is one.
fn absolute_authority(target: &[u8]) -> Option<&[u8]> {
    let scheme_len = [&b"http://"[..], b"https://"]
        .into_iter()
        .find_map(|scheme| {
            let prefix = target.get(..scheme.len())?;
            prefix.eq_ignore_ascii_case(scheme).then_some(scheme.len())
        })?;
    let rest = &target[scheme_len..];
    let end = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    Some(match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    })
}

/// Splits a numeric `:port` off an authority (after the `]` of an IPv6 literal). A port that
/// is not all digits stays part of the host; one too large for `u16` is dropped but not
/// returned.
fn split_port(authority: &[u8]) -> (&[u8], Option<u16>) {
    let after_literal = if authority.starts_with(b"[") {
        match authority.iter().position(|&b| b == b']') {
            Some(close) => close + 1,
            None => return (authority, None),
        }
    } else {
        0
    };
    let Some(colon) = authority[after_literal..]
        .iter()
        .rposition(|&b| b == b':')
        .map(|c| after_literal + c)
    else {
        return (authority, None);
    };
    let digits = authority[colon + 1..].trim_ascii();
    if !digits.iter().all(u8::is_ascii_digit) {
        return (authority, None);
    }
    let port = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok());
    (&authority[..colon], port)
}

/// Lower-cases a host name and removes its trailing dots.
fn normalize_host(host: &[u8]) -> Vec<u8> {
    let mut h = host.trim_ascii();
    while let Some(rest) = h.strip_suffix(b".") {
        h = rest;
    }
    h.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Headers;

    fn req(target: &str, hosts: &[&str]) -> HttpRequest {
        HttpRequest {
            line: crate::http::StartLine::from_words([b"GET", target.as_bytes(), b"HTTP/1.1"]),
            headers: Headers::from_pairs(hosts.iter().map(|h| ("Host", h))),
            ..HttpRequest::default()
        }
    }

    fn name(target: &str, hosts: &[&str]) -> Option<(String, Option<u16>)> {
        hostname(&req(target, hosts)).map(|(h, p)| (String::from_utf8(h).unwrap(), p))
    }

    fn some(h: &str, p: Option<u16>) -> Option<(String, Option<u16>)> {
        Some((h.to_string(), p))
    }

    #[test]
    fn host_header() {
        assert_eq!(name("/", &["EX.com:80"]), some("ex.com", Some(80)));
        assert_eq!(name("/", &["ex.com."]), some("ex.com", None));
        assert_eq!(name("/", &["[::1]:8080"]), some("[::1]", Some(8080)));
        assert_eq!(name("/", &["[::1]"]), some("[::1]", None));
        assert_eq!(name("/", &["a:b"]), some("a:b", None));
        assert_eq!(name("/", &["a:99999"]), some("a", None));
        assert_eq!(name("/", &["a:"]), some("a", None));
        assert_eq!(name("/", &[""]), None);
        assert_eq!(name("/", &[]), None);
        assert_eq!(name("/", &["[::1"]), some("[::1", None));
    }

    #[test]
    fn ambiguity_between_target_and_host_header() {
        assert!(is_ambiguous(&req("http://evil.example/x", &["mail.lab"])));
        assert!(!is_ambiguous(&req("http://MAIL.lab:80/x", &["mail.lab"])));
        assert!(!is_ambiguous(&req("/x", &["mail.lab"])));
        assert!(!is_ambiguous(&req("http://mail.lab/x", &[])));
    }

    #[test]
    fn absolute_target_wins_over_host() {
        let r = req("http://u:p@Proxy.Example:8080/a", &["other"]);
        assert_eq!(raw_host(&r).as_deref(), Some(&b"Proxy.Example:8080"[..]));
        assert_eq!(
            name("http://u:p@Proxy.Example:8080/a", &["other"]),
            some("proxy.example", Some(8080))
        );
        assert_eq!(name("HTTPS://h?q", &[]), some("h", None));
        // An absolute target that names no host falls back to the Host header, even the
        // shortest one.
        assert_eq!(name("http://", &["mail.lab"]), some("mail.lab", None));
        assert_eq!(name("http:///x", &["mail.lab"]), some("mail.lab", None));
        assert_eq!(name("/x", &[]), None);
    }

    #[test]
    fn duplicate_host_lines_are_joined() {
        let r = req("/", &["a.example", "B.example"]);
        assert_eq!(raw_host(&r).as_deref(), Some(&b"a.example, B.example"[..]));
    }
}
