//! One TCP connection as a sensor next to the server sees it: handshake (MSS 1460, window
//! scale, SACK permitted), requests in MSS-sized segments, each answer paced one congestion
//! window per round trip, the client ACKing every second segment and the last, keep-alive
//! think time between requests, and the client-initiated close. Optionally impaired: answer
//! segments lost and retransmitted (the sensor sees the retransmission, with or without the
//! first copy) and neighbouring segments swapped. Every packet gets its time, sequence and
//! acknowledgment numbers here; the bytes are only cut into frames when written.

use super::rng::Rng;

/// TCP SYN flag (as stored in [`Packet::flags`]).
pub const SYN: u8 = 1;
/// TCP ACK flag.
pub const ACK: u8 = 2;
/// TCP PSH flag.
pub const PSH: u8 = 4;
/// TCP FIN flag.
pub const FIN: u8 = 8;
/// The maximum segment size both ends announce.
pub const MSS: usize = 1460;
/// Segments the server sends before it needs the client's first ACK back.
const INITIAL_WINDOW: usize = 10;
/// Microseconds to serialize a full-size frame at 1 Gbit/s.
const WIRE_GAP_US: u64 = 12;
/// Bytes of a frame besides the TCP payload: Ethernet, IPv4 and TCP headers.
pub const FRAME_OVERHEAD: u64 = 14 + 20 + 20;
/// Options of a SYN and a SYN/ACK: MSS 1460, NOP, window scale 8, SACK permitted, NOP, NOP.
pub const SYN_OPTIONS: [u8; 12] = [2, 4, 0x05, 0xb4, 1, 3, 3, 8, 4, 2, 1, 1];
/// Most segments the server sends per round trip in slow start (70 KB): the three windows
/// sent between a loss and the ACK of its retransmission fit the client's 262 KB window.
pub const MAX_WINDOW: usize = 48;
/// Minimum retransmission timeout of Windows, µs: a lost last segment waits this long.
const MIN_RTO_US: u64 = 300_000;

/// One packet of a connection; its payload is `len` bytes of the sender's stream from `off`.
#[derive(Debug, Clone, Copy)]
pub struct Packet {
    /// µs since the start of the capture.
    pub ts: u64,
    /// Sent by the client (else by the server).
    pub from_client: bool,
    /// [`SYN`], [`ACK`], [`PSH`], [`FIN`] or'ed together.
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful with [`ACK`]).
    pub ack: u32,
    /// Offset of the payload in the sender's stream.
    pub off: u32,
    /// Payload length.
    pub len: u32,
}

/// The link, network and transport addresses of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Endpoints {
    /// MAC of the router the client's packets come through.
    pub client_mac: [u8; 6],
    /// MAC of the server.
    pub server_mac: [u8; 6],
    /// Client IPv4 address.
    pub client: [u8; 4],
    /// Server IPv4 address.
    pub server: [u8; 4],
    /// Client (ephemeral) port.
    pub client_port: u16,
    /// Server port.
    pub server_port: u16,
}

/// One request of a connection: its bytes, how the client writes them, how long the server
/// takes to answer.
#[derive(Debug, Clone)]
pub struct Request {
    /// The whole request, head and body.
    pub bytes: Vec<u8>,
    /// Where the client's second write starts (headers and body written apart), or 0.
    pub split: usize,
    /// Server time before the answer, µs.
    pub server_us: u64,
}

/// What goes wrong on the path, in packets per million answer segments.
#[derive(Debug, Clone, Copy, Default)]
pub struct Impairments {
    /// Answer segments lost and retransmitted: half of them lost before the sensor (it sees
    /// the retransmission only), half after it (it sees both copies).
    pub loss_per_million: u64,
    /// Answer segments that arrive after the next one.
    pub swap_per_million: u64,
    /// Both senders follow TCP's windows: the server's answers grow by a window each round
    /// trip (slow start up to [`MAX_WINDOW`] segments) instead of 10 segments per round trip
    /// throughout, and the client's requests go one window per round trip with the server
    /// ACKing every second segment (so that a large upload never outruns the window the
    /// server announced).
    pub windows: bool,
}

/// A connection: every packet in time order, and both byte streams.
#[derive(Debug)]
pub struct Flow {
    /// Addresses and ports.
    pub ends: Endpoints,
    /// IPv4 TTL of the client's packets as seen by the sensor.
    pub client_ttl: u8,
    /// Last IPv4 identification the client used.
    pub client_ip_id: u16,
    /// Last IPv4 identification the server used.
    pub server_ip_id: u16,
    /// Everything the client sends.
    pub up: Vec<u8>,
    /// Everything the server sends.
    pub down: Vec<u8>,
    /// The packets, in time order.
    pub pkts: Vec<Packet>,
    /// The next packet to write.
    pub next: usize,
    /// Number of requests.
    pub requests: u32,
}

impl Flow {
    /// Bytes of the capture records of all the packets (16-byte record header and frame).
    pub fn capture_bytes(&self) -> u64 {
        self.pkts
            .iter()
            .map(|p| {
                let options = if p.flags & SYN != 0 {
                    SYN_OPTIONS.len() as u64
                } else {
                    0
                };
                16 + FRAME_OVERHEAD + options + u64::from(p.len)
            })
            .sum()
    }
}

/// A lost answer segment waiting for its retransmission.
struct Hole {
    /// Relative sequence number of the lost segment.
    seq: u32,
    /// When the server retransmits it.
    resend_ts: u64,
}

/// Builds a connection starting at `start` µs: every packet with its time, in time order.
/// `respond(rng, i, ts, down)` appends the answer to request `i`, sent at `ts`, to `down`.
pub fn build_flow(
    rng: &mut Rng,
    start: u64,
    ends: Endpoints,
    requests: &[Request],
    impair: Impairments,
    mut respond: impl FnMut(&mut Rng, usize, u64, &mut Vec<u8>),
) -> Flow {
    // Round trip seen from the server side: LAN clients or remote ones.
    let rtt = if rng.percent(70) {
        rng.range(300, 3_000)
    } else {
        rng.range(8_000, 45_000)
    };
    let client_isn = rng.next_u64() as u32;
    let server_isn = rng.next_u64() as u32;
    let mut pkts = Vec::with_capacity(32);
    let mut up = Vec::new();
    let mut down = Vec::new();
    // Next sequence numbers relative to the ISNs (the SYNs take one each).
    let mut c_next: u32 = 1;
    let mut s_next: u32 = 1;
    let c_seq = |rel: u32| client_isn.wrapping_add(rel);
    let s_seq = |rel: u32| server_isn.wrapping_add(rel);
    let control = |ts, from_client, flags, seq, ack| Packet {
        ts,
        from_client,
        flags,
        seq,
        ack,
        off: 0,
        len: 0,
    };

    let mut t = start;
    pkts.push(control(t, true, SYN, c_seq(0), 0));
    t += rng.range(20, 90);
    pkts.push(control(t, false, SYN | ACK, s_seq(0), c_seq(1)));
    t += rtt;
    pkts.push(control(t, true, ACK, c_seq(1), s_seq(1)));
    t += rng.range(10, 400);

    for (i, req) in requests.iter().enumerate() {
        if i > 0 {
            // Think time before the next request on the kept-alive connection.
            t += rng.range(10_000, 400_000);
        }
        // The request, in MSS-sized segments back to back (each write ends with PSH); with
        // windows, one window per round trip, the server ACKing every second segment.
        let mut sent = 0;
        let (mut seg_no, mut round_first, mut window) = (0usize, 0usize, INITIAL_WINDOW);
        while sent < req.bytes.len() {
            let write_end = if sent < req.split {
                req.split
            } else {
                req.bytes.len()
            };
            let len = (write_end - sent).min(MSS);
            let last = sent + len == write_end;
            let flags = if last { ACK | PSH } else { ACK };
            if impair.windows && seg_no - round_first == window {
                t += rtt;
                round_first = seg_no;
                window = (window * 2).min(MAX_WINDOW);
            }
            pkts.push(Packet {
                ts: t,
                from_client: true,
                flags,
                seq: c_seq(c_next),
                ack: s_seq(s_next),
                off: c_next - 1,
                len: len as u32,
            });
            c_next += len as u32;
            sent += len;
            if impair.windows && (seg_no % 2 == 1 || sent == req.bytes.len()) {
                let ack_ts = t + rng.range(30, 80);
                pkts.push(control(ack_ts, false, ACK, s_seq(s_next), c_seq(c_next)));
            }
            seg_no += 1;
            t += if last { rng.range(20, 200) } else { 2 };
        }
        up.extend_from_slice(&req.bytes);

        // The answer, after the server's time, one congestion window at a time.
        let resp_start = t + req.server_us;
        let head_start = down.len();
        respond(rng, i, resp_start, &mut down);
        let total = down.len() - head_start;
        let segments = total.div_ceil(MSS);
        let mut last_ack = resp_start;
        let mut hole: Option<Hole> = None;
        // Round trips so far and the segments sent before the current one began.
        let (mut round, mut round_first, mut window) = (0u64, 0usize, INITIAL_WINDOW);
        let first_pkt = pkts.len();
        for k in 0..segments {
            let len = (total - k * MSS).min(MSS);
            let seg_ts = if impair.windows {
                if k - round_first == window {
                    round += 1;
                    round_first = k;
                    window = (window * 2).min(MAX_WINDOW);
                }
                resp_start + k as u64 * WIRE_GAP_US + round * rtt
            } else {
                resp_start + k as u64 * WIRE_GAP_US + (k / INITIAL_WINDOW) as u64 * rtt
            };
            let last = k + 1 == segments;
            let seg = Packet {
                ts: seg_ts,
                from_client: false,
                flags: if last { ACK | PSH } else { ACK },
                seq: s_seq(s_next),
                ack: c_seq(c_next),
                off: s_next - 1,
                len: len as u32,
            };
            let lost = hole.is_none()
                && impair.loss_per_million > 0
                && rng.per_million(impair.loss_per_million);
            if lost {
                // Three duplicate ACKs bring a fast retransmission; a segment too near the
                // end waits for the retransmission timer.
                let resend_ts = if segments - k > 3 {
                    seg_ts + 3 * WIRE_GAP_US + rtt + rng.range(20, 200)
                } else {
                    seg_ts + MIN_RTO_US.max(2 * rtt)
                };
                if rng.percent(50) {
                    pkts.push(seg);
                }
                pkts.push(Packet {
                    ts: resend_ts,
                    ..seg
                });
                hole = Some(Hole {
                    seq: s_next,
                    resend_ts,
                });
            } else {
                pkts.push(seg);
            }
            s_next += len as u32;
            // The client acknowledges every second segment, and the last one; while a
            // segment is missing, it acknowledges only up to it.
            if k % 2 == 1 || last {
                let acked = match &hole {
                    Some(h) if seg_ts < h.resend_ts => h.seq,
                    _ => s_next,
                };
                // (never before the previous ACK: the client's packets stay in order)
                last_ack = (seg_ts + rtt + rng.range(0, 40)).max(last_ack + 1);
                pkts.push(control(last_ack, true, ACK, c_seq(c_next), s_seq(acked)));
            }
        }
        if let Some(h) = hole {
            // The retransmission fills the hole: the client acknowledges everything.
            last_ack = (h.resend_ts + rtt + rng.range(0, 40)).max(last_ack + 1);
            pkts.push(control(last_ack, true, ACK, c_seq(c_next), s_seq(s_next)));
        }
        if impair.swap_per_million > 0 {
            swap_some(rng, &mut pkts[first_pkt..], impair.swap_per_million);
        }
        t = last_ack;
    }

    // The client closes the idle connection; the server's stack ACKs its FIN at once, and
    // IIS closes its side a little later.
    t += rng.range(20_000, 300_000);
    pkts.push(control(t, true, FIN | ACK, c_seq(c_next), s_seq(s_next)));
    c_next += 1;
    t += rng.range(30, 120);
    pkts.push(control(t, false, ACK, s_seq(s_next), c_seq(c_next)));
    t += rng.range(100, 3_000);
    pkts.push(control(t, false, FIN | ACK, s_seq(s_next), c_seq(c_next)));
    s_next += 1;
    t += rtt;
    pkts.push(control(t, true, ACK, c_seq(c_next), s_seq(s_next)));

    // Each side's packets were pushed in their own order; merge the two sides by time.
    pkts.sort_by_key(|p| p.ts);
    // The flow is held until its last packet is written: give back what the buffers grew
    // past their contents.
    down.shrink_to_fit();
    pkts.shrink_to_fit();
    Flow {
        ends,
        client_ttl: if rtt < 5_000 { 127 } else { 115 },
        client_ip_id: rng.next_u64() as u16,
        server_ip_id: rng.next_u64() as u16,
        up,
        down,
        pkts,
        next: 0,
        requests: requests.len() as u32,
    }
}

/// Swaps the times of some server data segments with the server data segment after them,
/// so that the later one arrives first (reordering on a multipath link).
fn swap_some(rng: &mut Rng, pkts: &mut [Packet], per_million: u64) {
    let data = |p: &Packet| !p.from_client && p.len > 0;
    let mut i = 0;
    while i < pkts.len() {
        if data(&pkts[i]) && rng.per_million(per_million) {
            if let Some(j) = (i + 1..pkts.len()).find(|&j| data(&pkts[j])) {
                // Only neighbours in one burst: a retransmission stays after its hole.
                let (a, b) = (pkts[i].ts, pkts[j].ts);
                if a < b && b - a <= WIRE_GAP_US && pkts[j].seq != pkts[i].seq {
                    let ts = pkts[i].ts;
                    pkts[i].ts = pkts[j].ts;
                    pkts[j].ts = ts;
                    i = j;
                }
            }
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends() -> Endpoints {
        Endpoints {
            client_mac: [2, 0, 0, 0, 0, 1],
            server_mac: [2, 0, 0, 0, 0, 2],
            client: [10, 0, 0, 1],
            server: [10, 0, 0, 2],
            client_port: 50_000,
            server_port: 80,
        }
    }

    /// Every byte of the server's stream is in some packet, and the packets are in time order.
    fn check(flow: &Flow) {
        let mut seen = vec![false; flow.down.len()];
        for p in flow.pkts.iter().filter(|p| !p.from_client && p.len > 0) {
            for b in p.off..p.off + p.len {
                seen[b as usize] = true;
            }
        }
        assert!(
            seen.iter().all(|&s| s),
            "every answer byte is in the capture"
        );
        assert!(flow.pkts.windows(2).all(|w| w[0].ts <= w[1].ts));
    }

    #[test]
    fn impaired_flows_still_carry_every_byte() {
        let requests = vec![
            Request {
                bytes: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                split: 0,
                server_us: 1_000,
            };
            3
        ];
        let impair = Impairments {
            loss_per_million: 100_000,
            swap_per_million: 100_000,
            windows: true,
        };
        let mut rng = Rng::new(4);
        let mut resends = 0;
        for n in 0..20u64 {
            let flow = build_flow(
                &mut rng,
                n * 1_000,
                ends(),
                &requests,
                impair,
                |rng, _, _, down| {
                    let len = rng.range(1, 200_000) as usize;
                    down.resize(down.len() + len, b'x');
                },
            );
            check(&flow);
            let data = flow.pkts.iter().filter(|p| !p.from_client && p.len > 0);
            let mut offs: Vec<u32> = data.map(|p| p.off).collect();
            let all = offs.len();
            offs.sort_unstable();
            offs.dedup();
            resends += all - offs.len();
            assert_eq!(flow.requests, 3);
            assert_eq!(flow.up.len(), 3 * requests[0].bytes.len());
        }
        assert!(resends > 0, "some segments are seen twice");
    }
}
