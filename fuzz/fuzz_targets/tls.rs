//! TLS handshake parsing, both directions: HTTP event records (see `format`: data, gaps and
//! closes from either side) feed one `tls::TlsConnection`; the handshake, when one is
//! reported, is written as an EVE `tls` record. The config byte's bits 0-1 pick the
//! per-direction buffer cap (64 KiB, 4 KiB, 600 or 64 bytes).
//!
//! The same events are then fed again with every data event cut into pieces of a few bytes
//! (config bits 6-7: 1, 3, 8 or 61): the handshake must be the same (when the input is well
//! under the cap), since the sender chooses how its bytes are cut into segments.
#![no_main]

use exhound::flow::Side;
use exhound::http::PacketRef;
use exhound::output::eve;
use exhound::tls::{TlsConfig, TlsConnection, TlsInfo, TlsStats};
use exhound_fuzz::format::{Reader, HTTP_CLOSE, HTTP_DATA, HTTP_GAP, HTTP_RESPONDER, HTTP_TAKE};
use exhound_fuzz::{check_line, facts};
use libfuzzer_sys::fuzz_target;

/// Feeds the events of `data` to a new connection, each data event in pieces of `piece`
/// bytes at most; returns the handshake reported (at the latest at the end) and the counters.
fn run(data: &[u8], config: &TlsConfig, piece: usize) -> (Option<TlsInfo>, TlsStats) {
    let mut r = Reader::new(data);
    let mut stats = TlsStats::default();
    let mut conn = TlsConnection::new();
    let mut reported = None;
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
                    conn.on_data(side, bytes, config, &mut stats);
                }
            }
            HTTP_GAP => {
                let _ = r.u32();
                conn.on_gap(side, &mut stats);
            }
            HTTP_CLOSE => conn.on_close(side, &mut stats),
            HTTP_TAKE => {}
            _ => unreachable!(),
        }
        if conn.take_report() {
            assert!(reported.is_none(), "a handshake is reported once");
            reported = conn.info().cloned();
        }
        let _ = (conn.client(), conn.is_tls(), conn.heap_bytes());
    }
    conn.finish(&mut stats);
    if conn.take_report() {
        assert!(reported.is_none(), "a handshake is reported once");
        reported = conn.info().cloned();
    }
    assert!(!conn.take_report());
    (reported, stats)
}

fuzz_target!(|data: &[u8]| {
    let Some((&config_byte, events)) = data.split_first() else {
        return;
    };
    let config = TlsConfig {
        max_handshake_bytes: [64 << 10, 4 << 10, 600, 64][usize::from(config_byte & 3)],
    };
    let (whole, stats) = run(events, &config, usize::MAX);
    if let Some(info) = &whole {
        let at = PacketRef::default();
        check_line(&eve::tls_line(&facts(), info, at, None));
        let _ = (info.version_name(), info.sni());
    }
    let piece = [1, 3, 8, 61][usize::from(config_byte >> 6)];
    if events.len() * 2 < config.max_handshake_bytes && stats.too_large == 0 {
        let (cut, _) = run(events, &config, piece);
        assert_eq!(
            whole, cut,
            "the handshake depends on how the bytes were cut"
        );
    }
});
