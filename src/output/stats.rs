//! EVE `stats` records: the sensor's counters under Suricata's names.
//!
//! Suricata's EVE schema allows only its own counter names inside `stats` (every object in
//! it is closed), so each of exhound's counters that has a Suricata equivalent is written
//! under that name (`decoder.pkts`, `tcp.reassembly_gap`, `stream.suspected_rst_inject`,
//! `app_layer.tx.http`, `detect.alert`, …). The counters Suricata has no name for (worker
//! queue drops, connections ignored, bodies truncated, match limits and the like) go in the
//! one open place the schema leaves on the record, `metadata.flowints`, each named
//! `exhound.<stage>.<counter>`. Counters are cumulative from the start, as Suricata's are.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::sensor::stats::SensorStats;

use super::eve::{format_timestamp, to_line};

/// The EVE `stats` record (one line, with its newline) of `s`.
pub fn stats_line(s: &SensorStats) -> Vec<u8> {
    let c = &s.capture;
    let d = &c.decode;
    let w = &s.workers;
    let (f, st, h, t, g) = (&w.flow, &w.stream, &w.http, &w.detect, &w.defrag);
    let mut stats = Map::new();
    stats.insert("uptime".into(), json!(c.uptime_secs));
    if let Some(k) = &c.kernel {
        stats.insert(
            "capture".into(),
            json!({"kernel_packets": k.packets, "kernel_drops": k.drops, "kernel_ifdrops": k.ifdrops}),
        );
    }
    let avg = d.bytes.checked_div(d.packets).unwrap_or(0);
    stats.insert(
        "decoder".into(),
        json!({
            "pkts": d.packets,
            "bytes": d.bytes,
            "invalid": d.invalid + d.unknown_link,
            "tcp": d.tcp,
            "avg_pkt_size": avg,
        }),
    );
    stats.insert(
        "defrag".into(),
        json!({
            "ipv4": {
                "fragments": g.fragments - g.ipv6_fragments,
                "reassembled": g.reassembled - g.ipv6_reassembled,
                "timeouts": g.timeouts - g.ipv6_timeouts,
            },
            "ipv6": {
                "fragments": g.ipv6_fragments,
                "reassembled": g.ipv6_reassembled,
                "timeouts": g.ipv6_timeouts,
            },
            "max_frags_reached": g.memcap_drops,
        }),
    );
    let ended = f.timed_out + f.evicted;
    stats.insert(
        "flow".into(),
        json!({
            "total": f.created,
            "tcp": f.created,
            "tcp_reuse": st.reused,
            "memuse": w.memory_used,
            "memcap": w.memory_cap,
            "active": f.created.saturating_sub(ended),
            "mgr": {"flows_timeout": f.timed_out},
            "wrk": {"flows_evicted": f.evicted},
        }),
    );
    stats.insert(
        "tcp".into(),
        json!({
            "sessions": st.sessions,
            "invalid_checksum": st.invalid_checksum,
            "midstream_pickups": st.midstream_pickups,
            "reassembly_gap": st.gaps,
            "overlap": st.overlaps,
            "overlap_diff_data": st.overlaps_different,
            "stream_depth_reached": st.depth_reached,
            "segment_memcap_drop": st.memcap_drops,
        }),
    );
    stats.insert(
        "stream".into(),
        json!({
            "pkt_retransmission": st.retransmissions,
            "suspected_rst_inject": st.rst_invalid,
            "reassembly_insert_limit": st.held_limit,
        }),
    );
    stats.insert(
        "app_layer".into(),
        json!({
            "flow": {"http": h.connections, "tls": w.tls.connections},
            "tx": {"http": h.transactions},
            "error": {"http": {"gap": h.resyncs, "parser": h.garbage}},
        }),
    );
    stats.insert(
        "detect".into(),
        json!({"alert": t.alerts, "alerts_suppressed": t.suppressed}),
    );
    let mut own = Map::new();
    let mut put = |name: &str, v: u64| {
        own.insert(format!("exhound.{name}"), json!(v));
    };
    put("decoder.other_ip", d.other_ip);
    put("decoder.not_ip", d.not_ip);
    put("decoder.unknown_link", d.unknown_link);
    put("defrag.overlaps", g.overlaps);
    put("defrag.invalid", g.invalid);
    put("tcp.ignored", st.ignored);
    put("tcp.offload_accepted", st.offload_accepted);
    put("tcp.syn_data_ignored", st.syn_data_ignored);
    put("tcp.out_of_window", st.out_of_window);
    put("tcp.out_of_window_taken", st.out_of_window_taken);
    put("tcp.checksum_restarts", st.checksum_restarts);
    put("decoder.invalid_checksum", d.invalid_checksum);
    put("tcp.out_of_order", st.out_of_order);
    put("tcp.gap_bytes", st.gap_bytes);
    put("http.requests", h.requests);
    put("http.responses", h.responses);
    put("http.not_http", h.not_http);
    put("http.bodies_truncated", h.bodies_truncated);
    put("http.decode_errors", h.decode_errors);
    put("http.pending_overflows", h.pending_overflows);
    put("tls.client_hellos", w.tls.client_hellos);
    put("tls.server_hellos", w.tls.server_hellos);
    put("tls.certificates", w.tls.certificates);
    put("tls.malformed", w.tls.malformed);
    put("tls.too_large", w.tls.too_large);
    put("tls.gaps", w.tls.gaps);
    put("tls.incomplete", w.tls.incomplete);
    put("tls.midstream", w.tls.midstream);
    put("tls.decrypted", w.tls.decrypted);
    put("tls.no_key", w.tls.no_key);
    put("tls.decrypt_failed", w.tls.decrypt_failed);
    put("tls.unsupported", w.tls.unsupported);
    put("tls.records_decrypted", w.tls.records_decrypted);
    put("tls.decrypt_gaps", w.tls.decrypt_gaps);
    put("detect.rules_evaluated", t.rules_evaluated);
    put("detect.gated_scans", t.gated_scans);
    put("detect.match_limit_hits", t.match_limit_hits);
    put("detect.xbits_dropped", t.xbits_dropped);
    put(
        "detect.threshold_entries_dropped",
        t.threshold_entries_dropped,
    );
    put("capture.queue_drops", s.queue_drops());
    if c.kernel.is_some() {
        // Live only: per worker (a replay never drops, and its output must not depend on
        // the number of workers).
        for (i, n) in c.queue_drops.iter().enumerate() {
            put(&format!("capture.queue_drops.worker{i}"), *n);
        }
    }
    put("memory.peak", w.memory_peak);
    put("eve.records", s.records);
    // Evidence captures, only when on (`--evidence`).
    let ev = &w.evidence;
    if ev.enabled {
        put("evidence.files", ev.files);
        put("evidence.packets", ev.packets);
        put("evidence.bytes", ev.bytes);
        put("evidence.truncated", ev.truncated);
        put("evidence.dropped_memcap", ev.dropped_memcap);
        put("evidence.errors", ev.errors);
        put("evidence.memuse", ev.memuse);
        put("evidence.memcap", ev.memcap);
    }
    // Shipping outputs (syslog, Redis), numbered in the order they were given. Only when
    // there are some: their counts depend on the receivers, not on the input.
    for (i, o) in s.outputs.iter().enumerate() {
        put(&format!("ship.{i}.sent"), o.sent);
        put(&format!("ship.{i}.queued"), o.queued);
        put(&format!("ship.{i}.dropped"), o.dropped);
        put(&format!("ship.{i}.failures"), o.failures);
    }
    let record = StatsRecord {
        timestamp: format_timestamp(c.time),
        event_type: "stats",
        stats: Value::Object(stats),
        metadata: json!({"flowints": Value::Object(own)}),
    };
    to_line(&record)
}

/// The record, with its keys in Suricata's order.
#[derive(Serialize)]
struct StatsRecord {
    timestamp: String,
    event_type: &'static str,
    stats: Value,
    metadata: Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::stats::{CaptureCounters, KernelCounters, OutputCounters};
    use crate::time::Timestamp;

    #[test]
    fn suricata_names_and_our_own() {
        let mut s = SensorStats::default();
        s.capture.time = Timestamp::from_parts(1_614_765_600, 5_000);
        s.capture.uptime_secs = 9;
        s.capture.decode.packets = 10;
        s.capture.decode.bytes = 1000;
        s.capture.kernel = Some(KernelCounters {
            packets: 12,
            drops: 2,
            ifdrops: 0,
        });
        s.capture.queue_drops = vec![3, 4];
        s.workers.http.transactions = 5;
        s.workers.stream.rst_invalid = 1;
        s.workers.detect.alerts = 7;
        s.outputs = vec![
            OutputCounters::default(),
            OutputCounters {
                sent: 5,
                queued: 2,
                dropped: 1,
                failures: 3,
            },
        ];
        let line = stats_line(&s);
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["timestamp"], "2021-03-03T10:00:00.000005+0000");
        assert_eq!(v["event_type"], "stats");
        let st = &v["stats"];
        assert_eq!(st["uptime"], 9);
        assert_eq!(st["capture"]["kernel_drops"], 2);
        assert_eq!(st["decoder"]["avg_pkt_size"], 100);
        assert_eq!(st["app_layer"]["tx"]["http"], 5);
        assert_eq!(st["stream"]["suspected_rst_inject"], 1);
        assert_eq!(st["detect"]["alert"], 7);
        let own = &v["metadata"]["flowints"];
        assert_eq!(own["exhound.capture.queue_drops"], 7);
        assert_eq!(own["exhound.capture.queue_drops.worker1"], 4);
        assert_eq!(own["exhound.ship.0.sent"], 0);
        assert_eq!(own["exhound.ship.1.sent"], 5);
        assert_eq!(own["exhound.ship.1.queued"], 2);
        assert_eq!(own["exhound.ship.1.dropped"], 1);
        assert_eq!(own["exhound.ship.1.failures"], 3);
        // A replay has no kernel counters.
        let replay = SensorStats {
            capture: CaptureCounters::default(),
            ..SensorStats::default()
        };
        let v: Value = serde_json::from_slice(&stats_line(&replay)).unwrap();
        assert!(v["stats"].get("capture").is_none());
        // No shipping output, no shipping counters.
        assert!(v["metadata"]["flowints"]
            .get("exhound.ship.0.sent")
            .is_none());
    }
}
