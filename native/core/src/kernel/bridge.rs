//! The bridge plugin's kernel work as coarse calls: wire a pod into a bridge in two stages (rolled
//! back on any failure) and unwire it (idempotent).
//!
//! Cost of an ADD, steady state on a resident worker (thread, host socket and bridge already
//! there): one pod socket, four round trips — bridge address dump, veth create (the new link is
//! echoed back), the pod's whole configuration plus a read-back in one batch, and bridge + host
//! end in one read (which also revalidates the cached bridge) — and a few /proc sysctl writes.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use netlink_packet_core::NLM_F_CREATE;
use netlink_packet_core::NLM_F_EXCL;
use netlink_packet_route::link::{AfSpecBridge, BridgeVlanInfo, BridgeVlanInfoFlags, LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::addr::{self, Cidr};
use super::iface;
use super::link::{self, BridgeSpec, Link, VethSpec};
use super::netns;
use super::resident::Resident;
use super::route;
use super::rtnl::{Raw, Req, Rtnl, NLM_F_ECHO};
use super::sysctl;
use crate::error::{Failure, FailureKind, Result};
use crate::phase::{self, Phase};
use crate::types::{BridgeAddResult, BridgeDelRequest, BridgeDelResult, BridgeL3Request, BridgeLinkRequest, LinkKind, NftOwner};

const VETH_NAME_TRIES: usize = 10;
const OPER_UP_TIMEOUT: Duration = Duration::from_secs(2);
const IFNAMSIZ: usize = 16;

/// A whole ADD: the first stage's request and the second's.
#[derive(Debug, Clone, Default)]
struct BridgeAddRequest {
    link: BridgeLinkRequest,
    l3: BridgeL3Request,
}

/// The first stage of an ADD done on a resident worker: the pod's veth made, plugged into the
/// bridge, its host port and DAD sysctls set. None of it needs the IPAM result, so it runs while
/// the caller's IPAM does; [`finish_resident`] adds the rest, or [`Attached::rollback`] undoes it.
/// A bridge that does not exist yet is not made here but by the second stage, with the veth: an
/// ADD that fails in IPAM (a bad config, say) then leaves no new bridge behind.
pub struct Attached {
    req: BridgeLinkRequest,
    host: Rtnl,
    pod: Rtnl,
    pod_ns: OwnedFd,
    /// None: left to the second stage (no bridge yet)
    linked: Option<Linked>,
    used_cache: bool,
}

/// What the first stage wired: the bridge and the host end of the pod's veth.
struct Linked {
    bridge: Link,
    host_end: Link,
}

impl Attached {
    /// Delete the veth again (IPAM failed, say); the host socket goes back to the worker.
    pub fn rollback(mut self, res: &mut Resident) -> Result<()> {
        let r = match &self.linked {
            Some(l) => self.host.ack("veth delete (rollback)", link::del_msg(l.host_end.info.index, None), 0),
            None => Ok(()),
        };
        res.put_host(self.host);
        r
    }
}

/// The links of a first stage that was allowed to create the bridge.
fn attached(linked: Option<Linked>) -> Result<Linked> {
    linked.ok_or_else(|| Failure::internal("bridge ensure", "the bridge was neither found nor created"))
}

/// The first stage on a resident worker: its host socket, its cached bridge
/// (validated by the kernel: a stale one fails a step or reads back as something else, and the
/// work is redone once without the cache), a short setns into the pod to open the pod's socket.
pub fn attach_resident(res: &mut Resident, req: BridgeLinkRequest) -> Result<Attached> {
    validate_link(&req)?;
    phase::begin();
    let pod_ns = netns::open(&req.pod_netns)?;
    res.enter(&pod_ns, &req.pod_netns)?;
    let pod = Rtnl::open();
    res.back()?;
    let mut pod = pod?;
    phase::lap(Phase::PodSocket);
    let mut host = res.take_host()?;
    let cached = res.bridges.remove(&req.bridge).filter(|b| b.info.up && (!req.promisc || b.info.promisc));
    let used_cache = cached.is_some();
    res.mark_moved(); // attach_with() ends in the pod namespace
    let mut r = attach_with(&mut Sides { host: &mut host, pod: &mut pod, pod_ns: &pod_ns, dirs: &mut res.sysctl }, &req, cached, false);
    if used_cache && r.is_err() {
        res.back()?;
        res.mark_moved();
        r = attach_with(&mut Sides { host: &mut host, pod: &mut pod, pod_ns: &pod_ns, dirs: &mut res.sysctl }, &req, None, false);
    }
    res.back()?;
    // on failure the host socket is dropped: the next call opens a fresh one
    let linked = r?;
    Ok(Attached { req, host, pod, pod_ns, linked, used_cache })
}

/// The second stage on the same worker, with what follows from the IPAM result (addresses, routes,
/// gateway, masquerade, spoof check): on failure the veth is deleted and the bridge's gateway
/// change undone, so the ADD leaves nothing behind.
pub fn finish_resident(res: &mut Resident, a: Attached, l3: BridgeL3Request) -> Result<BridgeAddResult> {
    let Attached { req: link, mut host, mut pod, pod_ns, linked, used_cache } = a;
    let req = &BridgeAddRequest { link, l3 };
    phase::begin();
    let mut r = match linked {
        Some(linked) => {
            res.mark_moved(); // finish_with() enters the pod namespace
            let mut s = Sides { host: &mut host, pod: &mut pod, pod_ns: &pod_ns, dirs: &mut res.sysctl };
            finish_with(&mut s, req, &linked, used_cache)
        }
        None => add_afresh(res, &mut host, &mut pod, &pod_ns, req),
    };
    if used_cache && r.is_err() {
        // the cached bridge may have been stale: the whole ADD once more, reading it afresh
        r = add_afresh(res, &mut host, &mut pod, &pod_ns, req);
    }
    let (out, bridge, change) = r?;
    // nf_tables sockets for "the caller's own namespace" open in this thread's current one
    res.back()?;
    nft_elements(&mut host, req, &out, &change)?;
    res.put_host(host);
    if bridge.info.up && bridge.info.kind == Some(LinkKind::Bridge) && bridge.info.name == req.link.bridge {
        res.bridges.insert(req.link.bridge.clone(), bridge);
    }
    Ok(out)
}

/// Both stages in one go on a resident worker, the bridge read (or made) afresh.
fn add_afresh(
    res: &mut Resident,
    host: &mut Rtnl,
    pod: &mut Rtnl,
    pod_ns: &OwnedFd,
    req: &BridgeAddRequest,
) -> Result<(BridgeAddResult, Link, GatewayChange)> {
    res.back()?;
    res.mark_moved();
    let linked = attached(attach_with(&mut Sides { host, pod, pod_ns, dirs: &mut res.sysctl }, &req.link, None, true)?)?;
    res.back()?;
    res.mark_moved();
    finish_with(&mut Sides { host, pod, pod_ns, dirs: &mut res.sysctl }, req, &linked, false)
}

/// The pod's nf_tables elements (masquerade, then spoof check), from the host namespace, in the
/// same call as the wiring (one hop between Node and a native thread per ADD instead of two or
/// three). On failure the elements added go again, then the veth and the bridge's gateway
/// `change`, so the call still leaves nothing behind; the host socket is dropped with the error.
/// The calling thread must be in the host namespace.
fn nft_elements(host: &mut Rtnl, req: &BridgeAddRequest, out: &BridgeAddResult, change: &GatewayChange) -> Result<()> {
    let host_netns = req.link.host_netns.as_deref();
    let masq = req.l3.masquerade.as_ref().map(|o| o.masq_request(host_netns, &req.link.ifname, req.l3.addresses.clone()));
    let undo = |host: &mut Rtnl| {
        // Whatever masquerade went in (an address family added before a later one failed, say):
        // its DEL is idempotent and takes a set it leaves empty.
        if let Some(m) = &masq {
            let _ = super::nft::masq_del(m);
        }
        rollback(host, out.host_veth.index, change);
    };
    if let Some(m) = &masq {
        super::nft::masq_add(m).inspect_err(|_| undo(host))?;
        phase::lap(Phase::Masquerade);
    }
    if let Some(owner) = &req.l3.spoof_check {
        // its two elements go in one batch: a failed add left neither of them
        let spoof = owner.spoof_request(host_netns, &req.link.ifname, &out.host_veth.name, &out.container.mac);
        super::nft::spoof_add(&spoof).inspect_err(|_| undo(host))?;
        phase::lap(Phase::SpoofCheck);
    }
    Ok(())
}

/// Undo a failed second stage on the host side: the veth (which takes its pod end along), then
/// what the ADD changed on the bridge's gateway link.
fn rollback(host: &mut Rtnl, host_veth: u32, change: &GatewayChange) {
    let _ = host.ack("veth delete (rollback)", link::del_msg(host_veth, None), 0);
    change.undo(host);
}

/// What an ADD changed among the gateway addresses of a shared link (the bridge, or its VLAN
/// gateway), so that a failure later in the same ADD can undo it: the addresses it added (not those
/// a concurrent ADD added first) and those `forceAddress` made it delete.
#[derive(Debug, Default)]
struct GatewayChange {
    /// the bridge, whose ports tell whether another pod may rely on the change
    bridge: u32,
    /// the VLAN gateway's own port on the bridge, which is no pod
    gateway_port: Option<u32>,
    /// the link that carries the addresses, and its name for messages
    target: u32,
    target_name: String,
    added: Vec<Cidr>,
    removed: Vec<Cidr>,
}

impl GatewayChange {
    /// The requests that make the change (`forward`) or undo it.
    fn reqs(&self, forward: bool) -> Vec<Req> {
        let (del, add) = if forward { (&self.removed, &self.added) } else { (&self.added, &self.removed) };
        let dels = del.iter().map(|c| addr::del_req(self.target, c, &self.target_name));
        dels.chain(add.iter().map(|c| addr::add_req(self.target, c, &self.target_name))).collect()
    }

    /// Put the addresses back as they were, with the failed pod's veth already gone — unless the
    /// bridge has another port, whose pod may use the change: a concurrent ADD of the same network
    /// that found the new gateway (or lost the race to add it) relies on it. Such an ADD plugs its
    /// port in before it reads the addresses, so undoing first and looking for ports second is
    /// race-free: either its read sees the undo (and it adds the gateway itself) or its port is
    /// seen here (and the change is made again). Errors are ignored: the ADD's own error is the one
    /// reported, and a concurrent ADD may have made or unmade an address meanwhile.
    fn undo(&self, host: &mut Rtnl) {
        if self.added.is_empty() && self.removed.is_empty() {
            return;
        }
        let _ = host.batch(self.reqs(false));
        let is_pod_port = |l: &Link| l.master_index == Some(self.bridge) && Some(l.info.index) != self.gateway_port;
        if link::list(host).map_or(true, |links| links.iter().any(is_pod_port)) {
            let _ = host.batch(self.reqs(true));
        }
    }
}

/// [`bridge_del`] on a resident worker; the thread returns to the host namespace afterwards.
/// It also names the host end (read before the deletion takes it away) for the spoof-check DEL.
/// With masquerade, the elements go on a thread started here in the host namespace, overlapping
/// the kernel's veth teardown (an RCU grace period); it waits for the addresses the link had.
pub fn bridge_del_resident(res: &mut Resident, req: &BridgeDelRequest) -> Result<BridgeDelResult> {
    let mut host = if req.name_port { res.take_host().ok() } else { None };
    let masq = match &req.masquerade {
        Some(owner) => Some(masq_del_later(req, owner)?),
        None => None,
    };
    res.mark_moved();
    let r = del_with(req, host.as_mut(), masq.as_ref().map(|m| &m.addresses));
    if let (Some(h), true) = (host, r.is_ok()) {
        res.put_host(h);
    }
    let masqueraded = match masq {
        Some(MasqDelLater { addresses, done }) => {
            drop(addresses); // none sent: the thread ends without doing anything
            done.join().unwrap_or_else(|_| Err(Failure::internal("masq del", "thread panicked")))
        }
        None => Ok(false),
    };
    let out = r?; // the link's failure first
    Ok(BridgeDelResult { masqueraded: masqueraded?, ..out })
}

/// A thread (in the caller's namespace, the host one) that removes the masquerade elements of the
/// addresses it is sent; Ok(false) when it is sent none.
struct MasqDelLater {
    addresses: std::sync::mpsc::Sender<Vec<String>>,
    done: std::thread::JoinHandle<Result<bool>>,
}

fn masq_del_later(req: &BridgeDelRequest, owner: &NftOwner) -> Result<MasqDelLater> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<String>>();
    let mut masq = owner.masq_request(req.host_netns.as_deref(), &req.ifname, vec![]);
    let done = std::thread::Builder::new()
        .name("fastcni-masq-del".into())
        .stack_size(128 * 1024)
        .spawn(move || match rx.recv() {
            Ok(addresses) => {
                masq.addresses = addresses;
                super::nft::masq_del(&masq).map(|()| true)
            }
            Err(_) => Ok(false),
        })
        .map_err(|e| Failure::io("thread spawn", &e))?;
    Ok(MasqDelLater { addresses: tx, done })
}

/// The first stage, from the host namespace: the bridge (`cached` = as last read back: no GET),
/// the veth pair, the host port's settings and the pod end's DAD sysctls. Returns the bridge and
/// the host end, with the thread left in the pod namespace; on failure the veth is gone again.
/// Without `create_bridge`, a missing bridge ends the stage early: Ok(None), nothing done.
fn attach_with(s: &mut Sides, req: &BridgeLinkRequest, cached: Option<Link>, create_bridge: bool) -> Result<Option<Linked>> {
    if cached.is_none() && !create_bridge && link::by_name(s.host, &req.bridge)?.is_none() {
        return Ok(None);
    }
    let bridge = ensure_bridge(s.host, s.dirs, req, cached)?;
    phase::lap(Phase::BridgeEnsure);
    let host_end = create_veth(s.host, s.pod, req, &bridge, s.pod_ns.as_raw_fd())?;
    phase::lap(Phase::VethCreate);
    let linked = Linked { bridge, host_end };
    match port_and_dad(s, req, &linked) {
        Ok(()) => Ok(Some(linked)),
        Err(e) => {
            // deleting one end of a veth deletes both (the socket stays in the host netns)
            let _ = s.host.ack("veth delete (rollback)", link::del_msg(linked.host_end.info.index, None), 0);
            Err(e)
        }
    }
}

/// The second stage, from the host namespace: gateway addresses and forwarding, then the pod's
/// addresses, link and routes, and the read-back; `check_bridge`: the bridge came from the cache.
/// Returns the result, the bridge as read back at the end and what was changed on the bridge's
/// gateway link (for a later step's rollback); on failure the veth is deleted and that change undone.
fn finish_with(
    s: &mut Sides,
    req: &BridgeAddRequest,
    linked: &Linked,
    check_bridge: bool,
) -> Result<(BridgeAddResult, Link, GatewayChange)> {
    let mut change = GatewayChange::default();
    let done = validate_l3(req).and_then(|()| {
        let gateway = setup_gateway(s.host, s.dirs, req, &linked.bridge, &mut change)?;
        phase::lap(Phase::Gateway);
        configure(s, req, linked, gateway.as_ref(), check_bridge)
    });
    match done {
        Ok((out, br)) => Ok((out, br, change)),
        Err(e) => {
            rollback(s.host, linked.host_end.info.index, &change);
            Err(e)
        }
    }
}

/// What the first stage needs valid: names and VLANs.
fn validate_link(req: &BridgeLinkRequest) -> Result<()> {
    let name_ok = link::valid_ifname;
    if !name_ok(&req.bridge) {
        return Err(Failure::invalid("bridgeAdd", format!("invalid bridge name {:?}", req.bridge)));
    }
    if !name_ok(&req.ifname) {
        return Err(Failure::invalid("bridgeAdd", format!("invalid interface name {:?}", req.ifname)));
    }
    for v in req.vlan.iter().chain(&req.vlan_trunk) {
        if *v > 4094 {
            return Err(Failure::invalid("bridgeAdd", format!("invalid VLAN id {v}")));
        }
    }
    Ok(())
}

/// What the second stage needs valid, checked before it changes the shared bridge: the
/// IPAM-derived addresses and routes, and the VLAN gateway's name.
fn validate_l3(req: &BridgeAddRequest) -> Result<()> {
    for a in req.l3.addresses.iter().chain(&req.l3.bridge_addresses) {
        Cidr::parse(a)?;
    }
    for r in &req.l3.routes {
        route::msg(0, r)?;
    }
    if let Some(gw) = vlan_gateway_name(req) {
        if gw.len() >= IFNAMSIZ {
            return Err(Failure::invalid(
                "bridgeAdd",
                format!("VLAN gateway interface name {gw:?} is longer than 15 bytes: use a shorter bridge name"),
            ));
        }
    }
    Ok(())
}

/// The reference puts the gateway addresses on a veth `<bridge>.<vlan>` plugged into the bridge
/// as an untagged member of that VLAN, instead of on the bridge, when `vlan` ≠ 0 and isGateway
/// (here: bridge addresses were asked for). None = addresses go on the bridge itself.
fn vlan_gateway_name(req: &BridgeAddRequest) -> Option<String> {
    match req.link.vlan {
        Some(v) if v != 0 && !req.l3.bridge_addresses.is_empty() => Some(format!("{}.{v}", req.link.bridge)),
        _ => None,
    }
}

/// Ensure the bridge (`cached`: as last read back) and its accept_ra=0.
fn ensure_bridge(host: &mut Rtnl, dirs: &mut sysctl::Dirs, req: &BridgeLinkRequest, cached: Option<Link>) -> Result<Link> {
    let spec = BridgeSpec { name: &req.bridge, mtu: req.mtu, promisc: req.promisc, vlan_filtering: req.vlan_filtering };
    let br = match cached {
        Some(b) => b,
        None => link::ensure_bridge(host, &spec)?.0,
    };
    dirs.write_if_present(&format!("net/ipv6/conf/{}/accept_ra", req.bridge), "0")?;
    Ok(br)
}

/// The gateway addresses (on the bridge or its VLAN gateway) and forwarding. The calling thread
/// must be in the host namespace. Returns the VLAN gateway, if there is one; records in `change`
/// what it did to the addresses, also when it fails part-way.
fn setup_gateway(
    host: &mut Rtnl,
    dirs: &mut sysctl::Dirs,
    req: &BridgeAddRequest,
    br: &Link,
    change: &mut GatewayChange,
) -> Result<Option<Link>> {
    let gateway = match vlan_gateway_name(req) {
        Some(name) => Some(ensure_vlan_gateway(host, dirs, req, br, &name)?),
        None => None,
    };

    if !req.l3.bridge_addresses.is_empty() {
        // the link that carries the gateway addresses, and its name for messages
        // (a bridge made by this ADD has no address yet, so it gets its pin below anyway)
        let (target, target_name, target_new) = match &gateway {
            Some((gw, gw_created)) => (gw, gw.info.name.as_str(), *gw_created),
            None => (br, req.link.bridge.as_str(), false),
        };
        let idx = target.info.index;
        *change = GatewayChange {
            bridge: br.info.index,
            gateway_port: gateway.as_ref().and_then(|(gw, _)| gw.info.peer_index),
            target: idx,
            target_name: target_name.to_string(),
            ..Default::default()
        };
        let have: Vec<Cidr> = addr::list(host, Some(idx))?.into_iter().map(|a| a.cidr).collect();
        // each request with the address it adds (true) or deletes (false)
        let mut batch = Vec::new();
        for a in &req.l3.bridge_addresses {
            let want = Cidr::parse(a)?;
            if let Some(remove) = addr::plan_bridge_addr(target_name, &have, &want, req.l3.force_address)? {
                for r in remove {
                    batch.push((addr::del_req(idx, &r, target_name), Some((r, false))));
                }
                batch.push((addr::add_req(idx, &want, target_name), Some((want, true))));
            }
        }
        // Pin the MAC so it no longer follows the bridge's ports; only when something changed (the
        // first pod of a network), so the steady state costs no extra message.
        if target_new || !batch.is_empty() {
            batch.push((Req::new(format!("MAC pin {target_name}"), link::set_mac_msg(idx, &target.mac_bytes), 0), None));
        }
        let (reqs, what): (Vec<Req>, Vec<_>) = batch.into_iter().unzip();
        let mut first_failure = Ok(());
        for (r, what) in host.batch(reqs).into_iter().zip(what) {
            match (r, what) {
                (Ok(()), Some((c, true))) => change.added.push(c),
                (Ok(()), Some((c, false))) => change.removed.push(c),
                (Ok(()), None) => {}
                (Err(e), _) if e.kind == FailureKind::Exists && e.op.starts_with("address add") => {} // concurrent ADD
                (Err(e), _) if e.kind == FailureKind::NotFound && e.op.starts_with("address delete") => {}
                (Err(e), _) => first_failure = first_failure.and(Err(e)),
            }
        }
        first_failure?;
    }
    if req.l3.forward_v4 {
        dirs.ensure("net/ipv4/ip_forward", "1")?;
    }
    if req.l3.forward_v6 {
        dirs.ensure("net/ipv6/conf/all/forwarding", "1")?;
    }
    Ok(gateway.map(|(g, _)| g))
}

/// The VLAN gateway's veth pair: a fresh host end (random name) enslaved to the bridge, the
/// gateway end `name` in the same namespace. Not rolled back by a later pod failure: like the
/// bridge, it is shared by every pod of the network.
fn vlan_gateway_create_msg(req: &BridgeAddRequest, br: &Link, host_name: &str, name: &str) -> RouteNetlinkMessage {
    link::veth_create_msg(&VethSpec {
        host_name,
        peer_name: name,
        peer_netns_fd: None,
        mtu: Some(br.info.mtu).filter(|m| *m != 0).or(req.link.mtu),
        peer_mac: None,
        master: Some(br.info.index),
        host_up: true,
    })
}

/// After creating the gateway pair: its bridge port becomes an untagged member (PVID) of the
/// VLAN, the gateway end goes up, and is read back.
fn vlan_gateway_setup_reqs(req: &BridgeAddRequest, br: &Link, host_idx: u32, name: &str) -> Vec<Req> {
    let mut reqs = port_vlan_reqs(host_idx, req.link.vlan, &[], req.link.preserve_default_vlan, br.vlan_default_pvid);
    let mut up = LinkMessage::default();
    up.header.flags = LinkFlags::Up;
    up.header.change_mask = LinkFlags::Up;
    up.attributes.push(LinkAttribute::IfName(name.to_string()));
    reqs.push(Req::new(format!("link up {name}"), RouteNetlinkMessage::NewLink(up), 0));
    reqs.push(Req::new(format!("link get {name}"), link::get_msg(0, Some(name)), 0));
    reqs
}

/// Find or create the VLAN gateway interface; returns it and whether it was created now.
fn ensure_vlan_gateway(host: &mut Rtnl, dirs: &mut sysctl::Dirs, req: &BridgeAddRequest, br: &Link, name: &str) -> Result<(Link, bool)> {
    if let Some(l) = link::by_name(host, name)? {
        return Ok((l, false));
    }
    let mut last = None;
    for _ in 0..VETH_NAME_TRIES {
        let host_name = link::random_veth_name();
        let msg = vlan_gateway_create_msg(req, br, &host_name, name);
        let echoed = match host
            .exchange(vec![Req::new(format!("vlan gateway create {name}"), msg, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO)])
            .pop()
            .unwrap()
        {
            Ok(m) => m,
            Err(e) if e.kind == FailureKind::Exists => {
                // a concurrent ADD made it first, or our random host end name was taken
                if let Some(l) = link::by_name(host, name)? {
                    return Ok((l, false));
                }
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let host_end = match echoed_link(&echoed, &host_name)? {
            Some(l) => l,
            None => link::by_name(host, &host_name)?.ok_or_else(|| {
                Failure::new(FailureKind::NotFound, "vlan gateway create", format!("{host_name} vanished after creation"))
            })?,
        };
        let _ = dirs.write_if_present(&format!("net/ipv6/conf/{host_name}/accept_ra"), "0");
        let mut results = host.exchange(vlan_gateway_setup_reqs(req, br, host_end.info.index, name));
        let got = results.pop().unwrap();
        let done = first_err(results.into_iter().map(|r| r.map(|_| ())).collect(), |e| {
            e.op == "bridge vlan delete default" && e.kind == FailureKind::NotFound
        })
        .and(got)
        .and_then(|m| m.first().map(|r| link::parse_raw(&r.buf)).unwrap_or_else(|| Err(Failure::internal("link get", "no reply"))));
        return match done {
            Ok(l) => Ok((l, true)),
            Err(e) => {
                let _ = host.ack("vlan gateway delete (rollback)", link::del_msg(host_end.info.index, None), 0);
                Err(e)
            }
        };
    }
    Err(last.unwrap_or_else(|| Failure::internal("vlan gateway create", "no attempt made")))
}

/// The link the kernel echoed back for a create with NLM_F_ECHO (kernels ≥ 6.3), if any.
fn echoed_link(msgs: &[Raw], name: &str) -> Result<Option<Link>> {
    for m in msgs {
        if let Ok(l) = link::parse_raw(&m.buf) {
            if l.info.name == name {
                return Ok(Some(l));
            }
        }
    }
    Ok(None)
}

/// Create the pair; the host end gets a fresh random name (retried on a clash), the pod end is
/// named ifname directly in the pod. Returns the host end as the kernel echoed it (its peer
/// index is the pod end's index in the pod).
fn create_veth(host: &mut Rtnl, pod: &mut Rtnl, req: &BridgeLinkRequest, br: &Link, pod_fd: i32) -> Result<Link> {
    let mac = req.mac.as_deref().map(link::parse_mac).transpose()?;
    let mut last = None;
    for _ in 0..VETH_NAME_TRIES {
        let name = link::random_veth_name();
        let msg = link::veth_create_msg(&VethSpec {
            host_name: &name,
            peer_name: &req.ifname,
            peer_netns_fd: Some(pod_fd),
            mtu: req.mtu,
            peer_mac: mac.as_deref(),
            master: Some(br.info.index),
            host_up: true,
        });
        match host.exchange(vec![Req::new("veth create", msg, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO)]).pop().unwrap() {
            Ok(echoed) => {
                if let Some(l) = echoed_link(&echoed, &name)?.filter(|l| l.info.peer_index.is_some()) {
                    return Ok(l);
                }
                return link::by_name(host, &name)?
                    .ok_or_else(|| Failure::new(FailureKind::NotFound, "veth create", format!("host end {name} vanished after creation")));
            }
            Err(e) if e.kind == FailureKind::Exists => {
                if link::by_name(pod, &req.ifname)?.is_some() {
                    return Err(e.with(
                        FailureKind::Exists,
                        format!("interface {:?} already exists in network namespace {}", req.ifname, req.pod_netns),
                    ));
                }
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Failure::internal("veth create", "no attempt made")))
}

/// `vid` is a validated VLAN id (at most 4094).
fn vlan_msg(index: u32, vid: u32, flags: BridgeVlanInfoFlags, del: bool) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.interface_family = AddressFamily::Bridge;
    m.header.index = index;
    m.attributes.push(LinkAttribute::AfSpecBridge(vec![AfSpecBridge::VlanInfo(BridgeVlanInfo { flags, vid: vid as u16 })]));
    if del {
        RouteNetlinkMessage::DelLink(m)
    } else {
        RouteNetlinkMessage::SetLink(m)
    }
}

/// VLAN membership of a bridge port (the reference's setupVeth): unless preserving the default
/// VLAN, drop it; `vlan` (or 1 for a trunk without one) as PVID + untagged; trunk ids tagged.
fn port_vlan_reqs(idx: u32, vlan: Option<u32>, trunk: &[u32], preserve_default: bool, default_pvid: Option<u16>) -> Vec<Req> {
    let vlan = vlan.filter(|v| *v != 0);
    let mut reqs = Vec::new();
    if vlan.is_none() && trunk.is_empty() {
        return reqs;
    }
    if !preserve_default {
        let pvid = default_pvid.unwrap_or(1);
        if pvid != 0 {
            reqs.push(Req::new("bridge vlan delete default", vlan_msg(idx, u32::from(pvid), BridgeVlanInfoFlags::empty(), true), 0));
        }
    }
    let pvid_untagged = BridgeVlanInfoFlags::Pvid | BridgeVlanInfoFlags::Untagged;
    let v = vlan.unwrap_or(1);
    reqs.push(Req::new(format!("bridge vlan add {v}"), vlan_msg(idx, v, pvid_untagged, false), 0));
    for t in trunk {
        if Some(*t) != vlan {
            reqs.push(Req::new(format!("bridge vlan add {t}"), vlan_msg(idx, *t, BridgeVlanInfoFlags::empty(), false), 0));
        }
    }
    reqs
}

/// Host-port settings after creation: bridge-port flags, VLANs.
fn host_port_reqs(req: &BridgeLinkRequest, br: &Link, host_idx: u32) -> Vec<Req> {
    let mut reqs = Vec::new();
    if req.hairpin || req.port_isolation {
        reqs.push(Req::new(
            "bridge port flags",
            link::bridge_port_msg(host_idx, req.hairpin.then_some(true), req.port_isolation.then_some(true)),
            0,
        ));
    }
    if req.vlan_filtering {
        reqs.extend(port_vlan_reqs(host_idx, req.vlan, &req.vlan_trunk, req.preserve_default_vlan, br.vlan_default_pvid));
    }
    reqs
}

fn first_err(results: Vec<Result<()>>, ignore: impl Fn(&Failure) -> bool) -> Result<()> {
    for r in results {
        if let Err(e) = r {
            if !ignore(&e) {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// The two sockets of an ADD, the pod namespace the thread enters for the pod's sysctls, and the
/// host namespace's /proc/sys/net directories (the host side's sysctls go through them).
struct Sides<'a> {
    host: &'a mut Rtnl,
    pod: &'a mut Rtnl,
    pod_ns: &'a OwnedFd,
    dirs: &'a mut sysctl::Dirs,
}

/// The pod side in one batch: arp_notify, addresses, link up, routes, then the link read back.
fn pod_reqs(req: &BridgeAddRequest, index: u32, cidrs: &[Cidr]) -> Result<Vec<Req>> {
    let ifn = &req.link.ifname;
    let mut batch = vec![Req::new(
        format!("sysctl net.ipv4.conf.{ifn}.arp_notify"),
        link::inet_devconf_msg(index, &[(link::IPV4_DEVCONF_ARP_NOTIFY, 1)]),
        0,
    )];
    batch.extend(cidrs.iter().map(|a| addr::add_req(index, a, ifn)));
    if req.link.container_up {
        batch.push(Req::new(format!("link up {ifn}"), link::set_flags_msg(index, LinkFlags::Up, LinkFlags::empty()), 0));
    }
    for r in &req.l3.routes {
        batch.push(route::add_req(index, r)?);
    }
    batch.push(link::get_req(index));
    Ok(batch)
}

/// Results of a batch whose last request is a GETLINK: the first failure, else the link.
fn acked_then_link(mut results: Vec<Result<Vec<Raw>>>, ignore: impl Fn(&Failure) -> bool) -> Result<Link> {
    let got = results.pop().ok_or_else(|| Failure::internal("netlink", "empty batch"))?;
    first_err(results.into_iter().map(|r| r.map(|_| ())).collect(), ignore)?;
    let m = got?;
    let raw = m.first().ok_or_else(|| Failure::internal("link get", "the kernel acked without a reply"))?;
    link::parse_raw(&raw.buf)
}

/// The first stage's end: host-port settings and accept_ra of the host end, then (entering the pod
/// namespace, where the thread stays) the pod end's DAD sysctls.
fn port_and_dad(s: &mut Sides, req: &BridgeLinkRequest, linked: &Linked) -> Result<()> {
    let Linked { bridge, host_end } = linked;
    first_err(s.host.batch(host_port_reqs(req, bridge, host_end.info.index)), |e| {
        e.op == "bridge vlan delete default" && e.kind == FailureKind::NotFound
    })?;
    s.dirs.write_if_present(&format!("net/ipv6/conf/{}/accept_ra", host_end.info.name), "0")?;
    phase::lap(Phase::HostPort);
    netns::enter(s.pod_ns, &req.pod_netns)?;
    let ifn = &req.ifname;
    if req.enable_dad {
        sysctl::write_if_present(&format!("net/ipv6/conf/{ifn}/enhanced_dad"), "1")?;
        sysctl::write_if_present(&format!("net/ipv6/conf/{ifn}/accept_dad"), "1")?;
    } else {
        sysctl::write_if_present(&format!("net/ipv6/conf/{ifn}/accept_dad"), "0")?;
    }
    phase::lap(Phase::PodSysctl);
    Ok(())
}

/// The pod side (from inside the pod namespace: IPv6 enablement, then netlink as one batch) and
/// the host side read back.
fn configure(
    s: &mut Sides,
    req: &BridgeAddRequest,
    linked: &Linked,
    gateway: Option<&Link>,
    check_bridge: bool,
) -> Result<(BridgeAddResult, Link)> {
    let Linked { bridge: br, host_end } = linked;
    let host_idx = host_end.info.index;
    let host_name = &host_end.info.name;
    netns::enter(s.pod_ns, &req.link.pod_netns)?;
    let pod_idx = match host_end.info.peer_index {
        Some(i) => i,
        None => {
            link::by_name(s.pod, &req.link.ifname)?
                .ok_or_else(|| {
                    Failure::new(FailureKind::NotFound, "veth create", format!("{:?} missing in the pod after creation", req.link.ifname))
                })?
                .info
                .index
        }
    };
    let ifn = &req.link.ifname;
    // arp_notify=1 travels in the pod batch (link::inet_devconf_msg)
    let cidrs: Vec<Cidr> = req.l3.addresses.iter().map(|a| Cidr::parse(a)).collect::<Result<_>>()?;
    if cidrs.iter().any(|c| c.is_v6()) {
        for dev in ["lo", ifn.as_str()] {
            sysctl::write(&format!("net/ipv6/conf/{dev}/disable_ipv6"), "0").map_err(|e| {
                let m = format!("failed to enable IPv6 for interface {dev:?}: {}", e.message);
                e.with_message(m)
            })?;
        }
        let _ = sysctl::write_if_present(&format!("net/ipv6/conf/{ifn}/keep_addr_on_down"), "1");
    }
    let container = acked_then_link(s.pod.exchange(pod_reqs(req, pod_idx, &cidrs)?), |_| false)?;
    phase::lap(Phase::PodBatch);
    if container.info.name != *ifn {
        // the peer index pointed elsewhere: never configure a link we did not create
        return Err(Failure::internal("veth create", format!("pod end of {host_name} is {:?}, not {ifn:?}", container.info.name)));
    }
    if req.link.enable_dad
        && cidrs.iter().any(|c| c.is_v6())
        && req.l3.routes.iter().any(|r| r.gw.as_deref().is_some_and(|g| g.contains(':')))
    {
        super::iface::wait_dad(s.pod, pod_idx)?;
    }

    // Host side read-back in one round trip: bridge, host end, VLAN gateway.
    let mut gets = vec![link::get_req(br.info.index), link::get_req(host_idx)];
    if let Some(g) = gateway {
        gets.push(link::get_req(g.info.index));
    }
    let mut links = Vec::with_capacity(gets.len());
    for r in s.host.exchange(gets) {
        let m = r?;
        let raw = m.first().ok_or_else(|| Failure::internal("link get", "the kernel acked without a reply"))?;
        links.push(link::parse_raw(&raw.buf)?);
    }
    let mut links = links.into_iter();
    let bridge_now = links.next().unwrap();
    let mut host_now = links.next().unwrap();
    let gateway_now = links.next();
    if req.link.container_up && !host_now.oper_up {
        host_now = wait_oper_up(s.host, host_idx, host_name)?;
    }
    if check_bridge
        && (bridge_now.info.name != req.link.bridge
            || bridge_now.info.kind != Some(LinkKind::Bridge)
            || host_now.master_index != Some(br.info.index))
    {
        return Err(Failure::internal("bridge ensure", format!("bridge {:?} changed under a cached index", req.link.bridge)));
    }
    phase::lap(Phase::ReadBack);
    let mut host_info = host_now.info;
    host_info.master = Some(bridge_now.info.name.clone());
    let out = BridgeAddResult {
        bridge: bridge_now.info.clone(),
        host_veth: host_info,
        container: container.info,
        vlan_gateway: gateway_now.map(|g| g.info),
    };
    Ok((out, bridge_now))
}

/// Poll the host end's operational state in growing steps of at most 10 ms (the first read was
/// done by the caller).
fn wait_oper_up(host: &mut Rtnl, index: u32, name: &str) -> Result<Link> {
    let start = Instant::now();
    let mut step = Duration::from_micros(50);
    // Short sleeps should be short: this thread is ours and discarded afterwards.
    // SAFETY: prctl on the calling thread only.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    loop {
        std::thread::sleep(step);
        step = (step * 2).min(Duration::from_millis(10));
        let l = link::by_index(host, index)?
            .ok_or_else(|| Failure::new(FailureKind::NotFound, "veth oper state", format!("{name} vanished")))?;
        if l.oper_up {
            return Ok(l);
        }
        if start.elapsed() >= OPER_UP_TIMEOUT {
            return Err(Failure::new(FailureKind::Timeout, "veth oper state", format!("bridge port in error state: {}", l.oper)));
        }
    }
}

/// Delete the pod's interface (which deletes its host end), reporting its global unicast addresses,
/// on the calling thread, which must be a throwaway one (it enters the pod namespace).
pub fn bridge_del_here(req: &BridgeDelRequest) -> Result<BridgeDelResult> {
    del_with(req, None, None)
}

/// `host`: a socket in the host namespace, to name the host end; without it the result has none.
/// `masq`: where to send the link's addresses (when it has any) before deleting it.
fn del_with(
    req: &BridgeDelRequest,
    host: Option<&mut Rtnl>,
    masq: Option<&std::sync::mpsc::Sender<Vec<String>>>,
) -> Result<BridgeDelResult> {
    let gone = |netns_found| BridgeDelResult { netns_found, ..Default::default() };
    let Some(pod_path) = req.pod_netns.as_deref().filter(|p| !p.is_empty()) else {
        return Ok(gone(false));
    };
    let fd = match netns::open(pod_path) {
        Ok(fd) => fd,
        Err(e) if e.kind == FailureKind::NetnsGone => return Ok(gone(false)),
        Err(e) => return Err(e),
    };
    netns::enter(&fd, pod_path)?;
    let mut pod = Rtnl::open()?;
    // ptp's pod end, left under its temporary name by a killed ADD (its host end goes with it)
    iface::delete_temp(&mut pod, &req.ifname)?;
    let Some(l) = link::by_name(&mut pod, &req.ifname)? else {
        return Ok(gone(true));
    };
    // Best effort: the name only spares the spoof-check DEL a listing of the network's sets.
    let host_ifname = match (host, l.info.peer_index) {
        (Some(h), Some(i)) => link::by_index(h, i).ok().flatten().map(|p| p.info.name),
        _ => None,
    };
    let mac = Some(l.info.mac.clone()).filter(|m| !m.is_empty() && host_ifname.is_some());
    let addresses: Vec<String> = addr::list(&mut pod, Some(l.info.index))?
        .into_iter()
        .filter(|a| addr::is_global_unicast(a.cidr.ip))
        .map(|a| a.cidr.to_string())
        .collect();
    if let (Some(tx), false) = (masq, addresses.is_empty()) {
        let _ = tx.send(addresses.clone());
    }
    match pod.ack(&format!("link delete {}", req.ifname), link::del_msg(l.info.index, None), 0) {
        Ok(()) => {}
        Err(e) if e.kind == FailureKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(BridgeDelResult { netns_found: true, addresses, host_ifname, mac, masqueraded: false })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{LinkInfo, Route};

    fn validate(req: &BridgeAddRequest) -> Result<()> {
        validate_link(&req.link)?;
        validate_l3(req)
    }

    fn bridge_del(req: &BridgeDelRequest) -> Result<BridgeDelResult> {
        netns::on_thread(|| bridge_del_here(req))
    }

    fn link() -> BridgeLinkRequest {
        BridgeLinkRequest { bridge: "cni0".into(), ifname: "eth0".into(), pod_netns: "/x".into(), ..Default::default() }
    }

    fn add(link: BridgeLinkRequest, l3: BridgeL3Request) -> BridgeAddRequest {
        BridgeAddRequest { link, l3 }
    }

    /// An ADD that needs the VLAN gateway `cni0.10`, changed by `f`.
    fn gateway(f: impl FnOnce(&mut BridgeAddRequest)) -> BridgeAddRequest {
        let mut r = add(
            BridgeLinkRequest { vlan: Some(10), vlan_filtering: true, ..link() },
            BridgeL3Request { bridge_addresses: vec!["10.1.0.1/24".into()], ..Default::default() },
        );
        f(&mut r);
        r
    }

    #[test]
    fn validation() {
        let l3 = BridgeL3Request::default;
        assert!(validate(&add(link(), l3())).is_ok());
        let long = validate(&add(BridgeLinkRequest { bridge: "a-very-long-bridge-name".into(), ..link() }, l3()));
        assert_eq!(long.unwrap_err().kind, FailureKind::Invalid);
        assert!(validate(&add(BridgeLinkRequest { ifname: "a/b".into(), ..link() }, l3())).is_err());
        assert!(validate(&add(link(), BridgeL3Request { addresses: vec!["10.0.0.1".into()], ..l3() })).is_err());
        assert!(validate(&add(BridgeLinkRequest { vlan: Some(4095), ..link() }, l3())).is_err());
        assert!(validate(&add(BridgeLinkRequest { vlan_trunk: vec![5, 4095], ..link() }, l3())).is_err());
        // routes are checked before the second stage touches the bridge
        let route = |dst: &str, gw: Option<&str>| Route { dst: dst.into(), gw: gw.map(Into::into), ..Default::default() };
        let with_routes = |routes| add(link(), BridgeL3Request { routes, ..l3() });
        assert!(validate_l3(&with_routes(vec![route("0.0.0.0/0", Some("10.0.0.1"))])).is_ok());
        for bad in [route("garbage", None), route("0.0.0.0/0", Some("garbage")), route("0.0.0.0/0", Some("fd00::1"))] {
            assert_eq!(validate_l3(&with_routes(vec![bad])).unwrap_err().kind, FailureKind::Invalid);
        }
    }

    #[test]
    fn gateway_change_undo_is_the_change_reversed() {
        let c = |s: &str| Cidr::parse(s).unwrap();
        let change = GatewayChange {
            target: 7,
            target_name: "cni0".into(),
            added: vec![c("10.1.0.1/24")],
            removed: vec![c("10.2.0.1/24")],
            ..Default::default()
        };
        let ops = |forward| change.reqs(forward).into_iter().map(|r| r.op).collect::<Vec<_>>();
        assert_eq!(ops(true), ["address delete 10.2.0.1/24 on cni0", "address add 10.1.0.1/24 on cni0"]);
        assert_eq!(ops(false), ["address delete 10.1.0.1/24 on cni0", "address add 10.2.0.1/24 on cni0"]);
    }

    #[test]
    fn host_port_plan() {
        let br = Link { vlan_default_pvid: Some(1), ..Default::default() };
        assert!(host_port_reqs(&link(), &br, 7).is_empty());
        let ops: Vec<String> = host_port_reqs(
            &BridgeLinkRequest { hairpin: true, vlan_filtering: true, vlan: Some(10), vlan_trunk: vec![20, 10], ..link() },
            &br,
            7,
        )
        .into_iter()
        .map(|r| r.op)
        .collect();
        assert_eq!(ops, ["bridge port flags", "bridge vlan delete default", "bridge vlan add 10", "bridge vlan add 20"]);
        let kept: Vec<String> =
            host_port_reqs(&BridgeLinkRequest { vlan_filtering: true, vlan_trunk: vec![5], preserve_default_vlan: true, ..link() }, &br, 7)
                .into_iter()
                .map(|r| r.op)
                .collect();
        assert_eq!(kept, ["bridge vlan add 1", "bridge vlan add 5"]);
    }

    fn link_msg(r: &Req) -> &LinkMessage {
        match &r.msg {
            RouteNetlinkMessage::NewLink(m)
            | RouteNetlinkMessage::SetLink(m)
            | RouteNetlinkMessage::DelLink(m)
            | RouteNetlinkMessage::GetLink(m) => m,
            other => panic!("not a link message: {other:?}"),
        }
    }

    #[test]
    fn vlan_gateway_only_with_vlan_and_gateway_addresses() {
        assert_eq!(vlan_gateway_name(&gateway(|_| {})).as_deref(), Some("cni0.10"));
        assert_eq!(vlan_gateway_name(&gateway(|g| g.link.vlan = Some(0))), None);
        assert_eq!(vlan_gateway_name(&gateway(|g| g.link.vlan = None)), None);
        assert_eq!(vlan_gateway_name(&gateway(|g| g.l3.bridge_addresses.clear())), None);
        // "<bridge>.<vlan>" must still be an interface name
        let e = validate(&gateway(|g| (g.link.bridge, g.link.vlan) = ("bridge-0123456".into(), Some(4094)))).unwrap_err();
        assert_eq!(e.kind, FailureKind::Invalid);
        assert!(e.message.contains("\"bridge-0123456.4094\""), "{}", e.message);
        assert!(validate(&gateway(|g| g.link.bridge = "bridge-0123".into())).is_ok());
    }

    #[test]
    fn vlan_gateway_messages() {
        let gw = gateway(|_| {});
        let br = Link { info: LinkInfo { index: 4, mtu: 1450, ..Default::default() }, vlan_default_pvid: Some(1), ..Default::default() };
        let m = match vlan_gateway_create_msg(&gw, &br, "vethaabbccdd", "cni0.10") {
            RouteNetlinkMessage::NewLink(m) => m,
            other => panic!("{other:?}"),
        };
        assert!(m.header.flags.contains(LinkFlags::Up));
        assert!(m.attributes.contains(&LinkAttribute::IfName("vethaabbccdd".into())));
        assert!(m.attributes.contains(&LinkAttribute::Controller(4)));
        assert!(m.attributes.contains(&LinkAttribute::Mtu(1450)));
        let dbg = format!("{:?}", m.attributes);
        assert!(dbg.contains("IfName(\"cni0.10\")"), "{dbg}");
        assert!(!dbg.contains("NetNsFd"), "the gateway end stays in the host namespace: {dbg}");

        let reqs = vlan_gateway_setup_reqs(&gw, &br, 21, "cni0.10");
        let ops: Vec<&str> = reqs.iter().map(|r| r.op.as_str()).collect();
        assert_eq!(ops, ["bridge vlan delete default", "bridge vlan add 10", "link up cni0.10", "link get cni0.10"]);
        let add = link_msg(&reqs[1]);
        assert_eq!((add.header.index, add.header.interface_family), (21, AddressFamily::Bridge));
        assert_eq!(
            add.attributes,
            [LinkAttribute::AfSpecBridge(vec![AfSpecBridge::VlanInfo(BridgeVlanInfo {
                flags: BridgeVlanInfoFlags::Pvid | BridgeVlanInfoFlags::Untagged,
                vid: 10
            })])]
        );
        assert!(matches!(reqs[0].msg, RouteNetlinkMessage::DelLink(_)));
        let up = link_msg(&reqs[2]);
        assert_eq!((up.header.index, up.header.flags, up.header.change_mask), (0, LinkFlags::Up, LinkFlags::Up));
        assert!(matches!(reqs[3].msg, RouteNetlinkMessage::GetLink(_)));
        // preserveDefaultVlan keeps VLAN 1 on the gateway port
        let kept = vlan_gateway_setup_reqs(&gateway(|g| g.link.preserve_default_vlan = true), &br, 21, "cni0.10");
        assert_eq!(kept[0].op, "bridge vlan add 10");
    }

    #[test]
    fn pod_batch_reads_the_link_back_last() {
        let mut r = add(
            BridgeLinkRequest { container_up: true, ..link() },
            BridgeL3Request {
                addresses: vec!["10.1.0.5/24".into()],
                routes: vec![crate::types::Route { dst: "0.0.0.0/0".into(), gw: Some("10.1.0.1".into()), ..Default::default() }],
                ..Default::default()
            },
        );
        let cidrs = [Cidr::parse("10.1.0.5/24").unwrap()];
        let ops: Vec<String> = pod_reqs(&r, 3, &cidrs).unwrap().into_iter().map(|q| q.op).collect();
        assert_eq!(
            ops,
            [
                "sysctl net.ipv4.conf.eth0.arp_notify",
                "address add 10.1.0.5/24 on eth0",
                "link up eth0",
                "route add 0.0.0.0/0 via 10.1.0.1",
                "link get #3"
            ]
        );
        r.link.container_up = false;
        let down: Vec<String> = pod_reqs(&r, 3, &cidrs).unwrap().into_iter().map(|q| q.op).collect();
        assert_eq!(down.last().map(String::as_str), Some("link get #3"));
        assert!(!down.iter().any(|o| o.starts_with("link up")));
    }

    #[test]
    fn del_without_netns_is_a_no_op() {
        let r = bridge_del(&BridgeDelRequest { ifname: "eth0".into(), ..Default::default() }).unwrap();
        assert!(!r.netns_found && r.addresses.is_empty());
        let r = bridge_del(&BridgeDelRequest {
            pod_netns: Some("/run/netns/fcni-t-missing-xyz".into()),
            ifname: "eth0".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(!r.netns_found);
    }
}
