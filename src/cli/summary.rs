//! The summary on standard error at the end of a run: every counter the sensor keeps, then
//! the alerts per signature and per client → server pair (the answer an incident responder
//! wants first).

use std::io::{self, Write};

use exhound::sensor::SensorStats;

use super::output::AlertTally;

/// How the run went, besides the counters.
pub struct RunFacts<'a> {
    /// `replay` or `live`.
    pub command: &'a str,
    /// Capture files read (replay).
    pub files: Option<u64>,
    /// Worker threads.
    pub threads: usize,
    /// Wall-clock seconds.
    pub secs: f64,
    /// Stopped by a signal before the end of the input.
    pub interrupted: bool,
}

/// Prints the counters.
pub fn print_counters(s: &SensorStats, run: &RunFacts<'_>) {
    let w = &s.workers;
    let d = &w.decode;
    let mb = d.bytes as f64 / 1e6;
    let rate = if run.secs > 0.0 { mb / run.secs } else { 0.0 };
    let mut e = io::stderr().lock();
    let _ = writeln!(e, "exhound {} summary", run.command);
    if run.interrupted {
        let _ = writeln!(
            e,
            "  interrupted      stopped by a signal; what was read was inspected to the end"
        );
    }
    if let Some(files) = run.files {
        let _ = writeln!(e, "  files            {files}");
    }
    if let Some(k) = &s.capture.kernel {
        let _ = writeln!(
            e,
            "  capture          {} packets seen by the kernel, {} dropped by the kernel, {} by the interface",
            k.packets, k.drops, k.ifdrops
        );
    }
    let _ = writeln!(
        e,
        "  packets          {} ({} TCP, {} other IP, {} not IP, {} invalid, {} unknown link)",
        d.packets, d.tcp, d.other_ip, d.not_ip, d.invalid, d.unknown_link
    );
    let _ = writeln!(e, "  bytes            {}", d.bytes);
    let drops = &s.capture.queue_drops;
    let per_worker: Vec<String> = drops.iter().map(u64::to_string).collect();
    let _ = writeln!(
        e,
        "  workers          {} threads, {} packets dropped on full queues (per worker: {})",
        run.threads,
        s.queue_drops(),
        super::join_or_dash(&per_worker, ", ")
    );
    let g = &w.defrag;
    let _ = writeln!(
        e,
        "  fragments        {} ({} datagrams reassembled, {} timed out, {} memcap drops, {} overlaps, {} invalid)",
        g.fragments, g.reassembled, g.timeouts, g.memcap_drops, g.overlaps, g.invalid
    );
    let f = &w.flow;
    let _ = writeln!(
        e,
        "  flows            {} ({} timed out, {} evicted at the memory cap)",
        f.created, f.timed_out, f.evicted
    );
    let st = &w.stream;
    let _ = writeln!(
        e,
        "  TCP sessions     {} ({} picked up mid-stream, {} on a reused four-tuple, {} segments ignored, {} SYNs' data not taken), {} RSTs ignored (not at the expected sequence number)",
        st.sessions, st.midstream_pickups, st.reused, st.ignored, st.syn_data_ignored, st.rst_invalid
    );
    let _ = writeln!(
        e,
        "  checksums        {} segments and {} fragments dropped (wrong checksum), {} taken as checksum offload, {} connections restarted at a right checksum",
        st.invalid_checksum, d.invalid_checksum, st.offload_accepted, st.checksum_restarts
    );
    let _ = writeln!(
        e,
        "  TCP window       {} segments past the receiver's window not taken ({} taken after all when the receiver acknowledged them)",
        st.out_of_window, st.out_of_window_taken
    );
    let _ = writeln!(e, "  TCP gaps         {} ({} bytes)", st.gaps, st.gap_bytes);
    let _ = writeln!(
        e,
        "  TCP overlaps     {} ({} with different bytes), {} retransmissions, {} out of order",
        st.overlaps, st.overlaps_different, st.retransmissions, st.out_of_order
    );
    let _ = writeln!(
        e,
        "  TCP limits       {} depth reached, {} memcap drops, {} holes given up at the held-data limit",
        st.depth_reached, st.memcap_drops, st.held_limit
    );
    let h = &w.http;
    let _ = writeln!(
        e,
        "  HTTP             {} transactions on {} connections ({} not HTTP, {} garbage, {} resyncs)",
        h.transactions, h.connections, h.not_http, h.garbage, h.resyncs
    );
    let _ = writeln!(
        e,
        "  HTTP limits      {} bodies truncated, {} bodies not decodable, {} requests given up (too many pending)",
        h.bodies_truncated, h.decode_errors, h.pending_overflows
    );
    let tl = &w.tls;
    let _ = writeln!(
        e,
        "  TLS              {} connections ({} ClientHellos, {} ServerHellos, {} certificates), {} handshakes incomplete at the end",
        tl.connections, tl.client_hellos, tl.server_hellos, tl.certificates, tl.incomplete
    );
    let _ = writeln!(
        e,
        "  TLS given up     {} malformed, {} past the handshake buffer cap, {} at a stream gap, {} picked up midstream (no handshake)",
        tl.malformed, tl.too_large, tl.gaps, tl.midstream
    );
    if tl.decrypted + tl.no_key + tl.decrypt_failed + tl.unsupported > 0 {
        let _ = writeln!(
            e,
            "  TLS decryption   {} connections decrypted ({} records), {} without key, {} failed, {} not decryptable (version, suite), {} stopped at a stream gap",
            tl.decrypted, tl.records_decrypted, tl.no_key, tl.decrypt_failed, tl.unsupported, tl.decrypt_gaps
        );
    }
    let t = &w.detect;
    let _ = writeln!(
        e,
        "  detection        {} alerts ({} suppressed by thresholds), {} rules evaluated, {} buffer searches skipped (flowbit not set)",
        t.alerts, t.suppressed, t.rules_evaluated, t.gated_scans
    );
    let _ = writeln!(
        e,
        "  detection limits {} inspections out of match steps, {} xbits and {} rate trackers not kept (tables full)",
        t.match_limit_hits, t.xbits_dropped, t.threshold_entries_dropped
    );
    let mib = |b: u64| b as f64 / f64::from(1u32 << 20);
    let _ = writeln!(
        e,
        "  memory           {:.1} MiB charged at the end, {:.1} MiB at most (shard peaks summed), budget {:.1} MiB ({} flows evicted)",
        mib(w.memory_used),
        mib(w.memory_peak),
        mib(w.memory_cap),
        f.evicted
    );
    let _ = writeln!(e, "  EVE records      {}", s.records);
    let ev = &w.evidence;
    if ev.enabled {
        let _ = writeln!(
            e,
            "  evidence         {} files ({} packets, {:.1} MiB; {} truncated by the depth), {} packets not kept (evidence memcap), {} errors",
            ev.files,
            ev.packets,
            mib(ev.bytes),
            ev.truncated,
            ev.dropped_memcap,
            ev.errors
        );
    }
    let _ = writeln!(e, "  elapsed          {:.3} s ({rate:.1} MB/s)", run.secs);
}

/// Alerts per signature, then per client → server pair with the stages reached and whether
/// the server's answer showed success.
pub fn print_alerts(t: &AlertTally) {
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
