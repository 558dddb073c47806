//! Small writers of the text HTTP traffic is made of: random identifiers (hex, base64, GUIDs)
//! as clients and servers mint them, header lines, and the IMF-fixdate of `Date` headers, all
//! appended to a byte buffer so that building a message allocates nothing more.

use super::rng::Rng;

const HEX: &[u8; 16] = b"0123456789ABCDEF";
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Appends `n` random upper-case hex digits.
pub fn push_hex(out: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        out.push(HEX[rng.below(16) as usize]);
    }
}

/// Appends `n` random characters of the standard base64 alphabet.
pub fn push_b64(out: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        out.push(B64[rng.below(64) as usize]);
    }
}

/// Appends `n` random characters of the URL-safe base64 alphabet.
pub fn push_b64url(out: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        out.push(B64URL[rng.below(64) as usize]);
    }
}

/// Appends a random lower-case GUID (`8-4-4-4-12` hex digits).
pub fn push_guid(out: &mut Vec<u8>, rng: &mut Rng) {
    for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 {
            out.push(b'-');
        }
        let start = out.len();
        push_hex(out, rng, n);
        out[start..].make_ascii_lowercase();
    }
}

/// A random lower-case GUID as a string.
pub fn guid(rng: &mut Rng) -> String {
    let mut out = Vec::with_capacity(36);
    push_guid(&mut out, rng);
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends the header line `name: value` with its CRLF.
pub fn header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// RFC 7231 IMF-fixdate of a Unix time.
pub fn http_date(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant), days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_is_imf_fixdate() {
        assert_eq!(http_date(1_614_765_600), "Wed, 03 Mar 2021 10:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn guids_have_the_right_shape() {
        let g = guid(&mut Rng::new(3));
        assert_eq!(g.len(), 36);
        assert_eq!(g.matches('-').count(), 4);
        assert!(g
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || b.is_ascii_lowercase()));
    }
}
