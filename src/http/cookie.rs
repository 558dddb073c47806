//! Cookies as ASP.NET parses them (`proxylogon-markers.md` §1.4): split on `;` only (never on
//! `,`), each piece trimmed, the name before the first `=`, values not URL-decoded, `$`-names
//! taken as attributes of the previous cookie. Names compare case-insensitively and the first
//! of duplicate names wins.

/// One cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// Name, as sent.
    pub name: Vec<u8>,
    /// Value, as sent (not URL-decoded).
    pub value: Vec<u8>,
}

/// Parses one `Cookie` header value, appending its cookies to `out`.
pub fn parse_cookie_header(value: &[u8], out: &mut Vec<Cookie>) {
    let _ = (value, out);
    unimplemented!()
}

/// The value of the first cookie named `name` (case-insensitive), as ASP.NET's
/// `Request.Cookies[name]` returns it.
pub fn find<'c>(cookies: &'c [Cookie], name: &str) -> Option<&'c [u8]> {
    cookies
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|c| c.value.as_slice())
}
