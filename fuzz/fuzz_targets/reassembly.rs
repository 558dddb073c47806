//! TCP reassembly: segment records (see `format`) drive one `TcpSession` (settings from the
//! two config bytes), which is then finished. Checks the order of the events it emits, the
//! inspection depth and that finishing gives back all the memory held.
//!
//! With bit 6 of the first config byte, every payload byte is a function of its sequence
//! number ([`byte_at`]) instead of the input: overlapping segments then agree, whatever the
//! overlap policy, and every byte delivered must be the one of its place in the stream. That
//! checks the offsets (wrap-around, trimming of overlaps and retransmissions, gaps).
#![no_main]

use exhound::decode::{decode_frame, linktype, Decoded};
use exhound::flow::Side;
use exhound::stream::{StreamEvent, StreamStats, TcpSession};
use exhound::time::Timestamp;
use exhound_fuzz::format::{dt_nanos, Reader, SegmentRecord};
use exhound_fuzz::{
    ip_frames, stream_config, tcp_bytes, CLIENT_PORT, CLIENT_V4, SERVER_PORT, SERVER_V4, START,
};
use libfuzzer_sys::fuzz_target;

/// The byte at sequence number `seq` when payloads are made from their place.
fn byte_at(seq: u32) -> u8 {
    (seq.wrapping_mul(0x9e37_79b1) >> 24) as u8
}

/// An event, owned (checked once the call that emitted it returns).
enum Event {
    Data(Side, Vec<u8>),
    Gap(Side, u64),
    Closed(Side),
}

impl From<StreamEvent<'_>> for Event {
    fn from(e: StreamEvent<'_>) -> Event {
        match e {
            StreamEvent::Data { side, bytes } => Event::Data(side, bytes.to_vec()),
            StreamEvent::Gap { side, len } => Event::Gap(side, len),
            StreamEvent::Closed { side } => Event::Closed(side),
        }
    }
}

/// What came out for one side.
#[derive(Default)]
struct Seen {
    /// Bytes delivered.
    data: u64,
    /// Stream offset reached: bytes delivered or skipped.
    offset: u64,
    closed: bool,
}

/// Checks the events one call emitted; with `positional` payloads, that each byte delivered
/// is the one of its sequence number.
fn check(
    seen: &mut [Seen; 2],
    depth: u64,
    session: &TcpSession,
    positional: bool,
    events: Vec<Event>,
) {
    for event in events {
        let side = match &event {
            Event::Data(side, _) | Event::Gap(side, _) | Event::Closed(side) => *side,
        };
        let s = &mut seen[side.index()];
        if let Event::Closed(_) = event {
            assert!(!s.closed, "{side:?} closed twice");
            s.closed = true;
            continue;
        }
        assert!(!s.closed, "{side:?} sent after it closed");
        match event {
            Event::Data(_, bytes) => {
                assert!(!bytes.is_empty(), "empty data event");
                if positional {
                    let d = session.direction(side);
                    let next = d.next_seq().expect("data from a direction not started");
                    let origin = next.0.wrapping_sub(d.next_offset() as u32);
                    for (i, b) in bytes.iter().enumerate() {
                        let seq = origin.wrapping_add((s.offset + i as u64) as u32);
                        assert_eq!(
                            *b,
                            byte_at(seq),
                            "{side:?}: byte at offset {} is not the one of seq {seq}",
                            s.offset + i as u64
                        );
                    }
                }
                s.data += bytes.len() as u64;
                s.offset += bytes.len() as u64;
                assert!(
                    depth == 0 || s.data <= depth,
                    "{} bytes delivered past a depth of {depth}",
                    s.data
                );
            }
            Event::Gap(_, len) => {
                assert!(len > 0, "empty gap event");
                s.offset += len;
            }
            Event::Closed(_) => unreachable!(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let (config, mut memory, positional) = {
        let (a, b) = (r.u8(), r.u8());
        let (config, memory) = stream_config(a, b);
        (config, memory, a & 0x40 != 0)
    };
    let isn = [r.u32(), r.u32()];
    let mut stats = StreamStats::default();
    let mut session: Option<TcpSession> = None;
    let mut seen = [Seen::default(), Seen::default()];
    let mut now = START;
    let mut events = Vec::new();
    while !r.is_empty() {
        let tag = r.u8();
        let rec = SegmentRecord::read(tag, &mut r);
        let side = if rec.responder() {
            Side::Responder
        } else {
            Side::Initiator
        };
        let (src, dst) = match side {
            Side::Initiator => (
                (CLIENT_V4.into(), CLIENT_PORT),
                (SERVER_V4.into(), SERVER_PORT),
            ),
            Side::Responder => (
                (SERVER_V4.into(), SERVER_PORT),
                (CLIENT_V4.into(), CLIENT_PORT),
            ),
        };
        now = Timestamp(now.0.saturating_add(dt_nanos(rec.dt)));
        let seq = isn[side.index()].wrapping_add(rec.seq);
        let ack = isn[side.opposite().index()].wrapping_add(rec.ack);
        let made: Vec<u8>;
        let payload = if positional {
            // A SYN's sequence number is not a data byte's: its data starts one later.
            let first = seq.wrapping_add(u32::from(rec.flags & 0x02 != 0));
            made = (0..rec.payload.len())
                .map(|i| byte_at(first.wrapping_add(i as u32)))
                .collect();
            &made
        } else {
            rec.payload
        };
        // The segment is built as a frame and decoded, as the pipeline would get it.
        let upper = tcp_bytes(src, dst, seq, ack, rec.flags, payload, false);
        let frame = ip_frames(src.0, dst.0, 1, false, false, &upper).remove(0);
        let Ok(Decoded::Tcp(segment)) = decode_frame(linktype::ETHERNET, &frame) else {
            panic!("a built segment does not decode");
        };
        let session =
            session.get_or_insert_with(|| TcpSession::new(&segment, side, &config, &mut stats));
        session.on_segment(
            &segment,
            side,
            now,
            &config,
            &mut memory,
            &mut stats,
            &mut |e| events.push(Event::from(e)),
        );
        check(
            &mut seen,
            config.depth,
            session,
            positional,
            std::mem::take(&mut events),
        );
        assert!(
            memory.used <= memory.cap,
            "{} bytes held over a cap of {}",
            memory.used,
            memory.cap
        );
    }
    if let Some(mut session) = session {
        session.finish(&config, &mut memory, &mut stats, &mut |e| {
            events.push(Event::from(e))
        });
        check(&mut seen, config.depth, &session, positional, events);
        assert!(session.is_closed(), "finished session not closed");
        for side in [Side::Initiator, Side::Responder] {
            assert_eq!(session.direction(side).held_segments(), 0);
        }
    }
    assert_eq!(memory.used, 0, "finished session still holds memory");
});
