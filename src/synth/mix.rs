//! The benign side of a synthetic capture: who the clients are (browsers on Outlook on the
//! web, Outlook desktops, phones, administrators with the Exchange Management Shell), the
//! headers and cookies real clients send, and, for `exhound synth`, what each kind of
//! connection carries and how big its answers are. Sizes follow what Exchange front ends
//! serve: most bytes are answers, OWA scripts, attachments and offline address books are
//! large, EWS and MAPI answers medium, ActiveSync and Autodiscover small.

use super::rng::Rng;
use super::text::{push_b64, push_b64url, push_guid, push_hex};

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
