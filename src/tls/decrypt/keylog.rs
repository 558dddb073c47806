//! NSS key-log files (`SSLKEYLOGFILE`, RFC 9850): the secrets of each connection, keyed by
//! its ClientHello.random.
//!
//! Format (RFC 9850 §2): `LABEL SP client_random(64 hex) SP secret(hex)`, lines ended by LF,
//! CRLF or CR; empty lines and `#` comments are skipped; hex is upper or lower case. The
//! labels exhound uses are stored in [`SessionSecrets`]; other well-formed labels
//! (`EXPORTER_SECRET`, `ECH_SECRET`, `ECH_CONFIG`, …, and the legacy `RSA` line) are accepted
//! and ignored. A later line for the same random and label replaces the earlier one. Runs of
//! spaces or tabs between fields, and around the line, are tolerated.
//!
//! [`KeyLog::add_file`] is the start-up read: a malformed line is an error naming
//! `FILE:LINE:COL`. [`KeyLog::refresh`] is the live read of what was appended since: it never
//! fails, it skips and counts malformed lines.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The longest line kept while waiting for its end (live mode); a longer one is dropped as
/// malformed. Real lines are under 300 bytes, an `ECH_CONFIG` line a few KiB.
const MAX_LINE: usize = 16 << 10;

/// Secrets of one ClientHello.random from NSS key-log lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSecrets {
    /// `CLIENT_RANDOM`: the TLS ≤ 1.2 master secret.
    pub master_secret: Option<[u8; 48]>,
    /// `CLIENT_HANDSHAKE_TRAFFIC_SECRET`.
    pub client_handshake_traffic: Option<Vec<u8>>,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    pub server_handshake_traffic: Option<Vec<u8>>,
    /// `CLIENT_TRAFFIC_SECRET_0`.
    pub client_application_traffic: Option<Vec<u8>>,
    /// `SERVER_TRAFFIC_SECRET_0`.
    pub server_application_traffic: Option<Vec<u8>>,
    /// `CLIENT_EARLY_TRAFFIC_SECRET` (0-RTT data).
    pub client_early_traffic: Option<Vec<u8>>,
}

/// What is wrong with a key-log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The label is not upper-case letters, digits and `_`.
    #[error("label is not upper-case letters, digits and '_'")]
    BadLabel,
    /// The line ends after the label.
    #[error("client random missing after the label")]
    MissingRandom,
    /// The line ends after the client random.
    #[error("secret missing after the client random")]
    MissingSecret,
    /// A fourth field.
    #[error("unexpected text after the secret")]
    ExtraField,
    /// A character that is not a hex digit.
    #[error("not a hex digit")]
    NotHex,
    /// An odd number of hex digits.
    #[error("odd number of hex digits")]
    OddHex,
    /// The client random is not 32 bytes.
    #[error("client random must be 64 hex digits, not {0}")]
    RandomLength(usize),
    /// The secret's length does not fit its label.
    #[error("{label} secret must be {expected} bytes, not {len}")]
    SecretLength {
        /// The line's label.
        label: &'static str,
        /// The lengths allowed.
        expected: &'static str,
        /// The secret's length in bytes.
        len: usize,
    },
}

/// A key-log file that cannot be read, or a malformed line in it.
#[derive(Debug, thiserror::Error)]
pub enum KeyLogError {
    /// The file cannot be opened or read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error (not a `source`: the message already says it).
        error: io::Error,
    },
    /// A malformed line: where and what.
    #[error("{file}:{line}:{column}: {error}")]
    Malformed {
        /// The file (or the text's name given to [`KeyLog::add_text`]).
        file: String,
        /// The 1-based line number.
        line: u64,
        /// The 1-based byte column of the offending field or character.
        column: usize,
        /// What is wrong.
        error: LineError,
    },
}

/// The secrets of all ClientHello randoms read so far, and the files to follow.
#[derive(Debug, Clone, Default)]
pub struct KeyLog {
    sessions: HashMap<[u8; 32], SessionSecrets>,
    files: Vec<LogFile>,
    malformed: u64,
}

/// A followed file and how far it was read.
#[derive(Debug, Clone)]
struct LogFile {
    path: PathBuf,
    /// Bytes read, the unterminated tail included.
    offset: u64,
    /// The unterminated last line read so far.
    partial: Vec<u8>,
    /// A line outgrew [`MAX_LINE`]: drop bytes up to the next line end.
    discarding: bool,
    /// (device, inode): a different one means the file was replaced.
    identity: Option<(u64, u64)>,
}

/// The secrets a line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    ClientRandom,
    ClientHandshake,
    ServerHandshake,
    ClientApplication,
    ServerApplication,
    ClientEarly,
}

/// One stored secret.
#[derive(Debug)]
struct Entry {
    random: [u8; 32],
    label: Label,
    secret: Vec<u8>,
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

impl KeyLog {
    /// An empty key log.
    pub fn new() -> KeyLog {
        KeyLog::default()
    }

    /// Reads a whole key-log file and follows it for [`KeyLog::refresh`]. A malformed line is
    /// an error naming `FILE:LINE:COL` and what is wrong (a start-up error); nothing of the
    /// file is kept then. An unterminated last line (a writer may be in the middle of it) is
    /// applied if it parses and never an error; it is read again when more bytes complete it.
    pub fn add_file(&mut self, path: &Path) -> Result<(), KeyLogError> {
        let io_err = |error| KeyLogError::Io {
            path: path.to_path_buf(),
            error,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        let mut data = Vec::new();
        file.read_to_end(&mut data).map_err(io_err)?;
        let name = path.display().to_string();
        let complete = data
            .iter()
            .rposition(|&b| b == b'\n' || b == b'\r')
            .map_or(0, |i| i + 1);
        let mut entries = parse_strict(&data[..complete], &name)?;
        let partial = data[complete..].to_vec();
        if let Ok(Some(e)) = parse_line(strip_bom(&partial, complete == 0)) {
            entries.push(e);
        }
        for e in entries {
            self.apply(e);
        }
        self.files.push(LogFile {
            path: path.to_path_buf(),
            offset: data.len() as u64,
            partial,
            discarding: false,
            identity: identity(&meta),
        });
        Ok(())
    }

    /// Reads key-log lines from text (tests, embedded logs); `source` names it in errors. The
    /// end of the text ends its last line.
    pub fn add_text(&mut self, text: &str, source: &str) -> Result<(), KeyLogError> {
        for e in parse_strict(text.as_bytes(), source)? {
            self.apply(e);
        }
        Ok(())
    }

    /// The secrets logged for a ClientHello.random.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&SessionSecrets> {
        self.sessions.get(client_random)
    }

    /// Live mode: reads lines appended to the files since the last read (cheap when nothing
    /// was appended: a metadata/size check; a file truncated or replaced is read from its
    /// start). An incomplete last line (no newline yet) is kept for the next call. Malformed
    /// appended lines are skipped and counted ([`KeyLog::malformed_lines`]), never an error;
    /// so is a file that cannot be read (it is tried again next time). Returns how many
    /// secrets were added.
    pub fn refresh(&mut self) -> usize {
        let mut entries = Vec::new();
        let mut malformed = 0;
        for f in &mut self.files {
            let Ok(meta) = std::fs::metadata(&f.path) else {
                continue;
            };
            let id = identity(&meta);
            if id != f.identity || meta.len() < f.offset {
                f.identity = id;
                f.offset = 0;
                f.partial.clear();
                f.discarding = false;
            }
            if meta.len() == f.offset {
                continue;
            }
            let mut chunk = Vec::new();
            let read = File::open(&f.path).and_then(|mut file| {
                file.seek(SeekFrom::Start(f.offset))?;
                file.read_to_end(&mut chunk)
            });
            if read.is_err() {
                continue;
            }
            f.offset += chunk.len() as u64;
            f.read_lines(&chunk, &mut entries, &mut malformed);
        }
        self.malformed += malformed;
        let added = entries.len();
        for e in entries {
            self.apply(e);
        }
        added
    }

    /// Appended lines skipped by [`KeyLog::refresh`] because they were malformed.
    pub fn malformed_lines(&self) -> u64 {
        self.malformed
    }

    /// The number of ClientHello randoms with secrets.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no secret was read.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn apply(&mut self, e: Entry) {
        let s = self.sessions.entry(e.random).or_default();
        match e.label {
            Label::ClientRandom => {
                if let Ok(m) = <[u8; 48]>::try_from(e.secret.as_slice()) {
                    s.master_secret = Some(m);
                }
            }
            Label::ClientHandshake => s.client_handshake_traffic = Some(e.secret),
            Label::ServerHandshake => s.server_handshake_traffic = Some(e.secret),
            Label::ClientApplication => s.client_application_traffic = Some(e.secret),
            Label::ServerApplication => s.server_application_traffic = Some(e.secret),
            Label::ClientEarly => s.client_early_traffic = Some(e.secret),
        }
    }
}

impl LogFile {
    /// Adds `chunk` to the pending tail and parses the complete lines (lenient).
    fn read_lines(&mut self, chunk: &[u8], entries: &mut Vec<Entry>, malformed: &mut u64) {
        let is_end = |b: &u8| *b == b'\n' || *b == b'\r';
        let Some(last_end) = chunk.iter().rposition(is_end) else {
            if !self.discarding {
                self.partial.extend_from_slice(chunk);
                if self.partial.len() > MAX_LINE {
                    *malformed += 1;
                    self.partial.clear();
                    self.discarding = true;
                }
            }
            return;
        };
        let (complete, rest) = chunk.split_at(last_end + 1);
        let mut first = true;
        for line in complete.split(is_end) {
            let line = if first {
                first = false;
                if std::mem::take(&mut self.discarding) {
                    self.partial.clear();
                    continue;
                }
                self.partial.extend_from_slice(line);
                std::mem::take(&mut self.partial)
            } else {
                line.to_vec()
            };
            match parse_line(strip_bom(&line, true)) {
                Ok(Some(e)) => entries.push(e),
                Ok(None) => {}
                Err(_) => *malformed += 1,
            }
        }
        self.partial.clear();
        if rest.len() > MAX_LINE {
            *malformed += 1;
            self.discarding = true;
        } else {
            self.partial.extend_from_slice(rest);
        }
    }
}

fn strip_bom(line: &[u8], at_start: bool) -> &[u8] {
    match line.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) if at_start => rest,
        _ => line,
    }
}

/// Parses every line of `data` (the end of `data` ends the last line); the first malformed
/// line is an error.
fn parse_strict(data: &[u8], name: &str) -> Result<Vec<Entry>, KeyLogError> {
    let mut entries = Vec::new();
    let mut line_no = 0u64;
    let mut rest = data;
    while !rest.is_empty() {
        line_no += 1;
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(rest.len());
        let line = &rest[..end];
        // CRLF is one line end
        let skip = match rest.get(end..end + 2) {
            Some(b"\r\n") => 2,
            _ => usize::from(end < rest.len()),
        };
        rest = &rest[end + skip..];
        match parse_line(strip_bom(line, line_no == 1)) {
            Ok(Some(e)) => entries.push(e),
            Ok(None) => {}
            Err((column, error)) => {
                let bom = if line_no == 1 && line.starts_with(b"\xEF\xBB\xBF") {
                    3
                } else {
                    0
                };
                return Err(KeyLogError::Malformed {
                    file: name.to_string(),
                    line: line_no,
                    column: column + bom,
                    error,
                });
            }
        }
    }
    Ok(entries)
}

/// Parses one line (without its end). `Ok(None)`: a blank line, a comment, or a well-formed
/// line with a label exhound does not use. `Err((column, what))` with a 1-based column.
fn parse_line(line: &[u8]) -> Result<Option<Entry>, (usize, LineError)> {
    let is_space = |b: u8| b == b' ' || b == b'\t';
    // fields with their 0-based start offsets
    let mut fields: Vec<(usize, &[u8])> = Vec::with_capacity(3);
    let mut i = 0;
    while i < line.len() {
        if is_space(line[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && !is_space(line[i]) {
            i += 1;
        }
        fields.push((start, &line[start..i]));
    }
    let Some(&(label_at, label)) = fields.first() else {
        return Ok(None);
    };
    if label.starts_with(b"#") {
        return Ok(None);
    }
    if !label
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
    {
        return Err((label_at + 1, LineError::BadLabel));
    }
    // The legacy `RSA` line is keyed by the encrypted pre-master secret, and Wireshark's
    // `RSA Session-ID:… Master-Key:…` by the session id: neither is a client random.
    if label == b"RSA" {
        return Ok(None);
    }
    let &(random_at, random_hex) = fields
        .get(1)
        .ok_or((line.len() + 1, LineError::MissingRandom))?;
    let &(secret_at, secret_hex) = fields
        .get(2)
        .ok_or((line.len() + 1, LineError::MissingSecret))?;
    if let Some(&(extra_at, _)) = fields.get(3) {
        return Err((extra_at + 1, LineError::ExtraField));
    }
    let random_bytes = decode_hex(random_hex).map_err(|(off, e)| (random_at + off + 1, e))?;
    let random: [u8; 32] = random_bytes
        .try_into()
        .map_err(|_| (random_at + 1, LineError::RandomLength(random_hex.len())))?;
    let secret = decode_hex(secret_hex).map_err(|(off, e)| (secret_at + off + 1, e))?;
    let (label, name, lengths): (Option<Label>, &'static str, &'static [usize]) = match label {
        b"CLIENT_RANDOM" => (Some(Label::ClientRandom), "CLIENT_RANDOM", &[48]),
        b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => (
            Some(Label::ClientHandshake),
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            &[32, 48, 64],
        ),
        b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => (
            Some(Label::ServerHandshake),
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            &[32, 48, 64],
        ),
        b"CLIENT_TRAFFIC_SECRET_0" => (
            Some(Label::ClientApplication),
            "CLIENT_TRAFFIC_SECRET_0",
            &[32, 48, 64],
        ),
        b"SERVER_TRAFFIC_SECRET_0" => (
            Some(Label::ServerApplication),
            "SERVER_TRAFFIC_SECRET_0",
            &[32, 48, 64],
        ),
        b"CLIENT_EARLY_TRAFFIC_SECRET" => (
            Some(Label::ClientEarly),
            "CLIENT_EARLY_TRAFFIC_SECRET",
            &[32, 48, 64],
        ),
        b"EXPORTER_SECRET" => (None, "EXPORTER_SECRET", &[32, 48, 64]),
        b"EARLY_EXPORTER_SECRET" => (None, "EARLY_EXPORTER_SECRET", &[32, 48, 64]),
        _ => (None, "", &[]),
    };
    if !lengths.is_empty() && !lengths.contains(&secret.len()) {
        let expected = if lengths.len() == 1 {
            "48"
        } else {
            "32, 48 or 64"
        };
        return Err((
            secret_at + 1,
            LineError::SecretLength {
                label: name,
                expected,
                len: secret.len(),
            },
        ));
    }
    Ok(label.map(|label| Entry {
        random,
        label,
        secret,
    }))
}

/// Decodes hex digits; `Err((0-based offset, what))`.
fn decode_hex(hex: &[u8]) -> Result<Vec<u8>, (usize, LineError)> {
    let digit = |i: usize| -> Result<u8, (usize, LineError)> {
        match hex[i] {
            b @ b'0'..=b'9' => Ok(b - b'0'),
            b @ b'a'..=b'f' => Ok(b - b'a' + 10),
            b @ b'A'..=b'F' => Ok(b - b'A' + 10),
            _ => Err((i, LineError::NotHex)),
        }
    };
    let mut out = Vec::with_capacity(hex.len() / 2);
    for i in (0..hex.len() / 2).map(|k| 2 * k) {
        out.push(digit(i)? << 4 | digit(i + 1)?);
    }
    if hex.len() % 2 == 1 {
        digit(hex.len() - 1)?;
        return Err((hex.len() - 1, LineError::OddHex));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const R1: &str = "0102030405060708091011121314151617181920212223242526272829303132";
    const R2: &str = "A1A2A3A4A5A6A7A8A9B0B1B2B3B4B5B6B7B8B9C0C1C2C3C4C5C6C7C8C9D0D1D2";

    fn rand(hex: &str) -> [u8; 32] {
        decode_hex(hex.as_bytes())
            .ok()
            .and_then(|v| v.try_into().ok())
            .expect("random")
    }

    fn malformed(text: &str) -> (u64, usize, LineError) {
        match KeyLog::new().add_text(text, "keys.log") {
            Err(KeyLogError::Malformed {
                file,
                line,
                column,
                error,
            }) => {
                assert_eq!(file, "keys.log");
                (line, column, error)
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn every_label() {
        let m = "ab".repeat(48);
        let s32 = "11".repeat(32);
        let s48 = "22".repeat(48);
        let s64 = "33".repeat(64);
        let text = format!(
            "# SSL/TLS secrets log file, generated by NSS\n\
             CLIENT_RANDOM {R1} {m}\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {R2} {s32}\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {R2} {s48}\n\
             CLIENT_TRAFFIC_SECRET_0 {R2} {s64}\n\
             SERVER_TRAFFIC_SECRET_0 {R2} {s32}\n\
             CLIENT_EARLY_TRAFFIC_SECRET {R2} {s32}\n\
             EXPORTER_SECRET {R2} {s32}\n\
             EARLY_EXPORTER_SECRET {R2} {s32}\n\
             ECH_SECRET {R2} {s32}\n\
             ECH_CONFIG {R2} 0012fe0d00\n\
             RSA 0123456789abcdef {m}\n\
             RSA Session-ID:00 Master-Key:{m}\n"
        );
        let mut log = KeyLog::new();
        log.add_text(&text, "t").expect("parses");
        assert_eq!(log.len(), 2);
        assert!(!log.is_empty());
        let a = log.get(&rand(R1)).expect("R1");
        assert_eq!(a.master_secret, Some([0xab; 48]));
        assert_eq!(a.client_handshake_traffic, None);
        let b = log.get(&rand(R2)).expect("R2");
        assert_eq!(b.master_secret, None);
        assert_eq!(b.client_handshake_traffic, Some(vec![0x11; 32]));
        assert_eq!(b.server_handshake_traffic, Some(vec![0x22; 48]));
        assert_eq!(b.client_application_traffic, Some(vec![0x33; 64]));
        assert_eq!(b.server_application_traffic, Some(vec![0x11; 32]));
        assert_eq!(b.client_early_traffic, Some(vec![0x11; 32]));
        assert!(log.get(&[0; 32]).is_none());
    }

    #[test]
    fn line_ends_case_blank_lines_and_replacement() {
        let lower = R2.to_lowercase();
        let text = format!(
            "\u{feff}CLIENT_RANDOM {R1} {}\r\n\r\n  \t\r# comment\rCLIENT_RANDOM {lower} {}\r\nCLIENT_RANDOM {R1} {}",
            "aB".repeat(48),
            "0c".repeat(48),
            "Cd".repeat(48),
        );
        let mut log = KeyLog::new();
        log.add_text(&text, "t").expect("parses");
        // the later line for R1 replaced the first
        assert_eq!(
            log.get(&rand(R1)).and_then(|s| s.master_secret),
            Some([0xcd; 48])
        );
        assert_eq!(
            log.get(&rand(R2)).and_then(|s| s.master_secret),
            Some([0x0c; 48])
        );
        // extra spaces and tabs between fields are tolerated
        let mut log = KeyLog::new();
        log.add_text(
            &format!("  CLIENT_RANDOM\t{R1}   {}  \n", "00".repeat(48)),
            "t",
        )
        .expect("parses");
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn malformed_lines_name_line_and_column() {
        let m = "00".repeat(48);
        let ok = format!("CLIENT_RANDOM {R1} {m}\n");
        // line 2 after a CRLF line: CRLF counts once
        assert_eq!(
            malformed(&format!(
                "CLIENT_RANDOM {R1} {m}\r\nclient_random {R1} {m}\n"
            )),
            (2, 1, LineError::BadLabel)
        );
        assert_eq!(
            malformed(&format!("{ok}CLIENT_RANDOM\n")),
            (2, 14, LineError::MissingRandom)
        );
        assert_eq!(
            malformed(&format!("CLIENT_RANDOM {R1}")),
            (1, 79, LineError::MissingSecret)
        );
        assert_eq!(
            malformed(&format!("CLIENT_RANDOM {R1} {m} extra")),
            (1, 177, LineError::ExtraField)
        );
        assert_eq!(
            malformed("CLIENT_RANDOM 01zz 00"),
            (1, 17, LineError::NotHex)
        );
        assert_eq!(
            malformed(&format!("CLIENT_RANDOM 0102 {m}")),
            (1, 15, LineError::RandomLength(4))
        );
        assert_eq!(
            malformed(&format!("CLIENT_RANDOM {R1}0 {m}")),
            (1, 79, LineError::OddHex)
        );
        assert_eq!(
            malformed(&format!("CLIENT_RANDOM {R1} {}", "00".repeat(32))),
            (
                1,
                80,
                LineError::SecretLength {
                    label: "CLIENT_RANDOM",
                    expected: "48",
                    len: 32
                }
            )
        );
        assert_eq!(
            malformed(&format!("SERVER_TRAFFIC_SECRET_0 {R1} {}", "00".repeat(40))),
            (
                1,
                90,
                LineError::SecretLength {
                    label: "SERVER_TRAFFIC_SECRET_0",
                    expected: "32, 48 or 64",
                    len: 40
                }
            )
        );
        assert_eq!(
            malformed(&format!("\u{feff}CLIENT_RANDOM x{R1} {m}")),
            (1, 18, LineError::NotHex)
        );
        assert_eq!(
            malformed(&format!("ECH_CONFIG {R1} 0g")),
            (1, 78, LineError::NotHex)
        );
        let e = KeyLog::new()
            .add_text(&format!("{ok}{ok}CLIENT_RANDOM 0102 {m}"), "keys.log")
            .expect_err("malformed");
        assert_eq!(
            e.to_string(),
            "keys.log:3:15: client random must be 64 hex digits, not 4"
        );
    }

    #[test]
    fn add_file_errors_name_the_file() {
        let e = KeyLog::new()
            .add_file(Path::new("/nonexistent/keys.log"))
            .expect_err("missing");
        assert!(e.to_string().starts_with("/nonexistent/keys.log: "), "{e}");
        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        write!(f, "CLIENT_RANDOM {R1} {}\nbad line\n", "00".repeat(48)).expect("write");
        let e = KeyLog::new().add_file(f.path()).expect_err("malformed");
        assert_eq!(
            e.to_string(),
            format!(
                "{}:2:1: label is not upper-case letters, digits and '_'",
                f.path().display()
            )
        );
    }

    #[test]
    fn refresh_follows_appends_partial_lines_and_truncation() {
        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        let line = |r: &str, b: &str| format!("CLIENT_RANDOM {r} {}", b.repeat(48));
        writeln!(f, "{}", line(R1, "01")).expect("write");
        let mut log = KeyLog::new();
        log.add_file(f.path()).expect("add");
        assert_eq!(log.len(), 1);
        // nothing appended
        assert_eq!(log.refresh(), 0);
        // a partial line is kept until its end arrives
        let l2 = line(R2, "02");
        write!(f, "# comment\n{}", &l2[..50]).expect("write");
        f.flush().expect("flush");
        assert_eq!(log.refresh(), 0);
        assert!(log.get(&rand(R2)).is_none());
        write!(f, "{}\r", &l2[50..]).expect("write");
        f.flush().expect("flush");
        assert_eq!(log.refresh(), 1);
        assert_eq!(
            log.get(&rand(R2)).and_then(|s| s.master_secret),
            Some([2; 48])
        );
        // the LF of a CRLF split across reads is an empty line; malformed lines are counted
        write!(f, "\nnot a key line\n{}\n", line(R1, "03")).expect("write");
        f.flush().expect("flush");
        assert_eq!(log.refresh(), 1);
        assert_eq!(log.malformed_lines(), 1);
        assert_eq!(
            log.get(&rand(R1)).and_then(|s| s.master_secret),
            Some([3; 48])
        );
        // truncated and rewritten shorter: read from the start
        f.as_file().set_len(0).expect("truncate");
        let mut g = f.reopen().expect("reopen");
        g.seek(SeekFrom::Start(0)).expect("seek");
        writeln!(g, "{}", line(R1, "04")).expect("write");
        g.flush().expect("flush");
        assert_eq!(log.refresh(), 1);
        assert_eq!(
            log.get(&rand(R1)).and_then(|s| s.master_secret),
            Some([4; 48])
        );
        // replaced by another file (new inode, same path)
        let path = f.path().to_path_buf();
        let mut h = tempfile::NamedTempFile::new_in(path.parent().expect("dir")).expect("tempfile");
        write!(h, "{}\n{}\n", line(R1, "05"), line(R2, "06")).expect("write");
        h.persist(&path).expect("rename over");
        assert_eq!(log.refresh(), 2);
        assert_eq!(
            log.get(&rand(R2)).and_then(|s| s.master_secret),
            Some([6; 48])
        );
        assert_eq!(log.refresh(), 0);
    }

    #[test]
    fn add_file_keeps_an_unterminated_last_line() {
        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        let l = format!("SERVER_TRAFFIC_SECRET_0 {R1} {}", "aa".repeat(48));
        // valid as far as it goes (32 of 48 bytes): applied now, completed later
        write!(f, "{}", &l[..l.len() - 32]).expect("write");
        f.flush().expect("flush");
        let mut log = KeyLog::new();
        log.add_file(f.path())
            .expect("an unterminated line is not an error");
        assert_eq!(
            log.get(&rand(R1))
                .and_then(|s| s.server_application_traffic.clone()),
            Some(vec![0xaa; 32])
        );
        writeln!(f, "{}", &l[l.len() - 32..]).expect("write");
        f.flush().expect("flush");
        assert_eq!(log.refresh(), 1);
        assert_eq!(
            log.get(&rand(R1))
                .and_then(|s| s.server_application_traffic.clone()),
            Some(vec![0xaa; 48])
        );
        assert_eq!(log.malformed_lines(), 0);
        // a cut that does not parse yet is no error either
        let mut g = tempfile::NamedTempFile::new().expect("tempfile");
        write!(g, "CLIENT_RANDOM {}", &R2[..10]).expect("write");
        g.flush().expect("flush");
        let mut log = KeyLog::new();
        log.add_file(g.path()).expect("no error");
        assert!(log.is_empty());
        writeln!(g, "{} {}", &R2[10..], "07".repeat(48)).expect("write");
        g.flush().expect("flush");
        assert_eq!(log.refresh(), 1);
        assert_eq!(
            log.get(&rand(R2)).and_then(|s| s.master_secret),
            Some([7; 48])
        );
    }

    #[test]
    fn overlong_partial_line_is_dropped() {
        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        let mut log = KeyLog::new();
        log.add_file(f.path()).expect("empty file");
        f.write_all(&vec![b'A'; MAX_LINE + 10]).expect("write");
        f.flush().expect("flush");
        assert_eq!(log.refresh(), 0);
        assert_eq!(log.malformed_lines(), 1);
        write!(f, "AAAA\nCLIENT_RANDOM {R1} {}\n", "08".repeat(48)).expect("write");
        f.flush().expect("flush");
        assert_eq!(log.refresh(), 1);
        assert_eq!(log.malformed_lines(), 1);
    }
}
