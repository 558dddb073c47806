//! The server certificate's fields as Suricata logs and matches them: subject and issuer
//! (x509-parser's distinguished-name text, `C=US, O=…, CN=…`), serial (the DER bytes in
//! upper-case hex joined by `:`), SHA-1 fingerprint of the DER (lower-case hex joined by
//! `:`), validity dates (`2024-01-31T12:00:00`, UTC without zone).

use sha1::{Digest as _, Sha1};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The logged fields of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFields {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number: DER bytes, upper-case hex, `:`-joined.
    pub serial: String,
    /// SHA-1 of the DER encoding, lower-case hex, `:`-joined.
    pub fingerprint: String,
    /// Start of validity.
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
}

/// The fields of the certificate `der`; `None` if it does not parse as X.509.
pub fn certificate_fields(der: &[u8]) -> Option<CertificateFields> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let validity = cert.validity();
    Some(CertificateFields {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: colon_hex(cert.raw_serial(), true),
        fingerprint: colon_hex(&Sha1::digest(der), false),
        not_before: tls_date(validity.not_before.timestamp()),
        not_after: tls_date(validity.not_after.timestamp()),
    })
}

/// Bytes as hex pairs joined by `:`.
pub(crate) fn colon_hex(bytes: &[u8], upper: bool) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        if upper {
            s.push_str(&format!("{b:02X}"));
        } else {
            s.push_str(&format!("{b:02x}"));
        }
    }
    s
}

/// A Unix time as EVE's `tls_date`: `YYYY-MM-DDTHH:MM:SS`, UTC.
fn tls_date(secs: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(colon_hex(&[0x5c, 0x01, 0xab], true), "5C:01:AB");
        assert_eq!(colon_hex(&[0x5c, 0x01, 0xab], false), "5c:01:ab");
        assert_eq!(tls_date(0), "1970-01-01T00:00:00");
        assert_eq!(tls_date(1_706_702_400), "2024-01-31T12:00:00");
    }

    #[test]
    fn garbage_is_no_certificate() {
        assert_eq!(certificate_fields(b""), None);
        assert_eq!(certificate_fields(&[0x30, 0x82, 0xff, 0xff, 0]), None);
    }
}
