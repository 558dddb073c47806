//! Tests of [`TcpSession`]: segments in, events out.

use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;
use crate::decode::{IpHeader, TcpFlags, VlanIds};

const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const FIN: u8 = TcpFlags::FIN;
const RST: u8 = TcpFlags::RST;
const PSH: u8 = TcpFlags::PSH;

const C_ISN: u32 = 1000;
const S_ISN: u32 = 5000;
/// Sequence number of the client's first data byte.
const C0: u32 = C_ISN + 1;
/// Sequence number of the server's first data byte.
const S0: u32 = S_ISN + 1;

use Side::{Initiator as C, Responder as S};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Data(Side, Vec<u8>),
    Gap(Side, u64),
    Closed(Side),
}

fn segment(seq: u32, ack: u32, flags: u8, payload: &[u8]) -> TcpSegment<'_> {
    let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    TcpSegment {
        ip: IpHeader {
            src: a,
            dst: a,
            vlan: VlanIds::default(),
        },
        src_port: 1234,
        dst_port: 80,
        seq,
        ack,
        flags: TcpFlags(flags),
        window: 65535,
        window_scale: None,
        payload,
        tcp_bytes: payload,
        ipv4_header: None,
        length_from_capture: false,
    }
}

/// A session plus everything it needs, recording the events it emits.
struct Harness {
    session: Option<TcpSession>,
    config: StreamConfig,
    memory: ReassemblyMemory,
    stats: StreamStats,
    events: Vec<Ev>,
}

impl Harness {
    fn new(config: StreamConfig) -> Harness {
        Harness {
            session: None,
            config,
            memory: ReassemblyMemory::default(),
            stats: StreamStats::default(),
            events: Vec::new(),
        }
    }

    /// A session whose handshake (client ISN `C_ISN`, server ISN `S_ISN`) was captured.
    fn with_handshake(config: StreamConfig) -> Harness {
        Harness::with_isns(config, C_ISN, S_ISN)
    }

    fn with_isns(config: StreamConfig, c_isn: u32, s_isn: u32) -> Harness {
        let mut h = Harness::new(config);
        h.seg(C, c_isn, 0, SYN, b"");
        h.seg(S, s_isn, c_isn.wrapping_add(1), SYN | ACK, b"");
        h.seg(C, c_isn.wrapping_add(1), s_isn.wrapping_add(1), ACK, b"");
        assert!(h.events.is_empty());
        h
    }

    fn seg(&mut self, side: Side, seq: u32, ack: u32, flags: u8, payload: &[u8]) {
        self.seg_window(side, seq, ack, flags, (65535, None), payload);
    }

    /// A segment advertising `window` (the header's value, and the window-scale option).
    fn seg_window(
        &mut self,
        side: Side,
        seq: u32,
        ack: u32,
        flags: u8,
        window: (u16, Option<u8>),
        payload: &[u8],
    ) {
        let mut s = segment(seq, ack, flags, payload);
        (s.window, s.window_scale) = window;
        let session = self
            .session
            .get_or_insert_with(|| TcpSession::new(&s, side, &self.config, &mut self.stats));
        let events = &mut self.events;
        session.on_segment(
            &s,
            side,
            Timestamp::default(),
            &self.config,
            &mut self.memory,
            &mut self.stats,
            &mut |e| events.push(own(e)),
        );
        self.check_memory();
    }

    /// Client data at `seq` (acknowledging nothing new of the server's stream).
    fn c(&mut self, seq: u32, payload: &[u8]) {
        self.seg(C, seq, S0, ACK | PSH, payload);
    }

    /// Server data at `seq` (acknowledging nothing new of the client's stream).
    fn s(&mut self, seq: u32, payload: &[u8]) {
        self.seg(S, seq, C0, ACK | PSH, payload);
    }

    fn finish(&mut self) {
        let events = &mut self.events;
        if let Some(session) = self.session.as_mut() {
            session.finish(&self.config, &mut self.memory, &mut self.stats, &mut |e| {
                events.push(own(e))
            });
        }
        assert_eq!(self.memory.used, 0, "finish releases every held byte");
    }

    fn session(&self) -> &TcpSession {
        self.session.as_ref().unwrap()
    }

    /// The worker's memory use is exactly what the session holds.
    fn check_memory(&self) {
        if let Some(s) = &self.session {
            let held = s.direction(C).held_bytes() + s.direction(S).held_bytes();
            assert_eq!(self.memory.used, held);
        }
    }

    /// Every byte delivered for `side`, concatenated.
    fn bytes(&self, side: Side) -> Vec<u8> {
        let mut v = Vec::new();
        for e in &self.events {
            if let Ev::Data(s, b) = e {
                if *s == side {
                    v.extend_from_slice(b);
                }
            }
        }
        v
    }

    fn take(&mut self) -> Vec<Ev> {
        std::mem::take(&mut self.events)
    }
}

fn own(e: StreamEvent<'_>) -> Ev {
    match e {
        StreamEvent::Data { side, bytes } => Ev::Data(side, bytes.to_vec()),
        StreamEvent::Gap { side, len } => Ev::Gap(side, len),
        StreamEvent::Closed { side } => Ev::Closed(side),
    }
}

fn data(side: Side, b: &[u8]) -> Ev {
    Ev::Data(side, b.to_vec())
}

fn unlimited() -> StreamConfig {
    StreamConfig {
        depth: 0,
        ..StreamConfig::default()
    }
}

#[test]
fn in_order_segments_pass_through() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"GET / HTTP/1.1\r\n");
    h.c(C0 + 16, b"Host: x\r\n\r\n");
    h.s(S0, b"HTTP/1.1 200 OK\r\n");
    assert_eq!(
        h.take(),
        vec![
            data(C, b"GET / HTTP/1.1\r\n"),
            data(C, b"Host: x\r\n\r\n"),
            data(S, b"HTTP/1.1 200 OK\r\n"),
        ]
    );
    assert_eq!(h.stats.sessions, 1);
    assert_eq!(h.stats.midstream_pickups, 0);
    assert!(!h.session().is_midstream());
    assert_eq!(h.stats.out_of_order, 0);
    assert_eq!(h.memory.used, 0);
}

#[test]
fn in_order_data_is_not_copied() {
    // The hot path hands out the packet's own bytes: same address, no allocation.
    let config = StreamConfig::default();
    let mut stats = StreamStats::default();
    let mut memory = ReassemblyMemory::default();
    let syn = segment(C_ISN, 0, SYN, b"");
    let mut session = TcpSession::new(&syn, C, &config, &mut stats);
    let mut seen: Vec<(usize, usize)> = Vec::new();
    let payloads: [&[u8]; 3] = [b"first", b"second", b"third"];
    let mut seq = C0;
    let mut run = |s: &TcpSegment<'_>, seen: &mut Vec<(usize, usize)>| {
        session.on_segment(
            s,
            C,
            Timestamp::default(),
            &config,
            &mut memory,
            &mut stats,
            &mut |e| {
                if let StreamEvent::Data { bytes, .. } = e {
                    seen.push((bytes.as_ptr() as usize, bytes.len()));
                }
            },
        );
    };
    run(&syn, &mut seen);
    for p in payloads {
        run(&segment(seq, 0, ACK, p), &mut seen);
        seq += p.len() as u32;
    }
    let expected: Vec<(usize, usize)> = payloads
        .iter()
        .map(|p| (p.as_ptr() as usize, p.len()))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(memory.used, 0);
}

#[test]
fn one_byte_segments() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    let text = b"POST /owa/auth HTTP/1.1";
    for (i, b) in text.iter().enumerate() {
        h.c(C0 + i as u32, &[*b]);
    }
    assert_eq!(h.bytes(C), text);
    assert_eq!(h.events.len(), text.len());
}

#[test]
fn out_of_order_then_fill() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0 + 5, b"world");
    assert!(h.events.is_empty());
    assert_eq!(h.stats.out_of_order, 1);
    assert_eq!(h.memory.used, 5);
    h.c(C0, b"hello");
    // The filling segment and the held one that follows arrive as one contiguous run.
    assert_eq!(h.take(), vec![data(C, b"helloworld")]);
    assert_eq!(h.memory.used, 0);
    h.c(C0 + 10, b"!");
    assert_eq!(h.take(), vec![data(C, b"!")]);
}

#[test]
fn ten_segments_in_reverse_order() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    let text: Vec<u8> = (0..100u8).collect();
    for i in (0..10).rev() {
        h.c(C0 + i * 10, &text[i as usize * 10..][..10]);
        if i > 0 {
            assert!(h.events.is_empty());
        }
    }
    assert_eq!(h.take(), vec![data(C, &text)]);
    assert_eq!(h.stats.out_of_order, 9);
    assert_eq!(h.memory.used, 0);
}

#[test]
fn retransmission_of_delivered_and_held_data() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"abcde");
    h.c(C0, b"abcde");
    assert_eq!(h.stats.retransmissions, 1);
    assert_eq!(h.take(), vec![data(C, b"abcde")]);

    h.c(C0 + 10, b"klmno");
    h.c(C0 + 10, b"klmno");
    assert_eq!(h.stats.retransmissions, 2);
    assert_eq!(h.stats.overlaps, 0);
    assert_eq!(h.memory.used, 5);
    h.c(C0 + 5, b"fghij");
    assert_eq!(h.take(), vec![data(C, b"fghijklmno")]);
}

#[test]
fn partial_retransmission_delivers_only_new_bytes() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"abcde");
    h.c(C0 + 3, b"deXYZ");
    assert_eq!(h.take(), vec![data(C, b"abcde"), data(C, b"XYZ")]);
    assert_eq!(h.stats.overlaps, 1);
}

/// Holds `first` then `second` (offsets from the client's first byte, both after a hole at
/// 0..5), fills the hole with "xxxxx", and returns the client's bytes.
fn overlap(
    policy: StreamPolicy,
    first: (u32, &[u8]),
    second: (u32, &[u8]),
) -> (String, StreamStats) {
    let mut h = Harness::with_handshake(StreamConfig {
        policy,
        ..StreamConfig::default()
    });
    h.c(C0 + first.0, first.1);
    h.c(C0 + second.0, second.1);
    assert!(h.events.is_empty());
    h.c(C0, b"xxxxx");
    h.finish();
    assert!(!h.events.iter().any(|e| matches!(e, Ev::Gap(..))));
    (String::from_utf8(h.bytes(C)).unwrap(), h.stats)
}

#[test]
fn windows_new_segment_starting_before_old_wins() {
    // Held 10..20 "A", then 5..15 "B": the new segment starts first, so B wins in 10..15.
    let (out, stats) = overlap(
        StreamPolicy::Windows,
        (10, b"AAAAAAAAAA"),
        (5, b"BBBBBBBBBB"),
    );
    assert_eq!(out, "xxxxxBBBBBBBBBBAAAAA");
    assert_eq!(stats.overlaps, 1);
    assert_eq!(stats.overlaps_different, 1);
}

#[test]
fn windows_old_segment_starting_before_new_wins() {
    // Held 5..15 "B", then 10..20 "A": the old segment starts first, so B stays in 10..15.
    let (out, stats) = overlap(
        StreamPolicy::Windows,
        (5, b"BBBBBBBBBB"),
        (10, b"AAAAAAAAAA"),
    );
    assert_eq!(out, "xxxxxBBBBBBBBBBAAAAA");
    assert_eq!(stats.overlaps, 1);
    assert_eq!(stats.overlaps_different, 1);
}

#[test]
fn each_policy_on_its_distinguishing_cases() {
    use StreamPolicy::*;
    let a10: &[u8] = b"AAAAAAAAAA";
    let b10: &[u8] = b"BBBBBBBBBB";
    // (old, new) pairs:
    // 1. new starts before old: 10..20 A, then 5..15 B.
    let starts_before = ((10, a10), (5, b10));
    // 2. new starts after old: 5..15 A, then 10..20 B.
    let starts_after = ((5, a10), (10, b10));
    // 3. same start, new ends later: 10..15 A, then 10..20 B.
    let same_start_longer = ((10, &a10[..5]), (10, b10));
    // 4. same start, new ends earlier: 10..20 A, then 10..15 B.
    let same_start_shorter = ((10, a10), (10, &b10[..5]));
    let cases = [
        (First, starts_before, "xxxxxBBBBBAAAAAAAAAA"),
        (Last, starts_before, "xxxxxBBBBBBBBBBAAAAA"),
        (Bsd, starts_before, "xxxxxBBBBBBBBBBAAAAA"),
        (Linux, starts_before, "xxxxxBBBBBBBBBBAAAAA"),
        (Windows, starts_before, "xxxxxBBBBBBBBBBAAAAA"),
        (First, starts_after, "xxxxxAAAAAAAAAABBBBB"),
        (Last, starts_after, "xxxxxAAAAABBBBBBBBBB"),
        (Bsd, starts_after, "xxxxxAAAAAAAAAABBBBB"),
        (Linux, starts_after, "xxxxxAAAAAAAAAABBBBB"),
        (Windows, starts_after, "xxxxxAAAAAAAAAABBBBB"),
        (First, same_start_longer, "xxxxx?????AAAAABBBBB"),
        (Last, same_start_longer, "xxxxx?????BBBBBBBBBB"),
        (Bsd, same_start_longer, "xxxxx?????AAAAABBBBB"),
        (Linux, same_start_longer, "xxxxx?????BBBBBBBBBB"),
        (Windows, same_start_longer, "xxxxx?????AAAAABBBBB"),
        (First, same_start_shorter, "xxxxx?????AAAAAAAAAA"),
        (Last, same_start_shorter, "xxxxx?????BBBBBAAAAA"),
        (Bsd, same_start_shorter, "xxxxx?????AAAAAAAAAA"),
        (Linux, same_start_shorter, "xxxxx?????AAAAAAAAAA"),
        (Windows, same_start_shorter, "xxxxx?????AAAAAAAAAA"),
    ];
    for (policy, (old, new), expected) in cases {
        let mut h = Harness::with_handshake(StreamConfig {
            policy,
            ..StreamConfig::default()
        });
        h.c(C0 + old.0, old.1);
        h.c(C0 + new.0, new.1);
        if old.0 == 10 && new.0 == 10 {
            h.c(C0 + 5, b"?????");
        }
        h.c(C0, b"xxxxx");
        assert_eq!(
            String::from_utf8(h.bytes(C)).unwrap(),
            expected,
            "{policy:?} old {old:?} new {new:?}"
        );
        assert_eq!(h.stats.overlaps, 1, "{policy:?}");
        assert_eq!(h.stats.overlaps_different, 1, "{policy:?}");
        assert_eq!(h.memory.used, 0);
    }
}

#[test]
fn in_order_segment_overlapping_held_data_follows_the_policy() {
    // The filling segment starts before the held one: new wins except under First.
    for (policy, expected) in [
        (StreamPolicy::Windows, "BBBBBBBBAA"),
        (StreamPolicy::First, "BBBBBAAAAA"),
    ] {
        let mut h = Harness::with_handshake(StreamConfig {
            policy,
            ..StreamConfig::default()
        });
        h.c(C0 + 5, b"AAAAA");
        h.c(C0, b"BBBBBBBB");
        assert_eq!(h.bytes(C), expected.as_bytes(), "{policy:?}");
        assert_eq!(h.stats.overlaps_different, 1);
        assert_eq!(h.memory.used, 0);
    }
}

#[test]
fn stream_crossing_the_sequence_wrap() {
    let isn = u32::MAX - 5;
    let mut h = Harness::with_isns(unlimited(), isn, 7);
    let start = isn.wrapping_add(1);
    // In order across 2^32.
    h.seg(C, start, 8, ACK, b"0123456789");
    // Then out of order across it: 20..30 before 10..20.
    let at = |off: u32| start.wrapping_add(off);
    h.seg(C, at(20), 8, ACK, b"klmnopqrst");
    assert_eq!(h.stats.out_of_order, 1);
    h.seg(C, at(10), 8, ACK, b"abcdefghij");
    // A retransmission of the bytes before the wrap is recognised as such.
    h.seg(C, start, 8, ACK, b"0123");
    assert_eq!(h.bytes(C), b"0123456789abcdefghijklmnopqrst");
    assert_eq!(h.stats.retransmissions, 1);
    assert!(!h.events.iter().any(|e| matches!(e, Ev::Gap(..))));
    assert_eq!(h.session().direction(C).next_seq(), Some(SeqNum(at(30))));
}

#[test]
fn midstream_pickup_near_the_wrap() {
    let mut h = Harness::new(StreamConfig::default());
    h.seg(C, u32::MAX - 1, 1, ACK, b"abcd");
    h.seg(C, 2, 1, ACK, b"efgh");
    assert_eq!(h.bytes(C), b"abcdefgh");
    assert!(h.session().is_midstream());
}

#[test]
fn fin_closes_each_side_in_stream_order() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    // The FIN arrives ahead of a hole: the close waits for the hole.
    h.seg(C, C0 + 5, S0, ACK | FIN, b"world");
    assert!(h.events.is_empty());
    h.c(C0, b"hello");
    assert_eq!(h.take(), vec![data(C, b"helloworld"), Ev::Closed(C)]);
    assert!(!h.session().is_closed());
    h.seg(S, S0, C0 + 11, ACK | FIN, b"bye");
    assert_eq!(h.take(), vec![data(S, b"bye"), Ev::Closed(S)]);
    assert!(h.session().is_closed());
    // Anything after the close is dropped, counted, and emits nothing.
    h.c(C0 + 10, b"late");
    h.finish();
    assert!(h.events.is_empty());
    assert_eq!(h.stats.ignored, 1);
}

#[test]
fn fin_without_data() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"abc");
    h.seg(C, C0 + 3, S0, ACK | FIN, b"");
    assert_eq!(h.take(), vec![data(C, b"abc"), Ev::Closed(C)]);
}

#[test]
fn rst_closes_both_sides() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"abc");
    h.seg(S, S0, C0 + 3, RST | ACK, b"");
    assert_eq!(
        h.take(),
        vec![data(C, b"abc"), Ev::Closed(C), Ev::Closed(S)]
    );
    assert!(h.session().is_closed());
    h.c(C0 + 3, b"more");
    h.s(S0, b"reply");
    h.finish();
    assert!(h.events.is_empty());
}

#[test]
fn rst_delivers_held_data_after_a_gap_first() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0 + 4, b"held");
    // The server got the bytes the capture lost: it expects C0 + 8 next.
    h.seg(C, C0 + 8, S0, RST, b"");
    assert_eq!(
        h.take(),
        vec![
            Ev::Gap(C, 4),
            data(C, b"held"),
            Ev::Closed(C),
            Ev::Closed(S)
        ]
    );
    assert_eq!(h.memory.used, 0);
}

#[test]
fn rst_not_at_the_expected_sequence_number_is_ignored() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"GET /a");
    // Forged resets the server would drop or answer with a challenge ACK: in the window but
    // not at the next byte, before it (also at the server's last, stale, acknowledgement),
    // far away.
    for seq in [C0 + 7, C0 + 1000, C0 + 5, C0, C0.wrapping_sub(1), 0] {
        h.seg(C, seq, S0, RST | ACK, b"");
        h.seg(S, S0.wrapping_add(99), C0 + 6, RST, b"");
    }
    assert_eq!(h.stats.rst_invalid, 12);
    assert!(!h.session().is_closed());
    // Inspection goes on: the rest of the request arrives.
    h.c(C0 + 6, b" HTTP/1.1");
    assert_eq!(h.bytes(C), b"GET /a HTTP/1.1");
    // A reset at the server's next byte ends the connection.
    h.seg(S, S0, C0 + 15, RST | ACK, b"");
    assert!(h.session().is_closed());
}

#[test]
fn rst_at_the_receivers_last_ack_or_after_a_fin_is_taken() {
    // The server acknowledged bytes the capture never saw: a RST at that number is real.
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"abc");
    h.seg(S, S0, C0 + 10, ACK, b"");
    h.seg(C, C0 + 10, S0, RST, b"");
    assert!(h.session().is_closed());
    assert_eq!(h.stats.rst_invalid, 0);
    // After its FIN, a side resets at the FIN's number plus one.
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"abc");
    h.seg(C, C0 + 3, S0, ACK | FIN, b"");
    h.seg(C, C0 + 4, S0, RST, b"");
    assert!(h.session().is_closed());
    assert_eq!(h.stats.rst_invalid, 0);
}

#[test]
fn peer_ack_past_a_hole_turns_it_into_a_gap() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"0123456789");
    h.c(C0 + 20, b"KLMNOPQRST");
    assert_eq!(h.take(), vec![data(C, b"0123456789")]);
    // The server acknowledges everything up to 30: it got 10..20, the capture did not.
    h.seg(S, S0, C0 + 30, ACK, b"");
    assert_eq!(h.take(), vec![Ev::Gap(C, 10), data(C, b"KLMNOPQRST")]);
    assert_eq!(h.stats.gaps, 1);
    assert_eq!(h.stats.gap_bytes, 10);
    assert_eq!(h.memory.used, 0);
}

#[test]
fn peer_ack_before_the_data_beyond_the_hole() {
    // Nothing held when the acknowledgement comes; the next segment beyond the hole it
    // covers is delivered after a gap instead of being held.
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.seg(S, S0, C0 + 10, ACK, b"");
    assert!(h.events.is_empty());
    h.c(C0 + 10, b"abc");
    assert_eq!(h.take(), vec![Ev::Gap(C, 10), data(C, b"abc")]);
    assert_eq!(h.stats.out_of_order, 0);
    // Without such an acknowledgement, data beyond a hole is held.
    h.c(C0 + 20, b"xyz");
    assert!(h.events.is_empty());
    assert_eq!(h.stats.out_of_order, 1);
}

#[test]
fn peer_ack_past_several_holes() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0 + 5, b"fghij");
    h.c(C0 + 20, b"uvwxyzABCD");
    h.seg(S, S0, C0 + 25, ACK, b"");
    assert_eq!(
        h.take(),
        vec![
            Ev::Gap(C, 5),
            data(C, b"fghij"),
            Ev::Gap(C, 10),
            data(C, b"uvwxyzABCD")
        ]
    );
    assert_eq!(h.memory.used, 0);
}

#[test]
fn peer_ack_covering_only_part_of_the_hole() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0 + 20, b"late");
    h.seg(S, S0, C0 + 8, ACK, b"");
    assert_eq!(h.take(), vec![Ev::Gap(C, 8)]);
    h.c(C0 + 8, b"abcdefghijkl");
    assert_eq!(h.take(), vec![data(C, b"abcdefghijkllate")]);
}

#[test]
fn peer_ack_of_a_fin_behind_a_hole() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.seg(C, C0 + 5, S0, ACK | FIN, b"");
    assert!(h.events.is_empty());
    h.seg(S, S0, C0 + 6, ACK, b"");
    assert_eq!(h.take(), vec![Ev::Gap(C, 5), Ev::Closed(C)]);
}

#[test]
fn finish_delivers_held_data_past_holes() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"ab");
    h.c(C0 + 4, b"ef");
    h.c(C0 + 10, b"kl");
    h.s(S0 + 3, b"xyz");
    assert_eq!(h.take(), vec![data(C, b"ab")]);
    h.finish();
    assert_eq!(
        h.take(),
        vec![
            Ev::Gap(C, 2),
            data(C, b"ef"),
            Ev::Gap(C, 4),
            data(C, b"kl"),
            Ev::Closed(C),
            Ev::Gap(S, 3),
            data(S, b"xyz"),
            Ev::Closed(S),
        ]
    );
    assert_eq!(h.stats.gaps, 3);
    assert_eq!(h.stats.gap_bytes, 9);
    assert!(h.session().is_closed());
}

#[test]
fn depth_limits_delivery_without_bogus_gaps() {
    let mut h = Harness::with_handshake(StreamConfig {
        depth: 10,
        ..StreamConfig::default()
    });
    h.c(C0, b"012345");
    h.c(C0 + 6, b"6789ab");
    h.c(C0 + 12, b"cdef");
    // Out of order past the depth: not held.
    h.c(C0 + 30, b"zz");
    assert_eq!(h.memory.used, 0);
    h.c(C0 + 16, b"ghijklmnopqrst");
    h.seg(C, C0 + 32, S0, ACK | FIN, b"");
    assert_eq!(
        h.take(),
        vec![data(C, b"012345"), data(C, b"6789"), Ev::Closed(C)]
    );
    assert_eq!(h.stats.depth_reached, 1);
    assert_eq!(h.stats.gaps, 0);
    h.s(S0, b"server side has its own depth");
    assert_eq!(h.bytes(S), b"server sid");
    assert_eq!(h.stats.depth_reached, 2);
}

#[test]
fn depth_cuts_held_data() {
    let mut h = Harness::with_handshake(StreamConfig {
        depth: 8,
        ..StreamConfig::default()
    });
    h.c(C0 + 4, b"efghijkl");
    assert_eq!(h.memory.used, 4, "only bytes before the depth are held");
    h.c(C0, b"abcd");
    assert_eq!(h.bytes(C), b"abcdefgh");
    assert_eq!(h.stats.depth_reached, 1);
    assert_eq!(h.memory.used, 0);
}

#[test]
fn memcap_refuses_held_segments_but_never_in_order_ones() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.memory.cap = 10;
    h.c(C0 + 10, b"12345678");
    assert_eq!(h.memory.used, 8);
    h.c(C0 + 30, b"abcdefgh");
    assert_eq!(h.stats.memcap_drops, 1);
    assert_eq!(h.memory.used, 8);
    // In order, even though holding it for a moment exceeds the cap.
    h.c(C0, b"0123456789");
    assert_eq!(h.take(), vec![data(C, b"012345678912345678")]);
    assert_eq!(h.memory.used, 0);
    h.finish();
    assert_eq!(h.take(), vec![Ev::Closed(C), Ev::Closed(S)]);
}

#[test]
fn too_many_held_segments_give_up_the_first_hole() {
    let mut h = Harness::with_handshake(StreamConfig {
        max_segments: 2,
        ..StreamConfig::default()
    });
    h.c(C0 + 2, b"c");
    h.c(C0 + 4, b"e");
    assert!(h.events.is_empty());
    h.c(C0 + 6, b"g");
    assert_eq!(h.take(), vec![Ev::Gap(C, 2), data(C, b"c")]);
    assert_eq!(h.stats.held_limit, 1);
    assert_eq!(h.session().direction(C).held_segments(), 2);
    h.c(C0 + 3, b"d");
    assert_eq!(h.take(), vec![data(C, b"de")]);
}

#[test]
fn too_many_held_bytes_give_up_the_first_hole() {
    let mut h = Harness::with_handshake(StreamConfig {
        max_held_bytes: 10,
        ..StreamConfig::default()
    });
    h.c(C0 + 5, b"abcdef");
    h.c(C0 + 20, b"uvwxyz");
    assert_eq!(h.take(), vec![Ev::Gap(C, 5), data(C, b"abcdef")]);
    assert_eq!(h.stats.held_limit, 1);
    assert_eq!(h.memory.used, 6);
}

#[test]
fn midstream_pickup_on() {
    let mut h = Harness::new(StreamConfig::default());
    h.seg(C, 777, 999, ACK | PSH, b"ET / HTTP/1.1\r\n");
    h.seg(S, 999, 792, ACK | PSH, b"HTTP/1.1 200");
    assert!(h.session().is_midstream());
    assert_eq!(h.stats.midstream_pickups, 1);
    assert_eq!(h.bytes(C), b"ET / HTTP/1.1\r\n");
    assert_eq!(h.bytes(S), b"HTTP/1.1 200");
}

#[test]
fn midstream_pickup_from_an_ack_only_packet() {
    let mut h = Harness::new(StreamConfig::default());
    h.seg(C, 777, 999, ACK, b"");
    h.seg(C, 780, 999, ACK, b"late");
    // The client's stream starts at 777: 777..780 was lost.
    h.finish();
    assert_eq!(
        h.take(),
        vec![
            Ev::Gap(C, 3),
            data(C, b"late"),
            Ev::Closed(C),
            Ev::Closed(S)
        ]
    );
}

#[test]
fn midstream_pickup_off_ignores_sessions_without_syn() {
    let mut h = Harness::new(StreamConfig {
        midstream: false,
        ..StreamConfig::default()
    });
    h.seg(C, 777, 999, ACK | PSH, b"GET / HTTP/1.1\r\n");
    h.seg(S, 999, 793, ACK | PSH, b"HTTP/1.1 200");
    assert!(h.session().is_midstream());
    assert_eq!(h.stats.midstream_pickups, 0);
    assert_eq!(h.stats.ignored, 2);
    assert!(h.events.is_empty());
    // With the handshake, the same setting delivers.
    let mut h = Harness::with_handshake(StreamConfig {
        midstream: false,
        ..StreamConfig::default()
    });
    h.c(C0, b"GET");
    assert_eq!(h.bytes(C), b"GET");
}

#[test]
fn syn_ack_first_gives_both_starting_points() {
    let mut h = Harness::new(StreamConfig {
        midstream: false,
        ..StreamConfig::default()
    });
    h.seg(S, S_ISN, C0, SYN | ACK, b"");
    h.seg(C, C0, S0, ACK, b"");
    h.c(C0 + 3, b"def");
    h.c(C0, b"abc");
    h.s(S0, b"xyz");
    assert!(!h.session().is_midstream());
    assert_eq!(h.bytes(C), b"abcdef");
    assert_eq!(h.bytes(S), b"xyz");
}

#[test]
fn data_on_a_syn_is_not_delivered() {
    let mut h = Harness::new(StreamConfig::default());
    h.seg(C, C_ISN, 0, SYN | FIN, b"payload");
    assert_eq!(h.take(), vec![Ev::Closed(C)]);
    assert_eq!(h.stats.syn_data_ignored, 1);
    // The bytes the client sends after the handshake are the ones delivered.
    let mut h = Harness::new(StreamConfig::default());
    h.seg(C, C_ISN, 0, SYN, b"decoy");
    h.seg(S, S_ISN, C0, SYN | ACK, b"");
    h.c(C0, b"real");
    assert_eq!(h.bytes(C), b"real");
}

#[test]
fn repeated_syn_with_a_new_isn_before_data_restarts() {
    let mut h = Harness::new(StreamConfig::default());
    h.seg(C, 10, 0, SYN, b"");
    h.seg(C, 500, 0, SYN, b"");
    h.c(501, b"abc");
    assert_eq!(h.bytes(C), b"abc");
}

#[test]
fn repeated_syn_with_a_new_isn_after_data_is_ignored() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"abc");
    h.seg(C, 90_000, 0, SYN, b"evil");
    assert_eq!(h.stats.ignored, 1);
    // The same SYN again is harmless.
    h.seg(C, C_ISN, 0, SYN, b"");
    assert_eq!(h.stats.ignored, 1);
    h.c(C0 + 3, b"def");
    assert_eq!(h.bytes(C), b"abcdef");
}

#[test]
fn hostile_sequence_numbers_do_not_break_anything() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"ok");
    // Half the circle away in each direction, zero-length segments, bogus acks.
    h.c(C0.wrapping_add(1 << 31), b"far");
    h.c(C0.wrapping_add((1 << 31) - 1), b"far");
    h.c(C0.wrapping_sub(1 << 30), b"behind");
    h.c(C0 + 2, b"");
    h.seg(S, S0, C0.wrapping_add(0x7fff_0000), ACK, b"");
    h.seg(S, S0, C0.wrapping_sub(5), ACK, b"");
    h.seg(C, 0, 0, 0xff, b"all flags");
    h.finish();
    assert_eq!(h.memory.used, 0);
    assert_eq!(h.events.first(), Some(&data(C, b"ok")));
    assert!(h.session().is_closed());
}

#[test]
fn policy_rule_table() {
    use StreamPolicy::*;
    // new [5,15) vs old [10,20): new starts first.
    assert!(!First.new_data_wins(5, 15, 10, 20));
    assert!(Last.new_data_wins(5, 15, 10, 20));
    assert!(Bsd.new_data_wins(5, 15, 10, 20));
    assert!(Windows.new_data_wins(5, 15, 10, 20));
    assert!(Linux.new_data_wins(5, 15, 10, 20));
    // Same start, new longer: only Linux (and Last) take the new bytes.
    assert!(Linux.new_data_wins(10, 25, 10, 20));
    assert!(!Bsd.new_data_wins(10, 25, 10, 20));
    assert!(!Windows.new_data_wins(10, 25, 10, 20));
    assert!(Last.new_data_wins(10, 25, 10, 20));
    // New starts later: old bytes stay except under Last.
    assert!(!Linux.new_data_wins(12, 25, 10, 20));
    assert!(Last.new_data_wins(12, 25, 10, 20));
}

// ---------------------------------------------------------------------------------------
// Property tests.

/// What a client's stream should look like after reassembly when segments overlap with
/// different bytes: a per-byte model of the policy. Each byte remembers the segment that wrote
/// it; a later segment replaces it when the policy says so, unless the byte was delivered
/// already (everything before the first byte never written).
fn oracle(policy: StreamPolicy, len: usize, segments: &[(usize, Vec<u8>)]) -> Vec<u8> {
    let mut value: Vec<Option<(u8, u64, u64)>> = vec![None; len];
    let mut next = 0;
    for (start, bytes) in segments {
        let (s, e) = (*start as u64, (*start + bytes.len()) as u64);
        for (i, b) in bytes.iter().enumerate() {
            let p = start + i;
            if p < next {
                continue;
            }
            match value[p] {
                None => value[p] = Some((*b, s, e)),
                Some((_, os, oe)) if policy.new_data_wins(s, e, os, oe) => {
                    value[p] = Some((*b, s, e))
                }
                Some(_) => {}
            }
        }
        while next < len && value[next].is_some() {
            next += 1;
        }
    }
    value.into_iter().map(|v| v.unwrap().0).collect()
}

fn any_policy() -> impl Strategy<Value = StreamPolicy> {
    prop_oneof![
        Just(StreamPolicy::First),
        Just(StreamPolicy::Last),
        Just(StreamPolicy::Bsd),
        Just(StreamPolicy::Linux),
        Just(StreamPolicy::Windows),
    ]
}

/// Cuts `len` bytes into pieces of 1..=max bytes: (start, end) pairs covering 0..len.
fn cuts(len: usize, sizes: &[usize]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < len {
        let size = sizes
            .get(i % sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        let end = (at + size).min(len);
        out.push((at, end));
        at = end;
        i += 1;
    }
    out
}

/// Sends `segments` (offset, bytes) after a handshake with client ISN `isn`, the last
/// segment carrying the FIN, and returns the harness after `finish`.
fn replay(policy: StreamPolicy, isn: u32, segments: &[(usize, Vec<u8>)], fin_at: usize) -> Harness {
    let mut h = Harness::with_isns(
        StreamConfig {
            policy,
            depth: 0,
            max_segments: 100_000,
            max_held_bytes: usize::MAX,
            ..StreamConfig::default()
        },
        isn,
        S_ISN,
    );
    let first = isn.wrapping_add(1);
    for (start, bytes) in segments {
        let seq = first.wrapping_add(*start as u32);
        let fin = if start + bytes.len() == fin_at {
            FIN
        } else {
            0
        };
        h.seg(C, seq, S0, ACK | fin, bytes);
    }
    h.finish();
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Random segmentation, random order, random duplicates (re-cut differently, same bytes):
    /// the bytes delivered are exactly the original stream, with no gap and one close, under
    /// every policy.
    #[test]
    fn reassembles_any_order_and_duplicates(
        stream in proptest::collection::vec(any::<u8>(), 1..600),
        sizes in proptest::collection::vec(1usize..40, 1..8),
        dup_sizes in proptest::collection::vec(1usize..80, 1..8),
        dup_keep in proptest::collection::vec(any::<bool>(), 1..32),
        order in proptest::collection::vec(any::<u32>(), 64),
        isn in prop_oneof![any::<u32>(), (u32::MAX - 700)..=u32::MAX],
        policy in any_policy(),
    ) {
        let mut segments: Vec<(usize, Vec<u8>)> = cuts(stream.len(), &sizes)
            .into_iter()
            .map(|(a, b)| (a, stream[a..b].to_vec()))
            .collect();
        for (i, (a, b)) in cuts(stream.len(), &dup_sizes).into_iter().enumerate() {
            if dup_keep[i % dup_keep.len()] {
                segments.push((a, stream[a..b].to_vec()));
            }
        }
        // Shuffle by sorting on random keys.
        let mut keyed: Vec<(u32, (usize, Vec<u8>))> = segments
            .into_iter()
            .enumerate()
            .map(|(i, s)| (order[i % order.len()].wrapping_mul(i as u32 + 1), s))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let segments: Vec<(usize, Vec<u8>)> = keyed.into_iter().map(|(_, s)| s).collect();

        let h = replay(policy, isn, &segments, stream.len());
        prop_assert_eq!(h.bytes(C), stream);
        prop_assert!(!h.events.iter().any(|e| matches!(e, Ev::Gap(..))));
        prop_assert_eq!(h.stats.overlaps_different, 0);
        let closes: Vec<&Ev> = h.events.iter().filter(|e| matches!(e, Ev::Closed(C))).collect();
        prop_assert_eq!(closes.len(), 1);
    }

    /// Capture loss: with some segments missing, `finish` delivers every byte that was seen
    /// and a gap exactly where none was, whatever the order.
    #[test]
    fn gaps_are_exactly_the_bytes_never_seen(
        stream in proptest::collection::vec(any::<u8>(), 1..400),
        sizes in proptest::collection::vec(1usize..40, 1..8),
        dup_sizes in proptest::collection::vec(1usize..80, 1..8),
        keep in proptest::collection::vec(prop::bool::weighted(0.7), 1..32),
        order in proptest::collection::vec(any::<u32>(), 64),
        policy in any_policy(),
    ) {
        let mut segments: Vec<(usize, Vec<u8>)> = Vec::new();
        let all = cuts(stream.len(), &sizes).into_iter().chain(cuts(stream.len(), &dup_sizes));
        for (i, (a, b)) in all.enumerate() {
            if keep[i % keep.len()] {
                segments.push((a, stream[a..b].to_vec()));
            }
        }
        let mut keyed: Vec<(u32, (usize, Vec<u8>))> = segments
            .into_iter()
            .enumerate()
            .map(|(i, s)| (order[i % order.len()].wrapping_mul(i as u32 + 1), s))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let segments: Vec<(usize, Vec<u8>)> = keyed.into_iter().map(|(_, s)| s).collect();

        // Seen bytes, up to the FIN when a segment carrying it was seen, else up to the last
        // byte seen (the sensor cannot know about a lost tail).
        let mut seen = vec![false; stream.len()];
        for (a, b) in &segments {
            seen[*a..*a + b.len()].iter_mut().for_each(|x| *x = true);
        }
        let fin_seen = segments.iter().any(|(a, b)| a + b.len() == stream.len());
        let limit = if fin_seen {
            stream.len()
        } else {
            seen.iter().rposition(|x| *x).map_or(0, |p| p + 1)
        };
        let expected: Vec<Option<u8>> =
            (0..limit).map(|p| seen[p].then_some(stream[p])).collect();

        let h = replay(policy, C_ISN, &segments, stream.len());
        let mut got: Vec<Option<u8>> = Vec::new();
        for e in &h.events {
            match e {
                Ev::Data(C, b) => got.extend(b.iter().map(|x| Some(*x))),
                Ev::Gap(C, n) => got.extend(std::iter::repeat_n(None, *n as usize)),
                _ => {}
            }
        }
        prop_assert_eq!(got, expected);
        prop_assert_eq!(h.events.last(), Some(&Ev::Closed(S)));
    }

    /// Overlapping segments with different bytes: the result matches a byte-by-byte model of
    /// the policy.
    #[test]
    fn overlaps_follow_the_policy_model(
        len in 1usize..200,
        sizes in proptest::collection::vec(1usize..30, 1..6),
        extra in proptest::collection::vec((0usize..200, 1usize..40, any::<u8>()), 0..12),
        order in proptest::collection::vec(any::<u32>(), 32),
        policy in any_policy(),
    ) {
        // A covering segmentation (so there is no gap) plus extra segments, each with its own
        // fill byte so that overlaps differ.
        let mut segments: Vec<(usize, Vec<u8>)> = cuts(len, &sizes)
            .into_iter()
            .enumerate()
            .map(|(i, (a, b))| (a, vec![b'a' + (i % 26) as u8; b - a]))
            .collect();
        for (start, size, fill) in extra {
            let start = start % len;
            let end = (start + size).min(len);
            segments.push((start, vec![fill; end - start]));
        }
        let mut keyed: Vec<(u32, (usize, Vec<u8>))> = segments
            .into_iter()
            .enumerate()
            .map(|(i, s)| (order[i % order.len()].wrapping_mul(i as u32 + 1), s))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let segments: Vec<(usize, Vec<u8>)> = keyed.into_iter().map(|(_, s)| s).collect();

        let h = replay(policy, C_ISN, &segments, usize::MAX);
        prop_assert_eq!(h.bytes(C), oracle(policy, len, &segments));
        prop_assert!(!h.events.iter().any(|e| matches!(e, Ev::Gap(..))));
    }

    /// Arbitrary segments from both sides never panic, keep the memory count exact, and end
    /// with one close per side and nothing after it.
    #[test]
    fn never_panics_on_random_segments(
        segments in proptest::collection::vec(
            (any::<bool>(), any::<u32>(), any::<u32>(), any::<u8>(),
             proptest::collection::vec(any::<u8>(), 0..50), 0u32..300),
            1..40),
        midstream in any::<bool>(),
        depth in prop_oneof![Just(0u64), 1u64..200],
        max_segments in 0usize..8,
        cap in 0usize..300,
        policy in any_policy(),
    ) {
        let mut h = Harness::new(StreamConfig {
            policy,
            depth,
            midstream,
            max_segments,
            max_held_bytes: 150,
        });
        h.memory.cap = cap;
        // Half the time sequence numbers stay near one another, so reassembly gets exercised.
        for (client, seq, ack, flags, payload, near) in &segments {
            let side = if *client { C } else { S };
            let seq = if seq % 2 == 0 { 1000 + near } else { *seq };
            let ack = if ack % 2 == 0 { 1000 + near } else { *ack };
            h.seg(side, seq, ack, *flags, payload);
        }
        h.finish();
        prop_assert_eq!(h.memory.used, 0);
        for side in [C, S] {
            let last_close = h.events.iter().rposition(|e| *e == Ev::Closed(side));
            let closes = h.events.iter().filter(|e| **e == Ev::Closed(side)).count();
            prop_assert_eq!(closes, 1);
            let after = h.events[last_close.unwrap()..].iter().skip(1).any(|e| match e {
                Ev::Data(s, _) | Ev::Gap(s, _) => *s == side,
                Ev::Closed(_) => false,
            });
            prop_assert!(!after);
        }
        for e in &h.events {
            if let Ev::Data(_, b) = e {
                prop_assert!(!b.is_empty());
            }
            if let Ev::Gap(_, n) = e {
                prop_assert!(*n > 0);
            }
        }
        prop_assert!(h.session().is_closed());
    }
}

/// A handshake where the server offers a 100-byte window (scale `s_scale`, the client's
/// `c_scale`); the server's last ACK advertises `window`.
fn small_window(c_scale: Option<u8>, s_scale: Option<u8>, window: u16) -> Harness {
    let mut h = Harness::new(StreamConfig::default());
    h.seg_window(C, C_ISN, 0, SYN, (64240, c_scale), b"");
    h.seg_window(S, S_ISN, C0, SYN | ACK, (100, s_scale), b"");
    h.seg(C, C0, S0, ACK, b"");
    h.seg_window(S, S0, C0, ACK, (window, None), b"");
    h
}

#[test]
fn data_past_the_receivers_window_is_not_taken() {
    // The decoy starts at the window's right edge (C0 + 100): the server drops it. The real
    // bytes come later, when the window has moved, and are the ones delivered.
    let mut h = small_window(None, None, 100);
    let real: Vec<u8> = (0..150u8).collect();
    h.c(C0 + 100, &[b'x'; 50]);
    assert_eq!(h.stats.out_of_window, 1);
    assert!(h.take().is_empty());
    h.c(C0, &real[..100]);
    h.seg_window(S, S0, C0 + 100, ACK, (100, None), b"");
    h.c(C0 + 100, &real[100..]);
    assert_eq!(h.bytes(C), real);
    assert_eq!(h.stats.out_of_window_taken, 0);
    assert!(h.stats.gaps == 0);
    // With the window check off (no handshake seen), the decoy would have won: see
    // `windows_old_segment_starting_before_new_wins`.
    h.finish();
}

#[test]
fn nothing_is_held_once_an_acknowledged_segment_set_aside_reaches_the_fin() {
    // Found by the reassembly fuzz target. Three segments past the window: the FIN-carrying
    // one first, then the one before it, then one past the FIN that the receiver does not
    // acknowledge. An ACK covering the first two takes them in turn; the second reaches the
    // FIN and closes the direction, which gives back every byte set aside; the third must
    // not be put back aside after that (it was, and stayed held after the close).
    let mut h = small_window(None, None, 100);
    h.c(C0, &[b'a'; 100]);
    h.seg(C, C0 + 110, S0, ACK | PSH | FIN, &[b'c'; 10]);
    h.c(C0 + 100, &[b'b'; 10]);
    h.c(C0 + 130, &[b'z'; 1]);
    assert_eq!(h.stats.out_of_window, 3);
    h.seg_window(S, S0, C0 + 121, ACK, (100, None), b"");
    assert!(h.session().direction(C).is_closed());
    assert_eq!(h.session().direction(C).held_segments(), 0);
    h.check_memory();
    assert_eq!(h.bytes(C).len(), 120);
    h.finish();
}

#[test]
fn a_segment_set_aside_is_taken_when_the_receiver_acknowledges_it() {
    // The capture missed the window update: the receiver acknowledges bytes the sensor saw
    // past its window, so it did read them. They are delivered, not given up as a gap.
    let mut h = small_window(None, None, 100);
    h.c(C0, &[b'a'; 100]);
    h.c(C0 + 100, &[b'b'; 40]);
    assert_eq!(h.stats.out_of_window, 1);
    h.seg_window(S, S0, C0 + 140, ACK, (100, None), b"");
    assert_eq!(h.bytes(C).len(), 140);
    assert_eq!(&h.bytes(C)[100..], &[b'b'; 40]);
    assert_eq!((h.stats.out_of_window_taken, h.stats.gaps), (1, 0));
    h.finish();
}

#[test]
fn windows_are_scaled_only_when_both_syns_offer_scaling() {
    // Both offer it: the server's window of 100 with shift 2 is 400 bytes.
    let mut h = small_window(Some(7), Some(2), 100);
    h.c(C0 + 300, b"in the window");
    h.c(C0 + 400, b"past it");
    assert_eq!(h.stats.out_of_window, 1);
    // Only the server offers it: no scaling (100 bytes).
    let mut h = small_window(None, Some(2), 100);
    h.c(C0 + 300, b"past it");
    assert_eq!(h.stats.out_of_window, 1);
    // The window in the SYN/ACK is never scaled: before the server's first ACK the edge
    // is C0 + 100 even with scaling on.
    let mut h = Harness::new(StreamConfig::default());
    h.seg_window(C, C_ISN, 0, SYN, (64240, Some(7)), b"");
    h.seg_window(S, S_ISN, C0, SYN | ACK, (100, Some(2)), b"");
    h.seg(C, C0, S0, ACK, b"");
    h.c(C0 + 100, b"past it");
    assert_eq!(h.stats.out_of_window, 1);
    assert_eq!(
        h.session().direction(C).window_edge(),
        Some(SeqNum(C0 + 100))
    );
}

#[test]
fn windows_are_not_checked_without_both_syns() {
    // Picked up mid-stream: the scaling is unknown, so nothing is judged out of window.
    let mut h = Harness::new(StreamConfig::default());
    h.seg_window(S, S0, C0, ACK, (10, None), b"");
    h.c(C0, b"more than ten bytes of data");
    assert_eq!(h.stats.out_of_window, 0);
    assert_eq!(h.bytes(C), b"more than ten bytes of data");
    // A SYN/ACK first: the client's SYN (and its scaling) was not seen.
    let mut h = Harness::new(StreamConfig::default());
    h.seg_window(S, S_ISN, C0, SYN | ACK, (10, None), b"");
    h.c(C0, b"more than ten bytes of data");
    assert_eq!(h.stats.out_of_window, 0);
    assert_eq!(h.bytes(C), b"more than ten bytes of data");
}

#[test]
fn the_window_edge_does_not_move_back() {
    let mut h = small_window(None, None, 100);
    // A zero window from a later ACK does not pull the edge back behind C0 + 100.
    h.seg_window(S, S0, C0, ACK, (0, None), b"");
    h.c(C0, &[b'a'; 100]);
    assert_eq!(h.stats.out_of_window, 0);
    // A zero-window probe at the edge is not taken.
    h.c(C0 + 100, b"p");
    assert_eq!(h.stats.out_of_window, 1);
    assert_eq!(h.bytes(C).len(), 100);
}

#[test]
fn segments_set_aside_stay_within_the_held_data_caps() {
    let config = StreamConfig {
        max_held_bytes: 100,
        ..StreamConfig::default()
    };
    let mut h = Harness::new(config);
    h.seg_window(C, C_ISN, 0, SYN, (64240, None), b"");
    h.seg_window(S, S_ISN, C0, SYN | ACK, (10, None), b"");
    for i in 0..10 {
        h.c(C0 + 10 + i * 60, &[b'z'; 60]);
    }
    assert_eq!(h.stats.out_of_window, 10);
    assert_eq!(
        h.session().direction(C).held_bytes(),
        60,
        "one fits in 100 bytes"
    );
    h.finish();
}

/// How a connection in the closed-form property test ends.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// FIN from both sides, each acknowledged.
    Fins,
    /// A reset from the client at its next byte.
    ClientReset,
    /// The server's FIN, then a reset from the client.
    FinThenReset,
    /// A reset before the server sent anything (its direction never started, when the
    /// session was picked up mid-stream).
    EarlyReset,
}

/// A segment sent after the close: who, which flags, its sequence and acknowledgement
/// numbers as distances from the receiver's next expected bytes, and its length.
type LateSegment = (bool, u8, i32, i32, usize);

fn any_late_segment() -> impl Strategy<Value = LateSegment> {
    let flags = prop_oneof![
        Just(ACK),
        Just(ACK | FIN),
        Just(ACK | PSH),
        Just(FIN),
        Just(RST),
        Just(RST | ACK),
        Just(SYN),
        Just(SYN | ACK),
        Just(0),
    ];
    let near = prop_oneof![-3i32..=3, -2000i32..2000, any::<i32>()];
    (any::<bool>(), flags, near.clone(), near, 0usize..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A closed session and its closed form count every late segment alike (resets taken or
    /// not, data sent again or past the close, SYNs) and deliver nothing, and the session's
    /// closed form after each segment is the one kept.
    #[test]
    fn closed_form_counts_late_segments_as_the_session_does(
        handshake in any::<bool>(),
        isns in (any::<u32>(), any::<u32>()),
        lens in (0usize..3000, 0usize..3000),
        ending in prop_oneof![
            Just(Ending::Fins),
            Just(Ending::ClientReset),
            Just(Ending::FinThenReset),
            Just(Ending::EarlyReset),
        ],
        late in proptest::collection::vec(any_late_segment(), 1..40),
    ) {
        let (c_isn, s_isn) = isns;
        let (c0, s0) = (c_isn.wrapping_add(1), s_isn.wrapping_add(1));
        let mut h = if handshake {
            Harness::with_isns(unlimited(), c_isn, s_isn)
        } else {
            Harness::new(unlimited())
        };
        let (c_len, s_len) = lens;
        let c_bytes = vec![b'c'; c_len];
        let s_bytes = vec![b's'; s_len];
        let c_end = c0.wrapping_add(c_len as u32);
        let s_end = s0.wrapping_add(s_len as u32);
        h.seg(C, c0, s0, ACK | PSH, &c_bytes);
        match ending {
            Ending::EarlyReset => h.seg(C, c_end, s0, RST, b""),
            Ending::Fins | Ending::ClientReset | Ending::FinThenReset => {
                h.seg(S, s0, c_end, ACK | PSH, &s_bytes);
                match ending {
                    Ending::Fins => {
                        h.seg(C, c_end, s_end, ACK | FIN, b"");
                        h.seg(S, s_end, c_end.wrapping_add(1), ACK | FIN, b"");
                        h.seg(C, c_end.wrapping_add(1), s_end.wrapping_add(1), ACK, b"");
                    }
                    Ending::ClientReset => h.seg(C, c_end, s_end, RST, b""),
                    _ => {
                        h.seg(S, s_end, c_end, ACK | FIN, b"");
                        h.seg(C, c_end, s_end.wrapping_add(1), RST, b"");
                    }
                }
            }
        }
        let closed = h.session().closed_form();
        prop_assert!(closed.is_some(), "{ending:?}: not closed");
        let Some(mut closed) = closed else {
            return Ok(());
        };
        h.take();
        let mut stats = h.stats.clone();
        for (client, flags, seq_off, ack_off, len) in late {
            let (side, seq_base, ack_base) = if client { (C, c_end, s_end) } else { (S, s_end, c_end) };
            let payload = vec![b'x'; len];
            let seq = seq_base.wrapping_add(seq_off as u32);
            let ack = ack_base.wrapping_add(ack_off as u32);
            h.seg(side, seq, ack, flags, &payload);
            closed.on_segment(&segment(seq, ack, flags, &payload), side, &mut stats);
            prop_assert_eq!(&stats, &h.stats);
            prop_assert!(h.events.is_empty(), "a closed session delivered {:?}", h.events);
            prop_assert_eq!(Some(closed), h.session().closed_form());
        }
    }
}

#[test]
fn a_session_has_no_closed_form_while_a_side_is_open() {
    let mut h = Harness::with_handshake(StreamConfig::default());
    h.c(C0, b"GET / HTTP/1.1\r\n\r\n");
    h.seg(C, C0 + 18, S0, ACK | FIN, b"");
    assert!(h.session().direction(C).is_closed());
    assert_eq!(h.session().closed_form(), None);
    h.seg(S, S0, C0 + 19, ACK | FIN, b"");
    assert!(h.session().closed_form().is_some());
}

#[test]
fn a_closed_session_keeps_a_small_form() {
    let size = std::mem::size_of::<ClosedTcpSession>();
    assert!(
        size * 5 <= std::mem::size_of::<TcpSession>(),
        "{size} bytes"
    );
}
