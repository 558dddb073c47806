//! HTTP parsing, both directions: HTTP event records (see `format`) feed one `HttpConnection`
//! with data, gaps and closes from either side, with body decoding on (gzip, deflate and,
//! with config bit 0, LZMA); finished transactions are taken as they come and written as EVE
//! records.
//!
//! The same events are then fed again with every data event cut into pieces of a few bytes
//! (config bits 6-7: 1, 3, 8 or 61): the transactions must be the same but for the packets
//! they are attributed to. The sender chooses how its bytes are cut into segments, so a parse
//! that depended on it would let an attacker choose what the sensor sees.
#![no_main]

use exhound::flow::Side;
use exhound::http::{HttpConfig, HttpConnection, HttpStats, HttpTransaction, PacketRef};
use exhound::output::eve;
use exhound::time::Timestamp;
use exhound_fuzz::format::{Reader, HTTP_CLOSE, HTTP_DATA, HTTP_GAP, HTTP_RESPONDER, HTTP_TAKE};
use exhound_fuzz::{check_line, facts, http_config, START};
use libfuzzer_sys::fuzz_target;

/// Feeds the events of `data` (after its config byte) to a new connection, each data event
/// in pieces of `piece` bytes at most; returns the transactions, all taken after `finish`.
fn run(data: &[u8], config: &HttpConfig, piece: usize) -> Vec<HttpTransaction> {
    let mut r = Reader::new(data);
    let mut stats = HttpStats::default();
    let mut conn = HttpConnection::new();
    let mut done = Vec::new();
    let mut next_request = 0;
    let mut pcap_cnt = 0;
    let mut at = || {
        pcap_cnt += 1;
        PacketRef {
            ts: Timestamp(START.0 + pcap_cnt as i64 * 1_000_000),
            pcap_cnt,
        }
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
                    conn.on_data(side, bytes, at(), config, &mut stats);
                }
            }
            HTTP_GAP => {
                let len = r.u32();
                conn.on_gap(side, u64::from(len), config, &mut stats);
            }
            HTTP_CLOSE => conn.on_close(side, at(), config, &mut stats),
            HTTP_TAKE => {
                for tx in conn.requests_done_from(next_request) {
                    assert!(tx.tx_id >= next_request);
                    next_request = tx.tx_id + 1;
                }
                conn.take_completed(&mut done, &mut stats);
            }
            _ => unreachable!(),
        }
        let _ = (conn.client(), conn.is_active());
    }
    conn.finish(config, &mut stats);
    conn.take_completed(&mut done, &mut stats);
    let mut after = Vec::new();
    conn.take_completed(&mut after, &mut stats);
    assert!(after.is_empty(), "transactions left after finish");
    done
}

/// A transaction without the packets it is attributed to.
fn unplaced(tx: &HttpTransaction) -> HttpTransaction {
    let mut tx = tx.clone();
    tx.request_at = PacketRef::default();
    tx.completed_at = PacketRef::default();
    tx
}

fuzz_target!(|data: &[u8]| {
    let Some((&config_byte, events)) = data.split_first() else {
        return;
    };
    let config = http_config(config_byte);
    let done = run(events, &config, usize::MAX);
    let facts = facts();
    for (i, tx) in done.iter().enumerate() {
        assert!(
            i == 0 || done[i - 1].tx_id < tx.tx_id,
            "transactions out of order"
        );
        assert!(tx.request.body.len() <= config.request_body_limit);
        if let Some(resp) = &tx.response {
            assert!(resp.body.len() <= config.response_body_limit);
        }
        check_line(&eve::http_line(&facts, tx, None, None, None));
        check_line(&eve::http_line(
            &facts,
            tx,
            None,
            None,
            Some(&exhound_fuzz::REDACTOR),
        ));
    }
    let piece = [1, 3, 8, 61][usize::from(config_byte >> 6)];
    let cut = run(events, &config, piece);
    assert_eq!(
        done.iter().map(unplaced).collect::<Vec<_>>(),
        cut.iter().map(unplaced).collect::<Vec<_>>(),
        "the transactions depend on how the data is cut (pieces of {piece} bytes)"
    );
});
