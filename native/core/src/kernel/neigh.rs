//! Neighbour messages over rtnetlink (RTM_NEWNEIGH, DELNEIGH, GETNEIGH): permanent IP → MAC entries,
//! and the forwarding-database entries of a vxlan device (family AF_BRIDGE, NTF_SELF: the device's
//! own table, not a bridge master's) that send a MAC to a remote underlay address.

use std::net::IpAddr;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_CREATE, NLM_F_REPLACE};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::link::format_mac;
use super::rtnl::{Req, Rtnl};
use crate::error::{Failure, Result};

const NUD_PERMANENT: u16 = 0x80;
const RTM_NEWNEIGH: u16 = 28;

/// One entry: a neighbour (`ip` → `mac` on `index`), or an FDB entry (`mac` → remote `ip`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neigh {
    pub index: u32,
    pub ip: IpAddr,
    pub mac: Vec<u8>,
    pub permanent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// the IP neighbour table of the entry's family (ARP, NDP)
    Neighbour,
    /// the link's own forwarding database (`bridge fdb … self`)
    Fdb,
}

fn addr(ip: IpAddr) -> NeighbourAddress {
    match ip {
        IpAddr::V4(v) => NeighbourAddress::Inet(v),
        IpAddr::V6(v) => NeighbourAddress::Inet6(v),
    }
}

fn family(ip: IpAddr) -> AddressFamily {
    if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// The message of an entry, permanent: for add (with CREATE|REPLACE) and delete.
pub fn msg(table: Table, n: &Neigh) -> NeighbourMessage {
    let mut m = NeighbourMessage::default();
    m.header.ifindex = n.index;
    m.header.state = NeighbourState::Permanent;
    match table {
        Table::Neighbour => m.header.family = family(n.ip),
        Table::Fdb => {
            m.header.family = AddressFamily::Bridge;
            m.header.flags = NeighbourFlags::Own;
        }
    }
    // In an FDB entry the MAC is the key and NDA_DST the remote; in a neighbour the IP is the key
    // (each in the order `bridge fdb` and `ip neigh` send them).
    let (dst, lladdr) = (NeighbourAttribute::Destination(addr(n.ip)), NeighbourAttribute::LinkLocalAddress(n.mac.clone()));
    m.attributes = match table {
        Table::Neighbour => vec![dst, lladdr],
        Table::Fdb => vec![lladdr, dst],
    };
    m
}

fn describe(table: Table, n: &Neigh) -> String {
    match table {
        Table::Neighbour => format!("{} lladdr {}", n.ip, format_mac(&n.mac)),
        Table::Fdb => format!("fdb {} dst {}", format_mac(&n.mac), n.ip),
    }
}

/// Add or replace a permanent entry.
pub fn add_req(table: Table, n: &Neigh) -> Req {
    Req::new(
        format!("neighbour add {}", describe(table, n)),
        RouteNetlinkMessage::NewNeighbour(msg(table, n)),
        NLM_F_CREATE | NLM_F_REPLACE,
    )
}

pub fn del_req(table: Table, n: &Neigh) -> Req {
    Req::new(format!("neighbour delete {}", describe(table, n)), RouteNetlinkMessage::DelNeighbour(msg(table, n)), 0)
}

fn ip_from(a: &NeighbourAddress) -> Option<IpAddr> {
    match a {
        NeighbourAddress::Inet(v) => Some(IpAddr::V4(*v)),
        NeighbourAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        // AF_BRIDGE entries: the parser does not know NDA_DST's family
        NeighbourAddress::Other(b) => match b.len() {
            4 => Some(IpAddr::from(<[u8; 4]>::try_from(&b[..]).ok()?)),
            16 => Some(IpAddr::from(<[u8; 16]>::try_from(&b[..]).ok()?)),
            _ => None,
        },
        _ => None,
    }
}

/// An entry as reported; None for one without an IP and a MAC (an FDB entry with no remote).
pub fn parse(m: &NeighbourMessage) -> Option<Neigh> {
    let mut ip = None;
    let mut mac = None;
    for a in &m.attributes {
        match a {
            NeighbourAttribute::Destination(d) => ip = ip_from(d),
            NeighbourAttribute::LinkLocalAddress(l) => mac = Some(l.clone()),
            _ => {}
        }
    }
    Some(Neigh { index: m.header.ifindex, ip: ip?, mac: mac?, permanent: u16::from(m.header.state) & NUD_PERMANENT != 0 })
}

/// [`parse`] of a whole RTM_NEWNEIGH message (netlink header included).
pub fn parse_raw(buf: &[u8]) -> Result<Option<Neigh>> {
    let bad = |e: String| Failure::internal("neighbour parse", e);
    // Only a neighbour message goes to the library: its parsers of other kinds (a link's IPv6
    // cache info, say) panic on some malformed input, which the fuzz target found.
    if buf.len() < 16 || u16::from_ne_bytes([buf[4], buf[5]]) != RTM_NEWNEIGH {
        return Err(bad("not an RTM_NEWNEIGH message".into()));
    }
    match NetlinkMessage::<RouteNetlinkMessage>::deserialize(buf).map_err(|e| bad(e.to_string()))?.payload {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewNeighbour(m)) => Ok(parse(&m)),
        _ => Err(bad("not an RTM_NEWNEIGH message".into())),
    }
}

/// The entries of link `index` in `table` (both families for neighbours).
pub fn list(nl: &mut Rtnl, table: Table, index: u32) -> Result<Vec<Neigh>> {
    let families: &[AddressFamily] = match table {
        Table::Neighbour => &[AddressFamily::Inet, AddressFamily::Inet6],
        Table::Fdb => &[AddressFamily::Bridge],
    };
    let mut out = Vec::new();
    for f in families {
        let mut m = NeighbourMessage::default();
        m.header.family = *f;
        match table {
            // a strict FDB dump takes the port's index in the header; a neighbour dump an attribute
            Table::Fdb => m.header.ifindex = index,
            Table::Neighbour => m.attributes.push(NeighbourAttribute::IfIndex(index)),
        }
        for raw in nl.dump_raw("neighbour list", RouteNetlinkMessage::GetNeighbour(m))? {
            if let Some(n) = parse_raw(&raw.buf)? {
                if n.index == index {
                    out.push(n);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::rtnl::payload_bytes as bytes;

    fn entry(ip: &str) -> Neigh {
        Neigh { index: 7, ip: ip.parse().unwrap(), mac: vec![0x0e, 1, 2, 3, 4, 5], permanent: true }
    }

    #[test]
    fn a_link_message_is_refused_not_handed_to_the_library() {
        // a malformed link dump the fuzz target found: netlink-packet-route's link parser panics on it
        let buf = include_bytes!("../../../fuzz/seeds/rtnetlink/regress-link-as-neighbour");
        assert!(parse_raw(buf).is_err());
        crate::kernel::decode_any::rtnetlink(buf, 0);
    }

    #[test]
    fn fdb_entry_bytes() {
        // what `bridge fdb append 0e:01:02:03:04:05 dev <7> dst 192.0.2.2 self permanent` sends, but its
        // state NUD_NOARP|NUD_PERMANENT: vxlan reads only the PERMANENT bit
        let b = bytes(RouteNetlinkMessage::NewNeighbour(msg(Table::Fdb, &entry("192.0.2.2"))));
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &[7u8, 0, 0, 0][..], &7u32.to_ne_bytes(), &0x80u16.to_ne_bytes(), &[2, 0], // AF_BRIDGE, ifindex, NUD_PERMANENT, NTF_SELF
            &[10, 0, 2, 0, 0x0e, 1, 2, 3, 4, 5, 0, 0], // NDA_LLADDR
            &[8, 0, 1, 0, 192, 0, 2, 2], // NDA_DST
        ].concat();
        assert_eq!(b, want);
    }

    #[test]
    fn neighbour_entry_bytes() {
        let b = bytes(RouteNetlinkMessage::NewNeighbour(msg(Table::Neighbour, &entry("10.244.2.0"))));
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &[2u8, 0, 0, 0][..], &7u32.to_ne_bytes(), &0x80u16.to_ne_bytes(), &[0, 0], // AF_INET, no flags
            &[8, 0, 1, 0, 10, 244, 2, 0],
            &[10, 0, 2, 0, 0x0e, 1, 2, 3, 4, 5, 0, 0],
        ].concat();
        assert_eq!(b, want);
        let v6 = bytes(RouteNetlinkMessage::NewNeighbour(msg(Table::Neighbour, &entry("fd00:2::"))));
        assert_eq!(v6[0], 10);
        assert_eq!(&v6[12..16], &[20, 0, 1, 0]); // NDA_DST first, 16 bytes
    }

    #[test]
    fn entries_parse_back_with_their_remote() {
        for (t, ip) in
            [(Table::Fdb, "192.0.2.9"), (Table::Fdb, "2001:db8::9"), (Table::Neighbour, "10.1.0.0"), (Table::Neighbour, "fd00::")]
        {
            let mut nm = NetlinkMessage::from(RouteNetlinkMessage::NewNeighbour(msg(t, &entry(ip))));
            nm.finalize();
            let mut buf = vec![0; nm.buffer_len()];
            nm.serialize(&mut buf);
            assert_eq!(parse_raw(&buf).unwrap(), Some(entry(ip)), "{ip}");
        }
        assert!(parse_raw(&[0u8; 16]).is_err());
    }
}
