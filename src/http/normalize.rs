//! The request-target as IIS routes it (`proxylogon-markers.md` §1.4, §10; `anchors.md` §3.1).
//!
//! The path is percent-decoded (also `%uXXXX`), backslashes become slashes, repeated slashes
//! are folded and dot-segments removed, in that order, as HTTP.sys does before IIS routes the
//! request. The query is kept raw and, separately, percent-decoded once.

/// A request-target split and normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedUri {
    /// The path as IIS routes it.
    pub path: Vec<u8>,
    /// The query (after `?`, before `#`) as sent, if any.
    pub query_raw: Option<Vec<u8>>,
    /// The query percent-decoded once (`+` stays `+`), if any.
    pub query_decoded: Option<Vec<u8>>,
}

impl NormalizedUri {
    /// Normalises a request-target (origin form, absolute form, `*` or authority form).
    pub fn from_target(target: &[u8]) -> NormalizedUri {
        let _ = target;
        unimplemented!()
    }

    /// The normalised path, then `?` and the decoded query when there is one: Suricata's
    /// `http.uri` buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        unimplemented!()
    }
}
