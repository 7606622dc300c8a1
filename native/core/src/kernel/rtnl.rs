//! A synchronous NETLINK_ROUTE socket: several requests in one send, each acked, with the replies
//! of GETs collected (one round trip for a whole step), or a dump (retried when the kernel marks it
//! interrupted). Replies stay raw bytes until a caller parses them: netlink-packet-route builds its
//! error-context strings even on success (rust-netlink/netlink-packet-route#297), which made parsing
//! a bridge's RTM_GETLINK reply cost more than the round trip (figure: benchmarks/README.md), so hot
//! paths use the small parsers in link.rs instead.
//! The socket keeps the netns it was opened in.

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::error::{Failure, Result};

const RECV_BUF: usize = 64 * 1024;
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
/// Ask the kernel to send the resulting object back (RTM_NEWLINK echoes a new link since 6.3).
pub use netlink_packet_core::NLM_F_ECHO;
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const DUMP_RETRIES: usize = 5;

/// One request of a batch; acked, and any reply messages (GET, ECHO) are collected.
pub struct Req {
    pub op: String,
    pub msg: RouteNetlinkMessage,
    /// extra NLM_F_* flags (CREATE, EXCL, REPLACE, APPEND, ECHO); REQUEST and ACK are added
    pub flags: u16,
}

impl Req {
    pub fn new(op: impl Into<String>, msg: RouteNetlinkMessage, flags: u16) -> Req {
        Req { op: op.into(), msg, flags }
    }
}

/// One received message, unparsed: header fields and the whole message (header included).
#[derive(Debug, Clone)]
pub struct Raw {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub buf: Vec<u8>,
}

impl Raw {
    /// The bytes after the 16-byte netlink header.
    pub fn payload(&self) -> &[u8] {
        &self.buf[16..]
    }

    /// The i32 at the start of an NLMSG_ERROR / NLMSG_DONE payload (0 = ack / no error).
    fn code(&self) -> i32 {
        self.payload().get(0..4).map(|b| i32::from_ne_bytes(b.try_into().unwrap())).unwrap_or(0)
    }

    fn failure(&self, op: &str) -> Failure {
        Failure::errno(op, -self.code(), extack_message(self.payload(), self.flags).as_deref())
    }

    /// Parse with netlink-packet-route (slow for links; fine for addresses and routes).
    pub fn parse(&self, op: &str) -> Result<RouteNetlinkMessage> {
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf) {
            Ok(m) => match m.payload {
                NetlinkPayload::InnerMessage(m) => Ok(m),
                _ => Err(Failure::internal(op, "unexpected netlink control message")),
            },
            Err(e) => Err(Failure::internal(op, format!("cannot parse netlink reply: {e}"))),
        }
    }
}

/// Split one datagram into messages.
pub fn split(buf: &[u8], op: &str) -> Result<Vec<Raw>> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 16 <= buf.len() {
        let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
        if len < 16 || off + len > buf.len() {
            return Err(Failure::internal(op, "malformed netlink message from the kernel"));
        }
        let h = &buf[off..off + 16];
        out.push(Raw {
            ty: u16::from_ne_bytes([h[4], h[5]]),
            flags: u16::from_ne_bytes([h[6], h[7]]),
            seq: u32::from_ne_bytes(h[8..12].try_into().unwrap()),
            buf: buf[off..off + len].to_vec(),
        });
        off += (len + 3) & !3;
    }
    Ok(out)
}

pub struct Rtnl {
    sock: Socket,
    seq: u32,
    rbuf: Vec<u8>,
    sbuf: Vec<u8>,
}

impl Rtnl {
    /// Open a socket in the calling thread's current network namespace.
    pub fn open() -> Result<Rtnl> {
        let sock = Socket::new(NETLINK_ROUTE).map_err(|e| Failure::io("netlink socket", &e))?;
        // Best effort: kernel error strings, short acks, kernel-side filtering of dumps.
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_netlink_get_strict_chk(true);
        Ok(Rtnl { sock, seq: 0, rbuf: Vec::with_capacity(RECV_BUF), sbuf: Vec::with_capacity(4096) })
    }

    fn push(&mut self, msg: RouteNetlinkMessage, flags: u16) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut m = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        m.finalize();
        let start = self.sbuf.len();
        self.sbuf.resize(start + m.buffer_len(), 0);
        m.serialize(&mut self.sbuf[start..]);
        self.seq
    }

    fn flush(&mut self, op: &str) -> Result<()> {
        let kernel = SocketAddr::new(0, 0);
        let r = loop {
            match self.sock.send_to(&self.sbuf, &kernel, 0) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => break r,
            }
        };
        self.sbuf.clear();
        r.map(|_| ()).map_err(|e| Failure::io(op, &e))
    }

    /// Receive one datagram and return the messages in it.
    fn recv(&mut self, op: &str) -> Result<Vec<Raw>> {
        self.rbuf.clear();
        loop {
            match self.sock.recv(&mut self.rbuf, 0) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::io(op, &e)),
                Ok(_) => break,
            }
        }
        split(&self.rbuf, op)
    }

    /// Send every request in one datagram, each acked; per request, in order, the messages the
    /// kernel sent back for it before its ack (a GET's reply, an ECHO) or its failure.
    /// The kernel handles them in order and keeps going after a failure.
    pub fn exchange(&mut self, reqs: Vec<Req>) -> Vec<Result<Vec<Raw>>> {
        if reqs.is_empty() {
            return Vec::new();
        }
        let mut ops = Vec::with_capacity(reqs.len());
        let first = self.seq.wrapping_add(1);
        for r in reqs {
            self.push(r.msg, NLM_F_REQUEST | NLM_F_ACK | r.flags);
            ops.push(r.op);
        }
        let n = ops.len();
        let mut replies: Vec<Vec<Raw>> = (0..n).map(|_| Vec::new()).collect();
        let mut results: Vec<Option<Result<()>>> = (0..n).map(|_| None).collect();
        let finish = |results: Vec<Option<Result<()>>>, replies: Vec<Vec<Raw>>, e: Option<Failure>| {
            results
                .into_iter()
                .zip(replies)
                .map(|(r, m)| match r {
                    Some(Ok(())) => Ok(m),
                    Some(Err(f)) => Err(f),
                    None => Err(e.clone().unwrap_or_else(|| Failure::internal("netlink", "no reply"))),
                })
                .collect()
        };
        if let Err(e) = self.flush(&ops[0]) {
            return finish(results, replies, Some(e));
        }
        let mut pending = n;
        while pending > 0 {
            let msgs = match self.recv(&ops[0]) {
                Ok(m) => m,
                Err(e) => return finish(results, replies, Some(e)),
            };
            for m in msgs {
                let i = m.seq.wrapping_sub(first) as usize;
                if i >= n || results[i].is_some() {
                    continue;
                }
                if m.ty == NLMSG_ERROR {
                    results[i] = Some(if m.code() == 0 { Ok(()) } else { Err(m.failure(&ops[i])) });
                    pending -= 1;
                } else {
                    replies[i].push(m);
                }
            }
        }
        finish(results, replies, None)
    }

    /// Send every request in one datagram, each acked; one result per request, in order.
    pub fn batch(&mut self, reqs: Vec<Req>) -> Vec<Result<()>> {
        self.exchange(reqs).into_iter().map(|r| r.map(|_| ())).collect()
    }

    /// One acked request.
    pub fn ack(&mut self, op: &str, msg: RouteNetlinkMessage, flags: u16) -> Result<()> {
        self.batch(vec![Req::new(op, msg, flags)]).pop().unwrap()
    }

    /// A request answered by exactly one message (RTM_GETLINK by name or index), unparsed.
    pub fn get_raw(&mut self, op: &str, msg: RouteNetlinkMessage) -> Result<Raw> {
        let mut r = self.exchange(vec![Req::new(op, msg, 0)]).pop().unwrap()?;
        r.pop().ok_or_else(|| Failure::internal(op, "the kernel acked without a reply"))
    }

    /// A dump; retried when the kernel reports it was interrupted by a concurrent change.
    pub fn dump(&mut self, op: &str, msg: RouteNetlinkMessage) -> Result<Vec<RouteNetlinkMessage>> {
        self.dump_raw(op, msg)?.iter().map(|m| m.parse(op)).collect()
    }

    /// [`Rtnl::dump`], unparsed.
    pub fn dump_raw(&mut self, op: &str, msg: RouteNetlinkMessage) -> Result<Vec<Raw>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (items, interrupted) = self.dump_once(op, msg.clone())?;
            if !interrupted || attempt >= DUMP_RETRIES {
                return Ok(items);
            }
        }
    }

    fn dump_once(&mut self, op: &str, msg: RouteNetlinkMessage) -> Result<(Vec<Raw>, bool)> {
        let seq = self.push(msg, NLM_F_REQUEST | NLM_F_DUMP);
        self.flush(op)?;
        let mut items = Vec::new();
        let mut interrupted = false;
        loop {
            for m in self.recv(op)? {
                if m.seq != seq {
                    continue;
                }
                if m.flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match m.ty {
                    NLMSG_DONE | NLMSG_ERROR if m.code() < 0 => return Err(m.failure(op)),
                    NLMSG_DONE | NLMSG_ERROR => return Ok((items, interrupted)),
                    t if t < 16 => {} // NOOP, OVERRUN
                    _ => items.push(m),
                }
            }
        }
    }
}

/// The kernel's extended-ack text (NLMSGERR_ATTR_MSG) from the payload of an NLMSG_ERROR message:
/// i32 error, the request's header (whole request unless capped), then attributes.
pub fn extack_message(payload: &[u8], flags: u16) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 || payload.len() < 4 + 16 {
        return None;
    }
    let orig = &payload[4..];
    let orig_len = if flags & NLM_F_CAPPED != 0 { 16 } else { u32::from_ne_bytes(orig[0..4].try_into().ok()?) as usize };
    let mut off = 4 + ((orig_len + 3) & !3);
    while off + 4 <= payload.len() {
        let len = u16::from_ne_bytes(payload[off..off + 2].try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(payload[off + 2..off + 4].try_into().ok()?) & 0x3fff;
        if len < 4 || off + len > payload.len() {
            return None;
        }
        if kind == NLMSGERR_ATTR_MSG {
            let v = &payload[off + 4..off + len];
            let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
            return Some(String::from_utf8_lossy(&v[..end]).into_owned());
        }
        off += (len + 3) & !3;
    }
    None
}

/// A request's bytes after the 16-byte netlink header, as the kernel reads them: what message tests
/// compare.
#[cfg(test)]
pub fn payload_bytes(msg: RouteNetlinkMessage) -> Vec<u8> {
    let mut m = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(msg));
    m.finalize();
    let mut buf = vec![0; m.buffer_len()];
    m.serialize(&mut buf);
    buf.split_off(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nlattr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(value);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn extack_capped() {
        let mut p = (-17i32).to_ne_bytes().to_vec();
        let mut hdr = vec![0u8; 16];
        hdr[0..4].copy_from_slice(&40u32.to_ne_bytes());
        p.extend_from_slice(&hdr);
        p.extend(nlattr(2, &8u32.to_ne_bytes())); // NLMSGERR_ATTR_OFFS, skipped
        p.extend(nlattr(1, b"Invalid MTU\0"));
        assert_eq!(extack_message(&p, NLM_F_CAPPED | NLM_F_ACK_TLVS).as_deref(), Some("Invalid MTU"));
        assert_eq!(extack_message(&p, NLM_F_CAPPED), None);
    }

    #[test]
    fn extack_uncapped_skips_whole_request() {
        let mut p = (-22i32).to_ne_bytes().to_vec();
        let mut req = vec![0u8; 22];
        req[0..4].copy_from_slice(&22u32.to_ne_bytes());
        p.extend_from_slice(&req);
        p.extend_from_slice(&[0, 0]); // padding to 4
        p.extend(nlattr(1, b"bad\0"));
        assert_eq!(extack_message(&p, NLM_F_ACK_TLVS).as_deref(), Some("bad"));
    }

    #[test]
    fn extack_truncated_is_none() {
        assert_eq!(extack_message(&[0u8; 8], NLM_F_ACK_TLVS), None);
    }
}
