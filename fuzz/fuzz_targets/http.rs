//! HTTP parsing, both directions: HTTP event records (see `format`) feed one `HttpConnection`
//! with data, gaps and closes from either side, with body decoding on (gzip, deflate and,
//! with config bit 0, LZMA); finished transactions are taken as they come and written as EVE
//! records.
#![no_main]

use exhound::flow::Side;
use exhound::http::{HttpConnection, HttpStats, PacketRef};
use exhound::output::eve;
use exhound::time::Timestamp;
use exhound_fuzz::format::{Reader, HTTP_CLOSE, HTTP_DATA, HTTP_GAP, HTTP_RESPONDER, HTTP_TAKE};
use exhound_fuzz::{check_line, facts, http_config, START};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let config = http_config(r.u8());
    let mut stats = HttpStats::default();
    let mut conn = HttpConnection::new();
    let mut done = Vec::new();
    let mut next_request = 0;
    let mut pcap_cnt = 0;
    let facts = facts();
    while !r.is_empty() {
        let tag = r.u8();
        let side = if tag & HTTP_RESPONDER != 0 {
            Side::Responder
        } else {
            Side::Initiator
        };
        pcap_cnt += 1;
        let at = PacketRef {
            ts: Timestamp(START.0 + pcap_cnt as i64 * 1_000_000),
            pcap_cnt,
        };
        match tag & 3 {
            HTTP_DATA => {
                let len = r.u16();
                conn.on_data(side, r.bytes(usize::from(len)), at, &config, &mut stats);
            }
            HTTP_GAP => {
                let len = r.u32();
                conn.on_gap(side, u64::from(len), &config, &mut stats);
            }
            HTTP_CLOSE => conn.on_close(side, at, &config, &mut stats),
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
    conn.finish(&config, &mut stats);
    conn.take_completed(&mut done, &mut stats);
    for (i, tx) in done.iter().enumerate() {
        assert!(
            i == 0 || done[i - 1].tx_id < tx.tx_id,
            "transactions out of order"
        );
        assert!(tx.request.body.len() <= config.request_body_limit);
        if let Some(resp) = &tx.response {
            assert!(resp.body.len() <= config.response_body_limit);
        }
        check_line(&eve::http_line(&facts, tx, None));
    }
    let mut after = Vec::new();
    conn.take_completed(&mut after, &mut stats);
    assert!(after.is_empty(), "transactions left after finish");
});
