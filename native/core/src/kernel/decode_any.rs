//! Every decoder the core runs on the kernel's replies, given bytes from anywhere: the entry points
//! of the fuzz targets (native/fuzz, through the `fuzzing` feature) and of the property tests. Each
//! must answer any input with a value or an error, never a panic.

use super::link::parse_raw;
use super::neigh;
use super::rtnl::{extack_message, split};

pub use super::nft::decode_any::{nf_tables, nf_tables_payload};

/// rtnetlink: the link and neighbour parsers on the whole buffer; the datagram splitter, then on
/// each message the link and neighbour parsers and the extended-ack reader (with the message's
/// flags and with `flags`); the extended-ack reader on the whole buffer.
pub fn rtnetlink(buf: &[u8], flags: u16) {
    let _ = parse_raw(buf);
    let _ = neigh::parse_raw(buf);
    if let Ok(msgs) = split(buf, "decode") {
        for m in msgs {
            let _ = parse_raw(&m.buf);
            let _ = neigh::parse_raw(&m.buf);
            let _ = extack_message(m.payload(), m.flags);
            let _ = extack_message(m.payload(), flags);
        }
    }
    let _ = extack_message(buf, flags);
}
