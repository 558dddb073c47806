//! The benign side of a synthetic capture: the front ends, who the clients are (browsers on Outlook on the
//! web, Outlook desktops, phones, administrators with the Exchange Management Shell), the
//! headers and cookies real clients send, and, for `exhound synth`, what each kind of
//! connection carries and how big its answers are. Sizes follow what Exchange front ends
//! serve: most bytes are answers, OWA scripts, attachments and offline address books are
//! large, EWS and MAPI answers medium, ActiveSync and Autodiscover small.

use super::answer::{Answer, Framing};
use super::body::Body;
use super::rng::Rng;
use super::tcp::Request;
use super::text::{header, push_b64, push_b64url, push_guid, push_hex};

/// The Exchange front ends (TEST-NET-1 addresses).
pub const SERVERS: [[u8; 4]; 4] = [
    [192, 0, 2, 10],
    [192, 0, 2, 11],
    [192, 0, 2, 12],
    [192, 0, 2, 13],
];
/// The front ends' names, as they put them in `X-FEServer`.
pub const SERVER_NAMES: [&str; 4] = ["EXCH01", "EXCH02", "EXCH03", "EXCH04"];
/// Locally administered MAC of the router the clients come through.
pub const GATEWAY_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x01, 0x01];

/// Locally administered MAC of front end `i`.
pub const fn server_mac(i: usize) -> [u8; 6] {
    [0x02, 0x15, 0x5d, 0x00, 0x02, 10 + i as u8]
}

/// The kind of client software.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A browser on Outlook on the web (and ECP).
    Browser,
    /// Outlook for Windows (MAPI over HTTP, RPC over HTTP, EWS, Autodiscover, OAB).
    Outlook,
    /// A phone or tablet on ActiveSync.
    Phone,
}

/// One client machine of the pool.
#[derive(Debug, Clone)]
pub struct Client {
    /// Its IPv4 address.
    pub addr: [u8; 4],
    /// The last ephemeral port it used.
    pub next_port: u16,
    /// Its software.
    pub profile: Profile,
    /// Seeds the client's cookies, mailbox and device ids (the same on every request).
    pub secret: u64,
    /// Its user's number (`user<N>@example.com`).
    pub user: u64,
}

impl Client {
    /// Picks the source port of the client's next connection (ports go up by 1 to 4, and
    /// wrap in 49152-65000).
    pub fn open_port(&mut self, sched: &mut Rng) -> u16 {
        self.next_port = if self.next_port >= 65_000 {
            49_152
        } else {
            self.next_port + 1 + sched.below(4) as u16
        };
        self.next_port
    }
}

/// `n` clients (up to 4,096) at distinct addresses spread over 10.1.0.0/16 (never .0 or
/// .255): 40% browsers, 40% Outlook, 20% phones.
pub fn client_pool(sched: &mut Rng, n: usize) -> Vec<Client> {
    (0..n)
        .map(|i| {
            let host = (i as u32) * 16 + 1 + sched.below(14) as u32;
            let profile = match sched.below(10) {
                0..=3 => Profile::Browser,
                4..=7 => Profile::Outlook,
                _ => Profile::Phone,
            };
            Client {
                addr: [10, 1, (host >> 8) as u8, host as u8],
                next_port: sched.range(49_152, 65_000) as u16,
                profile,
                secret: sched.next_u64(),
                user: sched.range(1, 20_000),
            }
        })
        .collect()
}

/// Browsers on Outlook on the web.
pub const BROWSER_UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/89.0.4389.72 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36 Edg/88.0.705.81",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:86.0) Gecko/20100101 Firefox/86.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 11_2_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0.3 Safari/605.1.15",
];
/// Outlook for Windows.
pub const OUTLOOK_UAS: &[&str] = &[
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13801; Pro)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13628; Pro)",
    "Microsoft Office/16.0 (Windows NT 6.1; Microsoft Outlook 16.0.5122; Pro)",
];
/// ActiveSync clients.
pub const PHONE_UAS: &[&str] = &[
    "Apple-iPhone12C1/1804.49",
    "Apple-iPhone13C2/1805.230",
    "Android-Mail/2021.02.07.358126853.Release",
    "Outlook-iOS/709.2226530.prod.iphone (4.2104.0)",
];

/// Appends a Cookie header of a few hundred bytes, stable for the client.
pub fn cookie_header(out: &mut Vec<u8>, client: &Client) {
    let mut rng = Rng::new(client.secret);
    out.extend_from_slice(b"Cookie: ClientId=");
    push_hex(out, &mut rng, 32);
    match client.profile {
        Profile::Browser => {
            out.extend_from_slice(b"; PrivateComputer=true; PBack=0; cadata=");
            push_b64(out, &mut rng, 172);
            out.extend_from_slice(b"; cadataTTL=");
            push_b64(out, &mut rng, 24);
            out.extend_from_slice(b"; cadataKey=");
            push_b64(out, &mut rng, 44);
            out.extend_from_slice(b"; X-OWA-CANARY=");
            push_b64url(out, &mut rng, 76);
            out.extend_from_slice(b"; UC=");
            push_hex(out, &mut rng, 32);
            out.extend_from_slice(b"; AppcacheVer=15.2.986.5:en-usbase");
        }
        Profile::Outlook => {
            out.extend_from_slice(b"; MapiContext=");
            push_b64(out, &mut rng, 128);
            out.extend_from_slice(b"; MapiSequence=2-");
            push_hex(out, &mut rng, 8);
            out.extend_from_slice(b"; MapiRouting=");
            push_b64(out, &mut rng, 96);
            out.extend_from_slice(b"; OutlookSession=\"{");
            push_guid(out, &mut rng);
            out.extend_from_slice(b"}\"");
        }
        Profile::Phone => {
            out.extend_from_slice(b"; exchangecookie=");
            push_hex(out, &mut rng, 32);
            out.extend_from_slice(b"; TS01a9ed8a=");
            push_hex(out, &mut rng, 180);
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// The host name the client was configured with.
pub fn host_for(client: &Client) -> &'static str {
    if client.user % 5 == 0 {
        "outlook.example.com"
    } else {
        "mail.example.com"
    }
}

// ---------------------------------------------------------------------------------------
// The connections of `exhound synth`.

/// What a benign connection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConnKind {
    /// OWA start page and its scripts, style sheets, images and fonts.
    OwaPage,
    /// OWA `service.svc` JSON calls.
    OwaService,
    /// The OWA notification channel (`ev.owa2`, chunked).
    OwaNotify,
    /// An attachment downloaded in OWA.
    OwaAttachment,
    /// ECP (options) pages.
    Ecp,
    /// MAPI over HTTP (`/mapi/emsmdb`, `/mapi/nspi`).
    Mapi,
    /// EWS SOAP calls.
    Ews,
    /// Autodiscover (POX).
    Autodiscover,
    /// Offline address book: `oab.xml` and `.lzx` files.
    Oab,
    /// RPC over HTTP (Outlook Anywhere) out channel after its NTLM handshake.
    RpcHttp,
    /// Exchange Management Shell (WinRM SOAP to `/powershell`, Kerberos).
    ManagementShell,
    /// ActiveSync commands.
    ActiveSync,
}

impl ConnKind {
    /// Every kind, in order.
    pub const ALL: [ConnKind; 12] = [
        ConnKind::OwaPage,
        ConnKind::OwaService,
        ConnKind::OwaNotify,
        ConnKind::OwaAttachment,
        ConnKind::Ecp,
        ConnKind::Mapi,
        ConnKind::Ews,
        ConnKind::Autodiscover,
        ConnKind::Oab,
        ConnKind::RpcHttp,
        ConnKind::ManagementShell,
        ConnKind::ActiveSync,
    ];

    /// Short name, for summaries.
    pub fn name(self) -> &'static str {
        match self {
            ConnKind::OwaPage => "owa-page",
            ConnKind::OwaService => "owa-service",
            ConnKind::OwaNotify => "owa-notify",
            ConnKind::OwaAttachment => "owa-attachment",
            ConnKind::Ecp => "ecp",
            ConnKind::Mapi => "mapi",
            ConnKind::Ews => "ews",
            ConnKind::Autodiscover => "autodiscover",
            ConnKind::Oab => "oab",
            ConnKind::RpcHttp => "rpc-http",
            ConnKind::ManagementShell => "management-shell",
            ConnKind::ActiveSync => "activesync",
        }
    }

    /// The kinds a client of `profile` opens, with their weights (per hundred connections of
    /// that profile).
    fn weights(profile: Profile) -> &'static [(u64, ConnKind)] {
        match profile {
            Profile::Browser => &[
                (10, ConnKind::OwaPage),
                (60, ConnKind::OwaService),
                (15, ConnKind::OwaNotify),
                (4, ConnKind::OwaAttachment),
                (11, ConnKind::Ecp),
            ],
            Profile::Outlook => &[
                (55, ConnKind::Mapi),
                (20, ConnKind::Ews),
                (12, ConnKind::Autodiscover),
                (3, ConnKind::Oab),
                (7, ConnKind::RpcHttp),
                (3, ConnKind::ManagementShell),
            ],
            Profile::Phone => &[(100, ConnKind::ActiveSync)],
        }
    }
}

/// A benign connection: what it is and its requests with their answers.
#[derive(Debug)]
pub struct Connection {
    /// What it carries.
    pub kind: ConnKind,
    /// Server port (443 for the decrypted front end; 80 for the shell, which uses Kerberos
    /// over plain HTTP).
    pub server_port: u16,
    /// The requests, in order.
    pub requests: Vec<Request>,
    /// The answer to each request.
    pub answers: Vec<Answer>,
}

/// The OWA build every client loads.
const OWA_BUILD: &str = "15.2.986.5";

/// Builds one request: request line and headers, then `Content-Length`, the empty line and
/// the body (when there is one or the method sends one).
struct RequestText {
    bytes: Vec<u8>,
}

impl RequestText {
    fn new(method: &str, target: &str, host: &str) -> RequestText {
        let mut bytes = Vec::with_capacity(2048);
        bytes.extend_from_slice(method.as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(target.as_bytes());
        bytes.extend_from_slice(b" HTTP/1.1\r\n");
        header(&mut bytes, "Host", host);
        RequestText { bytes }
    }

    /// A browser's request: its usual headers, `Referer` the OWA page when `referer`.
    fn browser(
        method: &str,
        target: &str,
        host: &str,
        ua: &str,
        accept: &str,
        referer: bool,
    ) -> RequestText {
        let req = RequestText::new(method, target, host)
            .header("Connection", "keep-alive")
            .header("User-Agent", ua)
            .header("Accept", accept);
        let req = if referer {
            req.header("Referer", &format!("https://{host}/owa/"))
        } else {
            req
        };
        req.header("Accept-Encoding", "gzip, deflate, br")
            .header("Accept-Language", "en-US,en;q=0.9")
    }

    fn header(mut self, name: &str, value: &str) -> RequestText {
        header(&mut self.bytes, name, value);
        self
    }

    /// Appends the client's cookies, plus `extra` raw `; name=value` pairs.
    fn cookies(mut self, client: &Client, extra: &[u8]) -> RequestText {
        cookie_header(&mut self.bytes, client);
        if !extra.is_empty() {
            self.bytes.truncate(self.bytes.len() - 2);
            self.bytes.extend_from_slice(extra);
            self.bytes.extend_from_slice(b"\r\n");
        }
        self
    }

    /// Ends the request with `body` (`Content-Length` if `length`), written in one go or, if
    /// `split`, head and body apart.
    fn finish(mut self, body: &[u8], length: bool, split: bool, server_us: u64) -> Request {
        if length {
            header(&mut self.bytes, "Content-Length", &body.len().to_string());
        }
        self.bytes.extend_from_slice(b"\r\n");
        let head = self.bytes.len();
        self.bytes.extend_from_slice(body);
        Request {
            bytes: self.bytes,
            split: if split && !body.is_empty() { head } else { 0 },
            server_us,
        }
    }
}

/// `n` random base64 characters (tokens, ids).
fn b64(rng: &mut Rng, n: usize) -> String {
    let mut out = Vec::with_capacity(n);
    push_b64(&mut out, rng, n);
    String::from_utf8_lossy(&out).into_owned()
}

/// An OWA or ECP page of `len` bytes, with the build in `version_header` and `cookie` set.
fn page(len: usize, version_header: &'static str, cookie: String) -> Answer {
    Answer::ok("text/html; charset=utf-8", Body::Html, len)
        .with(version_header, OWA_BUILD.to_string())
        .with("Set-Cookie", cookie)
}

/// The client's OWA and ECP canary (the same on all its connections).
fn canary(client: &Client) -> String {
    let mut v = Vec::with_capacity(76);
    push_b64url(&mut v, &mut Rng::new(client.secret ^ 0xca7a), 76);
    String::from_utf8_lossy(&v).into_owned()
}

/// Base64 of a random length in `lo..=hi`, a multiple of 4.
fn b64_between(rng: &mut Rng, lo: u64, hi: u64) -> String {
    let n = rng.range(lo, hi) as usize & !3;
    b64(rng, n)
}

/// A Kerberos `Negotiate` (or `Kerberos`) Authorization value: tickets make it 1.5 to 5 KB.
fn kerberos(rng: &mut Rng, scheme: &str) -> String {
    format!("{scheme} YII{}", b64_between(rng, 1_500, 5_000))
}

/// Picks what `client` does on its next connection and builds it; no answer body is longer
/// than `max_body` (so that the capture ends near the size asked for).
pub fn connection(rng: &mut Rng, client: &Client, max_body: usize) -> Connection {
    let kind = rng.weighted(ConnKind::weights(client.profile));
    let max = max_body.max(1_000) as u64;
    let size = |rng: &mut Rng, lo: u64, hi: u64| rng.log_range(lo, hi).min(max) as usize;
    let host = host_for(client);
    let user = client.user;
    let mut c = Connection {
        kind,
        server_port: 443,
        requests: Vec::new(),
        answers: Vec::new(),
    };
    let mut ident = Rng::new(client.secret ^ 0x5eed);
    match kind {
        ConnKind::OwaPage => {
            let ua = BROWSER_UAS[(client.secret % BROWSER_UAS.len() as u64) as usize];
            let req = RequestText::browser("GET", "/owa/", host, ua, "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", false)
                .header("Upgrade-Insecure-Requests", "1")
                .cookies(client, b"")
                .finish(b"", false, false, rng.range(20_000, 150_000));
            c.requests.push(req);
            let cookie = format!("X-OWA-CANARY={}; path=/; secure", canary(client));
            c.answers.push(
                page(size(rng, 40_000, 120_000), "X-OWA-Version", cookie)
                    .with("X-Frame-Options", "SAMEORIGIN".to_string())
                    .with(
                        "Set-Cookie",
                        "PrivateComputer=true; path=/; secure".to_string(),
                    ),
            );
            for _ in 0..rng.range(3, 9) {
                let (path, ct, body, lo, hi) = rng.pick(&[
                    (
                        "scripts/boot.worldwide.0.mouse.js",
                        "application/javascript",
                        Body::Script,
                        400_000,
                        1_400_000,
                    ),
                    (
                        "scripts/boot.worldwide.1.mouse.js",
                        "application/javascript",
                        Body::Script,
                        200_000,
                        700_000,
                    ),
                    (
                        "scripts/boot.worldwide.2.mouse.js",
                        "application/javascript",
                        Body::Script,
                        100_000,
                        400_000,
                    ),
                    (
                        "scripts/microsoft.owa.mail.js",
                        "application/javascript",
                        Body::Script,
                        150_000,
                        900_000,
                    ),
                    (
                        "resources/styles/0/boot.worldwide.mouse.css",
                        "text/css",
                        Body::Script,
                        40_000,
                        160_000,
                    ),
                    (
                        "resources/images/0/sprite1.mouse.png",
                        "image/png",
                        Body::Binary,
                        8_000,
                        60_000,
                    ),
                    (
                        "resources/images/0/sprite1.mouse.css",
                        "text/css",
                        Body::Script,
                        10_000,
                        40_000,
                    ),
                    (
                        "resources/styles/fonts/office365icons.woff",
                        "font/woff",
                        Body::Binary,
                        40_000,
                        90_000,
                    ),
                    (
                        "resources/images/0/owa_brand.svg",
                        "image/svg+xml",
                        Body::Script,
                        2_000,
                        9_000,
                    ),
                ]);
                // Most page loads find the resources in the browser's cache and only
                // revalidate them.
                let cached = rng.percent(75);
                let etag = format!("\"{:016x}\"", rng.next_u64());
                let mut req = RequestText::browser(
                    "GET",
                    &format!("/owa/prem/{OWA_BUILD}/{path}"),
                    host,
                    ua,
                    "*/*",
                    true,
                );
                if cached {
                    req = req.header("If-None-Match", &etag);
                }
                let req = req
                    .cookies(client, b"")
                    .finish(b"", false, false, rng.range(300, 3_000));
                c.requests.push(req);
                let mut answer = Answer::ok(ct, body, size(rng, lo, hi))
                    .with("Cache-Control", "public, max-age=31536000".to_string())
                    .with("ETag", etag);
                if cached {
                    answer.status = "304 Not Modified";
                    answer.content_type = None;
                    answer.framing = Framing::None;
                }
                c.answers.push(answer);
            }
        }
        ConnKind::OwaService | ConnKind::OwaNotify | ConnKind::OwaAttachment => {
            let ua = BROWSER_UAS[(client.secret % BROWSER_UAS.len() as u64) as usize];
            let canary = canary(client);
            let calls = match kind {
                ConnKind::OwaService => rng.range(1, 6),
                _ => 1,
            };
            for _ in 0..calls {
                let base = |target: &str| {
                    let method = if kind == ConnKind::OwaService {
                        "POST"
                    } else {
                        "GET"
                    };
                    RequestText::browser(method, target, host, ua, "*/*", true)
                        .header("X-OWA-CANARY", &canary)
                        .header("X-Requested-With", "XMLHttpRequest")
                        .header("Origin", &format!("https://{host}"))
                };
                let backend_cookie = format!(
                    "; X-BackEndCookie=S-1-5-21-2101530937-3184127389-2391847613-{}={}",
                    1_000 + user,
                    b64(&mut ident.clone(), 120)
                );
                match kind {
                    ConnKind::OwaService => {
                        let action = rng.pick(&[
                            "GetConversationItems",
                            "FindConversation",
                            "FindItem",
                            "GetItem",
                            "GetFolderChangeDigest",
                            "GetCalendarView",
                            "GetAccessTokenforResource",
                            "GetPeopleFilters",
                            "UpdateUserConfiguration",
                        ]);
                        let body = format!("{{\"__type\":\"{action}JsonRequest:#Exchange\",\"Header\":{{\"__type\":\"JsonRequestHeaders:#Exchange\",\"RequestServerVersion\":\"V2018_01_08\",\"TimeZoneContext\":{{\"__type\":\"TimeZoneContext:#Exchange\",\"TimeZoneDefinition\":{{\"__type\":\"TimeZoneDefinitionType:#Exchange\",\"Id\":\"W. Europe Standard Time\"}}}}}},\"Body\":{{\"__type\":\"{action}Request:#Exchange\",\"ItemShape\":{{\"__type\":\"ItemResponseShape:#Exchange\",\"BaseShape\":\"IdOnly\"}},\"ShapeName\":\"MailListItem\",\"ParentFolderId\":{{\"__type\":\"TargetFolderId:#Exchange\",\"BaseFolderId\":{{\"__type\":\"DistinguishedFolderId:#Exchange\",\"Id\":\"inbox\"}}}},\"Paging\":{{\"__type\":\"IndexedPageView:#Exchange\",\"BasePoint\":\"Beginning\",\"Offset\":0,\"MaxEntriesReturned\":{}}}}}}}", rng.range(20, 200));
                        let id = rng.range(1, 900);
                        let req = base(&format!(
                            "/owa/service.svc?action={action}&EP=1&ID=-{id}&AC=1"
                        ))
                        .header("Action", action)
                        .header("X-OWA-ActionName", action)
                        .header("X-OWA-ActionId", &format!("-{id}"))
                        .header("X-OWA-CorrelationId", &super::text::guid(rng))
                        .header("Content-Type", "application/json; charset=UTF-8")
                        .cookies(client, backend_cookie.as_bytes())
                        .finish(
                            body.as_bytes(),
                            true,
                            false,
                            rng.range(3_000, 90_000),
                        );
                        c.requests.push(req);
                        let framing = if rng.percent(30) {
                            Framing::Chunked
                        } else {
                            Framing::Length
                        };
                        c.answers.push(
                            Answer::ok(
                                "application/json; charset=utf-8",
                                Body::Json,
                                size(rng, 400, 24_000),
                            )
                            .with("X-OWA-Version", OWA_BUILD.to_string())
                            .framed(framing),
                        );
                    }
                    ConnKind::OwaNotify => {
                        let target = format!(
                            "/owa/ev.owa2?ns=PendingRequest&ev=PendingNotificationRequest&UA=0&cid={}&X-OWA-CANARY={canary}",
                            super::text::guid(&mut ident)
                        );
                        let req = base(&target)
                            .cookies(client, backend_cookie.as_bytes())
                            .finish(b"", false, false, rng.range(500_000, 20_000_000));
                        c.requests.push(req);
                        c.answers.push(
                            Answer::ok(
                                "application/json; charset=utf-8",
                                Body::Json,
                                size(rng, 300, 12_000),
                            )
                            .framed(Framing::Chunked),
                        );
                    }
                    _ => {
                        let (name, ct) = rng.pick(&[
                            ("Quarterly%20report.pdf", "application/pdf"),
                            ("budget.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                            ("Minutes.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                            ("IMG_2041.JPG", "image/jpeg"),
                            ("slides.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
                        ]);
                        let target = format!(
                            "/owa/service.svc/s/GetFileAttachment?id={}&X-OWA-CANARY={canary}",
                            b64(rng, 152).replace('+', "-").replace('/', "_")
                        );
                        let req = base(&target)
                            .cookies(client, backend_cookie.as_bytes())
                            .finish(b"", false, false, rng.range(5_000, 60_000));
                        c.requests.push(req);
                        c.answers.push(
                            Answer::ok(ct, Body::Binary, size(rng, 10_000, 4_000_000)).with(
                                "Content-Disposition",
                                format!("attachment; filename*=UTF-8''{name}"),
                            ),
                        );
                    }
                }
            }
        }
        ConnKind::Ecp => {
            let ua = BROWSER_UAS[(client.secret % BROWSER_UAS.len() as u64) as usize];
            for _ in 0..rng.range(1, 3) {
                let path = rng.pick(&[
                    "/ecp/?rfr=owa&p=PersonalSettings/HomePage.aspx",
                    "/ecp/PersonalSettings/HomePage.aspx?showhelp=false",
                    "/ecp/Organize/DeliveryReports.slab?showhelp=false",
                    "/ecp/Customize/Regional.aspx?showhelp=false",
                    "/ecp/MyGroups/ViewDistributionGroups.aspx",
                ]);
                let req = RequestText::browser(
                    "GET",
                    path,
                    host,
                    ua,
                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                    true,
                )
                .cookies(client, b"")
                .finish(b"", false, false, rng.range(10_000, 150_000));
                c.requests.push(req);
                let cookie = format!("msExchEcpCanary={}; path=/ecp; secure", canary(client));
                c.answers
                    .push(page(size(rng, 8_000, 48_000), "X-ECP-Version", cookie));
            }
        }
        ConnKind::Mapi => {
            let ua = OUTLOOK_UAS[(client.secret % OUTLOOK_UAS.len() as u64) as usize];
            let mailbox = super::text::guid(&mut ident);
            let info = format!("{{{}}}", super::text::guid(&mut ident).to_ascii_uppercase());
            let nspi = rng.percent(15);
            let endpoint = if nspi { "nspi" } else { "emsmdb" };
            let calls = rng.range(1, 4);
            for n in 0..calls {
                let kind = if nspi {
                    rng.pick(&["Bind", "QueryRows", "GetMatches", "ResolveNames"])
                } else {
                    rng.pick(&[
                        "Execute",
                        "Execute",
                        "Execute",
                        "NotificationWait",
                        "Connect",
                    ])
                };
                let mut body = Vec::new();
                let len = size(rng, 150, 8_000);
                body.reserve(len);
                while body.len() < len {
                    body.extend_from_slice(&rng.next_u64().to_le_bytes());
                }
                let mut req = RequestText::new(
                    "POST",
                    &format!("/mapi/{endpoint}/?MailboxId={mailbox}@example.com"),
                    host,
                )
                .header("Content-Type", "application/mapi-http")
                .header("User-Agent", ua)
                .header("X-RequestType", kind)
                .header("X-ClientInfo", &format!("{info}:{}", 100 + n))
                .header("X-RequestId", &format!("{info}:{}", rng.range(1, 99_999)))
                .header("X-ClientApplication", "Outlook/16.0.13801.20266")
                .header("Accept", "*/*")
                .header("Connection", "Keep-Alive");
                if n == 0 {
                    req = req.header("Authorization", &kerberos(rng, "Negotiate"));
                }
                let req = req.cookies(client, b"").finish(
                    &body,
                    true,
                    rng.percent(30),
                    if kind == "NotificationWait" {
                        rng.range(1_000_000, 15_000_000)
                    } else {
                        rng.range(2_000, 60_000)
                    },
                );
                c.requests.push(req);
                let mut answer = Answer::ok(
                    "application/mapi-http",
                    Body::Binary,
                    size(rng, 300, 48_000),
                )
                .with("X-RequestType", kind.to_string())
                .with("X-ResponseCode", "0".to_string())
                .with("X-ServerApplication", "Exchange/15.02.0986.005".to_string())
                .with("X-PendingPeriod", "15000".to_string())
                .framed(Framing::Chunked);
                answer.prefix = format!(
                    "PROCESSING\r\nDONE\r\nX-ResponseCode: 0\r\nX-ElapsedTime: {}\r\nX-StartTime: {}\r\n\r\n",
                    rng.range(1, 400),
                    super::text::http_date(super::pcap::BASE_SECS)
                )
                .into_bytes();
                c.answers.push(answer);
            }
        }
        ConnKind::Ews => {
            let ua = OUTLOOK_UAS[(client.secret % OUTLOOK_UAS.len() as u64) as usize];
            for n in 0..rng.range(1, 4) {
                let op = rng.pick(&[
                    "FindItem",
                    "GetItem",
                    "SyncFolderItems",
                    "SyncFolderHierarchy",
                    "GetUserAvailability",
                    "GetFolder",
                    "GetUserOofSettings",
                    "GetSharingMetadata",
                ]);
                let body = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\" xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\"><soap:Header><t:RequestServerVersion Version=\"Exchange2013_SP1\"/><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>user{user}@example.com</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header><soap:Body><m:{op} Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned=\"{}\" Offset=\"0\" BasePoint=\"Beginning\"/><m:ParentFolderIds><t:DistinguishedFolderId Id=\"inbox\"/></m:ParentFolderIds></m:{op}></soap:Body></soap:Envelope>", rng.range(10, 500));
                let mut req = RequestText::new("POST", "/EWS/Exchange.asmx", host)
                    .header("Content-Type", "text/xml; charset=utf-8")
                    .header(
                        "SOAPAction",
                        &format!(
                            "\"http://schemas.microsoft.com/exchange/services/2006/messages/{op}\""
                        ),
                    )
                    .header("User-Agent", ua)
                    .header("X-AnchorMailbox", &format!("user{user}@example.com"))
                    .header("Accept", "*/*")
                    .header("Connection", "Keep-Alive");
                if n == 0 {
                    req = req.header("Authorization", &kerberos(rng, "Negotiate"));
                }
                let req = req.cookies(client, b"").finish(
                    body.as_bytes(),
                    true,
                    rng.percent(20),
                    rng.range(4_000, 120_000),
                );
                c.requests.push(req);
                c.answers.push(Answer::ok(
                    "text/xml; charset=utf-8",
                    Body::Xml,
                    size(rng, 800, 64_000),
                ));
            }
        }
        ConnKind::Autodiscover => {
            let ua = OUTLOOK_UAS[(client.secret % OUTLOOK_UAS.len() as u64) as usize];
            let body = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request><EMailAddress>user{user}@example.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>");
            let req = RequestText::new(
                "POST",
                "/autodiscover/autodiscover.xml",
                "autodiscover.example.com",
            )
            .header("Content-Type", "text/xml")
            .header("User-Agent", ua)
            .header("X-MapiHttpCapability", "1")
            .header("X-AnchorMailbox", &format!("user{user}@example.com"))
            .header("Authorization", &kerberos(rng, "Negotiate"))
            .header("Accept", "*/*")
            .header("Connection", "Keep-Alive")
            .finish(body.as_bytes(), true, false, rng.range(5_000, 60_000));
            c.requests.push(req);
            c.answers.push(Answer::ok(
                "text/xml; charset=utf-8",
                Body::Xml,
                size(rng, 3_000, 12_000),
            ));
        }
        ConnKind::Oab => {
            let oab = super::text::guid(&mut Rng::new(u64::from(client.addr[2]) & 3));
            let req = |target: &str, rng: &mut Rng| {
                RequestText::new("GET", target, host)
                    .header("Accept", "*/*")
                    .header("User-Agent", "Microsoft BITS/7.8")
                    .header("Authorization", &kerberos(rng, "Negotiate"))
                    .header("Connection", "Keep-Alive")
                    .finish(b"", false, false, rng.range(2_000, 30_000))
            };
            let r = req(&format!("/OAB/{oab}/oab.xml"), rng);
            c.requests.push(r);
            c.answers
                .push(Answer::ok("text/xml", Body::Xml, size(rng, 1_500, 4_000)));
            for _ in 0..rng.range(0, 3) {
                let full = rng.percent(5);
                let file = if full {
                    format!("{}-data-{}.lzx", super::text::guid(rng), rng.range(1, 400))
                } else {
                    format!(
                        "{}-binpatch-{}.lzx",
                        super::text::guid(rng),
                        rng.range(1, 400)
                    )
                };
                let r = req(&format!("/OAB/{oab}/{file}"), rng);
                c.requests.push(r);
                let len = if full {
                    size(rng, 1_000_000, 20_000_000)
                } else {
                    size(rng, 4_000, 300_000)
                };
                c.answers.push(
                    Answer::ok("application/octet-stream", Body::Binary, len)
                        .with("Accept-Ranges", "bytes".to_string())
                        .with("ETag", format!("\"{:x}\"", rng.next_u64())),
                );
            }
        }
        ConnKind::RpcHttp => {
            let target = format!(
                "/rpc/rpcproxy.dll?exch0{}.corp.example.com:6001",
                1 + rng.below(4)
            );
            let channel_request = || {
                RequestText::new("RPC_OUT_DATA", &target, host)
                    .header("Accept", "application/rpc")
                    .header("User-Agent", "MSRPC")
                    .header("Cache-Control", "no-cache")
                    .header("Connection", "Keep-Alive")
                    .header("Pragma", "No-cache")
            };
            let first = channel_request()
                .header(
                    "Authorization",
                    "NTLM TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==",
                )
                .finish(b"", true, false, rng.range(1_000, 10_000));
            c.requests.push(first);
            let mut challenge = Answer::ok("text/html", Body::Html, 1_293)
                .with("WWW-Authenticate", format!("NTLM TlRMTVNTUAACAAAADgAOADgAAAA1goriESIzRFVmd4gAAAAAAAAAAJwAnABGAAAACgBhSgAAAA8{}", b64(rng, 180)));
            challenge.status = "401 Unauthorized";
            c.answers.push(challenge);
            let mut rts = Vec::with_capacity(76);
            rts.extend_from_slice(&[
                5, 0, 20, 3, 16, 0, 0, 0, 76, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0,
            ]);
            while rts.len() < 76 {
                rts.push(rng.next_u64() as u8);
            }
            let second = channel_request()
                .header("Authorization", &format!("NTLM TlRMTVNTUAADAAAAGAAYAHAAAAAYARgBiAAAAAAAAABYAAAACAAIAFgAAAAQABAAYAAAAAAAAACgAQAANYKI4g{}", b64(rng, 560)))
                .finish(&rts, true, false, rng.range(1_000, 10_000));
            c.requests.push(second);
            let mut channel =
                Answer::ok("application/rpc", Body::Binary, size(rng, 4_000, 200_000))
                    .framed(Framing::Declared(1_073_741_824));
            channel.status = "200 Success";
            c.answers.push(channel);
        }
        ConnKind::ManagementShell => {
            c.server_port = 80;
            let target = "/powershell?serializationLevel=Full;ExchClientVer=15.2.986.5;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.17763.1852";
            let shell = super::text::guid(rng).to_ascii_uppercase();
            let steps = rng.range(3, 8);
            for n in 0..steps {
                let (action, inner) = if n == 0 {
                    ("http://schemas.xmlsoap.org/ws/2004/09/transfer/Create", format!("<rsp:Shell ShellId=\"{shell}\"><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams><creationXml xmlns=\"http://schemas.microsoft.com/powershell\">{}</creationXml></rsp:Shell>", b64_between(rng, 1_000, 4_000)))
                } else if n + 1 == steps {
                    (
                        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
                        String::new(),
                    )
                } else if n == 1 {
                    ("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command", format!("<rsp:CommandLine CommandId=\"{}\"><rsp:Command>{}</rsp:Command><rsp:Arguments>{}</rsp:Arguments></rsp:CommandLine>", super::text::guid(rng).to_ascii_uppercase(), rng.pick(&["Get-Mailbox", "Get-ExchangeServer", "Get-MailboxDatabase", "Get-TransportService", "Get-Queue"]), b64_between(rng, 400, 2_000)))
                } else {
                    (
                        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive",
                        "<rsp:Receive><rsp:DesiredStream>stdout</rsp:DesiredStream></rsp:Receive>"
                            .to_string(),
                    )
                };
                let body = format!("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\" xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\"><s:Header><a:To>http://exch01.corp.example.com/powershell</a:To><w:ResourceURI s:mustUnderstand=\"true\">http://schemas.microsoft.com/powershell/Microsoft.Exchange</w:ResourceURI><a:Action s:mustUnderstand=\"true\">{action}</a:Action><w:MaxEnvelopeSize s:mustUnderstand=\"true\">512000</w:MaxEnvelopeSize><a:MessageID>uuid:{}</a:MessageID><w:Locale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/><p:SessionId s:mustUnderstand=\"false\">uuid:{shell}</p:SessionId><w:OperationTimeout>PT180.000S</w:OperationTimeout></s:Header><s:Body>{inner}</s:Body></s:Envelope>", super::text::guid(rng).to_ascii_uppercase());
                let mut req = RequestText::new("POST", target, "exch01.corp.example.com")
                    .header("Connection", "Keep-Alive")
                    .header("Content-Type", "application/soap+xml;charset=UTF-8")
                    .header("User-Agent", "Microsoft WinRM Client");
                if n == 0 {
                    req = req.header("Authorization", &kerberos(rng, "Kerberos"));
                }
                let req = req.finish(body.as_bytes(), true, false, rng.range(20_000, 900_000));
                c.requests.push(req);
                c.answers.push(Answer::ok(
                    "application/soap+xml;charset=UTF-8",
                    Body::Xml,
                    size(rng, 1_000, 32_000),
                ));
            }
        }
        ConnKind::ActiveSync => {
            let ua = PHONE_UAS[(client.secret % PHONE_UAS.len() as u64) as usize];
            let device = if ua.starts_with("Android") {
                "Android"
            } else if ua.starts_with("Outlook") {
                "Outlook"
            } else {
                "iPhone"
            };
            let mut device_id = Vec::new();
            push_hex(&mut device_id, &mut ident, 32);
            let device_id = String::from_utf8_lossy(&device_id).into_owned();
            let mut auth = b"Basic ".to_vec();
            push_b64(&mut auth, &mut ident, 36);
            let auth = String::from_utf8_lossy(&auth).into_owned();
            let policy = ident.range(100_000_000, 4_000_000_000).to_string();
            for _ in 0..rng.range(1, 4) {
                let cmd = rng.weighted(&[
                    (45, "Sync"),
                    (25, "Ping"),
                    (8, "FolderSync"),
                    (8, "GetItemEstimate"),
                    (5, "ItemOperations"),
                    (5, "SendMail"),
                    (4, "Options"),
                ]);
                if cmd == "Options" {
                    let req = RequestText::new("OPTIONS", "/Microsoft-Server-ActiveSync", host)
                        .header("User-Agent", ua)
                        .header("Authorization", &auth)
                        .header("Accept", "*/*")
                        .header("Connection", "keep-alive")
                        .finish(b"", false, false, rng.range(2_000, 20_000));
                    c.requests.push(req);
                    let mut a = Answer::ok("application/vnd.ms-sync.wbxml", Body::Wbxml, 0)
                        .with("MS-Server-ActiveSync", "15.20".to_string())
                        .with("MS-ASProtocolVersions", "2.0,2.1,2.5,12.0,12.1,14.0,14.1,16.0,16.1".to_string())
                        .with("MS-ASProtocolCommands", "Sync,SendMail,SmartForward,SmartReply,GetAttachment,GetHierarchy,CreateCollection,DeleteCollection,MoveCollection,FolderSync,FolderCreate,FolderDelete,FolderUpdate,MoveItems,GetItemEstimate,MeetingResponse,Search,Settings,Ping,ItemOperations,Provision,ResolveRecipients,ValidateCert,Find".to_string());
                    a.content_type = None;
                    a.body = Body::Binary;
                    c.answers.push(a);
                    continue;
                }
                let target = format!("/Microsoft-Server-ActiveSync?Cmd={cmd}&User=user{user}%40example.com&DeviceId={device_id}&DeviceType={device}");
                let mut body = Vec::new();
                if cmd == "SendMail" {
                    // A MIME message: a short text and a base64 attachment in 76-column lines.
                    body.extend_from_slice(format!("From: user{user}@example.com\r\nTo: user{}@example.com\r\nSubject: Re: project update\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"_b_\"\r\n\r\n--_b_\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached, thanks.\r\n--_b_\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", rng.range(1, 20_000)).as_bytes());
                    for _ in 0..size(rng, 1_000, 300_000) / 78 {
                        push_b64(&mut body, rng, 76);
                        body.extend_from_slice(b"\r\n");
                    }
                    body.extend_from_slice(b"--_b_--\r\n");
                } else {
                    let len = size(rng, 40, 600);
                    super::body::wbxml(&mut body, rng, len);
                }
                let ct = if cmd == "SendMail" {
                    "message/rfc822"
                } else {
                    "application/vnd.ms-sync.wbxml"
                };
                let server_us = if cmd == "Ping" {
                    rng.range(2_000_000, 30_000_000)
                } else {
                    rng.range(3_000, 60_000)
                };
                let req = RequestText::new("POST", &target, host)
                    .header("Content-Type", ct)
                    .header("MS-ASProtocolVersion", "16.1")
                    .header("X-MS-PolicyKey", &policy)
                    .header("User-Agent", ua)
                    .header("Authorization", &auth)
                    .header("Accept", "*/*")
                    .header("Accept-Language", "en-us")
                    .header("Connection", "keep-alive")
                    .cookies(client, b"")
                    .finish(&body, true, false, server_us);
                c.requests.push(req);
                let (kind, len) = match cmd {
                    "ItemOperations" => (Body::Binary, size(rng, 8_000, 1_000_000)),
                    "Sync" => (Body::Wbxml, size(rng, 200, 32_000)),
                    _ => (Body::Wbxml, size(rng, 40, 2_000)),
                };
                c.answers.push(
                    Answer::ok("application/vnd.ms-sync.wbxml", kind, len)
                        .with("MS-Server-ActiveSync", "15.20".to_string()),
                );
            }
        }
    }
    c
}
