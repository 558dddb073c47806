//! Parser tests: every keyword, every error path, real rule files, and a print/parse round
//! trip over generated rules.

use std::path::PathBuf;

use proptest::prelude::*;

use super::*;
use crate::detect::rule::flow::{BitCmd, BitGroup, FlowDirection, FlowState, XbitsTrack};
use crate::detect::rule::loader::{load_file, LoadOptions};
use crate::detect::rule::size::UriKind;
use crate::detect::rule::threshold::{ThresholdType, Track};
use crate::detect::rule::{IpNet, Pcre, PcreFlags, PortRange};

fn rule(text: &str) -> Rule {
    match parse_rule(text) {
        Ok(r) => r,
        Err(e) => panic!("{text}: {e:?}"),
    }
}

fn err(text: &str) -> ParseError {
    match parse_rule(text) {
        Ok(r) => panic!("{text} parsed: {r:?}"),
        Err(e) => e,
    }
}

fn opts(body: &str) -> Rule {
    rule(&format!("alert http any any -> any any ({body})"))
}

fn opts_err(body: &str) -> ParseError {
    err(&format!("alert http any any -> any any ({body})"))
}

fn items(r: &Rule) -> Vec<&MatchItem> {
    r.match_items().collect()
}

fn content(m: &MatchItem) -> &Content {
    match &m.kind {
        MatchKind::Content(c) => c,
        other => panic!("not a content: {other:?}"),
    }
}

fn round_trip(r: &Rule) {
    let printed = r.to_string();
    let again = parse_rule(&printed).unwrap_or_else(|e| panic!("{printed}: {e:?}"));
    assert_eq!(&again, r, "{printed}");
}

#[test]
fn header() {
    let r = rule("drop tcp [$HOME_NET,!10.0.0.1] 1024: <> !$EXTERNAL_NET [80,443] (sid:1;)");
    assert_eq!(r.action, Action::Drop);
    assert_eq!(r.protocol, Protocol::Tcp);
    assert_eq!(r.direction, Direction::Both);
    assert_eq!(
        r.src_ports,
        PortSpec::One(PortRange {
            lo: 1024,
            hi: u16::MAX
        })
    );
    assert_eq!(r.src.to_string(), "[$HOME_NET,!10.0.0.1]");
    assert_eq!(r.dst.to_string(), "!$EXTERNAL_NET");
    round_trip(&r);
    assert_eq!(
        rule("pass ip any any -> any any (sid:1;)").action,
        Action::Pass
    );
    assert_eq!(
        rule("reject http1 any any -> any any (sid:1;)").protocol,
        Protocol::Http
    );
    let r = rule("alert ip [2001:db8::/32, 10.0.0.0/8] :80 -> any 80:90 (sid:1;)");
    round_trip(&r);
}

#[test]
fn header_errors() {
    for (text, needle) in [
        ("log ip any any -> any any (sid:1;)", "unsupported action"),
        (
            "alert smb any any -> any any (sid:1;)",
            "unsupported protocol",
        ),
        ("alert ip any any <- any any (sid:1;)", "invalid direction"),
        (
            "alert ip any any => any any (sid:1;)",
            "unsupported direction",
        ),
        ("alert ip any -> any any (sid:1;)", "7 words"),
        ("alert ip any any -> any any any (sid:1;)", "7 words"),
        ("alert ip 1.2.3 any -> any any (sid:1;)", "invalid IP"),
        ("alert ip any 99999 -> any any (sid:1;)", "invalid port"),
        ("alert ip any any -> any any sid:1;", "missing `(`"),
    ] {
        let e = err(text);
        assert!(e.message.contains(needle), "{text}: {e:?}");
        assert!(e.keyword.is_none());
    }
    // The error points at the bad word.
    let text = "alert ip any 99999 -> any any (sid:1;)";
    assert_eq!(err(text).offset, text.find("99999").unwrap());
}

#[test]
fn meta_keywords() {
    let r = opts(
        r#"msg:"ET \"x\" \; y"; sid:2033754; rev:4; gid:3; classtype:attempted-admin; priority:2; reference:url,github.com/x; reference:cve,2021-27065; metadata:attack_target Server, created_at 2021_08_20; metadata:tag Exploit; target:dest_ip;"#,
    );
    assert_eq!(r.msg(), r#"ET "x" ; y"#);
    assert_eq!((r.sid(), r.rev(), r.gid()), (2033754, 4, 3));
    assert_eq!(r.classtype(), Some("attempted-admin"));
    assert_eq!(r.priority(), Some(2));
    let refs: Vec<String> = r.references().map(|r| r.to_string()).collect();
    assert_eq!(refs, vec!["url,github.com/x", "cve,2021-27065"]);
    let md: Vec<&(String, String)> = r.metadata().collect();
    assert_eq!(md.len(), 3);
    assert_eq!(md[2], &("tag".to_string(), "Exploit".to_string()));
    assert!(r.options.contains(&RuleOption::Target(Target::DestIp)));
    round_trip(&r);
    let r = opts("sid:5;");
    assert_eq!((r.gid(), r.rev(), r.msg(), r.classtype()), (1, 0, "", None));
}

#[test]
fn meta_errors() {
    for (body, kw, needle) in [
        ("msg:x; sid:1;", "msg", "double quotes"),
        ("sid:0;", "sid", "greater than 0"),
        ("sid:x;", "sid", "invalid number"),
        ("sid:1; sid:2;", "sid", "given twice"),
        ("msg:\"a\"; msg:\"b\"; sid:1;", "msg", "given twice"),
        ("rev:-1; sid:1;", "rev", "invalid number"),
        ("priority:0; sid:1;", "priority", "out of range"),
        ("classtype:a b; sid:1;", "classtype", "invalid classtype"),
        ("reference:cve; sid:1;", "reference", "system,id"),
        ("metadata:a,,b; sid:1;", "metadata", "empty"),
        ("target:both; sid:1;", "target", "invalid target"),
        ("sid;", "sid", "needs a value"),
        ("noalert:1; sid:1;", "noalert", "takes no value"),
    ] {
        let e = opts_err(body);
        assert_eq!(e.keyword.as_deref(), Some(kw), "{body}: {e:?}");
        assert!(e.message.contains(needle), "{body}: {e:?}");
    }
    let e = opts_err("msg:\"x\";");
    assert_eq!(e.message, "missing sid");
    let e = opts_err("bogus_kw; sid:1;");
    assert_eq!(
        (e.keyword.as_deref(), e.message.as_str()),
        (Some("bogus_kw"), "unknown keyword")
    );
    let e = opts_err("content:\"a\"; byte_jump:4,0; sid:1;");
    assert_eq!(e.message, "unsupported keyword");
    let body = "content:\"a\"; byte_jump:4,0; sid:1;";
    let text = format!("alert http any any -> any any ({body})");
    assert_eq!(err(&text).offset, text.find("byte_jump").unwrap());
}

#[test]
fn content_and_modifiers() {
    let r = opts(
        r#"content:!"a|3a 20|b"; nocase; depth:10; offset:2; content:"xyz"; distance:-1; within:5; rawbytes; content:"GET"; startswith; content:".php"; endswith; fast_pattern; sid:1;"#,
    );
    let it = items(&r);
    assert_eq!(it.len(), 4);
    let c = content(it[0]);
    assert_eq!(c.pattern, b"a: b");
    assert!(c.negated && c.nocase);
    assert_eq!((c.depth, c.offset), (Some(10), Some(2)));
    let c = content(it[1]);
    assert_eq!((c.distance, c.within), (Some(-1), Some(5)));
    assert!(content(it[2]).startswith);
    let c = content(it[3]);
    assert!(c.endswith);
    assert_eq!(c.fast_pattern, Some(FastPattern::Plain));
    for m in &it {
        assert_eq!(m.buffer, BufferRef::payload());
    }
    round_trip(&r);
    let r = opts(r#"content:"abcdef"; fast_pattern:only; sid:1;"#);
    assert_eq!(content(items(&r)[0]).fast_pattern, Some(FastPattern::Only));
    round_trip(&r);
    let r = opts(r#"content:"abcdef"; fast_pattern:2,3; sid:1;"#);
    assert_eq!(content(items(&r)[0]).fast_pattern_bytes(), b"cde");
    round_trip(&r);
}

#[test]
fn content_errors() {
    for (body, kw, needle) in [
        ("nocase; sid:1;", "nocase", "preceding content"),
        (
            "content:\"ab\"; depth:1; sid:1;",
            "content",
            "smaller than the content",
        ),
        ("content:\"ab\"; within:1; sid:1;", "content", "within"),
        (
            "content:\"ab\"; depth:0; sid:1;",
            "content",
            "greater than 0",
        ),
        ("content:\"ab\"; depth:4; depth:5; sid:1;", "depth", "twice"),
        ("content:\"ab\"; nocase; nocase; sid:1;", "nocase", "twice"),
        (
            "content:\"ab\"; startswith; offset:1; sid:1;",
            "content",
            "startswith",
        ),
        (
            "content:\"ab\"; distance:0; offset:1; sid:1;",
            "content",
            "relative",
        ),
        (
            "content:\"ab\"; distance:x; sid:1;",
            "distance",
            "invalid number",
        ),
        (
            "content:\"ab\"; offset:-1; sid:1;",
            "offset",
            "invalid number",
        ),
        (
            "content:\"ab\"; within:2000000; sid:1;",
            "within",
            "out of range",
        ),
        (
            "content:\"ab\"; fast_pattern; content:\"cd\"; fast_pattern; sid:1;",
            "content",
            "once",
        ),
        (
            "content:\"ab\"; fast_pattern:0,3; sid:1;",
            "content",
            "past the content",
        ),
        (
            "content:!\"ab\"; fast_pattern:only; sid:1;",
            "content",
            "fast_pattern:only",
        ),
        (
            "content:\"ab\"; fast_pattern:sometimes; sid:1;",
            "fast_pattern",
            "invalid value",
        ),
        ("content:ab; sid:1;", "content", "double quotes"),
        ("content:\"a|4|\"; sid:1;", "content", "hex"),
        ("content:\"a|zz|\"; sid:1;", "content", "hex"),
        ("content:\"a|41\"; sid:1;", "content", "unterminated"),
        ("content:\"a\\x\"; sid:1;", "content", "invalid escape"),
        ("content:\"\"; sid:1;", "content", "empty content"),
        ("content; sid:1;", "content", "needs a value"),
        (
            "content:\"ab\"; endswith:1; sid:1;",
            "endswith",
            "takes no value",
        ),
    ] {
        let e = opts_err(body);
        assert_eq!(e.keyword.as_deref(), Some(kw), "{body}: {e:?}");
        assert!(e.message.contains(needle), "{body}: {e:?}");
    }
}

#[test]
fn sticky_buffers_and_legacy_modifiers_agree() {
    let sticky = opts(
        r#"http.uri; content:"/ecp/"; http.cookie; content:"X-BEResource="; http.request_body; content:"a"; pkt_data; content:"b"; sid:1;"#,
    );
    let legacy = opts(
        r#"content:"/ecp/"; http_uri; content:"X-BEResource="; http_cookie; content:"a"; http_client_body; content:"b"; sid:1;"#,
    );
    assert_eq!(sticky, legacy);
    let bufs: Vec<Buffer> = items(&sticky).iter().map(|m| m.buffer.buffer).collect();
    assert_eq!(
        bufs,
        vec![
            Buffer::HttpUri,
            Buffer::HttpCookie,
            Buffer::HttpRequestBody,
            Buffer::Payload
        ]
    );
    round_trip(&sticky);
    let u = opts(r#"uricontent:"one"; content:"x"; sid:1;"#);
    assert_eq!(items(&u)[0].buffer.buffer, Buffer::HttpUri);
    assert_eq!(items(&u)[1].buffer.buffer, Buffer::Payload);
}

#[test]
fn every_buffer_keyword() {
    let sticky = [
        ("http.uri", Buffer::HttpUri),
        ("http.uri.raw", Buffer::HttpUriRaw),
        ("http.method", Buffer::HttpMethod),
        ("http.protocol", Buffer::HttpProtocol),
        ("http_protocol", Buffer::HttpProtocol),
        ("http.request_line", Buffer::HttpRequestLine),
        ("http_request_line", Buffer::HttpRequestLine),
        ("http.header", Buffer::HttpHeader),
        ("http.header.raw", Buffer::HttpHeaderRaw),
        ("http.header_names", Buffer::HttpHeaderNames),
        ("http_header_names", Buffer::HttpHeaderNames),
        ("http.cookie", Buffer::HttpCookie),
        ("http.user_agent", Buffer::HttpUserAgent),
        ("http.host", Buffer::HttpHost),
        ("http.host.raw", Buffer::HttpHostRaw),
        ("http.referer", Buffer::HttpReferer),
        ("http_referer", Buffer::HttpReferer),
        ("http.content_type", Buffer::HttpContentType),
        ("http_content_type", Buffer::HttpContentType),
        ("http.content_len", Buffer::HttpContentLen),
        ("http.accept", Buffer::HttpAccept),
        ("http_accept", Buffer::HttpAccept),
        ("http.accept_enc", Buffer::HttpAcceptEnc),
        ("http.accept_lang", Buffer::HttpAcceptLang),
        ("http.connection", Buffer::HttpConnection),
        ("http.request_body", Buffer::HttpRequestBody),
        ("http.stat_code", Buffer::HttpStatCode),
        ("http.stat_msg", Buffer::HttpStatMsg),
        ("http.response_line", Buffer::HttpResponseLine),
        ("http_response_line", Buffer::HttpResponseLine),
        ("http.response_body", Buffer::HttpResponseBody),
        ("file.data", Buffer::FileData),
        ("file_data", Buffer::FileData),
        ("http.server", Buffer::HttpServer),
        ("http.location", Buffer::HttpLocation),
        ("http.start", Buffer::HttpStart),
        ("http_start", Buffer::HttpStart),
        ("http.request_header", Buffer::HttpRequestHeader),
        ("http.response_header", Buffer::HttpResponseHeader),
    ];
    for (kw, b) in sticky {
        let r = opts(&format!("{kw}; content:\"abc\"; sid:1;"));
        assert_eq!(items(&r)[0].buffer.buffer, b, "{kw}");
        round_trip(&r);
    }
    let legacy = [
        ("http_uri", Buffer::HttpUri),
        ("http_raw_uri", Buffer::HttpUriRaw),
        ("http_method", Buffer::HttpMethod),
        ("http_cookie", Buffer::HttpCookie),
        ("http_header", Buffer::HttpHeader),
        ("http_raw_header", Buffer::HttpHeaderRaw),
        ("http_client_body", Buffer::HttpRequestBody),
        ("http_server_body", Buffer::HttpResponseBody),
        ("http_stat_code", Buffer::HttpStatCode),
        ("http_stat_msg", Buffer::HttpStatMsg),
        ("http_user_agent", Buffer::HttpUserAgent),
        ("http_host", Buffer::HttpHost),
        ("http_raw_host", Buffer::HttpHostRaw),
    ];
    for (kw, b) in legacy {
        let r = opts(&format!("content:\"abc\"; {kw}; sid:1;"));
        assert_eq!(items(&r)[0].buffer.buffer, b, "{kw}");
        round_trip(&r);
    }
    let r = rule(r#"alert dns any any -> any any (dns.query; content:"x"; sid:1;)"#);
    assert_eq!(items(&r)[0].buffer.buffer, Buffer::DnsQuery);
    round_trip(&r);
}

#[test]
fn buffer_errors() {
    for (body, kw, needle) in [
        ("http.uri; sid:1;", "http.uri", "not followed"),
        (
            "http.uri; http.header; content:\"a\"; sid:1;",
            "http.uri",
            "not followed",
        ),
        ("http_uri; sid:1;", "http_uri", "preceding content"),
        (
            "http.uri; content:\"a\"; http_header; sid:1;",
            "http_header",
            "already has a buffer",
        ),
        (
            "content:\"a\"; http_uri; http_header; sid:1;",
            "http_header",
            "already has a buffer",
        ),
        ("http.uri; uricontent:\"a\"; sid:1;", "uricontent", "sticky"),
        (
            "http.uri:1; content:\"a\"; sid:1;",
            "http.uri",
            "takes no value",
        ),
        (
            "base64_data; content:\"a\"; sid:1;",
            "base64_data",
            "base64_decode",
        ),
        (
            "http.host; content:\"ABC\"; sid:1;",
            "content",
            "lower case",
        ),
        (
            "http.uri; content:\"a\"; http.stat_code; content:\"200\"; sid:1;",
            "content",
            "mixes request and response",
        ),
        (
            "flow:to_server; http.stat_code; content:\"200\"; sid:1;",
            "content",
            "conflicts",
        ),
        ("flow:to_client; urilen:5; sid:1;", "urilen", "conflicts"),
        (
            "flow:to_server; file_data; content:\"a\"; sid:1;",
            "content",
            "conflicts",
        ),
        (
            "http.uri; content:\"a\"; dsize:5; sid:1;",
            "dsize",
            "HTTP buffers",
        ),
        (
            "http.request_header; content:\"ab\"; fast_pattern:only; sid:1;",
            "content",
            "only",
        ),
    ] {
        let e = opts_err(body);
        assert_eq!(e.keyword.as_deref(), Some(kw), "{body}: {e:?}");
        assert!(e.message.contains(needle), "{body}: {e:?}");
    }
    let e = err(r#"alert http any any -> any any (dns.query; content:"a"; sid:1;)"#);
    assert!(e.message.contains("dns rule"));
    let e = err(r#"alert dns any any -> any any (http.uri; content:"a"; sid:1;)"#);
    assert!(e.message.contains("dns rule"));
    // nocase makes an upper-case http.host pattern fine.
    opts("http.host; content:\"ABC\"; nocase; sid:1;");
    // A sticky buffer resets what modifiers apply to.
    let e = opts_err("content:\"a\"; http.uri; nocase; sid:1;");
    assert_eq!(e.keyword.as_deref(), Some("nocase"));
}

#[test]
fn transforms() {
    let r = opts(
        r#"file_data; url_decode; to_lowercase; content:"a b"; http.header; strip_whitespace; compress_whitespace; to_uppercase; content:"X"; sid:1;"#,
    );
    let it = items(&r);
    assert_eq!(
        it[0].buffer.transforms,
        vec![Transform::UrlDecode, Transform::ToLowercase]
    );
    assert_eq!(
        it[1].buffer.transforms,
        vec![
            Transform::StripWhitespace,
            Transform::CompressWhitespace,
            Transform::ToUppercase
        ]
    );
    round_trip(&r);
    // Going back to the untransformed buffer.
    let r = opts(r#"http.uri; url_decode; content:"a"; http.uri; content:"b"; sid:1;"#);
    let it = items(&r);
    assert_eq!(it[1].buffer, BufferRef::plain(Buffer::HttpUri));
    round_trip(&r);
    for (body, kw, needle) in [
        (
            "url_decode; content:\"a\"; sid:1;",
            "url_decode",
            "sticky buffer",
        ),
        (
            "pkt_data; url_decode; content:\"a\"; sid:1;",
            "url_decode",
            "sticky buffer",
        ),
        (
            "http.uri; content:\"a\"; url_decode; sid:1;",
            "url_decode",
            "directly follow",
        ),
        (
            "http.uri; dotprefix; content:\"a\"; sid:1;",
            "dotprefix",
            "unsupported",
        ),
        (
            "http.uri; to_md5; content:\"a\"; sid:1;",
            "to_md5",
            "unsupported",
        ),
        (
            "http.uri; url_decode:1; content:\"a\"; sid:1;",
            "url_decode",
            "takes no value",
        ),
    ] {
        let e = opts_err(body);
        assert_eq!(e.keyword.as_deref(), Some(kw), "{body}: {e:?}");
        assert!(e.message.contains(needle), "{body}: {e:?}");
    }
}

#[test]
fn pcre_keyword() {
    let r = opts(
        r#"content:"Backdoor="; http_cookie; pcre:"/^[a-f0-9]{32}/R"; pcre:!"/x/iU"; pcre:/\.\/a/I; sid:1;"#,
    );
    let it = items(&r);
    assert_eq!(it[1].buffer.buffer, Buffer::Payload);
    let MatchKind::Pcre(p) = &it[1].kind else {
        panic!()
    };
    assert!(p.flags.relative);
    assert_eq!(it[2].buffer.buffer, Buffer::HttpUri);
    let MatchKind::Pcre(p) = &it[2].kind else {
        panic!()
    };
    assert!(p.negated && p.flags.caseless);
    assert_eq!(it[3].buffer.buffer, Buffer::HttpUriRaw);
    round_trip(&r);
    // A sticky buffer applies to a pcre without a letter.
    let r = opts(r#"http.request_body; pcre:"/\b(fromcharcode|alert|eval)\s*/Pi"; sid:1;"#);
    assert_eq!(items(&r)[0].buffer.buffer, Buffer::HttpRequestBody);
    let r = opts(r#"http.cookie; pcre:"/x/"; sid:1;"#);
    assert_eq!(items(&r)[0].buffer.buffer, Buffer::HttpCookie);
    round_trip(&r);
    for (body, needle) in [
        (r#"pcre:"/(a)\1/"; sid:1;"#, "back-reference"),
        (r#"pcre:"/a(?!b)/"; sid:1;"#, "look-ahead"),
        (r#"pcre:"/a/Lq"; sid:1;"#, "flag"),
        (r#"pcre:"abc"; sid:1;"#, "/regex/flags"),
        (r#"pcre:"/a[/"; sid:1;"#, "not supported"),
    ] {
        let e = opts_err(body);
        assert_eq!(e.keyword.as_deref(), Some("pcre"), "{body}");
        assert!(e.message.contains(needle), "{body}: {e:?}");
    }
}

#[test]
fn sizes() {
    let r = opts(
        r#"http.uri; content:"a"; bsize:>600; isdataat:!10,relative; urilen:3<>20,raw; sid:1;"#,
    );
    let it = items(&r);
    assert_eq!(it[1].kind, MatchKind::Bsize(IntCmp::Gt(600)));
    assert_eq!(it[1].buffer.buffer, Buffer::HttpUri);
    let MatchKind::Isdataat(i) = it[2].kind else {
        panic!()
    };
    assert!(i.negated && i.relative && i.pos == 10);
    let u = r
        .options
        .iter()
        .find_map(|o| match o {
            RuleOption::Urilen(u) => Some(*u),
            _ => None,
        })
        .unwrap();
    assert_eq!((u.cmp, u.kind), (IntCmp::Range(3, 20), UriKind::Raw));
    round_trip(&r);
    // A relative isdataat after uricontent belongs to the URI, not to the payload.
    let r = opts(r#"uricontent:"fix_this"; isdataat:!10,relative; isdataat:3; sid:1;"#);
    let it = items(&r);
    assert_eq!(it[1].buffer, it[0].buffer);
    assert_eq!(it[2].buffer.buffer, Buffer::Payload);
    round_trip(&r);
    let r = rule("alert tcp any any -> any any (dsize:<=100; isdataat:5; sid:1;)");
    assert!(r.options.contains(&RuleOption::Dsize(IntCmp::Le(100))));
    round_trip(&r);
    let r = opts("http.user_agent; bsize: 0; sid:1;");
    assert_eq!(items(&r)[0].kind, MatchKind::Bsize(IntCmp::Eq(0)));
    for (body, kw) in [
        ("bsize:5; sid:1;", "bsize"),
        ("http.uri; bsize:x; sid:1;", "bsize"),
        ("dsize:70000; sid:1;", "dsize"),
        ("urilen:5,huh; sid:1;", "urilen"),
        ("isdataat:; sid:1;", "isdataat"),
        ("isdataat:5,backwards; sid:1;", "isdataat"),
        ("urilen:1; urilen:2; sid:1;", "urilen"),
    ] {
        assert_eq!(opts_err(body).keyword.as_deref(), Some(kw), "{body}");
    }
}

#[test]
fn flow_keywords() {
    let r = opts(
        "flow:established,from_server; flowbits:isset,a|b; flowbits:set,c; flowbits:noalert; xbits:set,ET.x,track ip_src,expire 30; sid:1;",
    );
    let f = r.flow().unwrap();
    assert_eq!(f.direction, Some(FlowDirection::ToClient));
    assert_eq!(f.state, Some(FlowState::Established));
    assert!(r.noalert());
    assert!(r.options.iter().any(|o| matches!(o,
        RuleOption::Flowbits(Flowbits::Cmd { cmd: BitCmd::IsSet, group: BitGroup::Any, names })
            if names.len() == 2)));
    assert!(r.options.iter().any(|o| matches!(o,
        RuleOption::Xbits(x) if x.track == XbitsTrack::IpSrc && x.expire == Some(30))));
    round_trip(&r);
    let r = opts("noalert; sid:1;");
    assert!(r.noalert());
    round_trip(&r);
    assert!(!opts("sid:1;").noalert());
    for (body, kw) in [
        ("flow:to_server,to_client; sid:1;", "flow"),
        ("flow:sideways; sid:1;", "flow"),
        ("flow:established; flow:to_server; sid:1;", "flow"),
        ("flowbits:set; sid:1;", "flowbits"),
        ("flowbits:set,a|b; sid:1;", "flowbits"),
        ("xbits:set,a; sid:1;", "xbits"),
        ("xbits:set,a,track tx; sid:1;", "xbits"),
    ] {
        assert_eq!(opts_err(body).keyword.as_deref(), Some(kw), "{body}");
    }
}

#[test]
fn rate_keywords() {
    let r = opts("threshold: type limit, track by_src, count 1, seconds 60; sid:1;");
    assert!(r.options.iter().any(|o| matches!(o,
        RuleOption::Threshold(t) if t.kind == ThresholdType::Limit && t.track == Track::BySrc)));
    round_trip(&r);
    let r = opts("detection_filter: track by_dst, count 5, seconds 10; sid:1;");
    round_trip(&r);
    for (body, kw) in [
        ("threshold: type limit; sid:1;", "threshold"),
        ("detection_filter: track by_dst; sid:1;", "detection_filter"),
        (
            "threshold: type limit, track by_src, count 1, seconds 60; detection_filter: track by_dst, count 5, seconds 10; sid:1;",
            "detection_filter",
        ),
    ] {
        assert_eq!(opts_err(body).keyword.as_deref(), Some(kw), "{body}");
    }
}

#[test]
fn base64_keywords() {
    let r = opts(
        r#"http.request_body; content:"<m:Data>"; base64_decode:bytes 300, offset 0, relative; base64_data; content:"<!DOCTYPE"; content:"SYSTEM"; distance:0; sid:1;"#,
    );
    let it = items(&r);
    assert_eq!(it[1].buffer.buffer, Buffer::HttpRequestBody);
    assert!(matches!(it[1].kind, MatchKind::Base64Decode(d) if d.bytes == Some(300) && d.relative));
    assert_eq!(it[2].buffer.buffer, Buffer::Base64Data);
    assert_eq!(it[3].buffer.buffer, Buffer::Base64Data);
    round_trip(&r);
    let r = opts(r#"content:"a"; base64_decode; base64_data; content:"x"; sid:1;"#);
    round_trip(&r);
    assert_eq!(
        opts_err(r#"content:"a"; base64_decode:bytes x; sid:1;"#)
            .keyword
            .as_deref(),
        Some("base64_decode")
    );
}

#[test]
fn http_side() {
    assert_eq!(
        opts(r#"http.uri; content:"a"; sid:1;"#).http_side(),
        BufferSide::Request
    );
    assert_eq!(
        opts(r#"http.stat_code; content:"2"; file_data; content:"a"; sid:1;"#).http_side(),
        BufferSide::Response
    );
    assert_eq!(
        opts(r#"http.cookie; content:"a"; sid:1;"#).http_side(),
        BufferSide::Both
    );
    assert_eq!(
        opts(r#"flow:to_client; http.cookie; content:"a"; sid:1;"#).http_side(),
        BufferSide::Response
    );
    assert!(rule(r#"alert tcp any any -> any any (content:"a"; http_uri; sid:1;)"#).is_http());
    assert!(!rule(r#"alert tcp any any -> any any (content:"a"; sid:1;)"#).is_http());
    assert!(rule(r#"alert tcp any any -> any any (urilen:5; sid:1;)"#).is_http());
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
fn et_open_exchange_rules_load_unchanged() {
    let Some(shared) = shared_dir() else { return };
    let path = shared.join("third-party/et-open-exchange.rules");
    let loaded = load_file(&path, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.rules.len(), 37);
    assert!(loaded.skipped.is_empty());
    for r in &loaded.rules {
        round_trip(&r.rule);
    }
    let r = loaded
        .rules
        .iter()
        .find(|r| r.rule.sid() == 2033754)
        .unwrap();
    assert_eq!(r.class.as_ref().unwrap().priority, 1);
    assert!(r.rule.msg().contains("ProxyLogon"));
}

#[test]
fn suricata_verify_rules_parse() {
    let Some(shared) = shared_dir() else { return };
    let dir = shared.join("conformance/suricata-verify");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let case = entry.unwrap().path();
        if !case.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&case).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "rules") {
                let loaded =
                    load_file(&f, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
                assert!(!loaded.rules.is_empty(), "{}", f.display());
                for r in &loaded.rules {
                    round_trip(&r.rule);
                }
                files += 1;
            }
        }
    }
    assert!(files >= 300, "only {files} rule files");
}

#[test]
fn hostile_rules_never_panic() {
    for s in [
        "",
        "alert",
        "alert http any any -> any any (",
        "alert http any any -> any any ()",
        "alert http any any -> any any (content:\"\\",
        "alert http any any -> any any (content:\"|\"; sid:1;)",
        "alert http any any -> any any (pcre:\"/\\\"; sid:1;)",
        "alert http any any -> any any (pcre:\"\"; sid:1;)",
        "alert http any any -> any any (content:\"é|41|\"; fast_pattern:65535,65535; sid:1;)",
        "alert http [[[[ any -> any any (sid:1;)",
        "alert http any any -> any any (msg:\"\u{1F600}\"; sid:1;)",
    ] {
        let _ = parse_rule(s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn parse_never_panics(s in "\\PC{0,120}") {
        let _ = parse_rule(&s);
    }

    #[test]
    fn print_parse_round_trip(r in arb_rule()) {
        let printed = r.to_string();
        let again = parse_rule(&printed);
        prop_assert!(again.is_ok(), "{} -> {:?}", printed, again);
        prop_assert_eq!(again.unwrap(), r);
    }
}

fn arb_addr() -> impl Strategy<Value = AddrSpec> {
    let leaf = prop_oneof![
        Just(AddrSpec::Any),
        Just(AddrSpec::Var("HOME_NET".into())),
        (any::<[u8; 4]>(), 0u8..=32).prop_map(|(a, p)| {
            AddrSpec::One(
                IpNet::parse(&format!("{}.{}.{}.{}/{p}", a[0], a[1], a[2], a[3])).unwrap(),
            )
        }),
        (any::<u128>(), 0u8..=128).prop_map(|(a, p)| {
            AddrSpec::One(IpNet::parse(&format!("{}/{p}", std::net::Ipv6Addr::from(a))).unwrap())
        }),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(AddrSpec::List),
            inner
                .prop_filter("no double !", |a| !matches!(a, AddrSpec::Not(_)))
                .prop_map(|a| AddrSpec::Not(Box::new(a))),
        ]
    })
}

fn arb_port() -> impl Strategy<Value = PortSpec> {
    let leaf = prop_oneof![
        Just(PortSpec::Any),
        Just(PortSpec::Var("HTTP_PORTS".into())),
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| PortSpec::One(PortRange {
            lo: a.min(b),
            hi: a.max(b),
        })),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(PortSpec::List),
            inner
                .prop_filter("no double !", |p| !matches!(p, PortSpec::Not(_)))
                .prop_map(|p| PortSpec::Not(Box::new(p))),
        ]
    })
}

fn arb_buffer() -> impl Strategy<Value = BufferRef> {
    let bufs: Vec<Buffer> = Buffer::ALL
        .iter()
        .copied()
        .filter(|b| {
            b.side() != BufferSide::Response
                && *b != Buffer::DnsQuery
                && *b != Buffer::Base64Data
                && !b.is_tls()
        })
        .collect();
    let transforms = prop::collection::vec(
        prop_oneof![
            Just(Transform::UrlDecode),
            Just(Transform::ToLowercase),
            Just(Transform::StripWhitespace),
            Just(Transform::CompressWhitespace),
            Just(Transform::JsonDecode),
            Just(Transform::XmlDecode),
            Just(Transform::FormDecode),
        ],
        0..3,
    );
    (prop::sample::select(bufs), transforms).prop_map(|(buffer, transforms)| BufferRef {
        transforms: if buffer == Buffer::Payload {
            Vec::new()
        } else {
            transforms
        },
        buffer,
    })
}

fn arb_content() -> impl Strategy<Value = Content> {
    (
        prop::collection::vec(any::<u8>(), 1..12),
        any::<bool>(),
        any::<bool>(),
        0u8..4,
        any::<bool>(),
        0u8..3,
    )
        .prop_map(|(pattern, negated, nocase, pos, endswith, fp)| {
            let len = pattern.len() as u32;
            let mut c = Content::new(pattern);
            c.negated = negated;
            c.nocase = nocase;
            match pos {
                0 => {}
                1 => {
                    c.depth = Some(len + 3);
                    c.offset = Some(2);
                }
                2 => {
                    c.distance = Some(-2);
                    c.within = Some(len as i32 + 5);
                }
                _ => c.startswith = true,
            }
            c.endswith = endswith;
            c.fast_pattern = match fp {
                1 if !negated => Some(FastPattern::Plain),
                2 if len >= 2 => Some(FastPattern::Chop(1, 1)),
                _ => None,
            };
            c
        })
}

fn arb_match() -> impl Strategy<Value = MatchItem> {
    let kind = prop_oneof![
        4 => arb_content().prop_map(MatchKind::Content),
        1 => (any::<bool>(), any::<bool>(), "[a-z0-9]{1,6}").prop_map(|(neg, rel, pat)| {
            MatchKind::Pcre(Pcre {
                pattern: format!("^{pat}\\/x\\;"),
                negated: neg,
                flags: PcreFlags { relative: rel, caseless: !rel, ..Default::default() },
            })
        }),
        1 => (any::<u16>(), any::<bool>(), any::<bool>()).prop_map(|(pos, negated, relative)| {
            MatchKind::Isdataat(Isdataat { pos: u32::from(pos), negated, relative })
        }),
    ];
    (arb_buffer(), kind).prop_map(|(buffer, kind)| MatchItem { buffer, kind })
}

fn arb_rule() -> impl Strategy<Value = Rule> {
    let header = (
        prop::sample::select(vec![
            Action::Alert,
            Action::Pass,
            Action::Drop,
            Action::Reject,
        ]),
        prop::sample::select(vec![Protocol::Http, Protocol::Tcp, Protocol::Ip]),
        arb_addr(),
        arb_port(),
        prop::sample::select(vec![Direction::OneWay, Direction::Both]),
        arb_addr(),
        arb_port(),
    );
    let meta = (
        1u32..u32::MAX,
        "[ -~]{0,20}",
        prop::option::of(0u32..10),
        prop::collection::vec(("[a-z_]{1,8}", "[A-Za-z0-9_ ]{0,8}"), 0..3),
        prop::option::of(prop::sample::select(vec![
            Flow {
                direction: Some(FlowDirection::ToServer),
                state: Some(FlowState::Established),
                stream: None,
            },
            Flow {
                direction: None,
                state: Some(FlowState::Stateless),
                stream: None,
            },
        ])),
        any::<bool>(),
    );
    (header, meta, prop::collection::vec(arb_match(), 0..6)).prop_map(
        |(
            (action, protocol, src, src_ports, direction, dst, dst_ports),
            (sid, msg, rev, md, flow, noalert),
            matches,
        )| {
            let mut options = vec![RuleOption::Msg(msg)];
            if let Some(f) = flow {
                options.push(RuleOption::Flow(f));
            }
            let mut fp_seen = false;
            for mut m in matches {
                if let MatchKind::Content(c) = &mut m.kind {
                    if c.fast_pattern.is_some() {
                        if fp_seen {
                            c.fast_pattern = None;
                        }
                        fp_seen = true;
                    }
                    if m.buffer.buffer == Buffer::HttpHost && m.buffer.transforms.is_empty() {
                        c.nocase = true;
                    }
                }
                options.push(RuleOption::Match(m));
            }
            let md: Vec<(String, String)> = md
                .into_iter()
                .map(|(k, v)| (k, v.split_whitespace().collect::<Vec<_>>().join(" ")))
                .collect();
            if !md.is_empty() {
                options.push(RuleOption::Metadata(md));
            }
            if noalert {
                options.push(RuleOption::Noalert);
            }
            options.push(RuleOption::Sid(sid));
            if let Some(r) = rev {
                options.push(RuleOption::Rev(r));
            }
            Rule {
                action,
                protocol,
                src,
                src_ports,
                direction,
                dst,
                dst_ports,
                options,
            }
        },
    )
}

#[test]
fn flags_and_app_layer_events() {
    let r = rule("alert tcp any any -> any any (flags:+S,CE; dsize:>0; sid:1;)");
    assert!(r.options.iter().any(|o| matches!(o, RuleOption::Flags(_))));
    round_trip(&r);
    let r = opts("app-layer-event:http.invalid_request_field_folding; sid:2;");
    assert!(r.is_http());
    assert_eq!(r.http_side(), BufferSide::Request);
    round_trip(&r);
    let e = opts_err("app-layer-event:http.made_up; sid:3;");
    assert!(e.message.contains("unknown HTTP event"), "{e:?}");
    let e = err("alert tcp any any -> any any (flags:S; http.uri; content:\"x\"; sid:4;)");
    assert_eq!(e.keyword.as_deref(), Some("flags"), "{e:?}");
    let e = opts_err("flags:S; sid:5;");
    assert!(e.message.contains("HTTP rule"), "{e:?}");
}

#[test]
fn tls_keywords() {
    let r = rule(
        "alert tls any any -> any 443 (tls.sni; content:\"mail\"; tls.certs; content:\"CA\"; \
         ja3.hash; content:\"ab\"; ja4.hash; content:\"t13\"; tls.version:1.3; sid:1;)",
    );
    assert_eq!(r.protocol, Protocol::Tls);
    assert!(r.is_tls() && !r.is_http());
    let bufs: Vec<Buffer> = items(&r).iter().map(|m| m.buffer.buffer).collect();
    assert_eq!(
        bufs,
        vec![
            Buffer::TlsSni,
            Buffer::TlsCerts,
            Buffer::Ja3Hash,
            Buffer::Ja4Hash
        ]
    );
    assert!(r.options.contains(&RuleOption::TlsVersion(0x0304)));
    // Printed and parsed again, the rule is the same.
    assert_eq!(rule(&r.to_string()), r);
    let a = rule("alert tcp any any -> any any (app-layer-protocol:tls; sid:2;)");
    assert!(a.is_tls());
    assert_eq!(rule(&a.to_string()), a);
    let v = rule("alert tls any any -> any any (tls.version:0x0303; sid:3;)");
    assert!(v.options.contains(&RuleOption::TlsVersion(0x0303)));
    assert!(rule("alert tcp any any -> any any (tls_sni; content:\"x\"; sid:4;)").is_tls());
}

#[test]
fn tls_keyword_errors() {
    let mixed = err(
        "alert tcp any any -> any any (tls.sni; content:\"a\"; http.uri; content:\"b\"; sid:1;)",
    );
    assert!(
        format!("{mixed:?}").contains("mixes TLS and HTTP"),
        "{mixed:?}"
    );
    let in_http = err("alert http any any -> any any (tls.sni; content:\"a\"; sid:1;)");
    assert!(
        format!("{in_http:?}").contains("TLS buffers"),
        "{in_http:?}"
    );
    err("alert tls any any -> any any (tls.version:1.9; sid:1;)");
    err("alert tls any any -> any any (app-layer-protocol:smb; sid:1;)");
    err("alert tls any any -> any any (app-layer-protocol:!tls; sid:1;)");
}
