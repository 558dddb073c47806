//! TCP conversation builder: a list of segments between one client and one server, with
//! correct sequence and acknowledgment numbers, and knobs to make the capture misbehave
//! (reorder, retransmit, overlap with different bytes, IPv4 fragmentation, loss, no
//! handshake, sequence wrap).
//!
//! Build the normal conversation first (`handshake`, `client`, `server`, `close`), then
//! apply knobs to the segment list by index, then turn it into frames with [`Conv::frames`].

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;

use super::frame::{self, flags, Link, TcpHeader, PROTO_TCP};

/// One TCP segment of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    /// Sent by the client (else by the server).
    pub from_client: bool,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful when `flags` has ACK).
    pub ack: u32,
    /// Flag bits.
    pub flags: u8,
    /// Payload.
    pub payload: Vec<u8>,
    /// Send as IPv4 fragments: payload sizes (all but the last a multiple of 8) and the
    /// order to emit them in (indices into the fragment list).
    pub fragments: Option<(Vec<usize>, Vec<usize>)>,
    /// Advertised window (no window scaling is offered).
    pub window: u16,
}

/// The window every segment advertises unless a test sets another.
pub const WINDOW: u16 = 64240;

/// A TCP conversation under construction.
#[derive(Debug, Clone)]
pub struct Conv {
    /// Client address and port.
    pub client: SocketAddr,
    /// Server address and port.
    pub server: SocketAddr,
    /// The segments, in capture order.
    pub segs: Vec<Seg>,
    /// Largest payload per segment for [`Conv::client`] / [`Conv::server`].
    pub mss: usize,
    /// After each `client`/`server` call the peer sends a pure ACK of everything.
    pub acks: bool,
    /// IPv6 extension header put in every packet ([`frame::IPV6_HOP_BY_HOP`] or
    /// [`frame::IPV6_DEST_OPTS`]).
    pub ipv6_ext: Option<u8>,
    client_isn: u32,
    server_isn: u32,
    client_sent: u32,
    server_sent: u32,
}

impl Conv {
    /// A conversation between `client` and `server` ("192.0.2.10:51000", "[2001:db8::5]:80"),
    /// initial sequence numbers 1000 (client) and 5000 (server), MSS 1460.
    pub fn new(client: &str, server: &str) -> Conv {
        Conv {
            client: client.parse().expect("client address"),
            server: server.parse().expect("server address"),
            segs: Vec::new(),
            mss: 1460,
            acks: true,
            ipv6_ext: None,
            client_isn: 1000,
            server_isn: 5000,
            client_sent: 0,
            server_sent: 0,
        }
    }

    /// Sets the initial sequence numbers (call before anything is sent).
    pub fn isn(mut self, client: u32, server: u32) -> Conv {
        self.client_isn = client;
        self.server_isn = server;
        self
    }

    /// Sets the segment size for later sends.
    pub fn mss(mut self, mss: usize) -> Conv {
        self.mss = mss;
        self
    }

    /// Sequence number of stream byte `offset` of one side (byte 0 follows the SYN).
    pub fn seq_of(&self, from_client: bool, offset: usize) -> u32 {
        let isn = if from_client {
            self.client_isn
        } else {
            self.server_isn
        };
        isn.wrapping_add(1).wrapping_add(offset as u32)
    }

    /// Bytes one side has sent so far (the stream offset of its next byte).
    pub fn sent(&self, from_client: bool) -> usize {
        if from_client {
            self.client_sent as usize
        } else {
            self.server_sent as usize
        }
    }

    fn next(&self, from_client: bool) -> u32 {
        let sent = if from_client {
            self.client_sent
        } else {
            self.server_sent
        };
        self.seq_of(from_client, sent as usize)
    }

    fn push(&mut self, from_client: bool, seq: u32, flags_: u8, payload: &[u8]) -> usize {
        let ack = self.next(!from_client);
        self.segs.push(Seg {
            from_client,
            seq,
            ack,
            flags: flags_,
            payload: payload.to_vec(),
            fragments: None,
            window: WINDOW,
        });
        self.segs.len() - 1
    }

    /// SYN, SYN/ACK, ACK.
    pub fn handshake(&mut self) -> &mut Conv {
        let (c, s) = (self.client_isn, self.server_isn);
        self.segs.push(Seg {
            from_client: true,
            seq: c,
            ack: 0,
            flags: flags::SYN,
            payload: vec![],
            fragments: None,
            window: WINDOW,
        });
        self.segs.push(Seg {
            from_client: false,
            seq: s,
            ack: c.wrapping_add(1),
            flags: flags::SYN | flags::ACK,
            payload: vec![],
            fragments: None,
            window: WINDOW,
        });
        self.segs.push(Seg {
            from_client: true,
            seq: c.wrapping_add(1),
            ack: s.wrapping_add(1),
            flags: flags::ACK,
            payload: vec![],
            fragments: None,
            window: WINDOW,
        });
        self
    }

    /// A data segment with `bytes` at stream `offset` of one side, acknowledging everything
    /// the peer sent so far. Does not move that side's send pointer backwards; use it to
    /// inject overlapping or out-of-place segments. Returns the segment's index.
    pub fn segment(&mut self, from_client: bool, offset: usize, bytes: &[u8]) -> usize {
        let seq = self.seq_of(from_client, offset);
        let end = (offset + bytes.len()) as u32;
        let i = self.push(from_client, seq, flags::PSH | flags::ACK, bytes);
        let sent = if from_client {
            &mut self.client_sent
        } else {
            &mut self.server_sent
        };
        *sent = (*sent).max(end);
        i
    }

    /// Sends `data` from one side in segments of at most [`Conv::mss`] bytes; then (if
    /// [`Conv::acks`]) the peer acknowledges. Returns the indices of the data segments.
    pub fn send(&mut self, from_client: bool, data: &[u8]) -> Range<usize> {
        let first = self.segs.len();
        let start = if from_client {
            self.client_sent
        } else {
            self.server_sent
        } as usize;
        for (k, chunk) in data.chunks(self.mss.max(1)).enumerate() {
            self.segment(from_client, start + k * self.mss.max(1), chunk);
        }
        let range = first..self.segs.len();
        if self.acks {
            self.ack(!from_client);
        }
        range
    }

    /// The client sends `data`.
    pub fn client(&mut self, data: &[u8]) -> Range<usize> {
        self.send(true, data)
    }

    /// The server sends `data`.
    pub fn server(&mut self, data: &[u8]) -> Range<usize> {
        self.send(false, data)
    }

    /// A RST/ACK from one side at sequence number `seq` (a forged one when it is not the
    /// side's next sequence number). The side's send pointer does not move.
    pub fn reset_at(&mut self, from_client: bool, seq: u32) -> usize {
        self.push(from_client, seq, flags::RST | flags::ACK, b"")
    }

    /// A pure ACK from one side of everything the peer sent.
    pub fn ack(&mut self, from_client: bool) -> usize {
        let seq = self.next(from_client);
        self.push(from_client, seq, flags::ACK, b"")
    }

    /// Client FIN/ACK, server FIN/ACK, client ACK.
    pub fn close(&mut self) -> &mut Conv {
        let seq = self.next(true);
        self.push(true, seq, flags::FIN | flags::ACK, b"");
        self.client_sent += 1;
        let seq = self.next(false);
        self.push(false, seq, flags::FIN | flags::ACK, b"");
        self.server_sent += 1;
        self.ack(true);
        self
    }

    /// Moves segment `from` to position `to` (capture order).
    pub fn move_seg(&mut self, from: usize, to: usize) -> &mut Conv {
        let s = self.segs.remove(from);
        self.segs.insert(to, s);
        self
    }

    /// Reorders the segments in `range` to the given order (a permutation of the range's
    /// indices, relative to its start).
    pub fn reorder(&mut self, range: Range<usize>, order: &[usize]) -> &mut Conv {
        assert_eq!(
            order.len(),
            range.len(),
            "order must be a permutation of the range"
        );
        let orig: Vec<Seg> = self.segs[range.clone()].to_vec();
        for (k, &o) in order.iter().enumerate() {
            self.segs[range.start + k] = orig[o].clone();
        }
        self
    }

    /// Retransmits segment `i` (an identical copy) at position `at`.
    pub fn duplicate(&mut self, i: usize, at: usize) -> &mut Conv {
        let s = self.segs[i].clone();
        self.segs.insert(at, s);
        self
    }

    /// Removes segment `i`, as if the capture lost it.
    pub fn drop_seg(&mut self, i: usize) -> &mut Conv {
        self.segs.remove(i);
        self
    }

    /// Sends segment `i` as IPv4 fragments of the given payload sizes (the IP payload is
    /// the TCP header plus data), emitted in `order`.
    pub fn fragment(&mut self, i: usize, sizes: &[usize], order: &[usize]) -> &mut Conv {
        assert_eq!(sizes.len(), order.len());
        self.segs[i].fragments = Some((sizes.to_vec(), order.to_vec()));
        self
    }

    /// The IP packets of the conversation, each with its direction.
    pub fn packets(&self) -> Vec<(bool, Vec<u8>)> {
        let mut ids = [0x1000u16, 0x2000u16];
        let mut out = Vec::new();
        for s in &self.segs {
            let (src, dst) = if s.from_client {
                (self.client, self.server)
            } else {
                (self.server, self.client)
            };
            let h = TcpHeader {
                sport: src.port(),
                dport: dst.port(),
                seq: s.seq,
                ack: if s.flags & flags::ACK != 0 { s.ack } else { 0 },
                flags: s.flags,
                window: s.window,
            };
            let seg = frame::tcp(src.ip(), dst.ip(), h, &s.payload);
            let id = &mut ids[usize::from(!s.from_client)];
            *id = id.wrapping_add(1);
            match (src.ip(), dst.ip()) {
                (IpAddr::V4(a), IpAddr::V4(b)) => match &s.fragments {
                    None => out.push((
                        s.from_client,
                        frame::ipv4(a.octets(), b.octets(), *id, 0x4000, PROTO_TCP, &seg),
                    )),
                    Some((sizes, order)) => {
                        let frags = frame::ipv4_fragments(
                            a.octets(),
                            b.octets(),
                            *id,
                            PROTO_TCP,
                            &seg,
                            sizes,
                        );
                        for &k in order {
                            out.push((s.from_client, frags[k].clone()));
                        }
                    }
                },
                (IpAddr::V6(a), IpAddr::V6(b)) => {
                    assert!(s.fragments.is_none(), "IPv6 fragmentation is not supported");
                    out.push((
                        s.from_client,
                        frame::ipv6(a.octets(), b.octets(), self.ipv6_ext, PROTO_TCP, &seg),
                    ));
                }
                _ => panic!("mixed address families"),
            }
        }
        out
    }

    /// The conversation as link-layer frames.
    pub fn frames(&self, link: Link) -> Vec<Vec<u8>> {
        self.packets()
            .into_iter()
            .map(|(from_client, ip)| frame::wrap(link, &ip, from_client))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_follow_the_data() {
        let mut c = Conv::new("192.0.2.10:51000", "198.51.100.5:80").mss(4);
        c.handshake();
        let r = c.client(b"abcdefghij");
        assert_eq!(r, 3..6);
        assert_eq!(c.segs[3].seq, 1001);
        assert_eq!(c.segs[4].seq, 1005);
        assert_eq!(c.segs[5].payload, b"ij");
        // The server's ACK covers all ten bytes.
        assert_eq!(c.segs[6].ack, 1011);
        assert!(!c.segs[6].from_client);
        c.close();
        let n = c.segs.len();
        assert_eq!(c.segs[n - 3].seq, 1011);
        assert_eq!(c.segs[n - 2].ack, 1012);
        assert_eq!(c.segs[n - 1].ack, 5002);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut c = Conv::new("192.0.2.10:51000", "198.51.100.5:80")
            .isn(u32::MAX - 2, 0)
            .mss(3);
        c.handshake();
        c.client(b"abcdef");
        assert_eq!(c.segs[3].seq, u32::MAX - 1);
        assert_eq!(c.segs[4].seq, 1);
    }
}
