//! Interface addresses over rtnetlink, and the CIDR parsing shared by addresses and routes.

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::rtnl::{Req, Rtnl};
use crate::error::{Failure, FailureKind, Result};

/// An address with its prefix length, e.g. 10.1.0.5/24 (host bits kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub ip: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr> {
        let bad = || Failure::invalid("cidr", format!("invalid CIDR {s:?}"));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let ip: IpAddr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { ip, prefix })
    }

    pub fn is_v6(&self) -> bool {
        self.ip.is_ipv6()
    }

    fn bits(ip: IpAddr) -> u128 {
        match ip {
            IpAddr::V4(v) => u32::from(v) as u128,
            IpAddr::V6(v) => u128::from(v),
        }
    }

    fn width(&self) -> u32 {
        if self.ip.is_ipv4() {
            32
        } else {
            128
        }
    }

    /// Whether `ip` lies in this CIDR's network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        if ip.is_ipv4() != self.ip.is_ipv4() {
            return false;
        }
        let shift = self.width() - self.prefix as u32;
        if shift >= 128 {
            return true;
        }
        (Self::bits(ip) >> shift) == (Self::bits(self.ip) >> shift)
    }

    /// Networks overlap when either contains the other's address (the reference's IPv6 rule).
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other.ip) || other.contains(self.ip)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.ip, self.prefix)
    }
}

/// Go's net.IP.IsGlobalUnicast: not unspecified, loopback, multicast, link-local or broadcast.
pub fn is_global_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => !(v.is_unspecified() || v.is_loopback() || v.is_multicast() || v.is_link_local() || v.is_broadcast()),
        IpAddr::V6(v) => {
            let link_local = (v.segments()[0] & 0xffc0) == 0xfe80;
            !(v.is_unspecified() || v.is_loopback() || v.is_multicast() || link_local)
        }
    }
}

/// An address found on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub index: u32,
    pub cidr: Cidr,
    pub scope: AddressScope,
    pub tentative: bool,
    pub dad_failed: bool,
}

fn v4_broadcast(ip: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let host = if prefix >= 32 { 0 } else { u32::MAX >> prefix };
    Ipv4Addr::from(u32::from(ip) | host)
}

fn msg(index: u32, c: &Cidr) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.index = index;
    m.header.prefix_len = c.prefix;
    match c.ip {
        IpAddr::V4(v) => {
            m.header.family = AddressFamily::Inet;
            m.attributes.push(AddressAttribute::Local(c.ip));
            m.attributes.push(AddressAttribute::Address(c.ip));
            // as the reference (vishvananda/netlink) does for prefixes below /31
            if c.prefix < 31 {
                m.attributes.push(AddressAttribute::Broadcast(v4_broadcast(v, c.prefix)));
            }
        }
        IpAddr::V6(_) => {
            m.header.family = AddressFamily::Inet6;
            m.attributes.push(AddressAttribute::Address(c.ip));
        }
    }
    m
}

pub fn add_req(index: u32, c: &Cidr, ifname: &str) -> Req {
    Req::new(format!("address add {c} on {ifname}"), RouteNetlinkMessage::NewAddress(msg(index, c)), NLM_F_CREATE | NLM_F_EXCL)
}

pub fn del_req(index: u32, c: &Cidr, ifname: &str) -> Req {
    Req::new(format!("address delete {c} on {ifname}"), RouteNetlinkMessage::DelAddress(msg(index, c)), 0)
}

pub fn parse(m: &AddressMessage) -> Option<Addr> {
    let mut local = None;
    let mut address = None;
    let mut flags = m.header.flags.bits() as u32;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Flags(f) => flags = f.bits(),
            _ => {}
        }
    }
    let ip = local.or(address)?;
    Some(Addr {
        index: m.header.index,
        cidr: Cidr { ip, prefix: m.header.prefix_len },
        scope: m.header.scope,
        tentative: flags & AddressHeaderFlags::Tentative.bits() as u32 != 0,
        dad_failed: flags & AddressHeaderFlags::Dadfailed.bits() as u32 != 0,
    })
}

/// Addresses of one link (index Some) or of all links; the kernel filters by index (strict check).
pub fn list(nl: &mut Rtnl, index: Option<u32>) -> Result<Vec<Addr>> {
    let mut m = AddressMessage::default();
    m.header.index = index.unwrap_or(0);
    let msgs = nl.dump("address list", RouteNetlinkMessage::GetAddress(m))?;
    Ok(msgs
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a) => parse(a),
            _ => None,
        })
        .filter(|a| index.is_none_or(|i| a.index == i))
        .collect())
}

/// What to do to put `want` on a bridge that has `have` (the reference's ensureAddr rules):
/// Ok(None) = already there; Ok(Some(to_delete)) = add after deleting those; Err = conflict.
pub fn plan_bridge_addr(bridge: &str, have: &[Cidr], want: &Cidr, force: bool) -> Result<Option<Vec<Cidr>>> {
    if have.iter().any(|h| h == want) {
        return Ok(None);
    }
    let mut remove = Vec::new();
    for h in have.iter().filter(|h| h.is_v6() == want.is_v6()) {
        // link-local IPv6 never overlaps a configured gateway; any other IPv4 address conflicts
        if !want.is_v6() || h.overlaps(want) {
            if !force {
                return Err(Failure::new(
                    FailureKind::AddressConflict,
                    "bridge address",
                    format!("{bridge:?} already has an IP address different from {want}"),
                ));
            }
            remove.push(*h);
        }
    }
    Ok(Some(remove))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn cidr_parse() {
        assert_eq!(c("10.1.0.5/24").to_string(), "10.1.0.5/24");
        assert_eq!(c("fd00::5/64").to_string(), "fd00::5/64");
        assert!(Cidr::parse("10.1.0.5").is_err());
        assert!(Cidr::parse("10.1.0.5/33").is_err());
        assert!(Cidr::parse("fd00::/129").is_err());
        assert!(c("10.1.0.0/24").contains("10.1.0.77".parse().unwrap()));
        assert!(!c("10.1.0.0/24").contains("10.1.1.1".parse().unwrap()));
        assert!(c("0.0.0.0/0").contains("1.2.3.4".parse().unwrap()));
        assert!(c("::/0").contains("fd00::1".parse().unwrap()));
        assert!(c("fd00::1/64").overlaps(&c("fd00::2/48")));
        assert!(!c("fd00:1::1/64").overlaps(&c("fd00:2::1/64")));
    }

    #[test]
    fn broadcast() {
        assert_eq!(v4_broadcast("10.1.0.5".parse().unwrap(), 24), "10.1.0.255".parse::<Ipv4Addr>().unwrap());
        assert_eq!(v4_broadcast("10.1.0.5".parse().unwrap(), 32), "10.1.0.5".parse::<Ipv4Addr>().unwrap());
    }

    #[test]
    fn global_unicast() {
        assert!(is_global_unicast("10.1.0.5".parse().unwrap()));
        assert!(is_global_unicast("fd00::5".parse().unwrap()));
        assert!(!is_global_unicast("fe80::1".parse().unwrap()));
        assert!(!is_global_unicast("127.0.0.1".parse().unwrap()));
        assert!(!is_global_unicast("169.254.1.1".parse().unwrap()));
        assert!(!is_global_unicast("::1".parse().unwrap()));
    }

    #[test]
    fn bridge_address_rules() {
        let have = [c("10.1.0.1/24"), c("fe80::1/64"), c("fd00:1::1/64")];
        assert_eq!(plan_bridge_addr("cni0", &have, &c("10.1.0.1/24"), false).unwrap(), None);
        let e = plan_bridge_addr("cni0", &have, &c("10.2.0.1/24"), false).unwrap_err();
        assert_eq!(e.kind, FailureKind::AddressConflict);
        assert_eq!(e.message, "\"cni0\" already has an IP address different from 10.2.0.1/24");
        assert_eq!(plan_bridge_addr("cni0", &have, &c("10.2.0.1/24"), true).unwrap(), Some(vec![c("10.1.0.1/24")]));
        // IPv6: a different, non-overlapping subnet is fine; an overlapping one conflicts
        assert_eq!(plan_bridge_addr("cni0", &have, &c("fd00:2::1/64"), false).unwrap(), Some(vec![]));
        assert!(plan_bridge_addr("cni0", &have, &c("fd00:1::2/64"), false).is_err());
        assert_eq!(plan_bridge_addr("cni0", &[], &c("10.1.0.1/24"), false).unwrap(), Some(vec![]));
    }
}
