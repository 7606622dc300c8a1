//! The overlay between nodes, reconciled in one call: routes to every peer node's pod subnets,
//! either straight through the peer's underlay address (host-gw) or through a vxlan device with a
//! permanent FDB and neighbour entry per peer (vxlan, as flannel's vxlan backend lays it out).
//! Every route carries our own protocol number (route::RTPROT_FASTCNI), and the device is ours, so
//! a sync finds what it made before and removes what no peer wants any more without touching
//! anybody else's state. Each call runs on a throwaway thread that enters the node's namespace.

mod vxlan;

#[cfg(test)]
mod root_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::addr::{self, Cidr};
use super::link::{self, format_mac, parse_mac, Link};
use super::neigh::{self, Neigh, Table};
use super::netns;
use super::route::{self, network};
use super::rtnl::{Req, Rtnl};
use crate::error::{Failure, FailureKind, Result};
use crate::types::{LinkKind, Route};
pub use vxlan::stable_mac;
use vxlan::VxlanSpec;

/// A peer node as the overlay reaches it.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct OverlayPeer {
    /// the peer node's pod subnets (CIDR text, network address), one per family it has
    pub subnets: Vec<String>,
    /// the peer's underlay (public) address, IPv4 or IPv6
    pub public_ip: String,
    /// vxlan only: the peer's VTEP MAC ("aa:bb:cc:dd:ee:ff")
    pub vtep_mac: Option<String>,
}

/// overlaySync and overlayTeardown: this node and the complete desired peer set.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct OverlayRequest {
    /// the node's network namespace (a path); undefined = the caller's own
    pub host_netns: Option<String>,
    /// "host-gw" or "vxlan"
    pub backend: String,
    /// this node's own pod subnets (vxlan: the device gets each subnet's network address as /32 (/128))
    pub local_subnets: Vec<String>,
    /// this node's underlay address (vxlan: the device's local address; host-gw: finds the underlay link)
    pub public_ip: String,
    /// vxlan: the device's name (default "fastcni.1")
    pub device: Option<String>,
    /// vxlan: VNI (default 1)
    pub vni: Option<u32>,
    /// vxlan: UDP port (default 8472)
    pub port: Option<u32>,
    /// vxlan: the device's MTU (default: the underlay link's MTU − 50, − 70 for an IPv6 underlay)
    pub mtu: Option<u32>,
    /// vxlan: the device's MAC (default: a locally administered MAC derived from publicIp, so a
    /// recreated device keeps it)
    pub mac: Option<String>,
    /// the complete desired peer set (this node excluded)
    pub peers: Vec<OverlayPeer>,
}

/// What the overlay is after a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct OverlayState {
    /// vxlan: the device's MAC (to publish in the lease); host-gw and teardown: undefined
    pub vtep_mac: Option<String>,
    /// vxlan: the device's MTU; host-gw: the underlay link's MTU; teardown: 0
    pub mtu: u32,
    /// routes of ours present after the call (one per peer subnet)
    pub routes: u32,
    /// kernel entries the call added: routes, and with vxlan neighbour and FDB entries
    pub added: u32,
    /// kernel entries the call removed (same kinds)
    pub removed: u32,
}

pub const DEFAULT_DEVICE: &str = "fastcni.1";
const DEFAULT_VNI: u32 = 1;
const DEFAULT_PORT: u32 = 8472;
/// What vxlan adds to each packet: outer IPv4 20 (IPv6 40) + UDP 8 + vxlan 8 + the inner Ethernet 14.
const VXLAN_OVERHEAD_V4: u32 = 50;
const VXLAN_OVERHEAD_V6: u32 = 70;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    HostGw,
    Vxlan,
}

#[derive(Debug, Clone)]
struct Peer {
    subnets: Vec<Cidr>,
    public_ip: IpAddr,
    mac: Option<Vec<u8>>,
}

/// A request checked before anything changes.
#[derive(Debug, Clone)]
struct Plan {
    backend: Backend,
    public_ip: IpAddr,
    local: Vec<Cidr>,
    device: String,
    vni: u32,
    port: u16,
    mtu: Option<u32>,
    mac: Vec<u8>,
    peers: Vec<Peer>,
}

fn bad(field: &str, message: impl std::fmt::Display) -> Failure {
    Failure::invalid("overlay", format!("{field}: {message}"))
}

fn subnet(field: &str, s: &str) -> Result<Cidr> {
    let c = Cidr::parse(s).map_err(|_| bad(field, format!("invalid CIDR {s:?}")))?;
    let net = network(&c);
    if net != c {
        return Err(bad(field, format!("{s} is not a network address (its network is {net})")));
    }
    Ok(c)
}

fn ip(field: &str, s: &str) -> Result<IpAddr> {
    s.parse().map_err(|_| bad(field, format!("invalid IP address {s:?}")))
}

fn unicast_mac(field: &str, s: &str) -> Result<Vec<u8>> {
    let m = parse_mac(s).map_err(|_| bad(field, format!("invalid MAC address {s:?}")))?;
    if m[0] & 1 != 0 || m.iter().all(|b| *b == 0) {
        return Err(bad(field, format!("{s} is not a unicast MAC address")));
    }
    Ok(m)
}

fn validate(req: &OverlayRequest) -> Result<Plan> {
    let backend = match req.backend.as_str() {
        "host-gw" => Backend::HostGw,
        "vxlan" => Backend::Vxlan,
        b => return Err(bad("backend", format!("unknown backend {b:?} (expected \"host-gw\" or \"vxlan\")"))),
    };
    let public_ip = ip("publicIp", &req.public_ip)?;
    let local = req.local_subnets.iter().enumerate().map(|(i, s)| subnet(&format!("localSubnets[{i}]"), s)).collect::<Result<Vec<_>>>()?;
    let device = req.device.clone().unwrap_or_else(|| DEFAULT_DEVICE.to_string());
    if !link::valid_ifname(&device) {
        return Err(bad("device", format!("invalid interface name {device:?}")));
    }
    let vni = req.vni.unwrap_or(DEFAULT_VNI);
    if vni >= 1 << 24 {
        return Err(bad("vni", format!("{vni} does not fit in 24 bits")));
    }
    let port = req.port.unwrap_or(DEFAULT_PORT);
    if port == 0 || port > u16::MAX as u32 {
        return Err(bad("port", format!("{port} is not a UDP port")));
    }
    if req.mtu.is_some_and(|m| m < 68) {
        return Err(bad("mtu", format!("{} is below the IPv4 minimum of 68", req.mtu.unwrap_or(0))));
    }
    let mac = match &req.mac {
        Some(m) => unicast_mac("mac", m)?,
        None => stable_mac(public_ip).to_vec(),
    };
    // a subnet routed twice would make the second route fail or shadow the first
    let mut owner: HashMap<Cidr, String> = local.iter().map(|c| (*c, "localSubnets".to_string())).collect();
    let mut peers = Vec::with_capacity(req.peers.len());
    for (i, p) in req.peers.iter().enumerate() {
        let public = ip(&format!("peers[{i}].publicIp"), &p.public_ip)?;
        let mut subnets = Vec::with_capacity(p.subnets.len());
        for (j, s) in p.subnets.iter().enumerate() {
            let field = format!("peers[{i}].subnets[{j}]");
            let c = subnet(&field, s)?;
            if backend == Backend::HostGw && c.is_v6() != public.is_ipv6() {
                return Err(bad(&field, format!("host-gw cannot route {c} through {public}, an address of the other family")));
            }
            if let Some(o) = owner.insert(c, format!("peers[{i}]")) {
                return Err(bad(&field, format!("{c} is also in {o}")));
            }
            subnets.push(c);
        }
        let vtep = match (&p.vtep_mac, backend) {
            (Some(m), Backend::Vxlan) => Some(unicast_mac(&format!("peers[{i}].vtepMac"), m)?),
            (None, Backend::Vxlan) => return Err(bad(&format!("peers[{i}].vtepMac"), "required by the vxlan backend")),
            (_, Backend::HostGw) => None,
        };
        if backend == Backend::Vxlan && public.is_ipv4() != public_ip.is_ipv4() {
            return Err(bad(&format!("peers[{i}].publicIp"), format!("{public} is not of the family of publicIp {public_ip}")));
        }
        peers.push(Peer { subnets, public_ip: public, mac: vtep });
    }
    Ok(Plan { backend, public_ip, local, device, vni, port: port as u16, mtu: req.mtu, mac, peers })
}

/// Open an rtnetlink socket in the node's namespace (the thread stays there: it is ours).
fn open(host_netns: Option<&str>) -> Result<Rtnl> {
    if let Some(path) = host_netns {
        netns::enter(&netns::open(path)?, path)?;
    }
    Rtnl::open()
}

/// The link that carries `public_ip`.
fn underlay(nl: &mut Rtnl, public_ip: IpAddr) -> Result<Link> {
    let found = addr::list(nl, None)?.into_iter().find(|a| a.cidr.ip == public_ip);
    let a = found.ok_or_else(|| {
        Failure::new(FailureKind::NotFound, "overlay underlay", format!("publicIp: {public_ip} is not an address of this node"))
    })?;
    link::by_index(nl, a.index)?.ok_or_else(|| Failure::new(FailureKind::NotFound, "overlay underlay", "the underlay link vanished"))
}

/// What a sync makes: the peers' routes, and with vxlan their neighbour and FDB entries.
#[derive(Debug, Default)]
struct Want {
    routes: Vec<(Route, u32)>,
    neighbours: Vec<Neigh>,
    fdb: Vec<Neigh>,
}

fn want(plan: &Plan, underlay: u32, device: Option<u32>) -> Want {
    let mut w = Want::default();
    for p in &plan.peers {
        for s in &p.subnets {
            let (gw, oif) = match (device, &p.mac) {
                (Some(dev), Some(mac)) => {
                    w.neighbours.push(Neigh { index: dev, ip: s.ip, mac: mac.clone(), permanent: true });
                    (s.ip, dev)
                }
                _ => (p.public_ip, underlay),
            };
            w.routes.push((Route { dst: s.to_string(), gw: Some(gw.to_string()), ..Default::default() }, oif));
        }
        if let (Some(dev), Some(mac)) = (device, &p.mac) {
            w.fdb.push(Neigh { index: dev, ip: p.public_ip, mac: mac.clone(), permanent: true });
        }
    }
    w
}

/// Deletes of what this call added, replayed newest first when a later step fails.
#[derive(Default)]
struct Undo(Vec<Req>);

impl Undo {
    fn replay(self, nl: &mut Rtnl) {
        let _ = nl.batch(self.0.into_iter().rev().collect());
    }
}

/// Send `adds` in one batch; each that went in gets its delete on the undo log. The first failure
/// is returned after all were tried (the kernel goes on after one).
fn add_all(nl: &mut Rtnl, adds: Vec<(Req, Req)>, undo: &mut Undo) -> Result<u32> {
    let (reqs, dels): (Vec<Req>, Vec<Req>) = adds.into_iter().unzip();
    let mut first = None;
    let mut n = 0;
    for (r, del) in nl.batch(reqs).into_iter().zip(dels) {
        match r {
            Ok(()) => {
                undo.0.push(del);
                n += 1;
            }
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    first.map_or(Ok(n), Err)
}

/// Send `dels` in one batch; an entry already gone is no failure.
fn remove_all(nl: &mut Rtnl, dels: Vec<Req>) -> Result<u32> {
    let mut n = 0;
    for r in nl.batch(dels) {
        match r {
            Ok(()) => n += 1,
            Err(e) if e.kind == FailureKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn route_req(add: bool, r: &Route, oif: u32, onlink: bool) -> Result<Req> {
    let m = route::ours_msg(oif, r, onlink)?;
    let via = r.gw.as_deref().unwrap_or("");
    Ok(if add {
        Req::new(format!("route add {} via {via}", r.dst), RouteNetlinkMessage::NewRoute(m), NLM_F_CREATE | NLM_F_EXCL)
    } else {
        Req::new(format!("route delete {} via {via}", r.dst), RouteNetlinkMessage::DelRoute(m), 0)
    })
}

/// The vxlan device, created when missing (its creation undone on a later failure), up, with the
/// planned MAC and MTU, and the local subnets' network addresses.
fn ensure_device(nl: &mut Rtnl, plan: &Plan, under: &Link, undo: &mut Undo) -> Result<Link> {
    let overhead = if plan.public_ip.is_ipv4() { VXLAN_OVERHEAD_V4 } else { VXLAN_OVERHEAD_V6 };
    let mtu = plan.mtu.unwrap_or(under.info.mtu.saturating_sub(overhead));
    let dev = match link::by_name(nl, &plan.device)? {
        Some(l) => l,
        None => {
            let spec = VxlanSpec {
                name: &plan.device,
                vni: plan.vni,
                port: plan.port,
                local: plan.public_ip,
                underlay: under.info.index,
                mtu,
                mac: &plan.mac,
            };
            nl.ack(&format!("vxlan create {}", plan.device), vxlan::create_msg(&spec), NLM_F_CREATE | NLM_F_EXCL)?;
            let l = link::by_name(nl, &plan.device)?
                .ok_or_else(|| Failure::new(FailureKind::NotFound, "vxlan create", format!("{:?} vanished after creation", plan.device)))?;
            undo.0.push(Req::new(format!("vxlan delete {} (rollback)", plan.device), link::del_msg(l.info.index, None), 0));
            l
        }
    };
    if dev.info.kind != Some(LinkKind::Vxlan) {
        return Err(Failure::invalid("overlay device", format!("device: {:?} exists and is not a vxlan device", plan.device)));
    }
    let mut set = LinkMessage::default();
    set.header.index = dev.info.index;
    if !dev.info.up {
        set.header.flags = LinkFlags::Up;
        set.header.change_mask = LinkFlags::Up;
    }
    if dev.mac_bytes != plan.mac {
        set.attributes.push(LinkAttribute::Address(plan.mac.clone()));
    }
    if dev.info.mtu != mtu {
        set.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if !dev.info.up || !set.attributes.is_empty() {
        nl.ack(&format!("vxlan set {}", plan.device), RouteNetlinkMessage::NewLink(set), 0)?;
    }
    let wanted: Vec<Cidr> = plan.local.iter().map(|c| Cidr { ip: c.ip, prefix: if c.is_v6() { 128 } else { 32 } }).collect();
    let have: Vec<Cidr> = addr::list(nl, Some(dev.info.index))?.into_iter().map(|a| a.cidr).collect();
    let stale = have
        .iter()
        .filter(|c| !wanted.contains(c) && addr::is_global_unicast(c.ip))
        .map(|c| addr::del_req(dev.info.index, c, &plan.device));
    remove_all(nl, stale.collect())?;
    let adds = wanted
        .iter()
        .filter(|c| !have.contains(c))
        .map(|c| (addr::add_req(dev.info.index, c, &plan.device), addr::del_req(dev.info.index, c, &plan.device)))
        .collect();
    add_all(nl, adds, undo)?;
    link::by_index(nl, dev.info.index)?.ok_or_else(|| Failure::new(FailureKind::NotFound, "overlay device", "the vxlan device vanished"))
}

fn sync(nl: &mut Rtnl, plan: &Plan, undo: &mut Undo) -> Result<OverlayState> {
    let under = underlay(nl, plan.public_ip)?;
    let dev = match plan.backend {
        Backend::Vxlan => Some(ensure_device(nl, plan, &under, undo)?),
        Backend::HostGw => None,
    };
    let w = want(plan, under.info.index, dev.as_ref().map(|d| d.info.index));
    let key = |r: &Route, oif: u32| (r.dst.clone(), r.gw.clone(), oif);
    let wanted: Vec<_> = w.routes.iter().map(|(r, o)| key(r, *o)).collect();
    let present: Vec<(Route, u32)> = route::list_ours(nl)?.into_iter().filter_map(|(r, o)| o.map(|o| (r, o))).collect();
    let have: Vec<_> = present.iter().map(|(r, o)| key(r, *o)).collect();
    let mut removed = 0;
    let dels = present.iter().filter(|(r, o)| !wanted.contains(&key(r, *o))).map(|(r, o)| route_req(false, r, *o, false));
    removed += remove_all(nl, dels.collect::<Result<Vec<_>>>()?)?;
    let (mut neighbours, mut fdb) = (Vec::new(), Vec::new());
    if let Some(d) = &dev {
        neighbours = neigh::list(nl, Table::Neighbour, d.info.index)?.into_iter().filter(|n| n.permanent).collect();
        fdb = neigh::list(nl, Table::Fdb, d.info.index)?.into_iter().filter(|n| n.permanent).collect();
    }
    for (table, have, want) in [(Table::Neighbour, &neighbours, &w.neighbours), (Table::Fdb, &fdb, &w.fdb)] {
        let dels = have.iter().filter(|n| !want.contains(n)).map(|n| neigh::del_req(table, n)).collect();
        removed += remove_all(nl, dels)?;
    }
    let mut added = 0;
    for (table, have, want) in [(Table::Fdb, &fdb, &w.fdb), (Table::Neighbour, &neighbours, &w.neighbours)] {
        let adds = want.iter().filter(|n| !have.contains(n)).map(|n| (neigh::add_req(table, n), neigh::del_req(table, n))).collect();
        added += add_all(nl, adds, undo)?;
    }
    let onlink = dev.is_some();
    let adds = w
        .routes
        .iter()
        .filter(|(r, o)| !have.contains(&key(r, *o)))
        .map(|(r, o)| Ok((route_req(true, r, *o, onlink)?, route_req(false, r, *o, onlink)?)))
        .collect::<Result<Vec<_>>>()?;
    added += add_all(nl, adds, undo)?;
    Ok(OverlayState {
        vtep_mac: dev.as_ref().map(|d| format_mac(&d.mac_bytes)),
        mtu: dev.as_ref().unwrap_or(&under).info.mtu,
        routes: w.routes.len() as u32,
        added,
        removed,
    })
}

/// Reconcile the node's overlay with `req`, on the calling thread, which must be a throwaway one
/// (it enters the node's namespace when one is named). Bad input fails before anything changes;
/// a failure later undoes what this call added (entries it removed for departed peers stay gone).
pub fn overlay_sync_here(req: &OverlayRequest) -> Result<OverlayState> {
    let plan = validate(req)?;
    let mut nl = open(req.host_netns.as_deref())?;
    let mut undo = Undo::default();
    let r = sync(&mut nl, &plan, &mut undo);
    if r.is_err() {
        undo.replay(&mut nl);
    }
    r
}

/// Remove every route of ours and the vxlan device (named by `device`, default "fastcni.1"), on the
/// calling thread, which must be a throwaway one. Only `hostNetns` and `device` are read. A device
/// of that name that is not a vxlan one is left alone and reported.
pub fn overlay_teardown_here(req: &OverlayRequest) -> Result<OverlayState> {
    let device = req.device.as_deref().unwrap_or(DEFAULT_DEVICE);
    let mut nl = open(req.host_netns.as_deref())?;
    let present = route::list_ours(&mut nl)?;
    let dels = present.iter().filter_map(|(r, o)| o.map(|o| route_req(false, r, o, false))).collect::<Result<Vec<_>>>()?;
    let removed = remove_all(&mut nl, dels)?;
    if let Some(l) = link::by_name(&mut nl, device)? {
        if l.info.kind != Some(LinkKind::Vxlan) {
            return Err(Failure::invalid("overlay teardown", format!("device: {device:?} is not a vxlan device; left alone")));
        }
        link::delete_by_name(&mut nl, device)?;
    }
    Ok(OverlayState { vtep_mac: None, mtu: 0, routes: 0, added: 0, removed })
}
