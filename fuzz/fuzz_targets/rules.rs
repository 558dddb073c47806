//! The rule language: the input is rule text. Each line that parses is printed and parsed
//! again (the printer promises the same rule back); the whole text is loaded as a rule file
//! (skipping invalid rules, then not), compiled into a `RuleSet`, and that set inspects a
//! fixed HTTP transaction and fixed payloads.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use exhound::detect::rule::{parse_rule, LoadOptions};
use exhound::detect::{
    settle_in_order, AlertDirection, CrossFlowState, DetectConfig, FlowDetectState, FlowMeta,
    RuleSet, WorkerDetectState,
};
use exhound::flow::Side;
use exhound::http::{HttpConfig, HttpConnection, HttpStats, HttpTransaction, PacketRef};
use exhound_fuzz::START;
use libfuzzer_sys::fuzz_target;

const REQUEST: &[u8] = b"POST /ecp/y.js?a=%2e%2E/b&c HTTP/1.1\r\nHost: mail.lab:443\r\n\
User-Agent: python-requests/2.25.1\r\nCookie: X-BEResource=localhost~1942062522; X-AnonResource=true\r\n\
Content-Type: text/xml\r\nContent-Length: 27\r\n\r\n<r at=\"Negotiate\" ln=\"x\"/>\n";
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nX-CalculatedBETarget: localhost\r\nSet-Cookie: msExchEcpCanary=x\r\n\
Content-Length: 5\r\n\r\nhello";

/// The transaction every rule set inspects.
fn transaction() -> &'static HttpTransaction {
    static TX: OnceLock<HttpTransaction> = OnceLock::new();
    TX.get_or_init(|| {
        let config = HttpConfig::default();
        let mut stats = HttpStats::default();
        let mut conn = HttpConnection::new();
        let at = PacketRef {
            ts: START,
            pcap_cnt: 1,
        };
        conn.on_data(Side::Initiator, REQUEST, at, &config, &mut stats);
        conn.on_data(Side::Responder, RESPONSE, at, &config, &mut stats);
        conn.finish(&config, &mut stats);
        let mut done = Vec::new();
        conn.take_completed(&mut done, &mut stats);
        done.pop().expect("the fixed exchange is one transaction")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        if let Ok(rule) = parse_rule(line) {
            let printed = rule.to_string();
            match parse_rule(&printed) {
                Ok(again) => assert_eq!(again, rule, "printed as {printed}"),
                Err(e) => panic!("{line}\nprinted as {printed}\ndoes not parse: {e:?}"),
            }
        }
    }
    let strict = LoadOptions::default();
    let _ = RuleSet::from_text(&text, &strict, DetectConfig::default());
    let lenient = LoadOptions {
        skip_invalid: true,
        ..LoadOptions::default()
    };
    let Ok(set) = RuleSet::from_text(&text, &lenient, DetectConfig::default()) else {
        return;
    };
    let _ = set.summaries();
    let meta = FlowMeta {
        client_ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)),
        client_port: 49152,
        server_ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20)),
        server_port: 443,
        established: true,
    };
    let mut flow = FlowDetectState::new();
    let mut worker = WorkerDetectState::new();
    let mut cross = CrossFlowState::new();
    let mut alerts = Vec::new();
    for round in 0..2 {
        let now = exhound::time::Timestamp(START.0 + round * 1_000_000_000);
        set.inspect_http(
            &meta,
            transaction(),
            &mut flow,
            &mut worker,
            now,
            &mut alerts,
        );
        for (dir, packet) in [
            (AlertDirection::ToServer, REQUEST),
            (AlertDirection::ToClient, RESPONSE),
        ] {
            set.inspect_payload(
                &meta,
                dir,
                packet,
                Some(0x18), // PSH ACK
                Some(packet),
                &mut flow,
                &mut worker,
                now,
                &mut alerts,
            );
            set.inspect_payload(
                &meta,
                dir,
                &packet[..9],
                None,
                None,
                &mut flow,
                &mut worker,
                now,
                &mut alerts,
            );
        }
        settle_in_order(&mut alerts, &mut cross, set.config());
        alerts.clear();
    }
});
