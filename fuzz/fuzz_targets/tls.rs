//! TLS handshake parsing, both directions: HTTP event records (see `format`: data, gaps and
//! closes from either side) feed one `tls::TlsConnection`; the handshake, when one is
//! reported, is written as an EVE `tls` record. The config byte's bits 0-1 pick the
//! per-direction buffer cap (64 KiB, 4 KiB, 600 or 64 bytes).
//!
//! With config bit 2, the connection also decrypts, with a key log that holds every secret
//! for the ClientHello.random of 32 bytes 0x11 (so the fuzzer can reach key derivation,
//! record decryption and its failures); the plaintext handed on is collected.
//!
//! The same events are then fed again with every data event cut into pieces of a few bytes
//! (config bits 6-7: 1, 3, 8 or 61): the handshake and the plaintext must be the same (when
//! the input is well under the cap), since the sender chooses how its bytes are cut into
//! segments.
#![no_main]

use exhound::flow::Side;
use exhound::http::PacketRef;
use exhound::output::eve;
use exhound::stream::StreamEvent;
use exhound::tls::decrypt::KeyLog;
use exhound::tls::{
    Decrypt, DecryptionConfig, SessionCache, TlsConfig, TlsConnection, TlsInfo, TlsKeys, TlsStats,
};
use exhound_fuzz::format::{Reader, HTTP_CLOSE, HTTP_DATA, HTTP_GAP, HTTP_RESPONDER, HTTP_TAKE};
use exhound_fuzz::{check_line, facts};
use libfuzzer_sys::fuzz_target;

/// What decryption handed on: (side index, kind, bytes); kind 0 data, 1 gap, 2 close.
type Plain = Vec<(usize, u8, Vec<u8>)>;

/// A key log with every label for the random 0x11…11 (secrets of each hash length).
fn keylog() -> KeyLog {
    let random = "11".repeat(32);
    let mut text = format!("CLIENT_RANDOM {random} {}\n", "22".repeat(48));
    for (label, len) in [
        ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", 32),
        ("SERVER_HANDSHAKE_TRAFFIC_SECRET", 32),
        ("CLIENT_TRAFFIC_SECRET_0", 32),
        ("SERVER_TRAFFIC_SECRET_0", 32),
    ] {
        text.push_str(&format!("{label} {random} {}\n", "33".repeat(len)));
    }
    let mut log = KeyLog::new();
    log.add_text(&text, "fuzz")
        .expect("the fuzz key log parses");
    log
}

/// Feeds the events of `data` to a new connection, each data event in pieces of `piece`
/// bytes at most; returns the handshake reported (at the latest at the end), the counters
/// and the plaintext (with `keys`).
fn run(
    data: &[u8],
    config: &TlsConfig,
    piece: usize,
    mut keys: Option<TlsKeys>,
) -> (Option<TlsInfo>, TlsStats, Plain) {
    let mut r = Reader::new(data);
    let mut stats = TlsStats::default();
    let mut conn = TlsConnection::new();
    let mut reported = None;
    let mut sessions = SessionCache::default();
    let mut plain: Plain = Vec::new();
    let server = (std::net::IpAddr::from([198, 51, 100, 5]), 443);
    let mut sink = |e: StreamEvent<'_>| match e {
        StreamEvent::Data { side, bytes } => match plain.last_mut() {
            Some((s, 0, b)) if *s == side.index() => b.extend_from_slice(bytes),
            _ => plain.push((side.index(), 0, bytes.to_vec())),
        },
        StreamEvent::Gap { side, .. } => plain.push((side.index(), 1, Vec::new())),
        StreamEvent::Closed { side } => plain.push((side.index(), 2, Vec::new())),
    };
    while !r.is_empty() {
        let tag = r.u8();
        let side = if tag & HTTP_RESPONDER != 0 {
            Side::Responder
        } else {
            Side::Initiator
        };
        match tag & 3 {
            HTTP_DATA => {
                let len = r.u16();
                for bytes in r.bytes(usize::from(len)).chunks(piece) {
                    let mut d = keys
                        .as_mut()
                        .map(|k| Decrypt::new(k, &mut sessions, server, &mut sink));
                    conn.on_data(side, bytes, config, &mut stats, d.as_mut());
                }
            }
            HTTP_GAP => {
                let len = r.u32();
                let mut d = keys
                    .as_mut()
                    .map(|k| Decrypt::new(k, &mut sessions, server, &mut sink));
                conn.on_gap(side, u64::from(len), &mut stats, d.as_mut());
            }
            HTTP_CLOSE => {
                let mut d = keys
                    .as_mut()
                    .map(|k| Decrypt::new(k, &mut sessions, server, &mut sink));
                conn.on_close(side, &mut stats, d.as_mut());
            }
            HTTP_TAKE => {}
            _ => unreachable!(),
        }
        if conn.take_report() {
            assert!(reported.is_none(), "a handshake is reported once");
            reported = conn.info().cloned();
        }
        let _ = (conn.client(), conn.is_tls(), conn.heap_bytes());
    }
    {
        let mut d = keys
            .as_mut()
            .map(|k| Decrypt::new(k, &mut sessions, server, &mut sink));
        conn.finish(config, &mut stats, d.as_mut());
    }
    if conn.take_report() {
        assert!(reported.is_none(), "a handshake is reported once");
        reported = conn.info().cloned();
    }
    assert!(!conn.take_report());
    (reported, stats, plain)
}

fuzz_target!(|data: &[u8]| {
    let Some((&config_byte, events)) = data.split_first() else {
        return;
    };
    let mut config = TlsConfig {
        max_handshake_bytes: [64 << 10, 4 << 10, 600, 64][usize::from(config_byte & 3)],
        ..TlsConfig::default()
    };
    if config_byte & 4 != 0 {
        config.decryption = DecryptionConfig {
            keylog: Some(keylog()),
            ..DecryptionConfig::default()
        };
    }
    let keys = || {
        config
            .decryption
            .enabled()
            .then(|| TlsKeys::new(&config.decryption))
    };
    let (whole, stats, whole_plain) = run(events, &config, usize::MAX, keys());
    if let Some(info) = &whole {
        let at = PacketRef::default();
        check_line(&eve::tls_line(&facts(), info, at, None));
        let _ = (info.version_name(), info.sni());
    }
    let piece = [1, 3, 8, 61][usize::from(config_byte >> 6)];
    if events.len() * 2 < config.max_handshake_bytes && stats.too_large == 0 {
        let (cut, _, cut_plain) = run(events, &config, piece, keys());
        assert_eq!(
            whole, cut,
            "the handshake depends on how the bytes were cut"
        );
        assert_eq!(
            whole_plain, cut_plain,
            "the plaintext depends on how the bytes were cut"
        );
    }
});
