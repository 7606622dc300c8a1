//! The bridge plugin's kernel work as two coarse calls: wire a pod into a bridge (rolled back on
//! any failure) and unwire it (idempotent).

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use netlink_packet_core::NLM_F_EXCL;
use netlink_packet_core::NLM_F_CREATE;
use netlink_packet_route::link::{AfSpecBridge, BridgeVlanInfo, BridgeVlanInfoFlags, LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::addr::{self, Cidr};
use crate::error::{Failure, Kind, Result};
use crate::link::{self, BridgeSpec, Link, VethSpec};
use crate::netns;
use crate::route;
use crate::rtnl::{Req, Rtnl};
use crate::sysctl;
use crate::types::{BridgeAddRequest, BridgeAddResult, BridgeDelRequest, BridgeDelResult};

const VETH_NAME_TRIES: usize = 10;
const OPER_UP_TIMEOUT: Duration = Duration::from_secs(2);

/// Ensure the bridge, create the veth pair straight into the pod, configure both sides.
/// Anything created for this pod is deleted again when a later step fails.
pub fn bridge_add(req: &BridgeAddRequest) -> Result<BridgeAddResult> {
    validate(req)?;
    netns::on_thread(|| {
        if let Some(h) = req.host_netns.as_deref() {
            netns::enter(&netns::open(h)?, h)?;
        }
        let host_ns = netns::open("/proc/thread-self/ns/net")?;
        let mut host = Rtnl::open()?;
        let pod_ns = netns::open(&req.pod_netns)?;
        netns::enter(&pod_ns, &req.pod_netns)?;
        let mut pod = Rtnl::open()?;
        netns::enter(&host_ns, "host")?;

        let bridge = setup_bridge(&mut host, req)?;
        let (host_name, host_link) = create_veth(&mut host, &mut pod, req, &bridge, pod_ns.as_raw_fd())?;
        match configure(&mut host, &mut pod, req, &bridge, &host_name, &host_link, &pod_ns) {
            Ok(r) => Ok(r),
            Err(e) => {
                // undo: deleting one end of a veth deletes both
                let _ = host.ack("veth delete (rollback)", link::del_msg(host_link.info.index, None), 0);
                Err(e)
            }
        }
    })
}

fn validate(req: &BridgeAddRequest) -> Result<()> {
    let name_ok = |n: &str| !n.is_empty() && n.len() < 16 && !n.contains(['/', ' ', '\0']) && n != "." && n != "..";
    if !name_ok(&req.bridge) {
        return Err(Failure::invalid("bridgeAdd", format!("invalid bridge name {:?}", req.bridge)));
    }
    if !name_ok(&req.ifname) {
        return Err(Failure::invalid("bridgeAdd", format!("invalid interface name {:?}", req.ifname)));
    }
    for a in req.addresses.iter().chain(&req.bridge_addresses) {
        Cidr::parse(a)?;
    }
    if let Some(v) = req.vlan {
        if v > 4094 {
            return Err(Failure::invalid("bridgeAdd", format!("invalid VLAN id {v}")));
        }
    }
    Ok(())
}

/// Ensure the bridge, its sysctls and gateway addresses, forwarding; before any veth exists, so a
/// conflict fails without anything to undo.
fn setup_bridge(host: &mut Rtnl, req: &BridgeAddRequest) -> Result<Link> {
    let spec = BridgeSpec { name: &req.bridge, mtu: req.mtu, promisc: req.promisc, vlan_filtering: req.vlan_filtering };
    let (br, created) = link::ensure_bridge(host, &spec)?;
    sysctl::write_if_present(&format!("net/ipv6/conf/{}/accept_ra", req.bridge), "0")?;

    if !req.bridge_addresses.is_empty() {
        let have: Vec<Cidr> = addr::list(host, Some(br.info.index))?.into_iter().map(|a| a.cidr).collect();
        let mut batch = Vec::new();
        for a in &req.bridge_addresses {
            let want = Cidr::parse(a)?;
            if let Some(remove) = addr::plan_bridge_addr(&req.bridge, &have, &want, req.force_address)? {
                for r in remove {
                    batch.push(addr::del_req(br.info.index, &r, &req.bridge));
                }
                batch.push(addr::add_req(br.info.index, &want, &req.bridge));
            }
        }
        // Pin the bridge MAC so it no longer follows its ports; only when something changed (the
        // first pod of a network), so the steady state costs no extra message.
        if created || !batch.is_empty() {
            batch.push(Req::new("bridge MAC pin", link::set_mac_msg(br.info.index, &br.mac_bytes), 0));
        }
        for r in host.batch(batch) {
            match r {
                Err(e) if e.kind == Kind::Exists && e.op.starts_with("address add") => {} // concurrent ADD
                Err(e) if e.kind == Kind::NotFound && e.op.starts_with("address delete") => {}
                r => r?,
            }
        }
    }
    if req.forward_v4 {
        sysctl::ensure("net/ipv4/ip_forward", "1")?;
    }
    if req.forward_v6 {
        sysctl::ensure("net/ipv6/conf/all/forwarding", "1")?;
    }
    Ok(br)
}

/// Create the pair; the host end gets a fresh random name (retried on a clash), the pod end is
/// named ifname directly in the pod. Returns the host end's name and link.
fn create_veth(host: &mut Rtnl, pod: &mut Rtnl, req: &BridgeAddRequest, br: &Link, pod_fd: i32) -> Result<(String, Link)> {
    let mac = req.mac.as_deref().map(link::parse_mac).transpose()?;
    let mut last = None;
    for _ in 0..VETH_NAME_TRIES {
        let name = link::random_veth_name();
        let msg = link::veth_create_msg(&VethSpec {
            host_name: &name,
            peer_name: &req.ifname,
            peer_netns_fd: pod_fd,
            mtu: req.mtu,
            peer_mac: mac.as_deref(),
            master: Some(br.info.index),
            host_up: true,
        });
        match host.ack("veth create", msg, NLM_F_CREATE | NLM_F_EXCL) {
            Ok(()) => {
                let l = link::by_name(host, &name)?.ok_or_else(|| {
                    Failure::new(Kind::NotFound, "veth create", format!("host end {name} vanished after creation"))
                })?;
                return Ok((name, l));
            }
            Err(e) if e.kind == Kind::Exists => {
                if link::by_name(pod, &req.ifname)?.is_some() {
                    return Err(e.with(
                        Kind::Exists,
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

fn vlan_msg(index: u32, vid: u16, flags: BridgeVlanInfoFlags, del: bool) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.interface_family = AddressFamily::Bridge;
    m.header.index = index;
    m.attributes.push(LinkAttribute::AfSpecBridge(vec![AfSpecBridge::VlanInfo(BridgeVlanInfo { flags, vid })]));
    if del { RouteNetlinkMessage::DelLink(m) } else { RouteNetlinkMessage::SetLink(m) }
}

/// Host-port settings after creation: bridge-port flags, VLANs, accept_ra.
fn host_port_reqs(req: &BridgeAddRequest, br: &Link, host_idx: u32) -> Vec<Req> {
    let mut reqs = Vec::new();
    if req.hairpin || req.port_isolation {
        reqs.push(Req::new(
            "bridge port flags",
            link::bridge_port_msg(host_idx, req.hairpin.then_some(true), req.port_isolation.then_some(true)),
            0,
        ));
    }
    let vlan = req.vlan.filter(|v| *v != 0);
    if req.vlan_filtering && (vlan.is_some() || !req.vlan_trunk.is_empty()) {
        if !req.preserve_default_vlan {
            let pvid = br.vlan_default_pvid.unwrap_or(1);
            if pvid != 0 {
                reqs.push(Req::new("bridge vlan delete default", vlan_msg(host_idx, pvid, BridgeVlanInfoFlags::empty(), true), 0));
            }
        }
        let pvid_untagged = BridgeVlanInfoFlags::Pvid | BridgeVlanInfoFlags::Untagged;
        match vlan {
            Some(v) => reqs.push(Req::new(format!("bridge vlan add {v}"), vlan_msg(host_idx, v, pvid_untagged, false), 0)),
            None => reqs.push(Req::new("bridge vlan add 1", vlan_msg(host_idx, 1, pvid_untagged, false), 0)),
        }
        for t in &req.vlan_trunk {
            if Some(*t) != vlan {
                reqs.push(Req::new(format!("bridge vlan add {t}"), vlan_msg(host_idx, *t, BridgeVlanInfoFlags::empty(), false), 0));
            }
        }
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

fn configure(
    host: &mut Rtnl,
    pod: &mut Rtnl,
    req: &BridgeAddRequest,
    br: &Link,
    host_name: &str,
    host_link: &Link,
    pod_ns: &std::os::fd::OwnedFd,
) -> Result<BridgeAddResult> {
    let host_idx = host_link.info.index;
    first_err(host.batch(host_port_reqs(req, br, host_idx)), |e| {
        e.op == "bridge vlan delete default" && e.kind == Kind::NotFound
    })?;
    sysctl::write_if_present(&format!("net/ipv6/conf/{host_name}/accept_ra"), "0")?;

    // Pod side: sysctls from inside the pod namespace, netlink as one batch.
    netns::enter(pod_ns, &req.pod_netns)?;
    let c = link::by_name(pod, &req.ifname)?.ok_or_else(|| {
        Failure::new(Kind::NotFound, "veth create", format!("{:?} missing in the pod after creation", req.ifname))
    })?;
    let ifn = &req.ifname;
    if req.enable_dad {
        sysctl::write_if_present(&format!("net/ipv6/conf/{ifn}/enhanced_dad"), "1")?;
        sysctl::write_if_present(&format!("net/ipv6/conf/{ifn}/accept_dad"), "1")?;
    } else {
        sysctl::write_if_present(&format!("net/ipv6/conf/{ifn}/accept_dad"), "0")?;
    }
    sysctl::write_if_present(&format!("net/ipv4/conf/{ifn}/arp_notify"), "1")?;
    let cidrs: Vec<Cidr> = req.addresses.iter().map(|a| Cidr::parse(a)).collect::<Result<_>>()?;
    if cidrs.iter().any(|c| c.is_v6()) {
        for dev in ["lo", ifn.as_str()] {
            sysctl::write(&format!("net/ipv6/conf/{dev}/disable_ipv6"), "0")
                .map_err(|e| {
                    let m = format!("failed to enable IPv6 for interface {dev:?}: {}", e.message);
                    e.with_message(m)
                })?;
        }
        let _ = sysctl::write_if_present(&format!("net/ipv6/conf/{ifn}/keep_addr_on_down"), "1");
    }
    let mut batch: Vec<Req> = cidrs.iter().map(|a| addr::add_req(c.info.index, a, ifn)).collect();
    if req.container_up {
        batch.push(Req::new(format!("link up {ifn}"), link::set_flags_msg(c.info.index, LinkFlags::Up, LinkFlags::empty()), 0));
    }
    for r in &req.routes {
        batch.push(route::add_req(c.info.index, r)?);
    }
    first_err(pod.batch(batch), |_| false)?;
    if req.enable_dad && cidrs.iter().any(|c| c.is_v6()) && req.routes.iter().any(|r| r.gw.as_deref().is_some_and(|g| g.contains(':'))) {
        wait_dad(pod, c.info.index)?;
    }
    let container = link::by_name(pod, ifn)?
        .ok_or_else(|| Failure::new(Kind::NotFound, "pod link", format!("{ifn:?} vanished from the pod")))?;

    // read the bridge first: it gives the kernel's link watcher time to mark the port up
    let bridge_now = link::by_index(host, br.info.index)?
        .ok_or_else(|| Failure::new(Kind::NotFound, "bridge", format!("bridge {:?} vanished", req.bridge)))?;
    let host_now = if req.container_up {
        wait_oper_up(host, host_idx, host_name)?
    } else {
        link::by_index(host, host_idx)?
            .ok_or_else(|| Failure::new(Kind::NotFound, "veth", format!("{host_name} vanished")))?
    };
    let mut host_info = host_now.info.clone();
    host_info.master = Some(bridge_now.info.name.clone());
    Ok(BridgeAddResult { bridge: bridge_now.info, host_veth: host_info, container: container.info })
}

/// Poll the host end's operational state: immediately, then in growing steps of at most 10 ms.
fn wait_oper_up(host: &mut Rtnl, index: u32, name: &str) -> Result<Link> {
    let start = Instant::now();
    let mut step = Duration::from_micros(50);
    // Short sleeps should be short: this thread is ours and discarded afterwards.
    // SAFETY: prctl on the calling thread only.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    loop {
        let l = link::by_index(host, index)?
            .ok_or_else(|| Failure::new(Kind::NotFound, "veth oper state", format!("{name} vanished")))?;
        if l.oper_up {
            return Ok(l);
        }
        if start.elapsed() >= OPER_UP_TIMEOUT {
            return Err(Failure::new(Kind::Timeout, "veth oper state", format!("bridge port in error state: {}", l.oper)));
        }
        std::thread::sleep(step);
        step = (step * 2).min(Duration::from_millis(10));
    }
}

/// With DAD enabled and an IPv6 gateway, wait until no address of the link is tentative (5 s).
fn wait_dad(pod: &mut Rtnl, index: u32) -> Result<()> {
    let start = Instant::now();
    loop {
        let addrs = addr::list(pod, Some(index))?;
        if let Some(a) = addrs.iter().find(|a| a.dad_failed) {
            return Err(Failure::new(Kind::Kernel, "ipv6 dad", format!("duplicate address detection failed for {}", a.cidr)));
        }
        if !addrs.iter().any(|a| a.tentative && a.cidr.is_v6()) {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(5) {
            return Err(Failure::new(Kind::Timeout, "ipv6 dad", "timed out waiting for IPv6 duplicate address detection"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Delete the pod's interface (which deletes its host end), reporting its global unicast addresses.
pub fn bridge_del(req: &BridgeDelRequest) -> Result<BridgeDelResult> {
    let Some(pod_path) = req.pod_netns.as_deref().filter(|p| !p.is_empty()) else {
        return Ok(BridgeDelResult { netns_found: false, addresses: vec![] });
    };
    netns::on_thread(|| {
        let fd = match netns::open(pod_path) {
            Ok(fd) => fd,
            Err(e) if e.kind == Kind::NetnsGone => return Ok(BridgeDelResult { netns_found: false, addresses: vec![] }),
            Err(e) => return Err(e),
        };
        netns::enter(&fd, pod_path)?;
        let mut pod = Rtnl::open()?;
        let Some(l) = link::by_name(&mut pod, &req.ifname)? else {
            return Ok(BridgeDelResult { netns_found: true, addresses: vec![] });
        };
        let addresses = addr::list(&mut pod, Some(l.info.index))?
            .into_iter()
            .filter(|a| addr::is_global_unicast(a.cidr.ip))
            .map(|a| a.cidr.to_string())
            .collect();
        match pod.ack(&format!("link delete {}", req.ifname), link::del_msg(l.info.index, None), 0) {
            Ok(()) => {}
            Err(e) if e.kind == Kind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(BridgeDelResult { netns_found: true, addresses })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> BridgeAddRequest {
        BridgeAddRequest { bridge: "cni0".into(), ifname: "eth0".into(), pod_netns: "/x".into(), ..Default::default() }
    }

    #[test]
    fn validation() {
        assert!(validate(&req()).is_ok());
        assert_eq!(validate(&BridgeAddRequest { bridge: "a-very-long-bridge-name".into(), ..req() }).unwrap_err().kind, Kind::Invalid);
        assert!(validate(&BridgeAddRequest { ifname: "a/b".into(), ..req() }).is_err());
        assert!(validate(&BridgeAddRequest { addresses: vec!["10.0.0.1".into()], ..req() }).is_err());
        assert!(validate(&BridgeAddRequest { vlan: Some(4095), ..req() }).is_err());
    }

    #[test]
    fn host_port_plan() {
        let br = Link { vlan_default_pvid: Some(1), ..Default::default() };
        assert!(host_port_reqs(&req(), &br, 7).is_empty());
        let ops: Vec<String> = host_port_reqs(
            &BridgeAddRequest { hairpin: true, vlan_filtering: true, vlan: Some(10), vlan_trunk: vec![20, 10], ..req() },
            &br,
            7,
        )
        .into_iter()
        .map(|r| r.op)
        .collect();
        assert_eq!(ops, ["bridge port flags", "bridge vlan delete default", "bridge vlan add 10", "bridge vlan add 20"]);
        let kept: Vec<String> = host_port_reqs(
            &BridgeAddRequest { vlan_filtering: true, vlan_trunk: vec![5], preserve_default_vlan: true, ..req() },
            &br,
            7,
        )
        .into_iter()
        .map(|r| r.op)
        .collect();
        assert_eq!(kept, ["bridge vlan add 1", "bridge vlan add 5"]);
    }

    #[test]
    fn del_without_netns_is_a_no_op() {
        let r = bridge_del(&BridgeDelRequest { ifname: "eth0".into(), ..Default::default() }).unwrap();
        assert!(!r.netns_found && r.addresses.is_empty());
        let r = bridge_del(&BridgeDelRequest { pod_netns: Some("/run/netns/fcni-t-missing-xyz".into()), ifname: "eth0".into(), ..Default::default() }).unwrap();
        assert!(!r.netns_found);
    }
}
