//! Decoding and defragmentation: frame records (see `format`) are decoded under every link
//! type the decoder knows (and an unknown one); the IP fragments they carry, as decoded under
//! the record's own link type, go through one `Defragmenter` (limits from the config byte),
//! and reassembled datagrams are decoded as transport packets.
#![no_main]

use exhound::decode::defrag::Defragmenter;
use exhound::decode::{decode_frame, decode_transport, Decoded, IpHeader};
use exhound::time::Timestamp;
use exhound_fuzz::format::{dt_nanos, Reader, LINK_TYPES};
use exhound_fuzz::{defrag_config, START};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let config = defrag_config(r.u8());
    let (memcap, timeout) = (config.memcap, config.timeout_secs);
    let mut defrag = Defragmenter::new(config);
    let mut now = START;
    while !r.is_empty() {
        let link = LINK_TYPES[usize::from(r.u8()) % LINK_TYPES.len()];
        now = Timestamp(now.0.saturating_add(dt_nanos(r.u8())));
        let len = r.u16();
        let frame = r.bytes(usize::from(len));
        for other in LINK_TYPES {
            if other != link {
                let _ = decode_frame(other, frame);
            }
        }
        match decode_frame(link, frame) {
            Ok(Decoded::Tcp(segment)) => {
                assert!(segment.payload.len() <= frame.len());
            }
            Ok(Decoded::Fragment(fragment)) => {
                assert!(fragment.payload.len() <= frame.len());
                if let Some(datagram) = defrag.insert(now, &fragment) {
                    let k = datagram.key.ip;
                    let ip = IpHeader {
                        src: k.src,
                        dst: k.dst,
                        vlan: k.vlan,
                    };
                    let _ = decode_transport(ip, datagram.key.protocol, &datagram.payload);
                }
                assert!(
                    defrag.memory_used() <= memcap,
                    "defrag holds {} bytes, over its cap of {memcap}",
                    defrag.memory_used()
                );
                if defrag.pending() == 0 {
                    assert_eq!(
                        defrag.memory_used(),
                        0,
                        "nothing pending, memory still counted"
                    );
                }
            }
            _ => {}
        }
    }
    // At the end of time every datagram has timed out (unless the timeout is endless).
    if timeout < 1 << 32 {
        defrag.expire(Timestamp(i64::MAX));
        assert_eq!(defrag.pending(), 0);
        assert_eq!(defrag.memory_used(), 0);
    }
});
