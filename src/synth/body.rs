//! Message bodies of any length, made fast: whole records of prebuilt text (HTML, script,
//! JSON, XML) between a document head and tail, padded with white space to the exact length,
//! so that every body is a well-formed document; windows of a random byte pool for binary
//! content (MAPI, attachments, OAB files); generated WBXML for ActiveSync. The records are
//! built once per seed, so a body costs a few copies, not a formatter call per line.

use super::rng::{derive, Rng};

/// What a body is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// An OWA or ECP page.
    Html,
    /// Script or style sheet text.
    Script,
    /// An OWA `service.svc` answer.
    Json,
    /// A SOAP or Autodiscover answer.
    Xml,
    /// Random bytes (MAPI buffers, attachments, compressed files).
    Binary,
    /// ActiveSync WBXML.
    Wbxml,
}

/// Records of one kind of document, back to back; `starts` has one more entry than records.
struct TextCorpus {
    head: &'static [u8],
    sep: &'static [u8],
    tail: &'static [u8],
    data: Vec<u8>,
    starts: Vec<usize>,
}

impl TextCorpus {
    fn new(head: &'static [u8], sep: &'static [u8], tail: &'static [u8]) -> TextCorpus {
        TextCorpus {
            head,
            sep,
            tail,
            data: Vec::with_capacity(CORPUS_LEN + 1024),
            starts: vec![0],
        }
    }

    fn push(&mut self, record: &str) {
        self.data.extend_from_slice(record.as_bytes());
        self.starts.push(self.data.len());
    }

    /// Appends a document of exactly `len` bytes (or head and tail, if longer), starting at
    /// a random record.
    fn fill(&self, out: &mut Vec<u8>, rng: &mut Rng, len: usize) {
        let end = out.len() + len.max(self.head.len() + self.tail.len());
        out.reserve(end - out.len());
        out.extend_from_slice(self.head);
        let records = self.starts.len() - 1;
        let mut i = rng.below(records as u64) as usize;
        let mut first = true;
        loop {
            let record = &self.data[self.starts[i]..self.starts[i + 1]];
            let sep = if first { &[][..] } else { self.sep };
            if out.len() + sep.len() + record.len() + self.tail.len() > end {
                break;
            }
            out.extend_from_slice(sep);
            out.extend_from_slice(record);
            first = false;
            i = (i + 1) % records;
        }
        out.resize(end - self.tail.len(), b' ');
        out.extend_from_slice(self.tail);
    }
}

/// The prebuilt records of every kind of body.
pub struct Corpora {
    html: TextCorpus,
    script: TextCorpus,
    json: TextCorpus,
    xml: TextCorpus,
    binary: Vec<u8>,
}

const CORPUS_LEN: usize = 160 * 1024;
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "meeting", "agenda", "quarterly", "report", "budget", "review", "project", "status",
    "update", "invoice", "schedule", "team", "lunch", "friday", "monday", "deadline", "draft",
    "proposal", "contract", "customer", "support", "ticket", "release", "notes", "travel",
    "expenses", "approval", "request", "summary", "minutes", "follow", "up", "call", "phone",
    "office", "holiday", "calendar", "reminder", "sales", "forecast", "planning", "design",
    "training", "webinar", "newsletter", "welcome", "the", "a", "of", "and", "to", "for",
    "with", "on", "at", "from", "please", "thanks", "regards", "attached", "see", "below",
];

impl Corpora {
    /// Builds the records for `seed` (about 160 KB of each kind).
    pub fn new(seed: u64) -> Corpora {
        let mut rng = Rng::new(derive(seed, 1));
        let mut html = TextCorpus::new(
            b"<!DOCTYPE html><html dir=\"ltr\" lang=\"en\"><head><meta charset=\"utf-8\"><title>Outlook</title></head><body class=\"owaBody\">\n",
            b"\n",
            b"\n</body></html>\n",
        );
        let mut script = TextCorpus::new(b"/* Outlook on the web 15.2.986.5 */\n", b"\n", b"\n");
        let mut json = TextCorpus::new(
            b"{\"Header\":{\"ServerVersionInfo\":{\"MajorVersion\":15,\"MinorVersion\":2,\"MajorBuildNumber\":986}},\"Body\":{\"ResponseMessages\":{\"Items\":[",
            b",",
            b"]}}}",
        );
        let mut xml = TextCorpus::new(
            b"<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><m:FindItemResponse xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><m:ResponseMessages>",
            b"",
            b"</m:ResponseMessages></m:FindItemResponse></s:Body></s:Envelope>",
        );
        let mut n = 0u64;
        while html.data.len() < CORPUS_LEN
            || script.data.len() < CORPUS_LEN
            || json.data.len() < CORPUS_LEN
            || xml.data.len() < CORPUS_LEN
        {
            n += 1;
            let mut subject = String::new();
            for i in 0..rng.range(3, 8) {
                if i > 0 {
                    subject.push(' ');
                }
                subject.push_str(rng.pick(WORDS));
            }
            let mut id = Vec::new();
            super::text::push_b64(&mut id, &mut rng, 40);
            let id = String::from_utf8_lossy(&id).into_owned();
            let size = rng.range(1_000, 900_000);
            let user = rng.range(1, 5_000);
            html.push(&format!(
                "<div class=\"_lv_o _lv_p\" role=\"option\" id=\"item{n}\" aria-label=\"{subject}\"><span class=\"_lv_q\">user{user}@example.com</span><span class=\"_lv_r\">{subject}</span><span class=\"_lv_s\">{size} bytes</span></div>"
            ));
            script.push(&format!(
                "function _g{n}(n,t){{var i=n.ItemId&&n.ItemId.Id;if(!i||i===\"{id}\")return t;return n.Size>{size}?_a.{}(n,\"{subject}\"):_b.push({{id:i,from:\"user{user}@example.com\"}})}}",
                rng.pick(WORDS)
            ));
            json.push(&format!(
                "{{\"__type\":\"Message:#Exchange\",\"ItemId\":{{\"Id\":\"{id}\",\"ChangeKey\":\"CQAAABYAAAB{n}\"}},\"Subject\":\"{subject}\",\"From\":{{\"Mailbox\":{{\"EmailAddress\":\"user{user}@example.com\"}}}},\"Size\":{size},\"IsRead\":{}}}",
                n % 3 == 0
            ));
            xml.push(&format!(
                "<t:Message><t:ItemId Id=\"{id}\" ChangeKey=\"CQAAABYAAAB{n}\"/><t:Subject>{subject}</t:Subject><t:Size>{size}</t:Size><t:From><t:Mailbox><t:EmailAddress>user{user}@example.com</t:EmailAddress></t:Mailbox></t:From></t:Message>"
            ));
        }
        let mut binary = Vec::with_capacity(CORPUS_LEN);
        while binary.len() < CORPUS_LEN {
            binary.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        Corpora {
            html,
            script,
            json,
            xml,
            binary,
        }
    }

    /// Appends a body of `len` bytes (at least a minimal document) of the given kind.
    pub fn fill(&self, out: &mut Vec<u8>, rng: &mut Rng, kind: Body, len: usize) {
        match kind {
            Body::Html => self.html.fill(out, rng, len),
            Body::Script => self.script.fill(out, rng, len),
            Body::Json => self.json.fill(out, rng, len),
            Body::Xml => self.xml.fill(out, rng, len),
            Body::Binary => self.fill_binary(out, rng, len),
            Body::Wbxml => wbxml(out, rng, len),
        }
    }

    /// Random bytes: one window of the pool, or several for a body longer than the pool.
    fn fill_binary(&self, out: &mut Vec<u8>, rng: &mut Rng, len: usize) {
        if len <= self.binary.len() {
            let from = rng.below((self.binary.len() - len + 1) as u64) as usize;
            out.extend_from_slice(&self.binary[from..from + len]);
            return;
        }
        let end = out.len() + len;
        out.reserve(len);
        while out.len() < end {
            let n = (end - out.len()).min(self.binary.len() / 2);
            let from = rng.below((self.binary.len() - n + 1) as u64) as usize;
            out.extend_from_slice(&self.binary[from..from + n]);
        }
    }
}

/// Appends a well-formed ActiveSync WBXML document of exactly `len` bytes (at least 16):
/// `<Sync><Collections><Collection>` holding `<SyncKey>`/`<CollectionId>` elements with
/// inline strings.
pub fn wbxml(out: &mut Vec<u8>, rng: &mut Rng, len: usize) {
    // Version 1.3, unknown public id, UTF-8, empty string table; Sync, Collections,
    // Collection (AirSync code page, with content).
    const HEAD: [u8; 7] = [0x03, 0x01, 0x6a, 0x00, 0x45, 0x5c, 0x4f];
    const TAIL: [u8; 3] = [0x01, 0x01, 0x01];
    let end = out.len() + len.max(HEAD.len() + TAIL.len() + 5);
    out.extend_from_slice(&HEAD);
    let mut key = true;
    while out.len() < end - TAIL.len() {
        // Tag with content, STR_I, text, NUL, END: 4 bytes plus the text.
        let room = end - TAIL.len() - out.len() - 4;
        let mut text = rng.range(8, 40) as usize;
        if room < text + 5 {
            text = room;
        }
        out.push(if key { 0x4b } else { 0x52 });
        out.push(0x03);
        for _ in 0..text {
            out.push(b'0' + rng.below(10) as u8);
        }
        out.extend_from_slice(&[0x00, 0x01]);
        key = !key;
    }
    out.extend_from_slice(&TAIL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_asked_length() {
        let corpora = Corpora::new(5);
        let mut rng = Rng::new(9);
        for kind in [
            Body::Html,
            Body::Script,
            Body::Json,
            Body::Xml,
            Body::Binary,
            Body::Wbxml,
        ] {
            for len in [600, 5_000, 170_000, 1_000_000] {
                let mut out = b"prefix".to_vec();
                corpora.fill(&mut out, &mut rng, kind, len);
                assert_eq!(out.len(), 6 + len, "{kind:?} {len}");
            }
        }
        let mut out = Vec::new();
        corpora.fill(&mut out, &mut rng, Body::Json, 2_000);
        assert!(out.starts_with(b"{\"Header\"") && out.ends_with(b"]}}}"));
    }
}
