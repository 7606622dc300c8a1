//! Routes over rtnetlink: add (ECMP-append like the reference) and list per link.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_APPEND, NLM_F_CREATE};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::addr::Cidr;
use super::rtnl::{Req, Rtnl};
use crate::error::{Failure, FailureKind, Result};
use crate::types::Route;

const RT_TABLE_MAIN: u32 = 254;

fn route_addr(ip: IpAddr) -> RouteAddress {
    match ip {
        IpAddr::V4(v) => RouteAddress::Inet(v),
        IpAddr::V6(v) => RouteAddress::Inet6(v),
    }
}

/// Mask the host bits away: routes are keyed by network.
pub fn network(c: &Cidr) -> Cidr {
    let ip = match c.ip {
        IpAddr::V4(v) => {
            let m = if c.prefix == 0 { 0 } else { u32::MAX << (32 - c.prefix) };
            IpAddr::V4((u32::from(v) & m).into())
        }
        IpAddr::V6(v) => {
            let m = if c.prefix == 0 { 0 } else { u128::MAX << (128 - c.prefix) };
            IpAddr::V6((u128::from(v) & m).into())
        }
    };
    Cidr { ip, prefix: c.prefix }
}

pub fn msg(index: u32, r: &Route) -> Result<RouteMessage> {
    let dst = network(&Cidr::parse(&r.dst)?);
    let gw: Option<IpAddr> = match &r.gw {
        Some(g) => Some(g.parse().map_err(|_| Failure::invalid("route", format!("invalid gateway {g:?}")))?),
        None => None,
    };
    if gw.is_some_and(|g| g.is_ipv4() != dst.ip.is_ipv4()) {
        return Err(Failure::invalid("route", format!("gateway {} is not of the family of {}", r.gw.as_deref().unwrap_or(""), r.dst)));
    }
    let mut m = RouteMessage::default();
    m.header.address_family = if dst.is_v6() { AddressFamily::Inet6 } else { AddressFamily::Inet };
    m.header.destination_prefix_length = dst.prefix;
    m.header.protocol = RouteProtocol::Boot;
    m.header.kind = RouteType::Unicast;
    m.header.scope = match r.scope {
        Some(s) => RouteScope::from(s.min(255) as u8),
        None if gw.is_none() => RouteScope::Link,
        None => RouteScope::Universe,
    };
    let table = r.table.unwrap_or(RT_TABLE_MAIN);
    m.header.table = if table < 256 { table as u8 } else { RouteHeader::RT_TABLE_UNSPEC };
    if dst.prefix > 0 {
        m.attributes.push(RouteAttribute::Destination(route_addr(dst.ip)));
    }
    if let Some(g) = gw {
        m.attributes.push(RouteAttribute::Gateway(route_addr(g)));
    }
    m.attributes.push(RouteAttribute::Oif(index));
    if let Some(p) = r.priority {
        m.attributes.push(RouteAttribute::Priority(p));
    }
    if table >= 256 {
        m.attributes.push(RouteAttribute::Table(table));
    }
    Ok(m)
}

/// The route protocol of the overlay's routes, absent from iproute2's rt_protos list: how a sync
/// tells its own routes from everybody else's, and finds them again after a restart.
pub const RTPROT_FASTCNI: u8 = 0x66;

/// One of the overlay's routes: protocol [`RTPROT_FASTCNI`]; `onlink` when the gateway lies on no
/// connected subnet (a vxlan peer's subnet address).
pub fn ours_msg(index: u32, r: &Route, onlink: bool) -> Result<RouteMessage> {
    let mut m = msg(index, r)?;
    m.header.protocol = RouteProtocol::from(RTPROT_FASTCNI);
    if onlink {
        m.header.flags = RouteFlags::Onlink;
    }
    Ok(m)
}

/// Whether a reported route is one of the overlay's.
pub fn is_ours(m: &RouteMessage) -> bool {
    u8::from(m.header.protocol) == RTPROT_FASTCNI
}

pub fn add_req(index: u32, r: &Route) -> Result<Req> {
    let via = r.gw.as_deref().map(|g| format!(" via {g}")).unwrap_or_default();
    Ok(Req::new(format!("route add {}{via}", r.dst), RouteNetlinkMessage::NewRoute(msg(index, r)?), NLM_F_CREATE | NLM_F_APPEND))
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}

/// A route as reported, with the link it uses.
pub fn parse(m: &RouteMessage) -> Option<(Route, Option<u32>)> {
    if m.header.kind != RouteType::Unicast {
        return None;
    }
    let v6 = match m.header.address_family {
        AddressFamily::Inet => false,
        AddressFamily::Inet6 => true,
        _ => return None,
    };
    let mut dst = None;
    let mut r = Route::default();
    let mut oif = None;
    let mut table = m.header.table as u32;
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = ip_of(d),
            RouteAttribute::Gateway(g) => r.gw = ip_of(g).map(|i| i.to_string()),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Priority(p) => r.priority = Some(*p),
            RouteAttribute::Table(t) => table = *t,
            _ => {}
        }
    }
    let ip = dst.unwrap_or(if v6 { IpAddr::V6(0u128.into()) } else { IpAddr::V4(0u32.into()) });
    r.dst = Cidr { ip, prefix: m.header.destination_prefix_length }.to_string();
    r.table = Some(table);
    r.scope = Some(u32::from(u8::from(m.header.scope)));
    Some((r, oif))
}

/// Unicast routes of the main table (optionally only those through link `oif`), both families.
pub fn list(nl: &mut Rtnl, oif: Option<u32>) -> Result<Vec<Route>> {
    Ok(list_with_links(nl, oif)?.into_iter().map(|(r, _)| r).collect())
}

/// [`list`], each route with the link it uses; IPv4 first, in the kernel's order.
pub fn list_with_links(nl: &mut Rtnl, oif: Option<u32>) -> Result<Vec<(Route, Option<u32>)>> {
    list_where(nl, oif, |_| true)
}

/// The overlay's routes of the main table ([`is_ours`]), each with its link.
pub fn list_ours(nl: &mut Rtnl) -> Result<Vec<(Route, Option<u32>)>> {
    list_where(nl, None, is_ours)
}

fn list_where(nl: &mut Rtnl, oif: Option<u32>, keep: impl Fn(&RouteMessage) -> bool) -> Result<Vec<(Route, Option<u32>)>> {
    let mut out = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut m = RouteMessage::default();
        m.header.address_family = family;
        m.header.table = RT_TABLE_MAIN as u8;
        if let Some(i) = oif {
            m.attributes.push(RouteAttribute::Oif(i));
        }
        // A strict dump of a table the family does not have yet (no IPv6 route in a fresh
        // namespace) fails with ENOENT: it has no routes.
        let replies = match nl.dump("route list", RouteNetlinkMessage::GetRoute(m)) {
            Err(e) if e.kind == FailureKind::NotFound => Vec::new(),
            r => r?,
        };
        for reply in replies {
            if let RouteNetlinkMessage::NewRoute(rm) = reply {
                if !keep(&rm) {
                    continue;
                }
                if let Some((r, o)) = parse(&rm) {
                    if r.table == Some(RT_TABLE_MAIN) && oif.is_none_or(|i| o == Some(i)) {
                        out.push((r, o));
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        assert_eq!(network(&Cidr::parse("10.1.2.3/24").unwrap()).to_string(), "10.1.2.0/24");
        assert_eq!(network(&Cidr::parse("0.0.0.0/0").unwrap()).to_string(), "0.0.0.0/0");
        assert_eq!(network(&Cidr::parse("fd00::1:2/112").unwrap()).to_string(), "fd00::1:0/112");
    }

    #[test]
    fn route_message_roundtrip() {
        let r = Route { dst: "0.0.0.0/0".into(), gw: Some("10.1.0.1".into()), priority: Some(100), table: None, scope: None };
        let m = msg(3, &r).unwrap();
        assert_eq!(m.header.scope, RouteScope::Universe);
        assert_eq!(m.header.table, 254);
        let (back, oif) = parse(&m).unwrap();
        assert_eq!(oif, Some(3));
        assert_eq!(back.dst, "0.0.0.0/0");
        assert_eq!(back.gw.as_deref(), Some("10.1.0.1"));
        assert_eq!(back.priority, Some(100));
        assert_eq!(back.table, Some(254));

        let onlink = msg(3, &Route { dst: "fd00:9::/64".into(), table: Some(1000), ..Default::default() }).unwrap();
        assert_eq!(onlink.header.scope, RouteScope::Link);
        assert_eq!(onlink.header.table, 0);
        assert!(onlink.attributes.contains(&RouteAttribute::Table(1000)));
        assert!(msg(3, &Route { dst: "10.0.0.0/8".into(), gw: Some("fd00::1".into()), ..Default::default() }).is_err());
    }
}
