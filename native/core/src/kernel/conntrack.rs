//! Conntrack entries over ctnetlink (NFNL_SUBSYS_CTNETLINK), from the calling thread's
//! namespace: a dump of one family's table and the deletion of the entries whose original
//! direction goes to given UDP ports. A UDP "connection" seen before a port was mapped keeps its
//! un-NATed entry and so never reaches the pod; the reference portmap deletes such entries too
//! (netlink.ConntrackDeleteFilters with the original destination port).

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

use super::nft::{find_attr, split_messages, NLMSG_DONE, NLMSG_ERROR};
use crate::error::{Failure, Result};

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_ZONE: u16 = 18;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_DST_PORT: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLA_F_NESTED: u16 = 0x8000;
const IPPROTO_UDP: u8 = 17;
const OP: &str = "conntrack flush";

fn frame(ty: u16, flags: u16, seq: u32, family: u8, attrs: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + attrs.len());
    out.extend_from_slice(&((20 + attrs.len()) as u32).to_le_bytes());
    out.extend_from_slice(&((NFNL_SUBSYS_CTNETLINK << 8) | ty).to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&[family, 0, 0, 0]);
    out.extend_from_slice(attrs);
    out
}

fn attr(out: &mut Vec<u8>, ty: u16, v: &[u8]) {
    out.extend_from_slice(&((4 + v.len()) as u16).to_le_bytes());
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(v);
    out.resize((out.len() + 3) & !3, 0);
}

fn ack_errno(payload: &[u8]) -> i32 {
    payload.get(..4).map(|b| -i32::from_le_bytes(b.try_into().unwrap())).unwrap_or(libc::EIO)
}

/// The deletion request for an entry of the dump whose original tuple is UDP to one of `ports`.
fn deletion(payload: &[u8], ports: &[u16], family: u8, seq: u32) -> Option<Vec<u8>> {
    let attrs = payload.get(4..)?;
    let orig = find_attr(attrs, CTA_TUPLE_ORIG)?;
    let proto = find_attr(orig, CTA_TUPLE_PROTO)?;
    if *find_attr(proto, CTA_PROTO_NUM)?.first()? != IPPROTO_UDP {
        return None;
    }
    let dport = u16::from_be_bytes(find_attr(proto, CTA_PROTO_DST_PORT)?.try_into().ok()?);
    if !ports.contains(&dport) {
        return None;
    }
    let mut a = Vec::new();
    attr(&mut a, CTA_TUPLE_ORIG | NLA_F_NESTED, orig);
    if let Some(z) = find_attr(attrs, CTA_ZONE) {
        attr(&mut a, CTA_ZONE, z);
    }
    Some(frame(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, seq, family, &a))
}

struct Ct {
    sock: Socket,
    buf: Vec<u8>,
}

impl Ct {
    fn open() -> Result<Ct> {
        let mut sock = Socket::new(NETLINK_NETFILTER).map_err(|e| Failure::io("conntrack socket", &e))?;
        sock.bind_auto().map_err(|e| Failure::io("conntrack bind", &e))?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(|e| Failure::io("conntrack connect", &e))?;
        Ok(Ct { sock, buf: Vec::with_capacity(256 * 1024) })
    }

    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.sock.send(bytes, 0).map_err(|e| Failure::io("conntrack send", &e)).map(|_| ())
    }

    fn recv(&mut self) -> Result<()> {
        self.buf.clear();
        self.sock.recv(&mut self.buf, 0).map_err(|e| Failure::io("conntrack recv", &e)).map(|_| ())
    }
}

/// Delete the conntrack entries of `family` (AF_INET, AF_INET6) whose original direction is UDP
/// to one of `ports`; returns how many went. An entry gone meanwhile is not an error.
pub fn flush_udp_ports(family: u8, ports: &[u16]) -> Result<u32> {
    if ports.is_empty() {
        return Ok(0);
    }
    let mut ct = Ct::open()?;
    ct.send(&frame(IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, 1, family, &[]))?;
    let mut doomed = Vec::new();
    'dump: loop {
        ct.recv()?;
        for m in split_messages(&ct.buf) {
            match m.ty {
                NLMSG_DONE => break 'dump,
                NLMSG_ERROR => {
                    let errno = ack_errno(m.payload);
                    if errno == 0 {
                        break 'dump;
                    }
                    return Err(Failure::errno(OP, errno, None));
                }
                _ => doomed.extend(deletion(m.payload, ports, family, 2 + doomed.len() as u32)),
            }
        }
    }
    let mut deleted = 0;
    for req in &doomed {
        ct.send(req)?;
        ct.recv()?;
        for m in split_messages(&ct.buf) {
            if m.ty == NLMSG_ERROR {
                match ack_errno(m.payload) {
                    0 => deleted += 1,
                    libc::ENOENT => {}
                    errno => return Err(Failure::errno(OP, errno, None)),
                }
            }
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dumped entry: nfgenmsg, then CTA_TUPLE_ORIG { CTA_TUPLE_PROTO { num, sport, dport } }.
    fn entry(proto: u8, dport: u16) -> Vec<u8> {
        let mut p = Vec::new();
        attr(&mut p, CTA_PROTO_NUM, &[proto]);
        attr(&mut p, 2, &1234u16.to_be_bytes());
        attr(&mut p, CTA_PROTO_DST_PORT, &dport.to_be_bytes());
        let mut orig = Vec::new();
        attr(&mut orig, CTA_TUPLE_PROTO | NLA_F_NESTED, &p);
        let mut out = vec![2, 0, 0, 0];
        attr(&mut out, CTA_TUPLE_ORIG | NLA_F_NESTED, &orig);
        out
    }

    #[test]
    fn only_udp_entries_to_the_ports_are_deleted() {
        assert!(deletion(&entry(17, 5353), &[5353], 2, 7).is_some());
        assert!(deletion(&entry(17, 5354), &[5353], 2, 7).is_none());
        assert!(deletion(&entry(6, 5353), &[5353], 2, 7).is_none());
        let req = deletion(&entry(17, 5353), &[5353], 2, 7).unwrap();
        // the original tuple is sent back as is, after the headers
        assert_eq!(&req[20..], &entry(17, 5353)[4..]);
        assert_eq!(u16::from_le_bytes([req[4], req[5]]), (1 << 8) | IPCTNL_MSG_CT_DELETE);
    }
}
