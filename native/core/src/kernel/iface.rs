//! What the interface plugins share once their link exists: the reference's `ipam.ConfigureIface`
//! (addresses, link up, routes, IPv6 enablement and DAD), also as one call entering the pod
//! ([`configure_here`]), and the temporary-name pattern of links
//! made from outside the pod namespace straight into it (macvlan, ipvlan, vlan, ptp's pod end) or
//! inside it (tap): created under a temporary name, renamed inside the pod, so the final name never
//! collides with a host link. The temporary name is derived from the ifname ([`temp_name`]), so a
//! link left under it by a process killed before the rename is found and removed by the
//! attachment's DEL and next ADD ([`delete_temp`]).
//! Reference: containernetworking/plugins pkg/ipam/ipam_linux.go, plugins/main/macvlan/macvlan.go.

use std::time::{Duration, Instant};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::addr::{self, Cidr};
use super::link::{self, Link};
use super::netns;
use super::route;
use super::rtnl::{Raw, Req, Rtnl};
use super::sysctl;
use crate::error::{Failure, FailureKind, Result};
use crate::fault::{self, Step};
use crate::types::{LinkInfo, Route};

/// How often a link is created again when its creation finds a name taken (the reference's veth
/// retry count): ptp's host end draws a fresh random name each time.
const TEMP_NAME_TRIES: usize = 10;
/// The prefix of temporary names: no reference plugin or runtime names a pod's link so.
const TEMP_PREFIX: &str = "fctmp";
const DAD_TIMEOUT: Duration = Duration::from_secs(5);

/// The layer-3 configuration of a pod interface: the IPAM result in kernel terms.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PodIface {
    /// CIDRs to put on the interface, e.g. "10.1.0.5/24"
    pub addresses: Vec<String>,
    /// routes through the interface, gateways already resolved by the caller
    pub routes: Vec<Route>,
    /// announce the addresses: net.ipv4.conf.<if>.arp_notify and net.ipv6.conf.<if>.ndisc_notify
    /// (macvlan, ipvlan, tap: their MAC is new to the segment)
    pub notify: bool,
    /// wait for the IPv6 addresses to settle (DAD) once configured, as the reference does when an
    /// IP of the IPAM result has an IPv6 gateway
    pub settle: bool,
}

/// ConfigureIface on a link a plugin made or moved into the pod (macvlan, ipvlan, vlan,
/// host-device, tap, dummy), after IPAM.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PodIfaceConfigureRequest {
    /// the pod's namespace (a path)
    pub pod_netns: String,
    pub ifname: String,
    /// the IPAM result; absent: the link is only brought up (macvlan without IPAM)
    pub iface: Option<PodIface>,
}

/// See [`PodIfaceConfigureRequest`]: enters the pod's namespace, so the calling thread must be a
/// throwaway one of ours. Returns the link afterwards.
pub fn configure_here(req: &PodIfaceConfigureRequest) -> Result<LinkInfo> {
    netns::enter(&netns::open(&req.pod_netns)?, &req.pod_netns)?;
    let mut nl = Rtnl::open()?;
    let l = link::by_name(&mut nl, &req.ifname)?
        .ok_or_else(|| Failure::new(FailureKind::NotFound, "configure", format!("failed to find interface name {:?}", req.ifname)))?;
    match &req.iface {
        Some(cfg) => Ok(configure(&mut nl, l.info.index, &req.ifname, cfg)?.info),
        None => {
            link::set_up(&mut nl, l.info.index, true)?;
            Ok(link::by_index(&mut nl, l.info.index)?.map(|l| l.info).unwrap_or(l.info))
        }
    }
}

/// Configure interface `index` (named `ifname`) as ConfigureIface does: IPv6 enabled on lo and the
/// interface when an IPv6 address comes (keep_addr_on_down too), addresses, link up, routes in one
/// netlink batch, then — with an IPv6 gateway ([`must_settle`]) — a wait for DAD. Returns the link read back in the
/// same batch. The calling thread must be in the pod namespace (sysctls go through its /proc) and
/// `pod` a socket opened there.
pub fn configure(pod: &mut Rtnl, index: u32, ifname: &str, cfg: &PodIface) -> Result<Link> {
    let cidrs: Vec<Cidr> = cfg.addresses.iter().map(|a| Cidr::parse(a)).collect::<Result<_>>()?;
    let v6 = cidrs.iter().any(|c| c.is_v6());
    if v6 {
        for dev in ["lo", ifname] {
            sysctl::write(&format!("net/ipv6/conf/{dev}/disable_ipv6"), "0").map_err(|e| {
                let m = format!("failed to enable IPv6 for interface {dev:?}: {}", e.message);
                e.with_message(m)
            })?;
        }
        sysctl::write_if_present(&format!("net/ipv6/conf/{ifname}/keep_addr_on_down"), "1")?;
    }
    if cfg.notify {
        sysctl::write_if_present(&format!("net/ipv6/conf/{ifname}/ndisc_notify"), "1")?;
    }
    fault::step(Step::PodIfaceSysctls);
    let link = configured_link(pod.exchange(reqs(index, ifname, cfg, &cidrs)?))?;
    fault::step(Step::PodIfaceBatch);
    if link.info.name != ifname {
        // the index now names another link: never report (or configure further) one we did not mean
        return Err(Failure::internal("configure interface", format!("link {index} is {:?}, not {ifname:?}", link.info.name)));
    }
    if v6 && must_settle(cfg, &link) {
        wait_dad(pod, index)?;
    }
    Ok(link)
}

/// Whether `configure` waits for DAD: an IPv6 gateway, of an IP (`settle`, the reference's rule)
/// or of a route, and a link with carrier. Without carrier the kernel does not start DAD, so the
/// addresses would stay tentative past any wait (a tap nobody reads, a macvlan on a down master);
/// the reference waits its timeout out there and goes on regardless.
fn must_settle(cfg: &PodIface, link: &Link) -> bool {
    let v6_route_gw = cfg.routes.iter().any(|r| r.gw.as_deref().is_some_and(|g| g.contains(':')));
    (cfg.settle || v6_route_gw) && link.carrier
}

/// The whole configuration as one batch, ending with a GETLINK.
fn reqs(index: u32, ifname: &str, cfg: &PodIface, cidrs: &[Cidr]) -> Result<Vec<Req>> {
    let mut batch = Vec::with_capacity(cidrs.len() + cfg.routes.len() + 3);
    if cfg.notify {
        batch.push(Req::new(
            format!("sysctl net.ipv4.conf.{ifname}.arp_notify"),
            link::inet_devconf_msg(index, &[(link::IPV4_DEVCONF_ARP_NOTIFY, 1)]),
            0,
        ));
    }
    batch.extend(cidrs.iter().map(|c| addr::add_req(index, c, ifname)));
    batch.push(Req::new(format!("link up {ifname}"), link::set_flags_msg(index, LinkFlags::Up, LinkFlags::empty()), 0));
    for r in &cfg.routes {
        batch.push(route::add_req(index, r)?);
    }
    batch.push(link::get_req(index));
    Ok(batch)
}

/// The first failure of a batch whose last request is a GETLINK, else the link it read.
fn configured_link(mut results: Vec<Result<Vec<Raw>>>) -> Result<Link> {
    let got = results.pop().ok_or_else(|| Failure::internal("netlink", "empty batch"))?;
    for r in results {
        r?;
    }
    let m = got?;
    let raw = m.first().ok_or_else(|| Failure::internal("link get", "the kernel acked without a reply"))?;
    link::parse_raw(&raw.buf)
}

/// Wait until no IPv6 address of the link is tentative, failing on DADFAILED (5 s at most).
pub fn wait_dad(pod: &mut Rtnl, index: u32) -> Result<()> {
    let start = Instant::now();
    loop {
        let addrs = addr::list(pod, Some(index))?;
        if let Some(a) = addrs.iter().find(|a| a.dad_failed) {
            return Err(Failure::new(FailureKind::Kernel, "ipv6 dad", format!("duplicate address detection failed for {}", a.cidr)));
        }
        if !addrs.iter().any(|a| a.tentative && a.cidr.is_v6()) {
            return Ok(());
        }
        if start.elapsed() > DAD_TIMEOUT {
            return Err(Failure::new(FailureKind::Timeout, "ipv6 dad", "timed out waiting for IPv6 duplicate address detection"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The temporary name of the pod link that will be `ifname`: our prefix and a hash of the ifname
/// (FNV-1a), within IFNAMSIZ. The pod namespace holds one attachment per ifname, so the name is
/// unique where it is made, and the attachment's DEL can find it without any state.
pub fn temp_name(ifname: &str) -> String {
    let hash = ifname.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("{TEMP_PREFIX}{hash:08x}")
}

/// Delete the link a killed ADD left under `ifname`'s temporary name in the pod (`pod`: a socket
/// there); Ok(false) when there is none, the usual case.
pub fn delete_temp(pod: &mut Rtnl, ifname: &str) -> Result<bool> {
    link::delete_by_name(pod, &temp_name(ifname))
}

/// A link made by `creator` straight into the pod namespace (the message `build(temp_name)` returns
/// carries IFLA_NET_NS_FD, or `creator` is already in the pod), under [`temp_name`] (a link a killed
/// ADD left there is deleted first), then renamed to `ifname` through `pod`. A failed rename deletes
/// the link again, so nothing is left; an `ifname` already in the pod is kind Exists. Returns the
/// link as the pod sees it, under its final name, still down.
pub fn create_in_pod(creator: &mut Rtnl, pod: &mut Rtnl, ifname: &str, build: impl Fn(&str) -> LinkMessage) -> Result<Link> {
    let temp = temp_name(ifname);
    delete_temp(pod, ifname)?;
    let mut tries = 0;
    loop {
        match creator.ack(&format!("link create {temp}"), RouteNetlinkMessage::NewLink(build(&temp)), NLM_F_CREATE | NLM_F_EXCL) {
            Ok(()) => break,
            Err(e) if e.is(FailureKind::Exists) && tries + 1 < TEMP_NAME_TRIES => tries += 1,
            Err(e) => return Err(e),
        }
    }
    fault::step(Step::CreateInPodTemp);
    let made = link::by_name(pod, &temp)?
        .ok_or_else(|| Failure::new(FailureKind::NotFound, "link create", format!("{temp} missing in the pod after creation")))?;
    let index = made.info.index;
    if let Err(e) = pod.ack(&format!("link rename {temp} to {ifname}"), rename_msg(index, ifname), 0) {
        let _ = pod.ack("link delete (rollback)", link::del_msg(index, None), 0);
        return Err(if e.is(FailureKind::Exists) { e.with_message(format!("container interface {ifname:?} already exists")) } else { e });
    }
    match link::by_index(pod, index)? {
        Some(l) => Ok(l),
        None => Err(Failure::new(FailureKind::NotFound, "link rename", format!("{ifname} vanished after the rename"))),
    }
}

/// RTM_NEWLINK renaming link `index` (which must be down).
pub fn rename_msg(index: u32, name: &str) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    RouteNetlinkMessage::SetLink(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op_names(reqs: &[Req]) -> Vec<String> {
        reqs.iter().map(|r| r.op.clone()).collect()
    }

    #[test]
    fn batch_order_is_notify_addresses_up_routes_read() {
        let cfg = PodIface {
            addresses: vec!["10.1.0.5/24".into(), "fd00::5/64".into()],
            routes: vec![Route { dst: "0.0.0.0/0".into(), gw: Some("10.1.0.1".into()), ..Default::default() }],
            notify: true,
            ..Default::default()
        };
        let cidrs: Vec<Cidr> = cfg.addresses.iter().map(|a| Cidr::parse(a).unwrap()).collect();
        let ops = op_names(&reqs(7, "eth0", &cfg, &cidrs).unwrap());
        assert_eq!(ops.len(), 6);
        assert_eq!(ops[0], "sysctl net.ipv4.conf.eth0.arp_notify");
        assert!(ops[1].contains("10.1.0.5/24") && ops[2].contains("fd00::5/64"), "{ops:?}");
        assert_eq!(ops[3], "link up eth0");
        assert_eq!(ops[4], "route add 0.0.0.0/0 via 10.1.0.1");
    }

    #[test]
    fn no_notify_without_the_flag() {
        let cfg = PodIface { addresses: vec!["10.1.0.5/24".into()], ..Default::default() };
        let cidrs = vec![Cidr::parse("10.1.0.5/24").unwrap()];
        let ops = op_names(&reqs(7, "eth0", &cfg, &cidrs).unwrap());
        assert!(!ops.iter().any(|o| o.contains("arp_notify")), "{ops:?}");
    }

    #[test]
    fn a_bad_route_fails_before_anything_is_sent() {
        let cfg = PodIface {
            routes: vec![Route { dst: "10.2.0.0/16".into(), gw: Some("fd00::1".into()), ..Default::default() }],
            ..Default::default()
        };
        assert!(reqs(7, "eth0", &cfg, &[]).is_err());
    }

    /// `ip` run on this thread (a child inherits the thread's namespace).
    fn ip(args: &str) -> String {
        let out = std::process::Command::new("ip").args(args.split(' ')).output().unwrap();
        assert!(out.status.success(), "ip {args}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn macvlan_on(master: u32, pod_fd: i32) -> impl Fn(&str) -> LinkMessage {
        use netlink_packet_route::link::{InfoData, InfoKind, InfoMacVlan, LinkInfo, MacVlanMode};
        move |name: &str| {
            let mut m = LinkMessage::default();
            m.attributes.push(LinkAttribute::IfName(name.to_string()));
            m.attributes.push(LinkAttribute::Link(master));
            m.attributes.push(LinkAttribute::NetNsFd(pod_fd));
            m.attributes.push(LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::MacVlan),
                LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(MacVlanMode::Bridge)])),
            ]));
            m
        }
    }

    /// A macvlan made from a "host" namespace into a "pod" one, renamed, configured; a second one
    /// with the same final name is refused and leaves no temporary link behind; a link left under
    /// the temporary name is replaced by the next ADD.
    #[test]
    #[ignore = "needs root: make test runs it with --include-ignored"]
    fn create_rename_configure_in_namespaces() {
        use std::os::fd::AsRawFd;
        super::super::netns::on_thread(|| {
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
            ip("link add up0 type veth peer name up1");
            let mut host = Rtnl::open()?;
            let master = link::by_name(&mut host, "up0")?.unwrap().info.index;
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
            let pod_ns = std::fs::File::open("/proc/thread-self/ns/net").unwrap();
            let mut pod = Rtnl::open()?;
            let made = create_in_pod(&mut host, &mut pod, "eth0", macvlan_on(master, pod_ns.as_raw_fd()))?;
            assert_eq!(made.info.name, "eth0");
            let cfg = PodIface {
                addresses: vec!["10.1.0.5/24".into()],
                routes: vec![Route { dst: "0.0.0.0/0".into(), gw: Some("10.1.0.1".into()), ..Default::default() }],
                notify: true,
                ..Default::default()
            };
            let up = configure(&mut pod, made.info.index, "eth0", &cfg)?;
            assert!(up.info.up);
            assert!(ip("-4 addr show dev eth0").contains("inet 10.1.0.5/24"));
            assert!(ip("route show").contains("default via 10.1.0.1 dev eth0"));
            assert_eq!(std::fs::read_to_string("/proc/sys/net/ipv4/conf/eth0/arp_notify").unwrap().trim(), "1");

            let e = create_in_pod(&mut host, &mut pod, "eth0", macvlan_on(master, pod_ns.as_raw_fd())).unwrap_err();
            assert_eq!(e.kind, FailureKind::Exists, "{e:?}");
            let links = ip("-o link show");
            assert_eq!(links.lines().count(), 2, "only lo and eth0 stay: {links}");

            // a link a killed ADD left under the temporary name: the next ADD deletes it first
            ip("link del eth0");
            ip(&format!("link add {} type veth peer name stale1", temp_name("eth0")));
            create_in_pod(&mut host, &mut pod, "eth0", macvlan_on(master, pod_ns.as_raw_fd()))?;
            let links = ip("-o link show");
            assert_eq!(links.lines().count(), 2, "only lo and eth0 stay: {links}");
            assert!(!delete_temp(&mut pod, "eth0")?);
            Ok(())
        })
        .unwrap();
    }

    /// The tentative IPv6 addresses of `dev` as iproute2 shows them.
    fn tentative(dev: &str) -> String {
        ip(&format!("-6 addr show dev {dev} tentative"))
    }

    /// An IPv6 address whose IP has a gateway but no IPv6 route (settle, the reference's rule):
    /// after configure nothing is tentative; without carrier (peer down) configure does not wait
    /// for a DAD the kernel has not started, and succeeds.
    #[test]
    #[ignore = "needs root: make test runs it with --include-ignored"]
    fn settles_ipv6_with_a_gateway_and_carrier_only() {
        super::super::netns::on_thread(|| {
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
            ip("link add s0 type veth peer name s1");
            ip("link set s1 up");
            ip("link add d0 type veth peer name d1");
            let mut nl = Rtnl::open()?;
            let settle = PodIface { addresses: vec!["fd00:5::5/64".into()], settle: true, ..Default::default() };
            let s0 = link::by_name(&mut nl, "s0")?.unwrap().info.index;
            configure(&mut nl, s0, "s0", &settle)?;
            assert_eq!(tentative("s0"), "", "settled after configure");
            let d0 = link::by_name(&mut nl, "d0")?.unwrap().info.index;
            let start = Instant::now();
            let l = configure(&mut nl, d0, "d0", &settle)?;
            assert!(!l.carrier && start.elapsed() < DAD_TIMEOUT, "no wait without carrier");
            assert!(tentative("d0").contains("fd00:5::5/64"), "DAD not run without carrier");
            Ok(())
        })
        .unwrap();
    }

    /// configure_here enters the pod by its path; without `iface` it only brings the link up.
    #[test]
    #[ignore = "needs root: make test runs it with --include-ignored"]
    fn configure_here_in_a_named_namespace() {
        super::super::netns::on_thread(|| {
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
            ip("link add c0 type veth peer name c1");
            let pod_netns = format!("/proc/{}/task/{}/ns/net", std::process::id(), unsafe { libc::gettid() });
            let req = PodIfaceConfigureRequest { pod_netns: pod_netns.clone(), ifname: "c0".into(), iface: None };
            let up = std::thread::scope(|t| t.spawn(|| configure_here(&req)).join().unwrap())?;
            assert!(up.up && ip("-4 addr show dev c0").is_empty());
            let iface = PodIface { addresses: vec!["10.7.0.2/24".into()], ..Default::default() };
            let req = PodIfaceConfigureRequest { iface: Some(iface), ..req };
            std::thread::scope(|t| t.spawn(|| configure_here(&req)).join().unwrap())?;
            assert!(ip("-4 addr show dev c0").contains("10.7.0.2/24"));
            let missing = PodIfaceConfigureRequest { ifname: "nope0".into(), iface: None, pod_netns };
            let e = std::thread::scope(|t| t.spawn(|| configure_here(&missing)).join().unwrap()).unwrap_err();
            assert_eq!(e.kind, FailureKind::NotFound, "{e:?}");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn temp_names_are_ours_fit_ifnamsiz_and_differ_by_ifname() {
        let (a, b) = (temp_name("eth0"), temp_name("net1"));
        assert!(a.starts_with(TEMP_PREFIX) && a.len() <= 15, "{a}");
        assert_eq!(a, temp_name("eth0"));
        assert_ne!(a, b);
        assert_eq!(temp_name("a-sixteen-byte-n").len(), a.len());
    }

    #[test]
    fn rename_names_the_index() {
        let RouteNetlinkMessage::SetLink(m) = rename_msg(9, "net1") else { panic!("not a SetLink") };
        assert_eq!(m.header.index, 9);
        assert_eq!(m.attributes, vec![LinkAttribute::IfName("net1".into())]);
    }
}
