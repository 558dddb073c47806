//! `exhound replay`: capture files → pipeline → EVE JSON, then a summary on standard error.
//!
//! The files are one continuous capture: one worker sees them in order, so flows carry on
//! across files. A file that cannot be opened, or breaks part-way, is reported with its name
//! (and packet number); what was read before the break is processed and written, the next
//! file is still read, and the exit status says that some input was bad.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use std::collections::BTreeMap;
use std::net::IpAddr;

use exhound::capture::{expand_inputs, CaptureFile};
use exhound::detect::{Alert, AlertDirection};
use exhound::http::HttpTransaction;
use exhound::output::{EveWriter, FlowFacts};
use exhound::pipeline::{AlertContext, EventSink, Worker, WorkerStats};

use super::args::ReplayArgs;
use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Where EVE lines go, remembering the first write error so nothing is lost silently, and
/// the alert tallies for the summary.
struct Output {
    eve: EveWriter<Box<dyn Write>>,
    log_http: bool,
    payload: bool,
    current_file: String,
    error: Option<io::Error>,
    tally: AlertTally,
}

/// Alerts per signature and per client → server pair, for the summary.
#[derive(Default)]
struct AlertTally {
    by_signature: BTreeMap<(u32, String), u64>,
    by_pair: BTreeMap<(IpAddr, IpAddr, u16), PairTally>,
}

/// What one client did to one server.
#[derive(Default)]
struct PairTally {
    alerts: u64,
    stages: Vec<String>,
    cves: Vec<String>,
    succeeded: bool,
}

impl AlertTally {
    fn add(&mut self, flow: &FlowFacts, alert: &Alert) {
        let rule = &alert.rule;
        *self
            .by_signature
            .entry((rule.sid, rule.msg.clone()))
            .or_default() += 1;
        let pair = self
            .by_pair
            .entry((flow.client_ip, flow.server_ip, flow.server_port))
            .or_default();
        pair.alerts += 1;
        for (k, v) in &rule.metadata {
            let list = match k.as_str() {
                "stage" => &mut pair.stages,
                "cve" => &mut pair.cves,
                "outcome" if v == "succeeded" => {
                    pair.succeeded = true;
                    continue;
                }
                _ => continue,
            };
            if !list.contains(v) {
                list.push(v.clone());
            }
        }
    }
}

impl EventSink for Output {
    fn transaction(&mut self, flow: &FlowFacts, tx: &HttpTransaction) {
        if !self.log_http || self.error.is_some() {
            return;
        }
        if let Err(e) = self.eve.write_http(flow, tx, Some(&self.current_file)) {
            self.error = Some(e);
        }
    }

    fn alert(&mut self, flow: &FlowFacts, alert: &Alert, context: AlertContext<'_>) {
        self.tally.add(flow, alert);
        if self.error.is_some() {
            return;
        }
        let message;
        let payload = match (self.payload, context.tx) {
            (false, _) => None,
            (true, Some(tx)) => {
                message = http_message(tx, alert.direction);
                Some(message.as_slice())
            }
            (true, None) => Some(context.payload),
        };
        let written = self.eve.write_alert(
            flow,
            alert,
            context.at,
            context.tx,
            payload,
            Some(&self.current_file),
        );
        if let Err(e) = written {
            self.error = Some(e);
        }
    }
}

/// The message an HTTP alert matched in, as on the wire (head, then the decoded body), cut
/// at 4 KiB like Suricata's default payload buffer.
fn http_message(tx: &HttpTransaction, direction: AlertDirection) -> Vec<u8> {
    const MAX: usize = 4096;
    let (line, head, body) = match (direction, tx.response.as_ref()) {
        (AlertDirection::ToClient, Some(r)) => (&r.response_line, &r.raw_headers, &r.body),
        _ => {
            let r = &tx.request;
            (&r.request_line, &r.raw_headers, &r.body)
        }
    };
    let mut m = Vec::new();
    for part in [line.as_slice(), b"\r\n", head, body] {
        let room = MAX - m.len();
        m.extend_from_slice(&part[..part.len().min(room)]);
    }
    m
}

/// Runs the replay and returns the exit status.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 16,
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
    };
    let rules = super::rules::for_replay(&args.rules)?;
    let mut out = Output {
        eve: EveWriter::new(sink),
        log_http: args.log_http,
        payload: args.payload,
        current_file: String::new(),
        error: None,
        tally: AlertTally::default(),
    };
    let mut worker = Worker::new(args.pipeline_config(), Some(rules));
    let mut bad_input = false;
    let mut files_read = 0u64;
    let mut pcap_cnt = 0u64;

    let files = match expand_inputs(&args.paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("exhound: {e}");
            bad_input = true;
            // Read what can be read: every path that expands on its own.
            args.paths
                .iter()
                .filter_map(|p| expand_inputs(std::slice::from_ref(p)).ok())
                .flatten()
                .collect()
        }
    };
    for path in &files {
        match replay_file(
            path,
            args.bpf.as_deref(),
            &mut worker,
            &mut out,
            &mut pcap_cnt,
        ) {
            Ok(()) => files_read += 1,
            Err(e) => {
                eprintln!("exhound: {e}");
                bad_input = true;
                if matches!(e, exhound::capture::CaptureError::Read { .. }) {
                    files_read += 1;
                }
                if matches!(e, exhound::capture::CaptureError::Filter { .. }) {
                    anyhow::bail!("{e}");
                }
            }
        }
        if out.error.is_some() {
            break;
        }
    }
    worker.finish(&mut out);
    let output_name = args
        .output
        .as_deref()
        .map(Path::display)
        .map(|d| d.to_string());
    let output_name = output_name.unwrap_or_else(|| "standard output".to_string());
    if let Some(e) = out.error.take() {
        return Err(e).with_context(|| format!("writing EVE to {output_name}"));
    }
    out.eve
        .flush()
        .with_context(|| format!("writing EVE to {output_name}"))?;
    if !args.quiet {
        print_summary(
            &worker.stats(),
            files_read,
            out.eve.records(),
            started.elapsed().as_secs_f64(),
        );
        print_alert_summary(&out.tally);
    }
    Ok(ExitCode::from(if bad_input {
        EXIT_BAD_INPUT
    } else {
        EXIT_OK
    }))
}

fn replay_file(
    path: &Path,
    bpf: Option<&str>,
    worker: &mut Worker,
    out: &mut Output,
    pcap_cnt: &mut u64,
) -> Result<(), exhound::capture::CaptureError> {
    let mut file = CaptureFile::open(path, bpf)?;
    out.current_file = file.name().to_string();
    // `pcap_cnt` numbers every record of the replay, filtered out or not, so that it points
    // at the same frame as Wireshark's frame number in a single file.
    let base = *pcap_cnt;
    let result = loop {
        match file.next_packet() {
            Ok(Some(packet)) => {
                worker.process(&packet, base + packet.number, &mut *out);
                if out.error.is_some() {
                    break Ok(());
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    *pcap_cnt = base + file.packets_read();
    result
}

fn print_summary(s: &WorkerStats, files: u64, records: u64, secs: f64) {
    let d = &s.decode;
    let mb = d.bytes as f64 / 1e6;
    let rate = if secs > 0.0 { mb / secs } else { 0.0 };
    let mut e = io::stderr().lock();
    let _ = writeln!(e, "exhound replay summary");
    let _ = writeln!(e, "  files            {files}");
    let _ = writeln!(
        e,
        "  packets          {} ({} TCP, {} other IP, {} not IP, {} invalid, {} unknown link)",
        d.packets, d.tcp, d.other_ip, d.not_ip, d.invalid, d.unknown_link
    );
    let _ = writeln!(e, "  bytes            {}", d.bytes);
    let _ = writeln!(
        e,
        "  fragments        {} ({} datagrams reassembled, {} timed out, {} memcap drops)",
        s.defrag.fragments, s.defrag.reassembled, s.defrag.timeouts, s.defrag.memcap_drops
    );
    let _ = writeln!(
        e,
        "  flows            {} ({} timed out, {} evicted)",
        s.flow.created, s.flow.timed_out, s.flow.evicted
    );
    let st = &s.stream;
    let _ = writeln!(
        e,
        "  TCP sessions     {} ({} picked up mid-stream), {} RSTs ignored (not at the expected sequence number)",
        st.sessions, st.midstream_pickups, st.rst_invalid
    );
    let _ = writeln!(e, "  TCP gaps         {} ({} bytes)", st.gaps, st.gap_bytes);
    let _ = writeln!(
        e,
        "  TCP overlaps     {} ({} with different bytes), {} retransmissions, {} out of order",
        st.overlaps, st.overlaps_different, st.retransmissions, st.out_of_order
    );
    let _ = writeln!(
        e,
        "  TCP limits       {} depth reached, {} memcap drops",
        st.depth_reached, st.memcap_drops
    );
    let h = &s.http;
    let _ = writeln!(e, "  HTTP             {} transactions on {} connections ({} not HTTP, {} garbage, {} resyncs)", h.transactions, h.connections, h.not_http, h.garbage, h.resyncs);
    let t = &s.detect;
    let _ = writeln!(
        e,
        "  detection        {} alerts ({} suppressed by thresholds), {} rules evaluated, {} buffer searches skipped (flowbit not set)",
        t.alerts, t.suppressed, t.rules_evaluated, t.gated_scans
    );
    let _ = writeln!(e, "  EVE records      {records}");
    let _ = writeln!(e, "  elapsed          {secs:.3} s ({rate:.1} MB/s)");
}

/// Alerts per signature, then per client → server pair with the stages reached and whether
/// the server's answer showed success: the answer an incident responder wants first.
fn print_alert_summary(t: &AlertTally) {
    if t.by_signature.is_empty() {
        return;
    }
    let mut e = io::stderr().lock();
    let _ = writeln!(e, "alerts by signature");
    let mut sigs: Vec<_> = t.by_signature.iter().collect();
    sigs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for ((sid, msg), n) in sigs {
        let _ = writeln!(e, "  {n:>6}  {sid}  {msg}");
    }
    let _ = writeln!(e, "alerts by client -> server");
    for ((client, server, port), p) in &t.by_pair {
        let _ = writeln!(
            e,
            "  {client} -> {server}:{port}  {} alerts{}  stages: {}  CVEs: {}",
            p.alerts,
            if p.succeeded { "  SUCCEEDED" } else { "" },
            super::join_or_dash(&p.stages, ", "),
            super::join_or_dash(&p.cves, ", "),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exhound::http::{HttpRequest, HttpResponse};

    #[test]
    fn http_message_is_the_side_that_matched_cut_at_4_kib() {
        let tx = HttpTransaction {
            request: HttpRequest {
                request_line: b"POST /ecp/y.js HTTP/1.1".to_vec(),
                raw_headers: b"Host: x\r\n\r\n".to_vec(),
                body: vec![b'a'; 10_000],
                ..HttpRequest::default()
            },
            response: Some(HttpResponse {
                response_line: b"HTTP/1.1 200 OK".to_vec(),
                raw_headers: b"\r\n".to_vec(),
                body: b"ok".to_vec(),
                ..HttpResponse::default()
            }),
            ..HttpTransaction::default()
        };
        let m = http_message(&tx, AlertDirection::ToServer);
        assert_eq!(m.len(), 4096);
        assert!(m.starts_with(b"POST /ecp/y.js HTTP/1.1\r\nHost: x\r\n\r\naaa"));
        assert_eq!(
            http_message(&tx, AlertDirection::ToClient),
            b"HTTP/1.1 200 OK\r\n\r\nok"
        );
        let no_response = HttpTransaction {
            response: None,
            ..tx
        };
        assert_eq!(
            &http_message(&no_response, AlertDirection::ToClient)[..4],
            b"POST"
        );
    }
}
