//! What a TCP session charges for the bytes it holds out of order, against what it really
//! allocates.
//!
//! The worker's memory budget is only as good as its charges: a charge below the real cost
//! lets a flood hold more than the budget (the out-of-order storm of the README's flood table
//! did, by a B-tree node per connection). This test binary counts, per thread, the heap
//! bytes every allocation takes from glibc's malloc (its 8-byte header, 16-byte rounding and
//! 32-byte minimum included) and checks, after every segment, that the session's charge
//! ([`TcpReassembler::held_bytes`] plus [`TcpSession::held_overhead`]) covers what the
//! session holds, for the orders that make a B-tree use the most nodes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};

use exhound::decode::{IpHeader, TcpFlags, TcpSegment, VlanIds};
use exhound::flow::Side;
use exhound::stream::{ReassemblyMemory, StreamConfig, StreamPolicy, StreamStats, TcpSession};
use exhound::time::Timestamp;

/// The system allocator, counting per thread the heap bytes live allocations take.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

/// Heap bytes glibc's malloc takes for a request of `size` bytes.
fn chunk(size: usize) -> isize {
    ((size + 8).div_ceil(16) * 16).max(32) as isize
}

fn count(delta: isize) {
    // `try_with`: allocations made while the thread is torn down are not counted.
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
}

// SAFETY: every call is passed on to `System` unchanged; only a counter is updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(chunk(layout.size()));
        // SAFETY: the caller's contract is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-chunk(layout.size()));
        // SAFETY: the caller's contract is `System::dealloc`'s.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(chunk(new_size) - chunk(layout.size()));
        // SAFETY: the caller's contract is `System::realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.with(Cell::get)
}

const C_ISN: u32 = 1000;
const S_ISN: u32 = 5000;
const C0: u32 = C_ISN + 1;
const S0: u32 = S_ISN + 1;
const ACK: u8 = TcpFlags::ACK;

/// One session fed segment by segment, checking its charge after each.
struct Session {
    session: TcpSession,
    config: StreamConfig,
    memory: ReassemblyMemory,
    stats: StreamStats,
    /// Heap bytes live before the session held anything.
    base: isize,
    /// The most the session held at once, in heap bytes.
    peak: isize,
    delivered: usize,
}

fn segment(
    seq: u32,
    ack: u32,
    flags: u8,
    window: (u16, Option<u8>),
    payload: &[u8],
) -> TcpSegment<'_> {
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
        window: window.0,
        window_scale: window.1,
        payload,
        tcp_bytes: payload,
        ipv4_header: None,
        length_from_capture: false,
    }
}

impl Session {
    /// A session after its handshake; the server advertises `server_window` bytes (no
    /// scaling), so client bytes past `C0 + server_window` are set aside.
    fn new(server_window: u16) -> Session {
        Session::with_config(server_window, StreamConfig::default())
    }

    fn with_config(server_window: u16, config: StreamConfig) -> Session {
        let mut stats = StreamStats::default();
        let syn = segment(C_ISN, 0, TcpFlags::SYN, (65535, Some(0)), b"");
        let session = TcpSession::new(&syn, Side::Initiator, &config, &mut stats);
        let mut s = Session {
            session,
            config,
            memory: ReassemblyMemory::default(),
            stats,
            base: 0,
            peak: 0,
            delivered: 0,
        };
        s.send(Side::Initiator, &syn);
        s.send(
            Side::Responder,
            &segment(
                S_ISN,
                C0,
                TcpFlags::SYN | ACK,
                (server_window, Some(0)),
                b"",
            ),
        );
        s.send(Side::Initiator, &segment(C0, S0, ACK, (65535, None), b""));
        s.base = live();
        s
    }

    fn send(&mut self, side: Side, seg: &TcpSegment<'_>) {
        let delivered = &mut self.delivered;
        self.session.on_segment(
            seg,
            side,
            Timestamp::default(),
            &self.config,
            &mut self.memory,
            &mut self.stats,
            &mut |_| *delivered += 1,
        );
    }

    /// Client bytes at stream offset `offset`, then the check.
    fn client(&mut self, offset: u32, payload: &[u8]) {
        let seg = segment(C0.wrapping_add(offset), S0, ACK, (65535, None), payload);
        self.send(Side::Initiator, &seg);
        self.check();
    }

    fn check(&mut self) {
        let held = live() - self.base;
        self.peak = self.peak.max(held);
        let charged = self.session.held_overhead()
            + self.session.direction(Side::Initiator).held_bytes()
            + self.session.direction(Side::Responder).held_bytes();
        assert!(
            held <= charged as isize,
            "the session holds {held} heap bytes but is charged {charged} ({} pieces)",
            self.session.held_segments()
        );
    }
}

/// A deterministic pseudo-random sequence (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(n)) as u32
    }
}

#[test]
fn one_piece_is_charged_its_whole_map_node() {
    let mut s = Session::new(65535);
    s.client(1000, &[b'x'; 1000]);
    assert_eq!(s.session.held_segments(), 1);
    // The node, not the bytes, is most of what one small piece costs.
    let mut t = Session::new(65535);
    t.client(10, b"x");
    assert!(
        t.peak > 500,
        "a single one-byte piece took {} heap bytes",
        t.peak
    );
}

#[test]
fn pieces_in_descending_order_are_covered() {
    // Each piece goes in front of the others: B-tree nodes split at the front.
    let mut s = Session::new(65535);
    for i in (1..1024u32).rev() {
        s.client(i, b"y");
    }
    assert_eq!(s.session.held_segments(), 1023);
    // The hole at 0 filled: everything is delivered and given back.
    s.client(0, b"a");
    assert_eq!(s.session.held_segments(), 0);
    assert!(s.delivered > 0);
    assert!(live() - s.base <= 0, "nothing held, nothing left allocated");
}

#[test]
fn pieces_in_random_order_with_overlaps_are_covered() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut s = Session::new(65535);
    let bytes = [b'z'; 64];
    for _ in 0..4000 {
        // Pieces of 1 to 40 bytes anywhere in the first 40,000 bytes past the hole at 0:
        // some overlap pieces held already (cut, split or replaced by the policy).
        let len = 1 + rng.below(40) as usize;
        let at = 1 + rng.below(40_000);
        s.client(at, &bytes[..len]);
        // Now and then the front moves: held pieces are delivered from the left.
        if rng.below(50) == 0 {
            let front = s.session.direction(Side::Initiator).next_offset() as u32;
            s.client(front, &bytes[..1 + rng.below(60) as usize]);
        }
    }
    assert!(s.session.held_segments() > 100);
}

#[test]
fn pieces_cut_by_later_bytes_are_charged_what_they_keep() {
    // The last bytes win: a byte sent into a held piece cuts it in two, and the left part
    // must not keep the whole piece's allocation.
    let config = StreamConfig {
        policy: StreamPolicy::Last,
        ..StreamConfig::default()
    };
    let mut s = Session::with_config(65535, config);
    // 40 pieces of 1,500 bytes, inside the server's 65,535-byte window.
    for i in 0..40u32 {
        s.client(10 + 1600 * i, &[b'p'; 1500]);
    }
    for i in 0..40u32 {
        for cut in [1400, 1000, 600, 200] {
            s.client(10 + 1600 * i + cut, b"q");
        }
    }
    // Each piece in five parts, and the four bytes that cut it.
    assert_eq!(s.session.held_segments(), 40 * 9);
}

#[test]
fn segments_set_aside_past_the_window_are_covered() {
    // The server advertises 1,000 bytes: client bytes past it are set aside, not held.
    let mut s = Session::new(1000);
    for i in 0..200u32 {
        s.client(1000 + 7 * i, b"w");
    }
    assert!(s.session.held_segments() >= 200);
}
