//! TCP reassembly: segment records (see `format`) drive one `TcpSession` (settings from the
//! two config bytes), which is then finished. Checks the order of the events it emits, the
//! inspection depth and that finishing gives back all the memory held.
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

/// What came out for one side.
#[derive(Default)]
struct Seen {
    data: u64,
    closed: bool,
}

fn check(seen: &mut [Seen; 2], depth: u64, event: StreamEvent<'_>) {
    let (side, data) = match event {
        StreamEvent::Data { side, bytes } => {
            assert!(!bytes.is_empty(), "empty data event");
            (side, bytes.len() as u64)
        }
        StreamEvent::Gap { side, len } => {
            assert!(len > 0, "empty gap event");
            (side, 0)
        }
        StreamEvent::Closed { side } => {
            let s = &mut seen[side.index()];
            assert!(!s.closed, "{side:?} closed twice");
            s.closed = true;
            return;
        }
    };
    let s = &mut seen[side.index()];
    assert!(!s.closed, "{side:?} sent after it closed");
    s.data += data;
    assert!(
        depth == 0 || s.data <= depth,
        "{} bytes delivered past a depth of {depth}",
        s.data
    );
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let (config, mut memory) = {
        let (a, b) = (r.u8(), r.u8());
        stream_config(a, b)
    };
    let isn = [r.u32(), r.u32()];
    let mut stats = StreamStats::default();
    let mut session: Option<TcpSession> = None;
    let mut seen = [Seen::default(), Seen::default()];
    let mut now = START;
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
        // The segment is built as a frame and decoded, as the pipeline would get it.
        let seq = isn[side.index()].wrapping_add(rec.seq);
        let ack = isn[side.opposite().index()].wrapping_add(rec.ack);
        let upper = tcp_bytes(src, dst, seq, ack, rec.flags, rec.payload, false);
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
            &mut |e| check(&mut seen, config.depth, e),
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
            check(&mut seen, config.depth, e)
        });
        assert!(session.is_closed(), "finished session not closed");
        for side in [Side::Initiator, Side::Responder] {
            assert_eq!(session.direction(side).held_segments(), 0);
        }
    }
    assert_eq!(memory.used, 0, "finished session still holds memory");
});
