//! The vrf plugin's kernel work inside a pod's namespace, as the reference does it
//! (https://github.com/containernetworking/plugins/tree/main/plugins/meta/vrf): find or create the
//! VRF (its table given, or the lowest from 1 that no VRF of the namespace uses), enslave the
//! interface, put back the global IPv6 addresses the kernel dropped when the interface changed
//! master and wait for their routes in the VRF's table, then copy the interface's routes there.
//! DEL releases the interface and deletes the VRF when it has no member left. Each call runs on a
//! throwaway thread of ours that enters the pod's namespace.

use std::net::IpAddr;
use std::time::Duration;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::address::AddressScope;
use netlink_packet_route::link::{InfoData, InfoKind, InfoVrf, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage};
use netlink_packet_route::route::{RouteAttribute, RouteMessage, RouteProtocol, RouteScope};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::addr::{self, Cidr};
use super::link;
use super::netns;
use super::rtnl::{Req, Rtnl};
use super::sbr::Found;
use crate::error::{Failure, FailureKind, Result};

/// ADD: put `ifname` into the VRF `vrfname`.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct VrfAddRequest {
    /// the pod's namespace (a path)
    pub netns: String,
    pub ifname: String,
    pub vrfname: String,
    /// the VRF's routing table; absent: an existing VRF's, or the lowest free one for a new VRF
    pub table: Option<u32>,
}

/// DEL: release `ifname` from the VRF, and delete the VRF when no member is left.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct VrfDelRequest {
    pub netns: String,
    pub ifname: String,
    pub vrfname: String,
}

const RT_TABLE_MAIN: u32 = 254;
/// The reference's wait for a restored address's route: 10 ms doubling, 8 retries (about 2.5 s).
const WAIT_FIRST: Duration = Duration::from_millis(10);
const WAIT_RETRIES: u32 = 8;

/// A link as this module needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub index: u32,
    pub name: String,
    pub master: Option<u32>,
    /// Some(table) when the link is a VRF
    pub vrf_table: Option<u32>,
    pub is_vrf: bool,
}

fn seen(m: &LinkMessage) -> Seen {
    let mut s = Seen { index: m.header.index, ..Default::default() };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => s.name = n.clone(),
            LinkAttribute::Controller(i) => s.master = Some(*i),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    match i {
                        NlLinkInfo::Kind(InfoKind::Vrf) => s.is_vrf = true,
                        NlLinkInfo::Data(InfoData::Vrf(d)) => {
                            s.vrf_table = d.iter().find_map(|v| if let InfoVrf::TableId(t) = v { Some(*t) } else { None })
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    s
}

fn links(nl: &mut Rtnl) -> Result<Vec<Seen>> {
    let msgs = nl.dump("link list", RouteNetlinkMessage::GetLink(LinkMessage::default()))?;
    Ok(msgs.iter().filter_map(|m| if let RouteNetlinkMessage::NewLink(l) = m { Some(seen(l)) } else { None }).collect())
}

/// The lowest table from 1 that none of `taken` is (the reference's findFreeRoutingTableID).
pub fn pick_table(taken: &[u32]) -> Result<u32> {
    (1..u32::MAX)
        .find(|t| !taken.contains(t))
        .ok_or_else(|| Failure::new(FailureKind::Exists, "vrf table", "findFreeRoutingTableID: Failed to find an available routing id"))
}

/// RTM_NEWLINK of a VRF, created up (send with NLM_F_CREATE | NLM_F_EXCL).
pub fn create_msg(name: &str, table: u32) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        NlLinkInfo::Kind(InfoKind::Vrf),
        NlLinkInfo::Data(InfoData::Vrf(vec![InfoVrf::TableId(table)])),
    ]));
    RouteNetlinkMessage::NewLink(m)
}

/// RTM_NEWLINK setting the master of link `index` (0 releases it).
pub fn master_msg(index: u32, master: u32) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.attributes.push(LinkAttribute::Controller(master));
    RouteNetlinkMessage::NewLink(m)
}

fn route_table(m: &RouteMessage) -> u32 {
    m.attributes.iter().find_map(|a| if let RouteAttribute::Table(t) = a { Some(*t) } else { None }).unwrap_or(m.header.table as u32)
}

fn route_oif(m: &RouteMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| if let RouteAttribute::Oif(i) = a { Some(*i) } else { None })
}

/// The routes that follow the interface into the VRF: those of the main table through it with
/// universe scope (what changing master removes), except the ones the kernel makes itself for the
/// addresses (it makes them again in the VRF's table). The reference keeps only routes with a
/// preferred source, which leaves a pod's gateway routes behind.
pub fn follows_interface(m: &RouteMessage, index: u32) -> bool {
    route_table(m) == RT_TABLE_MAIN
        && route_oif(m) == Some(index)
        && m.header.scope == RouteScope::Universe
        && m.header.protocol != RouteProtocol::Kernel
}

fn all_routes(nl: &mut Rtnl) -> Result<Vec<RouteMessage>> {
    let mut out = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut q = RouteMessage::default();
        q.header.address_family = family;
        for m in nl.dump("route list", RouteNetlinkMessage::GetRoute(q))? {
            if let RouteNetlinkMessage::NewRoute(r) = m {
                out.push(r);
            }
        }
    }
    Ok(out)
}

fn global_v6(nl: &mut Rtnl, index: u32) -> Result<Vec<Cidr>> {
    Ok(addr::list(nl, Some(index))?.into_iter().filter(|a| a.cidr.is_v6() && a.scope == AddressScope::Universe).map(|a| a.cidr).collect())
}

/// Whether the VRF's table has the host route of `ip` through the interface yet.
fn has_local_route(nl: &mut Rtnl, ip: IpAddr, table: u32, index: u32) -> Result<bool> {
    Ok(all_routes(nl)?.iter().any(|m| {
        m.header.destination_prefix_length == 128
            && route_table(m) == table
            && route_oif(m) == Some(index)
            && Found::of(m).is_some_and(|f| f.dst.ip == ip)
    }))
}

fn wait_local_route(nl: &mut Rtnl, c: &Cidr, ifname: &str, table: u32, index: u32) -> Result<()> {
    for retry in 0..=WAIT_RETRIES {
        if has_local_route(nl, c.ip, table, index)? {
            return Ok(());
        }
        if retry < WAIT_RETRIES {
            std::thread::sleep(WAIT_FIRST * (1 << retry));
        }
    }
    Err(Failure::new(
        FailureKind::Timeout,
        "vrf address",
        format!("failed getting local/host addresses for {ifname} in table {table} with dst {c}"),
    ))
}

/// The VRF to use: (index, table, created by this call).
fn ensure_vrf(nl: &mut Rtnl, all: &[Seen], req: &VrfAddRequest) -> Result<(u32, u32, bool)> {
    if let Some(v) = all.iter().find(|l| l.name == req.vrfname) {
        if !v.is_vrf {
            return Err(Failure::invalid("vrf", format!("Netlink {} is not a VRF", req.vrfname)));
        }
        let table = v.vrf_table.unwrap_or(0);
        if req.table.is_some_and(|t| t != table) {
            return Err(Failure::invalid("vrf", format!("VRF {} already exist with different routing table {table}", req.vrfname)));
        }
        return Ok((v.index, table, false));
    }
    let taken: Vec<u32> = all.iter().filter_map(|l| l.vrf_table).collect();
    let table = match req.table {
        Some(t) => t,
        None => pick_table(&taken)?,
    };
    nl.ack(&format!("vrf create {}", req.vrfname), create_msg(&req.vrfname, table), NLM_F_CREATE | NLM_F_EXCL).map_err(|e| {
        let m = match e.errno {
            libc::EOPNOTSUPP => format!("could not add VRF {}: the kernel has no vrf driver (module vrf): {}", req.vrfname, e.message),
            _ => format!("could not add VRF {}: {}", req.vrfname, e.message),
        };
        e.with_message(m)
    })?;
    let index = link::by_name(nl, &req.vrfname)?
        .ok_or_else(|| Failure::new(FailureKind::NotFound, "vrf create", format!("the new VRF {} is not there", req.vrfname)))?
        .info
        .index;
    Ok((index, table, true))
}

/// Enslave, restore the IPv6 addresses, copy the routes (see the module doc).
fn move_into(nl: &mut Rtnl, req: &VrfAddRequest, index: u32, vrf: (u32, u32)) -> Result<()> {
    let (vrf_index, table) = vrf;
    let before = global_v6(nl, index)?;
    let routes: Vec<Found> = all_routes(nl)?.iter().filter(|m| follows_interface(m, index)).filter_map(Found::of).collect();
    nl.ack(&format!("vrf enslave {}", req.ifname), master_msg(index, vrf_index), 0).map_err(|e| {
        let m = format!("could not set vrf {} as master of {}: {}", req.vrfname, req.ifname, e.message);
        e.with_message(m)
    })?;
    let after = global_v6(nl, index)?;
    for c in before.iter().filter(|c| !after.contains(c)) {
        nl.batch(vec![addr::add_req(index, c, &req.ifname)]).pop().unwrap_or(Ok(())).map_err(|e| {
            let m = format!("could not restore address {c} to {} @ {}: {}", req.ifname, req.vrfname, e.message);
            e.with_message(m)
        })?;
        wait_local_route(nl, c, &req.ifname, table, index)?;
    }
    let copies: Vec<Req> = routes
        .iter()
        .map(|r| Req::new(format!("route copy {}", r.dst), RouteNetlinkMessage::NewRoute(r.in_table(table)), NLM_F_CREATE | NLM_F_REPLACE))
        .collect();
    nl.batch(copies).into_iter().collect::<Result<Vec<()>>>()?;
    Ok(())
}

/// ADD: the table of the VRF the interface is now in. A failure releases the interface and
/// deletes a VRF this call created.
pub fn vrf_add_here(req: &VrfAddRequest) -> Result<u32> {
    netns::enter(&netns::open(&req.netns)?, &req.netns)?;
    let mut nl = Rtnl::open()?;
    let all = links(&mut nl)?;
    let iface = all
        .iter()
        .find(|l| l.name == req.ifname)
        .ok_or_else(|| Failure::new(FailureKind::NotFound, "vrf", format!("could not get link by name {}", req.ifname)))?
        .clone();
    if let Some(m) = iface.master {
        let name = all.iter().find(|l| l.index == m).map(|l| l.name.clone()).unwrap_or_else(|| format!("#{m}"));
        return Err(Failure::new(FailureKind::Exists, "vrf", format!("interface {} has already a master set: {name}", req.ifname)));
    }
    let (vrf_index, table, created) = ensure_vrf(&mut nl, &all, req)?;
    move_into(&mut nl, req, iface.index, (vrf_index, table)).inspect_err(|_| {
        let _ = nl.ack("vrf release", master_msg(iface.index, 0), 0);
        if created {
            let _ = nl.ack("vrf delete", link::del_msg(vrf_index, None), 0);
        }
    })?;
    Ok(table)
}

/// DEL: kind netnsGone when the namespace is gone; a missing VRF or interface is no failure.
/// Resolves to whether the VRF was deleted.
pub fn vrf_del_here(req: &VrfDelRequest) -> Result<bool> {
    netns::enter(&netns::open(&req.netns)?, &req.netns)?;
    let mut nl = Rtnl::open()?;
    let all = links(&mut nl)?;
    let Some(vrf) = all.iter().find(|l| l.name == req.vrfname && l.is_vrf) else { return Ok(false) };
    let member = all.iter().find(|l| l.name == req.ifname && l.master == Some(vrf.index));
    if let Some(m) = member {
        nl.ack(&format!("vrf release {}", req.ifname), master_msg(m.index, 0), 0).map_err(|e| {
            let msg = format!("resetMaster: could not reset master to {}: {}", req.ifname, e.message);
            e.with_message(msg)
        })?;
    }
    let others = all.iter().any(|l| l.master == Some(vrf.index) && Some(l.index) != member.map(|m| m.index));
    if others {
        return Ok(false);
    }
    link::delete_by_name(&mut nl, &req.vrfname)
}

#[cfg(test)]
#[path = "vrf_tests.rs"]
mod tests;
