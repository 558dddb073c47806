//! Redaction: credentials masked in everything exhound writes (issue 11 §3).
//!
//! A sensor must not copy mailbox passwords and session tokens into every SIEM it feeds. So
//! before a value goes into an EVE record (`http.url`, `http.http_refer`, the `iis_url` flow
//! variable, an alert's `payload` and `payload_printable`), [`Redactor::redact`] masks the
//! secrets in it:
//!
//! * `Authorization` / `Proxy-Authorization`: the credentials after the scheme word (the
//!   scheme, `Basic`, `NTLM`, `Negotiate`, `Bearer`…, stays); `WWW-Authenticate` /
//!   `Proxy-Authenticate`: the NTLM, Negotiate and Kerberos tokens;
//! * `Cookie`: every value but the attack markers' ([`EVIDENCE_COOKIES`]: an `X-BEResource`
//!   value is evidence); `Set-Cookie`: the value, attributes stay;
//! * headers whose name says canary, token, secret or password (`X-OWA-CANARY`);
//! * `name=value` pairs (query strings, form bodies, cookie values) and JSON members
//!   (plain, nested, or escaped inside a JSON string) and multipart form fields whose name
//!   carries a password, token, canary or session ([`is_secret_name`]);
//! * the password of `user:password@` in URLs, and NTLM blobs (`TlRMTVNTUA…`) anywhere.
//!
//! A secret becomes `[redacted:lenN:hXXXXXXXX]`: its length in bytes and the first 32
//! bits of HMAC-SHA256 over it, keyed with the run's key, so that analysts can still see
//! that two records carry the same value. Without a key (none could be drawn) the mask is
//! `[redacted:lenN]`. The mask has no `=`, `&`, `;`, `,`, quote, backslash or white space, so a
//! redacted query, cookie or JSON document still parses the same way, and redacting twice
//! changes nothing. The functions are pure, work on bytes (never panic on non-UTF-8) and
//! run only where records are written: detection always sees the original bytes.

use std::borrow::Cow;

use aws_lc_rs::{digest, hmac};
use memchr::memmem;

/// Cookies whose values are evidence of an attack, not credentials (ProxyLogon's SSRF
/// cookies, ProxyShell's `Email`): they stay, though secrets inside them are still masked.
pub const EVIDENCE_COOKIES: &[&str] = &[
    "x-beresource",
    "x-beresourcepath",
    "x-anonresource",
    "x-anonresource-backend",
    "x-backendoverridecookie",
    "email",
];

/// What a mask starts with.
const MASK_PREFIX: &[u8] = b"[redacted:len";

/// Masks secrets with one key.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Redactor {
    key: Option<[u8; 32]>,
}

/// Never shows the key (the options holding it are printed in debug output).
impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("keyed", &self.key.is_some())
            .finish()
    }
}

impl Redactor {
    /// A redactor whose masks carry a keyed hash (`Some`) or only the length (`None`).
    pub const fn new(key: Option<[u8; 32]>) -> Redactor {
        Redactor { key }
    }

    /// A 32-byte key from any secret material (a key file's contents, random bytes).
    pub fn derive_key(material: &[u8]) -> [u8; 32] {
        let mut h = digest::Context::new(&digest::SHA256);
        h.update(b"exhound redaction key v1\0");
        h.update(material);
        let mut key = [0u8; 32];
        key.copy_from_slice(h.finish().as_ref());
        key
    }

    /// The mask of `secret`.
    pub fn mask(&self, secret: &[u8]) -> Vec<u8> {
        let mut out = format!("[redacted:len{}", secret.len());
        if let Some(key) = &self.key {
            let mac = hmac_sha256(key, secret);
            out.push_str(":h");
            for b in &mac[..4] {
                out.push_str(&format!("{b:02x}"));
            }
        }
        out.push(']');
        out.into_bytes()
    }

    /// `data` (a URL, a header block, an HTTP message, any payload) with its secrets masked.
    pub fn redact<'a>(&self, data: &'a [u8]) -> Cow<'a, [u8]> {
        let mut ranges = Vec::new();
        header_secrets(data, &mut ranges);
        pair_secrets(data, &mut ranges);
        json_secrets(data, &mut ranges);
        multipart_secrets(data, &mut ranges);
        userinfo_secrets(data, &mut ranges);
        ntlm_secrets(data, &mut ranges);
        ranges.retain(|&(s, e)| s < e && !is_mask(&data[s..e]));
        if ranges.is_empty() {
            return Cow::Borrowed(data);
        }
        ranges.sort_unstable();
        let mut out = Vec::with_capacity(data.len() + 32 * ranges.len());
        let mut at = 0;
        let mut i = 0;
        while i < ranges.len() {
            let (start, mut end) = ranges[i];
            i += 1;
            while i < ranges.len() && ranges[i].0 < end {
                end = end.max(ranges[i].1);
                i += 1;
            }
            let start = start.max(at);
            out.extend_from_slice(&data[at..start]);
            out.extend_from_slice(&self.mask(&data[start..end]));
            at = end;
        }
        out.extend_from_slice(&data[at..]);
        Cow::Owned(out)
    }
}

/// Whether `v` is a mask already.
fn is_mask(v: &[u8]) -> bool {
    v.starts_with(MASK_PREFIX)
        && v.ends_with(b"]")
        && v[MASK_PREFIX.len()..v.len() - 1]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b':')
}

/// HMAC-SHA256 (RFC 2104) of `data` under `key` (at most one block long).
fn hmac_sha256(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Whether a header, parameter, cookie or JSON member called `name` carries a secret.
pub fn is_secret_name(name: &[u8]) -> bool {
    const EXACT: &[&str] = &["pwd", "pass", "pin", "sig", "code_verifier"];
    const PART: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "canary",
        "apikey",
        "api_key",
        "credential",
        "sessionid",
        "session_id",
        "cadata",
        "aspxauth",
    ];
    let lower = name.to_ascii_lowercase();
    EXACT.iter().any(|e| lower == e.as_bytes())
        || PART
            .iter()
            .any(|p| memmem::find(&lower, p.as_bytes()).is_some())
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$')
}

/// `s..e` narrowed past white space (and line ends) on both sides.
fn trim(data: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && data[s].is_ascii_whitespace() {
        s += 1;
    }
    while e > s && data[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    (s, e)
}

/// The secrets in header lines (`Name: value` at the start of a line; a value goes on over
/// continuation lines that start with white space).
fn header_secrets(data: &[u8], out: &mut Vec<(usize, usize)>) {
    let mut line = 0;
    while line < data.len() {
        let next = memchr::memchr(b'\n', &data[line..]).map_or(data.len(), |i| line + i + 1);
        let name_end = data[line..next]
            .iter()
            .position(|&b| !is_name_byte(b))
            .map_or(next, |i| line + i);
        if name_end > line && data.get(name_end) == Some(&b':') {
            let mut end = next;
            while end < data.len() && matches!(data[end], b' ' | b'\t') {
                end = memchr::memchr(b'\n', &data[end..]).map_or(data.len(), |i| end + i + 1);
            }
            let (vs, ve) = trim(data, name_end + 1, end);
            header_value(&data[line..name_end], data, vs, ve, out);
            line = end;
        } else {
            line = next;
        }
    }
}

/// The secrets in the value `vs..ve` of header `name`.
fn header_value(name: &[u8], data: &[u8], vs: usize, ve: usize, out: &mut Vec<(usize, usize)>) {
    let lower = name.to_ascii_lowercase();
    match lower.as_slice() {
        b"authorization" | b"proxy-authorization" => {
            let scheme_end = data[vs..ve]
                .iter()
                .position(|b| b.is_ascii_whitespace())
                .map_or(ve, |i| vs + i);
            let (cs, ce) = trim(data, scheme_end, ve);
            if cs < ce {
                out.push((cs, ce));
            } else if !is_auth_scheme(&data[vs..ve]) {
                out.push((vs, ve));
            }
        }
        b"www-authenticate" | b"proxy-authenticate" => {
            for (s, e) in split(data, vs, ve, b",") {
                let (s, e) = trim(data, s, e);
                let Some(sp) = data[s..e].iter().position(|b| b.is_ascii_whitespace()) else {
                    continue;
                };
                let scheme = data[s..s + sp].to_ascii_lowercase();
                if matches!(scheme.as_slice(), b"ntlm" | b"negotiate" | b"kerberos") {
                    let (ts, te) = trim(data, s + sp, e);
                    out.push((ts, te));
                }
            }
        }
        b"cookie" | b"cookie2" => {
            for (s, e) in split(data, vs, ve, b";,") {
                cookie_pair(data, s, e, out);
            }
        }
        b"set-cookie" | b"set-cookie2" => {
            let first = memchr::memchr(b';', &data[vs..ve]).map_or(ve, |i| vs + i);
            cookie_pair(data, vs, first, out);
        }
        _ if is_secret_name(name) => out.push((vs, ve)),
        _ => {}
    }
}

/// The secret of one `name=value` cookie in `s..e`: the value, unless the name is an
/// attack marker's; the whole segment when it has no name.
fn cookie_pair(data: &[u8], s: usize, e: usize, out: &mut Vec<(usize, usize)>) {
    let (s, e) = trim(data, s, e);
    match memchr::memchr(b'=', &data[s..e]) {
        Some(eq) => {
            let name = data[s..s + eq].trim_ascii().to_ascii_lowercase();
            if !EVIDENCE_COOKIES.iter().any(|c| name == c.as_bytes()) {
                let (vs, ve) = trim(data, s + eq + 1, e);
                out.push((vs, ve));
            }
        }
        None => out.push((s, e)),
    }
}

fn is_auth_scheme(v: &[u8]) -> bool {
    let lower = v.to_ascii_lowercase();
    [
        &b"basic"[..],
        b"bearer",
        b"digest",
        b"ntlm",
        b"negotiate",
        b"kerberos",
    ]
    .contains(&lower.as_slice())
}

/// `s..e` split at any of `seps`.
fn split<'a>(
    data: &'a [u8],
    s: usize,
    e: usize,
    seps: &'a [u8],
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let mut at = s;
    let mut done = s >= e;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let end = data[at..e]
            .iter()
            .position(|b| seps.contains(b))
            .map_or(e, |i| at + i);
        let piece = (at, end);
        if end >= e {
            done = true;
        }
        at = end + 1;
        Some(piece)
    })
}

/// The values of `name=value` pairs with a secret name (query strings, form bodies): the
/// name starts the data or follows a separator; the value ends at `&`, `;`, `#`, a quote or
/// white space.
fn pair_secrets(data: &[u8], out: &mut Vec<(usize, usize)>) {
    for eq in memchr::memchr_iter(b'=', data) {
        let start = data[..eq]
            .iter()
            .rposition(|&b| !is_name_byte(b))
            .map_or(0, |i| i + 1);
        if start == eq {
            continue;
        }
        let boundary = start == 0
            || matches!(
                data[start - 1],
                b'?' | b'&' | b';' | b',' | b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'/'
            );
        if !boundary || !is_secret_name(&data[start..eq]) {
            continue;
        }
        let end = data[eq + 1..]
            .iter()
            .position(|b| {
                matches!(
                    b,
                    b'&' | b';' | b'#' | b'"' | b'\'' | b' ' | b'\t' | b'\r' | b'\n' | b'\\'
                )
            })
            .map_or(data.len(), |i| eq + 1 + i);
        out.push((eq + 1, end));
    }
}

/// The number of backslashes right before `at`.
fn backslashes_before(data: &[u8], at: usize) -> usize {
    data[..at].iter().rev().take_while(|&&b| b == b'\\').count()
}

/// The values of JSON members with a secret name, also in JSON escaped inside a JSON
/// string (`{\"password\":\"x\"}`, at any depth of escaping): strings and scalars; objects
/// and arrays are left to the members inside them.
fn json_secrets(data: &[u8], out: &mut Vec<(usize, usize)>) {
    let quotes: Vec<usize> = memchr::memchr_iter(b'"', data).collect();
    for (n, &q) in quotes.iter().enumerate() {
        let depth = backslashes_before(data, q);
        let Some(&close) = quotes.get(n + 1) else {
            break;
        };
        let name_end = close - depth.min(close);
        if name_end <= q + 1
            || backslashes_before(data, close) != depth
            || !data[q + 1..name_end].iter().all(|&b| is_name_byte(b))
            || !is_secret_name(&data[q + 1..name_end])
        {
            continue;
        }
        let mut i = close + 1;
        while i < data.len() && data[i].is_ascii_whitespace() {
            i += 1;
        }
        if data.get(i) != Some(&b':') {
            continue;
        }
        i += 1;
        while i < data.len() && data[i].is_ascii_whitespace() {
            i += 1;
        }
        let escapes = data[i..].iter().take_while(|&&b| b == b'\\').count();
        match data.get(i + escapes) {
            Some(b'"') if escapes == depth => {
                let vs = i + escapes + 1;
                let period = 2 * (depth + 1);
                let end = quotes
                    .iter()
                    .filter(|&&p| p >= vs)
                    .find(|&&p| backslashes_before(data, p) % period == depth);
                match end {
                    Some(&p) => out.push((vs, p - depth)),
                    None => out.push((vs, data.len())),
                }
            }
            Some(b'{' | b'[') | None => {}
            Some(_) => {
                let ve = data[i..]
                    .iter()
                    .position(|&b| {
                        matches!(b, b',' | b'}' | b']' | b'\\') || b.is_ascii_whitespace()
                    })
                    .map_or(data.len(), |p| i + p);
                let v = data[i..ve].to_ascii_lowercase();
                if !matches!(v.as_slice(), b"null" | b"true" | b"false") {
                    out.push((i, ve));
                }
            }
        }
    }
}

/// The values of multipart form fields with a secret name: from the blank line after
/// `name="…"` to the next boundary line.
fn multipart_secrets(data: &[u8], out: &mut Vec<(usize, usize)>) {
    const NAME: &[u8] = b"name=\"";
    if memchr::memchr(b'"', data).is_none() {
        return;
    }
    let lower = data.to_ascii_lowercase();
    for at in memmem::find_iter(&lower, NAME) {
        let ns = at + NAME.len();
        let Some(ne) = memchr::memchr(b'"', &data[ns..]).map(|i| ns + i) else {
            continue;
        };
        if !is_secret_name(&data[ns..ne]) {
            continue;
        }
        let Some(vs) = memmem::find(&data[ne..], b"\r\n\r\n").map(|i| ne + i + 4) else {
            continue;
        };
        let ve = memmem::find(&data[vs..], b"\r\n--").map_or(data.len(), |i| vs + i);
        out.push((vs, ve));
    }
}

/// The password of `scheme://user:password@host` in URLs.
fn userinfo_secrets(data: &[u8], out: &mut Vec<(usize, usize)>) {
    for at in memmem::find_iter(data, b"://") {
        let s = at + 3;
        let authority_end = data[s..]
            .iter()
            .position(|&b| {
                matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'\\' | b'<' | b'>')
                    || b.is_ascii_whitespace()
            })
            .map_or(data.len(), |i| s + i);
        let Some(atsign) = data[s..authority_end].iter().rposition(|&b| b == b'@') else {
            continue;
        };
        if let Some(colon) = memchr::memchr(b':', &data[s..s + atsign]) {
            out.push((s + colon + 1, s + atsign));
        }
    }
}

/// NTLM messages in base64 (`TlRMTVNTUA` is `NTLMSSP\0`) wherever they appear.
fn ntlm_secrets(data: &[u8], out: &mut Vec<(usize, usize)>) {
    for at in memmem::find_iter(data, b"TlRMTVNTUA") {
        let end = data[at..]
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
            .map_or(data.len(), |i| at + i);
        out.push((at, end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn r(data: &str) -> String {
        let red = Redactor::new(Some(KEY));
        String::from_utf8(red.redact(data.as_bytes()).into_owned()).unwrap()
    }

    fn m(secret: &str) -> String {
        String::from_utf8(Redactor::new(Some(KEY)).mask(secret.as_bytes())).unwrap()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 1 (key 0x0b * 20, zero-padded to 32 bytes: the same block).
        let mut key = [0u8; 32];
        key[..20].copy_from_slice(&[0x0b; 20]);
        let mac = hmac_sha256(&key, b"Hi There");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn mask_keeps_length_and_a_keyed_hash() {
        let a = m("hunter2");
        assert!(a.starts_with("[redacted:len7:h"), "{a}");
        assert_eq!(a.len(), "[redacted:len7:h12345678]".len());
        assert_eq!(a, m("hunter2"));
        assert_ne!(a, m("hunter3"));
        let other = Redactor::new(Some([8; 32])).mask(b"hunter2");
        assert_ne!(a.as_bytes(), other.as_slice());
        assert_eq!(Redactor::new(None).mask(b"hunter2"), b"[redacted:len7]");
        assert!(is_mask(a.as_bytes()));
    }

    #[test]
    fn authorization_keeps_the_scheme() {
        let got = r("GET / HTTP/1.1\r\nAuthorization: Basic dXNlcjpodW50ZXIy\r\nHost: x\r\n\r\n");
        assert_eq!(
            got,
            format!(
                "GET / HTTP/1.1\r\nAuthorization: Basic {}\r\nHost: x\r\n\r\n",
                m("dXNlcjpodW50ZXIy")
            )
        );
        let got = r("proxy-authorization:   Bearer eyJ.abc.def  \r\n");
        assert_eq!(
            got,
            format!("proxy-authorization:   Bearer {}  \r\n", m("eyJ.abc.def"))
        );
        assert_eq!(
            r("Authorization: sometoken\r\n"),
            format!("Authorization: {}\r\n", m("sometoken"))
        );
        assert_eq!(
            r("Authorization: Negotiate\r\n"),
            "Authorization: Negotiate\r\n"
        );
    }

    #[test]
    fn ntlm_blobs_are_masked_in_headers_and_anywhere() {
        let t1 = "TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==";
        let got = r(&format!("Authorization: NTLM {t1}\r\n"));
        assert_eq!(got, format!("Authorization: NTLM {}\r\n", m(t1)));
        let t2 = "TlRMTVNTUAACAAAADAAMADgAAAAFgomi";
        let got = r(&format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate, NTLM {t2}\r\n\r\n"
        ));
        assert!(
            got.contains(&format!("WWW-Authenticate: Negotiate, NTLM {}", m(t2))),
            "{got}"
        );
        let got = r("WWW-Authenticate: Negotiate YIIBhgYGKwYBBQUCoIIBejCC\r\n");
        assert_eq!(
            got,
            format!(
                "WWW-Authenticate: Negotiate {}\r\n",
                m("YIIBhgYGKwYBBQUCoIIBejCC")
            )
        );
        assert_eq!(
            r("WWW-Authenticate: Basic realm=\"mail\"\r\n"),
            "WWW-Authenticate: Basic realm=\"mail\"\r\n"
        );
        assert_eq!(r(&format!("x {t1} y")), format!("x {} y", m(t1)));
    }

    #[test]
    fn cookies_are_masked_but_attack_markers_stay() {
        let got = r("Cookie: X-BEResource=localhost~1942062522; ASP.NET_SessionId=abc123; cadata=Zm9v; PrivateComputer=true\r\n");
        assert_eq!(
            got,
            format!(
                "Cookie: X-BEResource=localhost~1942062522; ASP.NET_SessionId={}; cadata={}; PrivateComputer={}\r\n",
                m("abc123"),
                m("Zm9v"),
                m("true")
            )
        );
        // Names are case-insensitive; a marker after a comma stays too.
        let got =
            r("cookie: a=b, x-beresource=Admin@srv:444/ecp/x.ecp?a=~1; X-AnonResource=true\r\n");
        assert_eq!(
            got,
            format!(
                "cookie: a={}, x-beresource=Admin@srv:444/ecp/x.ecp?a=~1; X-AnonResource=true\r\n",
                m("b")
            )
        );
        // A canary inside a marker's value is still masked.
        let got = r("Cookie: X-BEResource=a]@srv:444/ecp/DDI/DDIService.svc/GetObject?schema=OABVirtualDirectory&msExchEcpCanary=CANARY1&a=~1942062522; msExchEcpCanary=CANARY1\r\n");
        assert_eq!(
            got,
            format!("Cookie: X-BEResource=a]@srv:444/ecp/DDI/DDIService.svc/GetObject?schema=OABVirtualDirectory&msExchEcpCanary={0}&a=~1942062522; msExchEcpCanary={0}\r\n", m("CANARY1"))
        );
        // A cookie line folded onto a continuation line.
        let got = r("Cookie: a=b;\r\n cadataKey=k1\r\nHost: x\r\n");
        assert_eq!(
            got,
            format!(
                "Cookie: a={};\r\n cadataKey={}\r\nHost: x\r\n",
                m("b"),
                m("k1")
            )
        );
    }

    #[test]
    fn set_cookie_value_is_masked_attributes_stay() {
        let got = r("HTTP/1.1 241\r\nSet-Cookie: msExchEcpCanary=XyZ_123.; path=/ecp\r\nSet-Cookie: ASP.NET_SessionId=00000000-1111; path=/; HttpOnly\r\n\r\n");
        assert_eq!(
            got,
            format!(
                "HTTP/1.1 241\r\nSet-Cookie: msExchEcpCanary={}; path=/ecp\r\nSet-Cookie: ASP.NET_SessionId={}; path=/; HttpOnly\r\n\r\n",
                m("XyZ_123."),
                m("00000000-1111")
            )
        );
    }

    #[test]
    fn canary_and_token_headers_are_masked() {
        assert_eq!(
            r("X-OWA-CANARY: c4n4ry\r\n"),
            format!("X-OWA-CANARY: {}\r\n", m("c4n4ry"))
        );
        assert_eq!(
            r("X-CSRF-Token: t\r\n"),
            format!("X-CSRF-Token: {}\r\n", m("t"))
        );
        assert_eq!(r("User-Agent: curl/8\r\n"), "User-Agent: curl/8\r\n");
    }

    #[test]
    fn form_body_and_query_strings() {
        let body = "destination=https%3A%2F%2Fmail%2Fowa&flags=4&forcedownlevel=0&username=LAB%5Calice&password=S3cr%21t&passwordText=&isUtf8=1";
        let got = r(body);
        assert_eq!(
            got,
            body.replace("password=S3cr%21t", &format!("password={}", m("S3cr%21t")))
        );
        let url = "/ecp/DDI/DDIService.svc/GetList?schema=VirtualDirectory&msExchEcpCanary=AbC-1.2&x=1#frag";
        assert_eq!(r(url), url.replace("AbC-1.2", &m("AbC-1.2")));
        let url = "/oauth?access_token=aaa;refresh_token=bbb&client_secret=ccc&state=s";
        assert_eq!(
            r(url),
            format!(
                "/oauth?access_token={};refresh_token={}&client_secret={}&state=s",
                m("aaa"),
                m("bbb"),
                m("ccc")
            )
        );
        // Not at a name boundary, or not a secret name: left alone.
        assert_eq!(
            r("/a?username=alice&passwordless=1x"),
            format!("/a?username=alice&passwordless={}", m("1x"))
        );
        assert_eq!(r("/a?q=password"), "/a?q=password");
    }

    #[test]
    fn json_members_plain_nested_and_escaped() {
        let got = r(
            r#"{"user":"alice","Password":"p\"w","nested":{"access_token":"tok"},"pin":1234,"token":null}"#,
        );
        assert_eq!(
            got,
            format!(
                r#"{{"user":"alice","Password":"{}","nested":{{"access_token":"{}"}},"pin":{},"token":null}}"#,
                m(r#"p\"w"#),
                m("tok"),
                m("1234")
            )
        );
        let got = r(r#"{"body":"{\"password\":\"a\\\"b\",\"user\":\"bob\"}"}"#);
        assert_eq!(
            got,
            format!(
                r#"{{"body":"{{\"password\":\"{}\",\"user\":\"bob\"}}"}}"#,
                m(r#"a\\\"b"#)
            )
        );
        assert_eq!(
            r(r#"{ "secret" : "x" }"#),
            format!(r#"{{ "secret" : "{}" }}"#, m("x"))
        );
        // A member whose value never ends: masked to the end.
        assert_eq!(
            r(r#"{"password":"abc"#),
            format!(r#"{{"password":"{}"#, m("abc"))
        );
    }

    #[test]
    fn multipart_fields() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nhunter2\r\n--b--\r\n";
        assert_eq!(r(body), body.replace("hunter2", &m("hunter2")));
    }

    #[test]
    fn url_userinfo_password() {
        assert_eq!(
            r("http://bob:hunter2@mail.lab/owa/"),
            format!("http://bob:{}@mail.lab/owa/", m("hunter2"))
        );
        assert_eq!(r("http://bob@mail.lab/owa/"), "http://bob@mail.lab/owa/");
    }

    #[test]
    fn redaction_is_idempotent() {
        let msg = "POST /owa/auth.owa?msExchEcpCanary=c HTTP/1.1\r\nAuthorization: NTLM TlRMTVNTUAABAAAA\r\nCookie: X-BEResource=x~1; cadata=1; a=b, c\r\nX-OWA-CANARY: q\r\nSet-Cookie: s=1; path=/\r\n\r\n{\"password\":\"p\",\"t\":\"{\\\"token\\\":\\\"v\\\"}\"}&password=x http://u:p@h/";
        let once = r(msg);
        assert_ne!(once, msg);
        assert_eq!(r(&once), once);
        let none = Redactor::new(None);
        let once = none.redact(msg.as_bytes()).into_owned();
        assert_eq!(none.redact(&once), once);
    }

    #[test]
    fn debug_output_hides_the_key() {
        let shown = format!("{:?}", Redactor::new(Some(KEY)));
        assert_eq!(shown, "Redactor { keyed: true }");
    }

    #[test]
    fn nothing_to_mask_borrows() {
        let red = Redactor::new(Some(KEY));
        assert!(matches!(
            red.redact(b"GET /owa/ HTTP/1.1\r\nHost: x\r\n\r\n"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn non_utf8_and_odd_input_never_panics() {
        let red = Redactor::new(Some(KEY));
        let odd: &[&[u8]] = &[
            b"",
            b"=",
            b"\"",
            b"\\\"",
            b"\"password\"",
            b"\"password\":",
            b"password=",
            b"Authorization:",
            b"Cookie:;,=",
            b"name=\"password\"",
            b"://",
            b"://@:",
            b"Set-Cookie:",
            b"\xff\xfeCookie: a=\xff\xfe\r\n",
            b"TlRMTVNTUA",
            b"\"\\\\\\\"pwd\\\"",
        ];
        for d in odd {
            let _ = red.redact(d);
        }
        let got = red.redact(b"Cookie: s=\xff\x00\x01\r\npassword=\xc3\x28&x=1");
        assert!(memmem::find(&got, b"\xff\x00").is_none());
        assert!(memmem::find(&got, b"\xc3\x28").is_none());
        let mut state = 1u32;
        for _ in 0..2000 {
            let len = (state % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    b"\"\\:=&;, \r\nabpasswordTlRMTVNTUA@/{}\xff"[(state >> 16) as usize % 35]
                })
                .collect();
            let once = red.redact(&bytes).into_owned();
            assert_eq!(
                red.redact(&once),
                once,
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
}
