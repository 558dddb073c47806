//! Redis commands for shipped records, written in RESP by hand (a whole client library
//! for three commands would be most of the dependency tree), and the replies read back so
//! that a record counts as sent only once Redis has taken it.
//!
//! A batch of records to a list is one `RPUSH key v1 … vn` (or `LPUSH`): Redis applies it
//! whole or not at all, and answers with one integer. To a channel each record is one
//! `PUBLISH channel v`, pipelined, answered with one integer each.

use std::io::{self, BufRead};

/// Which command ships the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisMode {
    /// `RPUSH` to a list (`mode=list` or `rpush`; the default): oldest record first.
    Rpush,
    /// `LPUSH` to a list (`mode=lpush`; what Suricata's `list` mode does).
    Lpush,
    /// `PUBLISH` to a channel (`mode=channel` or `publish`).
    Publish,
}

impl RedisMode {
    /// The mode of a `mode=` option.
    pub fn parse(s: &str) -> Option<RedisMode> {
        match s {
            "list" | "rpush" => Some(RedisMode::Rpush),
            "lpush" => Some(RedisMode::Lpush),
            "channel" | "publish" => Some(RedisMode::Publish),
            _ => None,
        }
    }
}

/// Appends one RESP bulk string.
fn bulk(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'$');
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

fn array_len(n: usize, out: &mut Vec<u8>) {
    out.push(b'*');
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The commands that ship `records` (EVE lines; their newlines are dropped), and how many
/// replies they get.
pub fn commands(mode: RedisMode, key: &str, records: &[&[u8]]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(records.iter().map(|r| r.len() + 16).sum::<usize>() + 64);
    let value = |r: &[u8]| -> Vec<u8> { r.strip_suffix(b"\n").unwrap_or(r).to_vec() };
    match mode {
        RedisMode::Rpush | RedisMode::Lpush => {
            let verb: &[u8] = if mode == RedisMode::Rpush {
                b"RPUSH"
            } else {
                b"LPUSH"
            };
            array_len(records.len() + 2, &mut out);
            bulk(verb, &mut out);
            bulk(key.as_bytes(), &mut out);
            for r in records {
                bulk(&value(r), &mut out);
            }
            (out, 1)
        }
        RedisMode::Publish => {
            for r in records {
                array_len(3, &mut out);
                bulk(b"PUBLISH", &mut out);
                bulk(key.as_bytes(), &mut out);
                bulk(&value(r), &mut out);
            }
            (out, records.len())
        }
    }
}

/// Reads one reply and checks it is an integer (what RPUSH, LPUSH and PUBLISH answer). An
/// error reply (`-WRONGTYPE …`) or anything else is an error naming it.
pub fn read_integer_reply(r: &mut impl BufRead) -> io::Result<i64> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "Redis closed the connection",
        ));
    }
    let text = String::from_utf8_lossy(&line);
    let text = text.trim_end();
    match text.strip_prefix(':') {
        Some(n) => n.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad Redis reply `{text}`"),
            )
        }),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("Redis answered `{text}`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(RedisMode::parse("list"), Some(RedisMode::Rpush));
        assert_eq!(RedisMode::parse("rpush"), Some(RedisMode::Rpush));
        assert_eq!(RedisMode::parse("lpush"), Some(RedisMode::Lpush));
        assert_eq!(RedisMode::parse("channel"), Some(RedisMode::Publish));
        assert_eq!(RedisMode::parse("publish"), Some(RedisMode::Publish));
        assert_eq!(RedisMode::parse("set"), None);
    }

    #[test]
    fn one_rpush_for_a_batch() {
        let (cmd, replies) = commands(RedisMode::Rpush, "eve", &[b"{\"a\":1}\n", b"{}\n"]);
        assert_eq!(replies, 1);
        assert_eq!(
            cmd,
            b"*4\r\n$5\r\nRPUSH\r\n$3\r\neve\r\n$7\r\n{\"a\":1}\r\n$2\r\n{}\r\n"
        );
    }

    #[test]
    fn one_publish_per_record() {
        let (cmd, replies) = commands(RedisMode::Publish, "c", &[b"x\n", b"yz"]);
        assert_eq!(replies, 2);
        assert_eq!(
            cmd,
            b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1\r\nx\r\n*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$2\r\nyz\r\n"
                .as_slice()
        );
    }

    #[test]
    fn replies() {
        let mut ok: &[u8] = b":3\r\n:0\r\n";
        assert_eq!(read_integer_reply(&mut ok).unwrap(), 3);
        assert_eq!(read_integer_reply(&mut ok).unwrap(), 0);
        let e = read_integer_reply(&mut ok).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        let mut wrong: &[u8] =
            b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        let e = read_integer_reply(&mut wrong).unwrap_err();
        assert!(e.to_string().contains("WRONGTYPE"), "{e}");
    }
}
