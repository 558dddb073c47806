//! TLS key logs carried inside pcapng files: Decryption Secrets Blocks (block type
//! `0x0000000A`, secrets type `TLSK`), as `editcap --inject-secrets tls,KEYLOG` writes them
//! and Wireshark reads them.
//!
//! Why here and not in the packet reader: libpcap skips blocks it does not know, so the
//! blocks are found by walking the file's block headers ourselves, before the replay. The
//! walk stops at the first packet block: the format expects secrets before the packets that
//! need them, and `editcap` puts them there, so a large capture costs a few header reads.
//! Both byte orders are read (from the Section Header Block's magic); several sections are
//! followed. A file that is not pcapng, or whose blocks do not fit, gives what was found
//! before (nothing is guessed from a damaged block).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Section Header Block.
const SECTION_HEADER: u32 = 0x0A0D_0D0A;
/// Decryption Secrets Block.
const DECRYPTION_SECRETS: u32 = 0x0000_000A;
/// Secrets type of an NSS key log.
const TLS_KEY_LOG: u32 = 0x544C_534B;
/// Packet blocks: obsolete Packet Block, Simple Packet Block, Enhanced Packet Block.
const PACKET_BLOCKS: [u32; 3] = [2, 3, 6];
/// The byte-order magic of a section header.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// The largest secrets block read (a key log of a few hundred thousand connections).
const MAX_SECRETS: u32 = 64 << 20;

/// The TLS key logs embedded in the pcapng file at `path`, in file order (empty for a
/// classic pcap or a pcapng without them).
pub fn embedded_key_logs(path: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut logs = Vec::new();
    let mut big_endian = false;
    let mut first = true;
    loop {
        let mut header = [0u8; 8];
        if read_exact_or_end(&mut file, &mut header)?.is_none() {
            break;
        }
        let raw_type = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        if raw_type == SECTION_HEADER {
            // The byte order follows in the body's first word.
            let mut magic = [0u8; 4];
            if read_exact_or_end(&mut file, &mut magic)?.is_none() {
                break;
            }
            big_endian = match u32::from_le_bytes(magic) {
                BYTE_ORDER_MAGIC => false,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
                _ => break,
            };
            let Some(len) = block_len(&header, big_endian) else {
                break;
            };
            file.seek(SeekFrom::Current(i64::from(len) - 12))?;
            first = false;
            continue;
        }
        if first {
            break; // not pcapng
        }
        let word = |b: [u8; 4]| {
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let block_type = word([header[0], header[1], header[2], header[3]]);
        let Some(len) = block_len(&header, big_endian) else {
            break;
        };
        if PACKET_BLOCKS.contains(&block_type) {
            break;
        }
        if block_type != DECRYPTION_SECRETS {
            file.seek(SeekFrom::Current(i64::from(len) - 8))?;
            continue;
        }
        let mut head = [0u8; 8];
        if read_exact_or_end(&mut file, &mut head)?.is_none() {
            break;
        }
        let secrets_type = word([head[0], head[1], head[2], head[3]]);
        let secrets_len = word([head[4], head[5], head[6], head[7]]);
        if secrets_len > MAX_SECRETS || u64::from(secrets_len) + 20 > u64::from(len) {
            break;
        }
        let mut data = vec![0u8; secrets_len as usize];
        if read_exact_or_end(&mut file, &mut data)?.is_none() {
            break;
        }
        if secrets_type == TLS_KEY_LOG {
            logs.push(data);
        }
        file.seek(SeekFrom::Current(
            i64::from(len) - 16 - i64::from(secrets_len),
        ))?;
    }
    Ok(logs)
}

/// The total length of a block from its 8-byte header, if it can be one (at least 12 bytes,
/// a multiple of 4).
fn block_len(header: &[u8; 8], big_endian: bool) -> Option<u32> {
    let b = [header[4], header[5], header[6], header[7]];
    let len = if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    };
    (len >= 12 && len % 4 == 0).then_some(len)
}

/// Fills `buf`, or `None` if the file ends first.
fn read_exact_or_end(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<Option<()>> {
    match r.read_exact(buf) {
        Ok(()) => Ok(Some(())),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(big: bool, t: u32, body: &[u8]) -> Vec<u8> {
        let w = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut body = body.to_vec();
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let len = body.len() as u32 + 12;
        [&w(t)[..], &w(len), &body, &w(len)].concat()
    }

    fn pcapng(big: bool, secrets: &[&[u8]], after_packet: &[u8]) -> Vec<u8> {
        let w = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut shb_body = w(BYTE_ORDER_MAGIC).to_vec();
        shb_body.extend_from_slice(&[0, 1, 0, 0]);
        shb_body.extend_from_slice(&[0xff; 8]);
        let mut f = block(big, SECTION_HEADER, &shb_body);
        f.extend(block(big, 1, &[0, 1, 0, 0, 0, 0, 0, 0]));
        for s in secrets {
            let body = [&w(TLS_KEY_LOG)[..], &w(s.len() as u32), s].concat();
            f.extend(block(big, DECRYPTION_SECRETS, &body));
        }
        f.extend(block(big, 6, &[0; 20]));
        let body = [
            &w(TLS_KEY_LOG)[..],
            &w(after_packet.len() as u32),
            after_packet,
        ]
        .concat();
        f.extend(block(big, DECRYPTION_SECRETS, &body));
        f
    }

    #[test]
    fn secrets_before_the_first_packet_are_found_in_either_byte_order() {
        let dir = tempfile::tempdir().unwrap();
        for big in [false, true] {
            let path = dir.path().join(format!("{big}.pcapng"));
            let data = pcapng(big, &[b"CLIENT_RANDOM a b\n", b"odd"], b"late");
            std::fs::write(&path, &data).unwrap();
            let logs = embedded_key_logs(&path).unwrap();
            assert_eq!(logs, vec![b"CLIENT_RANDOM a b\n".to_vec(), b"odd".to_vec()]);
            // Cut anywhere: what came whole before the cut, nothing invented.
            for cut in 0..data.len() {
                std::fs::write(&path, &data[..cut]).unwrap();
                let logs = embedded_key_logs(&path).unwrap();
                assert!(logs.len() <= 2);
            }
        }
        let classic = dir.path().join("classic.pcap");
        std::fs::write(&classic, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]).unwrap();
        assert!(embedded_key_logs(&classic).unwrap().is_empty());
    }
}
