//! Engine tests: rules against sample transactions and payloads.

use std::path::PathBuf;

use super::*;
use crate::detect::buffers::tests::sample_tx;
use crate::detect::rule::loader::LoadOptions;
use crate::http::{Headers, StartLine};
use crate::tls::TlsInfo;

fn set(rules: &str) -> RuleSet {
    RuleSet::from_text(rules, &LoadOptions::default(), DetectConfig::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn meta() -> FlowMeta {
    FlowMeta {
        client_ip: "192.0.2.10".parse().unwrap(),
        client_port: 50000,
        server_ip: "10.0.0.5".parse().unwrap(),
        server_port: 443,
        established: true,
    }
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(secs)
}

/// The sids of `alerts`, in order.
fn sorted_sids(alerts: &[Alert]) -> Vec<u32> {
    let mut s: Vec<u32> = alerts.iter().map(|a| a.sid()).collect();
    s.sort_unstable();
    s
}

/// Sids alerting on one transaction with fresh state.
fn sids(rs: &RuleSet, tx: &HttpTransaction) -> Vec<u32> {
    let mut alerts = Vec::new();
    rs.inspect_http(
        &meta(),
        tx,
        &mut FlowDetectState::new(),
        &mut WorkerDetectState::new(),
        t(0),
        &mut alerts,
    );
    sorted_sids(&alerts)
}

/// Sids alerting on one packet sent to the server, with fresh state.
fn payload_sids(rs: &RuleSet, packet: &[u8], flags: Option<u8>, stream: Option<&[u8]>) -> Vec<u32> {
    let mut alerts = Vec::new();
    rs.inspect_payload(
        &meta(),
        AlertDirection::ToServer,
        packet,
        flags,
        stream,
        &mut FlowDetectState::new(),
        &mut WorkerDetectState::new(),
        t(0),
        &mut alerts,
    );
    sorted_sids(&alerts)
}

fn one_rule(body: &str) -> bool {
    let rs = set(&format!("alert http any any -> any any ({body} sid:1;)"));
    sids(&rs, &sample_tx()) == vec![1]
}

#[test]
fn rule_set_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<RuleSet>();
    check::<Arc<RuleSet>>();
    check::<Alert>();
}

#[test]
fn each_buffer_on_a_sample_transaction() {
    let yes = [
        r#"http.uri; content:"/ecp/y.js?a=A"; startswith; endswith;"#,
        r#"http.uri.raw; content:"%2e"; "#,
        r#"http.method; content:"POST"; bsize:4;"#,
        r#"flow:to_server; http.protocol; content:"HTTP/1.1";"#,
        r#"flow:to_client; http.protocol; content:"HTTP/1.1";"#,
        r#"http.request_line; content:"POST /ecp/"; startswith;"#,
        r#"flow:to_server; http.header; content:"X-Dup|3a 20|one, two|0d 0a|";"#,
        r#"flow:to_server; http.header; content:!"Cookie";"#,
        r#"flow:to_server; http.header.raw; content:"x-dup: two  ";"#,
        r#"flow:to_server; http.header_names; content:"|0d 0a|Host|0d 0a|User-Agent|0d 0a|";"#,
        r#"flow:to_server; http.cookie; content:"X-BEResource="; startswith;"#,
        r#"flow:to_client; http.cookie; content:"msExchEcpCanary=";"#,
        r#"http.user_agent; content:"Mozilla"; startswith;"#,
        r#"http.host; content:"mail.example.com"; bsize:16;"#,
        r#"http.host.raw; content:":443"; endswith;"#,
        r#"flow:to_server; http.content_type; content:"json";"#,
        r#"flow:to_server; http.content_len; content:"4"; bsize:1;"#,
        r#"http.accept; content:"*/*";"#,
        r#"http.request_body; content:"body";"#,
        r#"http.stat_code; content:"500";"#,
        r#"http.stat_msg; content:"Internal";"#,
        r#"http.response_line; content:"HTTP/1.1 500"; startswith;"#,
        r#"http.response_body; content:"<html>";"#,
        r#"file.data; content:"ok</html>"; endswith;"#,
        r#"http.server; content:"IIS";"#,
        r#"flow:to_server; http.start; content:"POST"; depth:4; content:"Host:"; distance:0;"#,
        r#"http.request_header; content:"X-Dup: one, two"; bsize:15;"#,
        r#"http.response_header; content:"Server: Microsoft"; startswith;"#,
        r#"flow:to_server; content:"POST /ecp/"; startswith; content:"body"; endswith;"#,
        r#"flow:to_client; content:"HTTP/1.1 500";"#,
        r#"urilen:13;"#,
        r#"urilen:19,raw;"#,
    ];
    for body in yes {
        assert!(one_rule(body), "should match: {body}");
    }
    let no = [
        r#"http.referer; content:"x";"#,
        r#"http.referer; content:!"x";"#,
        r#"http.location; content:!"x";"#,
        r#"http.accept_enc; content:!"x";"#,
        r#"http.connection; content:!"x";"#,
        r#"http.accept_lang; content:!"x";"#,
        r#"http.uri; content:"%2e";"#,
        r#"http.host; content:"mail.example.com:443";"#,
        r#"flow:to_server; http.header; content:"Cookie";"#,
        r#"flow:to_client; http.header; content:"Set-Cookie";"#,
        r#"http.request_header; content:"X-Dup: one, two"; bsize:14;"#,
        r#"urilen:14;"#,
        r#"http.stat_code; content:"200";"#,
    ];
    for body in no {
        assert!(!one_rule(body), "should not match: {body}");
    }
}

#[test]
fn transforms_on_buffers() {
    assert!(one_rule(
        r#"http.uri.raw; url_decode; content:"/ecp/./y.js?a=A";"#
    ));
    assert!(one_rule(
        r#"http.user_agent; to_uppercase; content:"MOZILLA";"#
    ));
    assert!(!one_rule(
        r#"http.user_agent; to_uppercase; content:"Mozilla";"#
    ));
    assert!(one_rule(
        r#"http.stat_msg; strip_whitespace; content:"InternalServerError";"#
    ));
    assert!(one_rule(
        r#"http.response_line; to_lowercase; compress_whitespace; content:"http/1.1 500 internal";"#
    ));
    // The same buffer without the transform still sees the original.
    assert!(one_rule(
        r#"http.uri.raw; url_decode; content:"/./"; http.uri.raw; content:"%2e";"#
    ));
}

#[test]
fn pcre_flags_select_buffers() {
    for (body, want) in [
        (r#"pcre:"/^\/ecp\/y\.js/U";"#, true),
        (r#"pcre:"/%2e/I";"#, true),
        (r#"pcre:"/%2e/U";"#, false),
        (r#"pcre:"/^po/iM";"#, true),
        (r#"pcre:"/^po/M";"#, false),
        (r#"flow:to_server; pcre:"/x-beresource=a\]@/iC";"#, true),
        (r#"pcre:"/mozilla\/5/iV";"#, true),
        (r#"pcre:"/^mail\.example\.com$/W";"#, true),
        (r#"pcre:"/^b.dy$/P";"#, true),
        (r#"pcre:"/<html>/Q";"#, true),
        (r#"pcre:"/^5\d\d$/S";"#, true),
        (r#"pcre:"/^Internal Server Error$/Y";"#, true),
        (r#"flow:to_server; pcre:"/^User-Agent: Mozilla/mH";"#, true),
        (r#"flow:to_server; pcre:"/^x-dup: two  \r$/mD";"#, true),
        (r#"flow:to_server; pcre:"/^x-dup: two  $/mD";"#, false),
        (r#"flow:to_server; pcre:!"/dummy/C";"#, true),
        (
            r#"http.cookie; content:"X-BEResource="; pcre:"/^a\]@b:\d+\//R";"#,
            true,
        ),
        (
            r#"http.cookie; content:"X-BEResource="; pcre:"/^b/R";"#,
            false,
        ),
    ] {
        assert_eq!(one_rule(body), want, "{body}");
    }
}

#[test]
fn flowbits_set_on_request_seen_by_response() {
    let rs = set(concat!(
        "alert http any any -> any any (msg:\"set\"; flow:established,to_server; http.uri; content:\"/ecp/\"; flowbits:set,ET.proxytoken; flowbits:noalert; sid:1;)\n",
        "alert http any any -> any any (msg:\"check\"; flow:established,from_server; http.stat_code; content:\"500\"; flowbits:isset,ET.proxytoken; flowbits:unset,ET.proxytoken; sid:2;)\n",
        "alert http any any -> any any (msg:\"not set\"; flow:to_client; http.stat_code; content:\"500\"; flowbits:isnotset,ET.proxytoken; sid:3;)\n",
    ));
    let tx = sample_tx();
    let mut fs = FlowDetectState::new();
    let mut w = WorkerDetectState::new();
    let mut alerts = Vec::new();
    rs.inspect_http(&meta(), &tx, &mut fs, &mut w, t(0), &mut alerts);
    let got: Vec<(u32, AlertDirection)> = alerts.iter().map(|a| (a.sid(), a.direction)).collect();
    // sid 2 sets-and-reads, so it runs before sid 3 reads: the bit is unset by then.
    assert_eq!(
        got,
        vec![(2, AlertDirection::ToClient), (3, AlertDirection::ToClient)]
    );
    assert_eq!(alerts[0].tx_id, Some(0));
    // The next transaction on the same flow: the bit was unset, so only the request rule
    // (noalert) and sid 3 fire.
    let mut alerts = Vec::new();
    let mut tx2 = tx.clone();
    tx2.tx_id = 1;
    tx2.request.uri.path = b"/owa/".to_vec();
    rs.inspect_http(&meta(), &tx2, &mut fs, &mut w, t(1), &mut alerts);
    assert_eq!(alerts.iter().map(|a| a.sid()).collect::<Vec<_>>(), vec![3]);
    // A different flow has its own bits.
    let mut other = FlowDetectState::new();
    let mut alerts = Vec::new();
    rs.inspect_http(&meta(), &tx2, &mut other, &mut w, t(1), &mut alerts);
    assert_eq!(alerts.iter().map(|a| a.sid()).collect::<Vec<_>>(), vec![3]);
}

#[test]
fn buffers_are_not_searched_for_rules_gated_on_an_unset_flowbit() {
    let rs = set(concat!(
        // The request rule sets `attempt` only for /owa/ requests.
        "alert http any any -> any any (flow:to_server; http.uri; content:\"/owa/\"; flowbits:set,attempt; flowbits:noalert; sid:1;)\n",
        "alert http any any -> any any (flow:to_client; file.data; content:\"<html>\"; flowbits:isset,attempt; sid:2;)\n",
        // Set and read on the response side: the body must be searched for sid 4 even though
        // the flow does not have `seen500` when the response arrives.
        "alert http any any -> any any (flow:to_client; http.stat_code; content:\"500\"; flowbits:set,seen500; flowbits:noalert; sid:3;)\n",
        "alert http any any -> any any (flow:to_client; file.data; content:\"ok</html>\"; flowbits:isset,seen500; sid:4;)\n",
    ));
    let tx = sample_tx();
    let mut fs = FlowDetectState::new();
    let mut w = WorkerDetectState::new();
    let mut alerts = Vec::new();
    rs.inspect_http(&meta(), &tx, &mut fs, &mut w, t(0), &mut alerts);
    assert_eq!(alerts.iter().map(|a| a.sid()).collect::<Vec<_>>(), vec![4]);
    assert_eq!(w.stats.gated_scans, 1, "the body was searched for sid 2");
    // An /owa/ request sets the bit: the same response now alerts for sid 2.
    let mut tx2 = tx.clone();
    tx2.tx_id = 1;
    tx2.request.uri.path = b"/owa/".to_vec();
    let mut alerts = Vec::new();
    rs.inspect_http(&meta(), &tx2, &mut fs, &mut w, t(1), &mut alerts);
    assert_eq!(
        alerts.iter().map(|a| a.sid()).collect::<Vec<_>>(),
        vec![2, 4]
    );
    assert_eq!(w.stats.gated_scans, 1);
    // The bit stays set for the next transaction of the flow, not for another flow.
    let mut alerts = Vec::new();
    rs.inspect_http(&meta(), &tx, &mut fs, &mut w, t(2), &mut alerts);
    assert_eq!(
        alerts.iter().map(|a| a.sid()).collect::<Vec<_>>(),
        vec![2, 4]
    );
    assert_eq!(sids(&rs, &tx), vec![4]);
}

#[test]
fn flowbit_groups_and_order_like_suricata() {
    // suricata-verify detect-flowbits, on one packet's payload.
    let rs = set(concat!(
        "alert ip any any -> any any (msg:\"Flowbit set\"; flowbits:set,fb1; sid:1;)\n",
        "alert ip any any -> any any (msg:\"Flowbit set\"; flowbits:set,fb2; sid:2;)\n",
        "alert ip any any -> any any (flowbits:isset,fb3|fb4; sid:3;)\n",
        "alert ip any any -> any any (flowbits:isset,fb1|fb5; sid:5;)\n",
        "alert ip any any -> any any (flowbits:isnotset, fb1|fb2 ; sid:6;)\n",
        "alert ip any any -> any any (flowbits:unset,fb1; sid:7;)\n",
        "alert ip any any -> any any (flowbits:noalert; flowbits:isnotset,fb1; flowbits:set,fb1; content:\"GET \"; sid:8;)\n",
        "alert ip any any -> any any (flowbits:isset,fb1; sid:9;)\n",
        "alert ip any any -> any any (flowbits:noalert; content:\"GET \"; sid:10;)\n",
        "alert ip any any -> any any (flowbits:isset,fbt; content:\"GET \"; sid:11;)\n",
        "alert ip any any -> any any (flowbits:isset,fb1; flowbits:isset,fb2; sid:12;)\n",
    ));
    let data = b"GET /one/ HTTP/1.1\r\nHost: one.example.org\r\n\r\n";
    let mut fs = FlowDetectState::new();
    let mut w = WorkerDetectState::new();
    let mut alerts = Vec::new();
    rs.inspect_payload(
        &meta(),
        AlertDirection::ToServer,
        data,
        None,
        None,
        &mut fs,
        &mut w,
        t(0),
        &mut alerts,
    );
    assert_eq!(sorted_sids(&alerts), vec![1, 2, 5, 7, 9, 12]);
    assert!(alerts.iter().all(|a| a.tx_id.is_none()));
}

/// Inspects `tx` on a fresh flow and settles the cross-flow work in order against `shared`:
/// what one thread reading the capture in order would alert.
fn inspect_settled(
    rs: &RuleSet,
    flow: &FlowMeta,
    tx: &HttpTransaction,
    shared: &mut CrossFlowState,
    now: Timestamp,
) -> Vec<u32> {
    let mut alerts = Vec::new();
    rs.inspect_http(
        flow,
        tx,
        &mut FlowDetectState::new(),
        &mut WorkerDetectState::new(),
        now,
        &mut alerts,
    );
    settle_in_order(&mut alerts, shared, rs.config());
    alerts.iter().map(|a| a.sid()).collect()
}

#[test]
fn xbits_across_flows_expire_in_packet_time() {
    let rs = set(concat!(
        "alert http any any -> any any (flow:to_client; http.stat_code; content:\"500\"; xbits:set,ET.x,track ip_dst,expire 30; noalert; sid:1;)\n",
        "alert http any any -> any any (flow:to_server; http.uri; content:\"/ecp/\"; xbits:isset,ET.x,track ip_src; sid:2;)\n",
    ));
    let tx = sample_tx();
    let mut shared = CrossFlowState::new();
    // First transaction: the request rule runs before the response sets the bit.
    assert!(inspect_settled(&rs, &meta(), &tx, &mut shared, t(100)).is_empty());
    // A new flow from the same client, within 30 s.
    assert_eq!(
        inspect_settled(&rs, &meta(), &tx, &mut shared, t(129)),
        vec![2]
    );
    // Another client: not set for it.
    let mut other = meta();
    other.client_ip = "192.0.2.99".parse().unwrap();
    let mut req_only = tx.clone();
    req_only.response = None;
    assert!(inspect_settled(&rs, &other, &req_only, &mut shared, t(130)).is_empty());
    // Expired 30 s after the last set (at 129).
    assert!(inspect_settled(&rs, &meta(), &req_only, &mut shared, t(159)).is_empty());
}

#[test]
fn unsettled_matches_carry_their_cross_flow_work() {
    let rs = set(concat!(
        "alert http any any -> any any (http.uri; content:\"/ecp/\"; xbits:isset,ET.x,track ip_src; xbits:set,ET.y,track ip_dst,expire 9; sid:2;)\n",
        "alert http any any -> any any (http.uri; content:\"/ecp/\"; xbits:set,ET.x,track ip_src,expire 5; noalert; sid:3;)\n",
        "alert http any any -> any any (http.uri; content:\"/ecp/\"; sid:4;)\n",
    ));
    let mut req_only = sample_tx();
    req_only.response = None;
    let mut alerts = Vec::new();
    let mut w = WorkerDetectState::new();
    rs.inspect_http(
        &meta(),
        &req_only,
        &mut FlowDetectState::new(),
        &mut w,
        t(7),
        &mut alerts,
    );
    // Unsettled, the isset rule is a candidate, the noalert setter a silent entry, and the
    // plain rule a final alert; the setter comes first (setters before readers).
    let got: Vec<(u32, bool, bool)> = alerts
        .iter()
        .map(|a| (a.sid(), a.cross_flow.is_some(), a.is_silent()))
        .collect();
    assert_eq!(
        got,
        vec![(3, true, true), (2, true, false), (4, false, false)]
    );
    let client: IpAddr = meta().client_ip;
    let server: IpAddr = meta().server_ip;
    let c = alerts[1].cross_flow.as_deref().unwrap();
    assert_eq!(c.conditions, vec![(0, XbitKey::Host(client), true)]);
    assert_eq!(c.actions, vec![(BitCmd::Set, 1, XbitKey::Host(server), 9)]);
    assert_eq!(c.now, t(7));
    assert_eq!(w.stats.alerts, 1);
    // Settled in order: the setter makes the reader's condition hold.
    let mut shared = CrossFlowState::new();
    settle_in_order(&mut alerts, &mut shared, rs.config());
    assert_eq!(
        alerts.iter().map(|a| a.sid()).collect::<Vec<_>>(),
        vec![2, 4]
    );
    assert!(shared.xbit_is_set(1, XbitKey::Host(server), t(15)));
    assert!(!shared.xbit_is_set(1, XbitKey::Host(server), t(16)));
    assert_eq!((shared.stats.matches, shared.stats.alerts), (2, 1));
}

#[test]
fn thresholds_through_inspection() {
    let rs = set(
        "alert http any any -> any any (http.uri; content:\"/ecp/\"; threshold: type limit, track by_src, count 1, seconds 60; sid:1;)\n\
         alert http any any -> any any (http.uri; content:\"/ecp/\"; detection_filter: track by_dst, count 2, seconds 60; sid:2;)\n",
    );
    let mut req_only = sample_tx();
    req_only.response = None;
    let mut shared = CrossFlowState::new();
    let per_call: Vec<Vec<u32>> = [0, 10, 20, 61]
        .iter()
        .map(|s| inspect_settled(&rs, &meta(), &req_only, &mut shared, t(*s)))
        .collect();
    assert_eq!(per_call, vec![vec![1], vec![], vec![2], vec![1]]);
    assert_eq!(shared.stats.suppressed, 5);
}

#[test]
fn once_per_transaction_and_either_side_rules() {
    // A cookie rule without direction: the request has the cookie; it alerts once.
    let rs = set("alert http any any -> any any (http.cookie; content:\"=\"; sid:1;)");
    assert_eq!(sids(&rs, &sample_tx()), vec![1]);
    // Only the response has it: alerts on the response side.
    let rs =
        set("alert http any any -> any any (http.cookie; content:\"msExchEcpCanary\"; sid:1;)");
    let mut alerts = Vec::new();
    rs.inspect_http(
        &meta(),
        &sample_tx(),
        &mut FlowDetectState::new(),
        &mut WorkerDetectState::new(),
        t(0),
        &mut alerts,
    );
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].direction, AlertDirection::ToClient);
    // A rule that fits either side and matched the request (silently) is not tried again on
    // the response: its flowbit is set once.
    let rs = set(concat!(
        "alert http any any -> any any (http.header; content:\"Content-Type\"; flowbits:toggle,t; noalert; sid:1;)\n",
        "alert http any any -> any any (flow:to_client; flowbits:isset,t; http.stat_code; content:\"500\"; sid:2;)\n",
    ));
    assert_eq!(sids(&rs, &sample_tx()), vec![2]);
    // Sides inspected one at a time: the rules that matched the request, carried over, keep
    // it to one alert per transaction; with a fresh list, each side may alert.
    let rs = set("alert http any any -> any any (http.header; content:\"Content-Type\"; sid:1;)");
    for (carried, expect) in [(true, 1), (false, 2)] {
        let mut alerts = Vec::new();
        let mut w = WorkerDetectState::new();
        let mut fs = FlowDetectState::new();
        let mut matched = Vec::new();
        for side in [TxSide::Request, TxSide::Response] {
            if !carried {
                matched.clear();
            }
            rs.inspect_http_side(
                &meta(),
                &sample_tx(),
                side,
                &mut fs,
                &mut w,
                t(0),
                &mut alerts,
                &mut matched,
            );
        }
        assert_eq!(alerts.len(), expect, "carried over: {carried}");
        assert_eq!(alerts[0].direction, AlertDirection::ToServer);
    }
    // Without a response, inspecting the response side does nothing.
    let mut tx = sample_tx();
    tx.response = None;
    let mut alerts = Vec::new();
    rs.inspect_http_side(
        &meta(),
        &tx,
        TxSide::Response,
        &mut FlowDetectState::new(),
        &mut WorkerDetectState::new(),
        t(0),
        &mut alerts,
        &mut Vec::new(),
    );
    assert!(alerts.is_empty());
    // No response: response rules are not evaluated.
    let rs = set("alert http any any -> any any (http.stat_code; content:!\"200\"; sid:1;)");
    let mut tx = sample_tx();
    tx.response = None;
    assert!(sids(&rs, &tx).is_empty());
}

#[test]
fn absent_buffers_fail_even_negated_but_empty_ones_exist() {
    let mut tx = sample_tx();
    tx.request.headers = Headers::from_pairs([(b"User-Agent", b"")]);
    let rs = set(concat!(
        "alert http any any -> any any (http.user_agent; bsize:0; sid:46;)\n",
        "alert http any any -> any any (http.user_agent; content:!\"u\"; sid:47;)\n",
        "alert http any any -> any any (http.referer; content:!\"u\"; sid:48;)\n",
    ));
    assert_eq!(sids(&rs, &tx), vec![46, 47]);
}

#[test]
fn header_addresses_ports_and_flow_state() {
    let mut opts = LoadOptions::default();
    opts.vars.set("HOME_NET", "[10.0.0.0/8]");
    opts.vars.set("EXTERNAL_NET", "!$HOME_NET");
    let rs = RuleSet::from_text(
        concat!(
            "alert http $EXTERNAL_NET any -> $HOME_NET 443 (http.uri; content:\"/ecp/\"; sid:1;)\n",
            "alert http $HOME_NET any -> $EXTERNAL_NET any (http.uri; content:\"/ecp/\"; sid:2;)\n",
            "alert http $HOME_NET any <> $EXTERNAL_NET any (http.uri; content:\"/ecp/\"; sid:3;)\n",
            "alert http any any -> any 80 (http.uri; content:\"/ecp/\"; sid:4;)\n",
            "alert http $HOME_NET 443 -> any any (flow:established,to_client; http.stat_code; content:\"500\"; sid:5;)\n",
            "alert http any any -> any any (flow:not_established; http.uri; content:\"/ecp/\"; sid:6;)\n",
            "alert http any any -> any any (flow:stateless; http.uri; content:\"/ecp/\"; sid:7;)\n",
            "alert http any any -> any any (flow:no_stream; http.uri; content:\"/ecp/\"; sid:8;)\n",
        ),
        &opts,
        DetectConfig::default(),
    )
    .unwrap();
    assert_eq!(sids(&rs, &sample_tx()), vec![1, 3, 5, 7]);
    let mut m = meta();
    m.established = false;
    let mut alerts = Vec::new();
    rs.inspect_http(
        &m,
        &sample_tx(),
        &mut FlowDetectState::new(),
        &mut WorkerDetectState::new(),
        t(0),
        &mut alerts,
    );
    assert_eq!(sorted_sids(&alerts), vec![1, 3, 6, 7]);
}

#[test]
fn pass_noalert_and_alert_facts() {
    let rs = set(concat!(
        "alert http any any -> any any (msg:\"after pass\"; http.uri; content:\"/ecp/\"; sid:1;)\n",
        "pass http any any -> any any (http.uri; content:\"/ecp/y.js\"; sid:2;)\n",
    ));
    assert!(sids(&rs, &sample_tx()).is_empty());
    let rs = set(concat!(
        "drop http any any -> any any (msg:\"m\"; http.uri; content:\"/ecp/\"; classtype:attempted-admin; metadata:a b, c d; reference:cve,2021-26855; rev:3; gid:1; sid:10;)\n",
        "alert http any any -> any any (http.uri; content:\"/ecp/\"; noalert; sid:11;)\n",
    ));
    let mut alerts = Vec::new();
    let mut w = WorkerDetectState::new();
    rs.inspect_http(
        &meta(),
        &sample_tx(),
        &mut FlowDetectState::new(),
        &mut w,
        t(0),
        &mut alerts,
    );
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(
        (a.sid(), a.gid(), a.rev(), a.msg(), a.severity()),
        (10, 1, 3, "m", 1)
    );
    assert_eq!(a.action(), Action::Drop);
    assert_eq!(
        a.rule.category.as_deref(),
        Some("Attempted Administrator Privilege Gain")
    );
    assert_eq!(a.rule.metadata.len(), 2);
    assert_eq!(
        a.rule.references,
        vec![("cve".to_string(), "2021-26855".to_string())]
    );
    assert_eq!(w.stats.matches, 2);
    assert_eq!(w.stats.alerts, 1);
}

#[test]
fn payload_rules() {
    let rs = set(concat!(
        "alert tcp any any -> any any (msg:\"stream\"; flow:to_server; content:\"GET \"; startswith; sid:1;)\n",
        "alert tcp any any -> any any (msg:\"packet\"; dsize:>10; sid:2;)\n",
        "alert tcp any any -> any any (msg:\"both dirs\"; content:\"HTTP\"; sid:3;)\n",
        "alert tcp any any -> any any (msg:\"to client\"; flow:to_client; content:\"GET\"; sid:4;)\n",
        "alert tcp any any -> any any (msg:\"dsize+content\"; dsize:<100; content:\"one\"; sid:5;)\n",
        "alert http any any -> any any (msg:\"http rule\"; content:\"POST\"; sid:6;)\n",
        "alert dns any any -> any any (dns.query; content:\"GET\"; sid:7;)\n",
    ));
    let data = b"GET /one/ HTTP/1.1\r\n\r\n";
    let mut alerts = Vec::new();
    let mut w = WorkerDetectState::new();
    rs.inspect_payload(
        &meta(),
        AlertDirection::ToServer,
        data,
        None,
        None,
        &mut FlowDetectState::new(),
        &mut w,
        t(0),
        &mut alerts,
    );
    assert_eq!(sorted_sids(&alerts), vec![1, 2, 3, 5]);
    // http rules inspect transactions, not payloads; dns rules never match.
    assert_eq!(sids(&rs, &sample_tx()), vec![6]);
}

#[test]
fn prefilter_selects_candidates_among_many_rules() {
    let mut text = String::new();
    for i in 0..150 {
        text.push_str(&format!(
            "alert http any any -> any any (flow:to_server; http.uri; content:\"/marker{i:03}/\"; nocase; sid:{};)\n",
            1000 + i
        ));
    }
    for i in 0..50 {
        text.push_str(&format!(
            "alert http any any -> any any (http.user_agent; content:\"Agent{i:02}x\"; sid:{};)\n",
            2000 + i
        ));
    }
    text.push_str("alert http any any -> any any (http.uri; content:!\"/nothing/\"; sid:3000;)\n");
    text.push_str("alert http any any -> any any (http.uri; pcre:\"/MARKER04\\d/i\"; sid:3001;)\n");
    let rs = set(&text);
    assert_eq!(rs.len(), 202);
    let mut tx = sample_tx();
    tx.response = None;
    tx.request.uri.path = b"/x/MARKER042/y/marker149/".to_vec();
    tx.request.uri.query_decoded = None;
    let mut w = WorkerDetectState::new();
    let mut alerts = Vec::new();
    rs.inspect_http(
        &meta(),
        &tx,
        &mut FlowDetectState::new(),
        &mut w,
        t(0),
        &mut alerts,
    );
    assert_eq!(sorted_sids(&alerts), vec![1042, 1149, 3000, 3001]);
    // Two prefilter hits plus the two rules with no usable fast pattern.
    assert_eq!(w.stats.rules_evaluated, 4);
    // A case-sensitive fast pattern in the wrong case is not even a candidate: case-sensitive
    // patterns have an automaton of their own.
    tx.request.headers = Headers::from_pairs([(b"User-Agent", b"AGENT07X")]);
    let mut w = WorkerDetectState::new();
    let mut alerts = Vec::new();
    rs.inspect_http(
        &meta(),
        &tx,
        &mut FlowDetectState::new(),
        &mut w,
        t(0),
        &mut alerts,
    );
    assert!(!alerts.iter().any(|a| a.sid() == 2007));
    assert_eq!(w.stats.rules_evaluated, 4);
}

#[test]
fn multi_buffer_instances() {
    assert!(one_rule(
        r#"flow:to_server; http.request_header; content:"Accept: */*"; startswith; endswith;"#
    ));
    // Both contents must hold in the same header instance.
    assert!(!one_rule(
        r#"flow:to_server; http.request_header; content:"Accept"; content:"Mozilla";"#
    ));
}

#[test]
fn base64_rules() {
    let mut tx = sample_tx();
    tx.request.body = b"<m:Data>PCFET0NUWVBFIHggU1lTVEVNICJhIj4=</m:Data>".to_vec();
    let rs = set(concat!(
        "alert http any any -> any any (http.request_body; content:\"<m:Data>\"; base64_decode:bytes 300, offset 0, relative; base64_data; content:\"<!DOCTYPE\"; content:\"SYSTEM\"; distance:0; sid:1;)\n",
        "alert http any any -> any any (http.request_body; content:\"<m:Data>\"; base64_decode:relative; base64_data; content:\"PUBLIC\"; sid:2;)\n",
    ));
    assert_eq!(sids(&rs, &tx), vec![1]);
}

fn shared_dir() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} is absent (shared test data not available)",
            p.display()
        );
        None
    }
}

#[test]
fn et_open_rules_fire_on_crafted_exchange_requests() {
    let Some(shared) = shared_dir() else { return };
    let rs = RuleSet::load(
        &[&shared.join("third-party/et-open-exchange.rules")],
        &LoadOptions::default(),
        DetectConfig::default(),
    )
    .unwrap();
    assert_eq!(rs.len(), 37);
    // ProxyLogon CVE-2021-27065 (sid 2033754): POST /ecp/.../SetObject?...schema=OABVirtualDirectory
    let mut tx = sample_tx();
    tx.response = None;
    tx.request.line = StartLine::from_words([b"POST", tx.request.target(), b"HTTP/1.1"]);
    tx.request.uri.path = b"/ecp/DDI/DDIService.svc/SetObject".to_vec();
    tx.request.uri.query_decoded = Some(b"schema=OABVirtualDirectory&msExchEcpCanary=x".to_vec());
    tx.request.headers = Headers::from_pairs([
        (&b"Host"[..], &b"mail"[..]),
        (b"msExchLogonMailbox", b"S-1-5-20"),
    ]);
    tx.request.body = br#"{"identity":{"__type":"Identity:ECP","DisplayName":"OAB (Default Web Site)","RawIdentity":"x"},"properties":{"Parameters":{"__type":"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel","ExternalUrl":"http://f/#<script>"}}}"#.to_vec();
    let got = sids(&rs, &tx);
    assert_eq!(got, vec![2033754]);
}

#[test]
fn payload_packet_versus_stream() {
    let rs = set(concat!(
        "alert tcp any any -> any any (content:\"split\"; sid:1;)\n",
        "alert tcp any any -> any any (flow:only_stream; content:\"split\"; sid:2;)\n",
        "alert tcp any any -> any any (flow:no_stream; content:\"sp\"; sid:3;)\n",
        "alert tcp any any -> any any (dsize:2; sid:4;)\n",
    ));
    let run = |packet: &[u8], stream: Option<&[u8]>| payload_sids(&rs, packet, None, stream);
    // The packet carries "it" of "split"; the stream has the whole word.
    assert_eq!(run(b"it", Some(b"xxsplit")), vec![1, 2, 4]);
    assert_eq!(run(b"split", None), vec![1, 3]);
    assert_eq!(run(b"sp", None), vec![3, 4]);
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    fn rules() -> RuleSet {
        set(concat!(
            "alert http any any -> any any (http.uri; content:\"a\"; content:\"b\"; distance:-3; within:4; isdataat:!2,relative; sid:1;)\n",
            "alert http any any -> any any (http.header; content:!\"x\"; endswith; pcre:\"/a.{0,3}b/sR\"; bsize:<100; sid:2;)\n",
            "alert http any any -> any any (http.request_body; content:\"=\"; base64_decode:bytes 8, offset 1, relative; base64_data; content:\"z\"; sid:3;)\n",
            "alert http any any -> any any (http.host; url_decode; to_lowercase; content:\"h\"; startswith; http.cookie; compress_whitespace; content:\" \"; sid:4;)\n",
            "alert http any any -> any any (http.request_header; content:\":\"; offset:1; depth:60; urilen:<50; sid:5;)\n",
            "alert tcp any any -> any any (content:\"a\"; content:\"a\"; distance:0; content:\"a\"; distance:0; pcre:\"/a$/R\"; sid:6;)\n",
            "alert tcp any any -> any any (dsize:>0; flowbits:toggle,t; sid:7;)\n",
        ))
    }

    fn arb_headers() -> impl Strategy<Value = Headers> {
        prop::collection::vec(
            (
                prop::sample::select(vec!["Host", "Cookie", "User-Agent", "X", "host", ""]),
                prop::collection::vec(any::<u8>(), 0..20),
            ),
            0..6,
        )
        .prop_map(Headers::from_pairs)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn inspection_never_panics(
            target in prop::collection::vec(any::<u8>(), 0..40),
            path in prop::collection::vec(any::<u8>(), 0..40),
            body in prop::collection::vec(any::<u8>(), 0..80),
            headers in arb_headers(),
            payload in prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'\n', 0]), 0..200),
        ) {
            let rs = rules();
            let mut tx = sample_tx();
            tx.request.line = StartLine::from_words([b"POST", &target, b"HTTP/1.1"]);
            tx.request.uri.path = path;
            tx.request.body = body;
            tx.request.headers = headers;
            let mut w = WorkerDetectState::new();
            let mut fs = FlowDetectState::new();
            let mut alerts = Vec::new();
            rs.inspect_http(&meta(), &tx, &mut fs, &mut w, t(0), &mut alerts);
            rs.inspect_payload(&meta(), AlertDirection::ToClient, &payload, None, Some(&payload), &mut fs, &mut w, t(0), &mut alerts);
            prop_assert!(alerts.len() <= 7);
        }
    }
}

#[test]
fn app_layer_events_match_the_requests_that_have_them() {
    let rs = set("alert http any any -> any any (app-layer-event:http.duplicate_content_length_field_in_request; sid:1;)\n\
                  alert http any any -> any any (app-layer-event:http.request_transfer_encoding_and_content_length; content:\"/ecp/\"; http_uri; sid:2;)");
    let mut tx = sample_tx();
    assert!(sids(&rs, &tx).is_empty(), "no event, no alert");
    tx.request
        .events
        .insert(crate::http::HttpEvent::DuplicateContentLength);
    assert_eq!(sids(&rs, &tx), vec![1]);
    tx.request
        .events
        .insert(crate::http::HttpEvent::RequestTeAndCl);
    assert_eq!(sids(&rs, &tx), vec![1, 2], "the sample's URI is /ecp/y.js");
    tx.request.uri.path = b"/owa/".to_vec();
    assert_eq!(
        sids(&rs, &tx),
        vec![1],
        "the event alone is not enough for sid 2"
    );
}

#[test]
fn profiling_counts_checks_matches_and_prefilter_figures() {
    let rs = set(concat!(
        "alert http any any -> any any (msg:\"hit\"; flow:to_server; http.cookie; content:\"X-BEResource=\"; sid:1;)\n",
        "alert http any any -> any any (msg:\"miss\"; flow:to_server; http.cookie; content:\"X-BEResource=\"; content:\"nowhere\"; sid:2;)\n",
        "alert http any any -> any any (msg:\"no fast pattern\"; flow:to_server; urilen:>1; sid:3;)\n",
        "alert http any any -> any any (msg:\"absent\"; flow:to_server; http.uri; content:\"/absent-path\"; sid:4;)\n",
    ));
    let tx = sample_tx();
    let mut plain = WorkerDetectState::new();
    let mut profiled = WorkerDetectState::profiling();
    let mut alerts = [Vec::new(), Vec::new()];
    for _ in 0..2 {
        for (w, out) in [&mut plain, &mut profiled].into_iter().zip(&mut alerts) {
            rs.inspect_http(&meta(), &tx, &mut FlowDetectState::new(), w, t(0), out);
        }
    }
    assert_eq!(alerts[0], alerts[1], "profiling changes no verdict");
    assert!(plain.stats.profile.is_none());
    let profile = profiled.stats.profile.as_deref().expect("a profile");
    let report = rs.profile_report(profile);
    let row = |sid: u32| report.rules.iter().find(|r| r.sid == sid).map(|r| r.cost);
    let hit = row(1).expect("sid 1 checked");
    assert_eq!((hit.checked, hit.matches), (2, 2));
    let miss = row(2).expect("sid 2 checked");
    assert_eq!((miss.checked, miss.matches), (2, 0));
    assert_eq!(row(3).map(|c| (c.checked, c.matches)), Some((2, 2)));
    assert_eq!(row(4), None, "never a candidate, not listed");
    assert!(report
        .rules
        .windows(2)
        .all(|w| w[0].cost.nanos >= w[1].cost.nanos));
    let cookie = report
        .prefilters
        .iter()
        .find(|p| p.buffer == "http.cookie")
        .expect("a cookie prefilter");
    assert_eq!(
        (cookie.side, cookie.patterns, cookie.rules),
        ("request", 1, 2)
    );
    assert_eq!(cookie.cost.scans, 2);
    assert_eq!(cookie.cost.candidates, 4);
    assert_eq!(cookie.cost.confirmed, 2);
    let uri = report
        .prefilters
        .iter()
        .find(|p| p.buffer == "http.uri")
        .expect("a uri prefilter");
    assert_eq!(
        (uri.cost.scans, uri.cost.candidates, uri.cost.confirmed),
        (2, 0, 0)
    );
    // Request and response sides of both transactions.
    assert_eq!(report.inspections, 4);
    assert!(report.nanos >= report.rules.iter().map(|r| r.cost.nanos).sum::<u64>());
    // Two workers' profiles add up.
    let mut merged = profile.clone();
    merged.merge(profile);
    let twice = rs.profile_report(&merged);
    assert_eq!(twice.inspections, 8);
    assert_eq!(
        twice
            .rules
            .iter()
            .find(|r| r.sid == 1)
            .map(|r| r.cost.checked),
        Some(4)
    );
}

/// Hundreds of fast patterns on one buffer go to a single automaton probe instead of Teddy
/// passes: the rules whose patterns are there still alert, the others still do not.
#[test]
fn hundreds_of_patterns_on_one_buffer_find_the_same_rules() {
    let tx = sample_tx();
    let uri = String::from_utf8(
        crate::detect::buffers::compute(&tx, TxSide::Request, Buffer::HttpUri).unwrap()[0].to_vec(),
    )
    .unwrap();
    let mut text = String::new();
    for i in 0..400u32 {
        let tag: String = (0..4)
            .map(|k| char::from(b'a' + ((i >> (k * 2)) % 26) as u8))
            .collect();
        text.push_str(&format!(
            "alert http any any -> any any (http.uri; content:\"{tag}{i}\"; sid:{};)\n",
            i + 10
        ));
    }
    text.push_str(&format!(
        "alert http any any -> any any (http.uri; content:\"{}\"; sid:1;)\n",
        &uri[uri.len() - 4..]
    ));
    text.push_str("alert http any any -> any any (http.uri; content:\"ZZZZ-not-there\"; sid:2;)\n");
    let rs = set(&text);
    let kinds: Vec<&str> = rs
        .request
        .prefilters
        .iter()
        .flat_map(|p| p.probes.iter().map(Probe::kind))
        .collect();
    assert_eq!(kinds, ["automaton"]);
    assert_eq!(sids(&rs, &tx), vec![1]);
}

/// A handshake as the tls stage reports it.
fn sample_tls() -> TlsInfo {
    use crate::tls::{ClientHello, Fingerprint, ServerHello};
    TlsInfo {
        client_hello: Some(ClientHello {
            version: 0x0303,
            sni: Some(b"mail.contoso.com".to_vec()),
            ..ClientHello::default()
        }),
        server_hello: Some(ServerHello {
            version: 0x0303,
            cipher: 0xc02f,
            ..ServerHello::default()
        }),
        ja3: Some(Fingerprint {
            hash: "f1631d7b5c74e0eccf70af0a6086e84b".into(),
            string: "771,49199-255,0-11,29,0".into(),
        }),
        ja3s: None,
        ja4: Some("t12d0207h2_b06afd972a5c_a44c6288192a".into()),
        certificates: vec![b"DER one".to_vec(), b"DER two CA".to_vec()],
        server_certificate: Some(crate::tls::CertificateFields {
            subject: "C=US, CN=mail.contoso.com".into(),
            issuer: "C=US, CN=Contoso CA".into(),
            serial: "5C:19:B7".into(),
            fingerprint: "e1:91:5e".into(),
            not_before: "2024-01-01T00:00:00".into(),
            not_after: "2034-01-01T00:00:00".into(),
        }),
    }
}

/// (sid, direction) of the alerts on one handshake with fresh state.
fn tls_alerts(rs: &RuleSet, tls: &TlsInfo) -> Vec<(u32, AlertDirection)> {
    let mut alerts = Vec::new();
    rs.inspect_tls(
        &meta(),
        tls,
        &mut FlowDetectState::new(),
        &mut WorkerDetectState::new(),
        t(0),
        &mut alerts,
    );
    let mut s: Vec<_> = alerts.iter().map(|a| (a.sid(), a.direction)).collect();
    s.sort_unstable_by_key(|(sid, _)| *sid);
    s
}

#[test]
fn tls_buffers_on_a_sample_handshake() {
    use AlertDirection::{ToClient, ToServer};
    let rs = set(concat!(
        "alert tls any any -> any any (tls.sni; content:\"contoso\"; sid:1;)\n",
        "alert tls any any -> any any (tls.cert_subject; content:\"CN=mail\"; sid:2;)\n",
        "alert tls any any -> any any (tls.cert_issuer; content:\"Contoso CA\"; sid:3;)\n",
        "alert tls any any -> any any (tls.cert_serial; content:\"5C:19\"; sid:4;)\n",
        "alert tls any any -> any any (tls.cert_fingerprint; content:\"e1:91\"; sid:5;)\n",
        "alert tls any any -> any any (tls.certs; content:\"CA\"; sid:6;)\n",
        "alert tls any any -> any any (ja3.hash; content:\"f1631d7b\"; sid:7;)\n",
        "alert tls any any -> any any (ja3.string; content:\"771,\"; startswith; sid:8;)\n",
        "alert tls any any -> any any (ja3s.hash; content:\"0\"; sid:9;)\n",
        "alert tls any any -> any any (ja4.hash; content:\"t12d\"; sid:10;)\n",
        "alert tls any any -> any any (tls.version:1.2; sid:11;)\n",
        "alert tls any any -> any any (tls.version:1.3; sid:12;)\n",
        "alert tcp any any -> any any (app-layer-protocol:tls; sid:13;)\n",
        "alert tls any any -> any any (tls.sni; content:\"other\"; sid:14;)\n",
        "alert tls any any -> any any (tls.sni; content:\"CONTOSO\"; nocase; sid:15;)\n",
        "alert tls any any -> any 80 (tls.sni; content:\"contoso\"; sid:16;)\n",
        "alert http any any -> any any (http.uri; content:\"/\"; sid:17;)\n",
    ));
    assert!(rs.has_tls_rules());
    assert_eq!(
        tls_alerts(&rs, &sample_tls()),
        vec![
            (1, ToServer),
            (2, ToClient),
            (3, ToClient),
            (4, ToClient),
            (5, ToClient),
            (6, ToClient),
            (7, ToServer),
            (8, ToServer),
            (10, ToServer),
            (11, ToServer),
            (13, ToServer),
            (15, ToServer),
        ]
    );
    // No certificate (TLS 1.3): the certificate buffers do not exist.
    let mut no_cert = sample_tls();
    no_cert.server_certificate = None;
    no_cert.certificates.clear();
    let sids: Vec<u32> = tls_alerts(&rs, &no_cert).iter().map(|a| a.0).collect();
    assert_eq!(sids, vec![1, 7, 8, 10, 11, 13, 15]);
}

#[test]
fn http_rules_alone_make_no_tls_group() {
    let rs = set("alert http any any -> any any (http.uri; content:\"/\"; sid:1;)\n");
    assert!(!rs.has_tls_rules());
    assert!(tls_alerts(&rs, &sample_tls()).is_empty());
}

/// Rules without a fast pattern that share `dsize` and `flags` are checked against a packet
/// once for all of them; every one of them still alerts when they hold, and a rule with other
/// conditions is not held back by theirs.
#[test]
fn rules_without_fast_patterns_grouped_by_cheap_conditions() {
    let mut text = String::new();
    for sid in 1..=5 {
        text.push_str(&format!(
            "alert tcp any any -> any any (flags:+S; dsize:>0; sid:{sid};)\n"
        ));
    }
    text.push_str("alert tcp any any -> any any (dsize:>0; sid:6;)\n");
    text.push_str("alert tcp any any -> any any (flags:+S; dsize:>0; flow:to_client; sid:7;)\n");
    let rs = set(&text);
    let run = |flags: Option<u8>, data: &[u8]| payload_sids(&rs, data, flags, None);
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    assert_eq!(run(Some(SYN), b"data"), [1, 2, 3, 4, 5, 6]);
    assert_eq!(run(Some(ACK), b"data"), [6]);
    assert_eq!(run(Some(SYN), b""), Vec::<u32>::new());
    assert_eq!(run(None, b"data"), [6]);
    let groups: Vec<usize> = rs.payload.always.iter().map(|a| a.rules.len()).collect();
    assert_eq!(groups, [6, 1], "sid 7 shares the cheap conditions of 1-5");
}

#[test]
fn xbits_kept_per_captured_value_across_flows() {
    // The setter remembers the path segment before '~' of the cookie ("x"); one reader asks
    // for the uri's file stem ("y": not remembered), the other for the cookie name's first
    // letter ("X": the same value without case).
    let rs = set(concat!(
        "alert http any any -> any any (flow:to_server; http.cookie; pcre:\"/\\/(?P<f>[a-z]+)~/\"; xbits:set,w,track ip_dst,expire 60,value f; noalert; sid:1;)\n",
        "alert http any any -> any any (flow:to_server; http.uri; pcre:\"/\\/(?P<g>[^\\/?]+)\\.js/\"; xbits:isset,w,track ip_dst,value g; sid:2;)\n",
        "alert http any any -> any any (flow:to_server; http.cookie; pcre:\"/(?P<g>X)-BE/\"; xbits:isset,w,track ip_dst,value g; sid:3;)\n",
    ));
    let mut tx = sample_tx();
    tx.response = None;
    let mut shared = CrossFlowState::new();
    // The setter runs before the readers of the same request (setters first), so the
    // matching reader fires at once, and again on another flow to the same server.
    assert_eq!(
        inspect_settled(&rs, &meta(), &tx, &mut shared, t(10)),
        vec![3]
    );
    assert_eq!(
        inspect_settled(&rs, &meta(), &tx, &mut shared, t(20)),
        vec![3]
    );
    let server = meta().server_ip;
    assert!(shared.xbit_is_set(0, XbitKey::HostValue(server, value_hash(b"X")), t(20)));
    assert!(!shared.xbit_is_set(0, XbitKey::Host(server), t(20)));
    // Another server: nothing remembered for it.
    let other: IpAddr = "192.0.2.77".parse().unwrap();
    assert!(!shared.xbit_is_set(0, XbitKey::HostValue(other, value_hash(b"x")), t(20)));
    // Without the setter's request, the reader alone finds nothing remembered.
    let readers = set(
        "alert http any any -> any any (flow:to_server; http.cookie; pcre:\"/(?P<g>X)-BE/\"; xbits:isset,w,track ip_dst,value g; sid:3;)\n",
    );
    assert!(inspect_settled(&readers, &meta(), &tx, &mut CrossFlowState::new(), t(30)).is_empty());
}

#[test]
fn xbits_value_needs_a_group_of_that_name() {
    let err = RuleSet::from_text(
        "alert http any any -> any any (http.uri; pcre:\"/(?P<a>x)/\"; xbits:isset,w,track ip_dst,value b; sid:9;)",
        &LoadOptions::default(),
        DetectConfig::default(),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("xbits value `b`"), "{err}");
}

/// A buffer built to hit the probe everywhere (one prefix repeated) makes confirming hit by
/// hit too dear: the automaton takes over for the rest, and finds what confirming would have.
/// Case-sensitive patterns still need their case there, `nocase` ones do not.
#[test]
fn a_buffer_full_of_hits_finds_the_same_rules() {
    let rules = concat!(
        "alert http any any -> any any (http.request_body; content:\"aaab\"; sid:1;)\n",
        "alert http any any -> any any (http.request_body; content:\"AAAC\"; nocase; sid:2;)\n",
        "alert http any any -> any any (http.request_body; content:\"aaad\"; sid:3;)\n",
        "alert http any any -> any any (http.request_body; content:\"aaaE\"; sid:4;)\n",
        "alert http any any -> any any (http.request_body; content:\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaX\"; sid:5;)\n",
        "alert http any any -> any any (http.request_body; content:\"qaaa\"; nocase; sid:6;)\n",
    );
    let rs = set(rules);
    let mut tx = sample_tx();
    for (head, tail, want) in [
        ("Q", "aaab aaAc AAAE", vec![1, 2, 6]),
        ("", "aaaaX", vec![5]),
        ("", "AAAB aaae", vec![]),
    ] {
        let mut body = head.as_bytes().to_vec();
        body.extend(std::iter::repeat_n(b'a', 20_000));
        body.extend_from_slice(tail.as_bytes());
        tx.request.body = body;
        assert_eq!(sids(&rs, &tx), want, "{tail}");
        // Short: confirmed hit by hit.
        let mut short = head.as_bytes().to_vec();
        short.extend(std::iter::repeat_n(b'a', 80));
        short.extend_from_slice(tail.as_bytes());
        tx.request.body = short;
        assert_eq!(sids(&rs, &tx), want, "short {tail}");
    }
}

/// Prefixes that are few in every spelling they match are probed in the buffer as it is; the
/// others in the lower-cased buffer. Both find the same rules.
#[test]
fn probes_of_the_buffer_as_it_is_and_lower_cased_agree() {
    // Case-sensitive prefixes: one spelling each.
    let exact = set(concat!(
        "alert http any any -> any any (http.request_body; content:\"ASPX Shell\"; sid:1;)\n",
        "alert http any any -> any any (http.request_body; content:\"<%@ Page\"; sid:2;)\n",
    ));
    assert!(exact.request.prefilters.iter().all(|p| !p.fold));
    // Many nocase prefixes: 16 spellings each, too many.
    let mut text = String::new();
    for (i, w) in ["aspx", "shel", "page", "eval", "exec"].iter().enumerate() {
        text.push_str(&format!(
            "alert http any any -> any any (http.request_body; content:\"{w}\"; nocase; sid:{};)\n",
            i + 10
        ));
    }
    let folded = set(&text);
    assert!(folded.request.prefilters.iter().all(|p| p.fold));
    let mut tx = sample_tx();
    tx.request.body = b"x ASPX Shell <%@ Page aspx shell".to_vec();
    assert_eq!(sids(&exact, &tx), vec![1, 2]);
    assert_eq!(sids(&folded, &tx), vec![10, 11, 12]);
    tx.request.body = b"x aspx shell <%@ page EXEC".to_vec();
    assert_eq!(sids(&exact, &tx), Vec::<u32>::new());
    assert_eq!(sids(&folded, &tx), vec![10, 11, 12, 14]);
}

#[test]
fn payload_inspection_is_left_out_only_where_no_rule_can_hold() {
    let syn_data = set(
        "alert tcp any any -> any any (msg:\"SYN with data\"; flags:S; dsize:>0; sid:1;)\n\
         alert tcp any any -> any any (msg:\"big\"; flags:A; dsize:>1000; sid:2;)",
    );
    let content = set("alert tcp any any -> any any (content:\"GET\"; sid:3;)");
    let bare = set("alert tcp any any -> any any (flow:established; sid:4;)");
    let (syn, ack, syn_ack) = (0x02u8, 0x10u8, 0x12u8);
    for len in [0usize, 1, 3, 1001] {
        let packet = vec![b'G'; len];
        for flags in [None, Some(syn), Some(ack), Some(syn_ack)] {
            for rs in [&syn_data, &content, &bare] {
                let mut w = WorkerDetectState::new();
                let skipped = rs.skip_payload(&mut w, len, flags);
                // Counted as inspected either way.
                assert_eq!(w.stats.payloads, u64::from(skipped));
                if skipped {
                    assert_eq!(payload_sids(rs, &packet, flags, None), Vec::<u32>::new());
                    assert_eq!(
                        payload_sids(rs, &packet, flags, Some(&packet)),
                        Vec::<u32>::new()
                    );
                }
            }
            let mut w = WorkerDetectState::new();
            // Rules with a fast pattern, or with no cheap condition, are always inspected.
            assert!(!content.skip_payload(&mut w, len, flags));
            assert!(!bare.skip_payload(&mut w, len, flags));
            // The SYN-with-data rules are left out but for a SYN with data or a big ACK (`S`
            // and `A` ask for that flag alone), where they alert.
            let may = (len > 0 && flags == Some(syn)) || (len > 1000 && flags == Some(ack));
            assert_eq!(
                !syn_data.skip_payload(&mut w, len, flags),
                may,
                "{len} {flags:?}"
            );
            assert_eq!(
                payload_sids(&syn_data, &packet, flags, None).is_empty(),
                !may
            );
        }
    }
    assert_eq!(payload_sids(&syn_data, b"x", Some(syn), None), vec![1]);
}
