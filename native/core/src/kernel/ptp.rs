//! The ptp plugin's kernel work, two calls per ADD and none of its own for DEL: the veth pair with
//! no bridge (before IPAM: a dhcp IPAM works through the pod's link), then, with the IPAM result,
//! the pod's end configured as the reference's ConfigureIface does and routed through each
//! address's gateway, and the gateways on the host end, as the reference does it
//! (https://github.com/containernetworking/plugins/blob/main/plugins/main/ptp/ptp.go,
//! setupContainerVeth and setupHostVeth).

use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteScope};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::addr::{self, Cidr};
use super::iface::{self, PodIface};
use super::link::{self, Link, VethSpec};
use super::netns;
use super::route;
use super::rtnl::{Req, Rtnl};
use super::sysctl;
use crate::error::{Failure, FailureKind, Result};
use crate::fault::{self, Step};
use crate::types::{LinkInfo, LinkKind, NftOwner, Route};

/// A pod address of a ptp attachment and the gateway the pod reaches everything through.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PtpAddress {
    /// CIDR on the container interface, e.g. "10.1.0.5/24"
    pub address: String,
    /// of the address's family; it goes on the host end as /32 (/128)
    pub gateway: String,
}

/// The first call of a ptp ADD: the veth pair.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PtpVethRequest {
    /// namespace that plays the host (a path); undefined = the caller's own
    pub host_netns: Option<String>,
    pub pod_netns: String,
    /// container-side interface name (CNI_IFNAME)
    pub ifname: String,
    /// MTU of both veth ends; undefined = kernel default
    pub mtu: Option<u32>,
}

/// The second call of a ptp ADD, with the IPAM result: the pod's side, the host's side, masquerade.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PtpWireRequest {
    /// namespace that plays the host (a path); undefined = the caller's own
    pub host_netns: Option<String>,
    pub pod_netns: String,
    /// container-side interface name (CNI_IFNAME)
    pub ifname: String,
    /// the host end's name, as ptpVeth made it
    pub host_veth: String,
    /// the container interface as ConfigureIface leaves it
    pub iface: PodIface,
    /// every pod address with its gateway: the pod's connected route replaced by routes through
    /// the gateway, the gateway on the host end, a host route to the address
    pub hops: Vec<PtpAddress>,
    /// ipMasq: add the hops' addresses to the network's masquerade set (removed again by bridgeDel
    /// or masqDel)
    pub masquerade: Option<NftOwner>,
}

/// The two ends of a ptp attachment's veth.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PtpLinks {
    pub host_veth: LinkInfo,
    pub container: LinkInfo,
}

const RT_SCOPE_HOST: u32 = 254;

/// One pod address and the gateway the pod reaches everything through, parsed.
#[derive(Debug, Clone, Copy)]
struct Hop {
    address: Cidr,
    gateway: IpAddr,
}

impl Hop {
    fn parse(a: &PtpAddress) -> Result<Hop> {
        let address = Cidr::parse(&a.address)?;
        let gateway: IpAddr =
            a.gateway.parse().map_err(|_| Failure::invalid("ptpAdd", format!("invalid gateway {:?} of {}", a.gateway, a.address)))?;
        if gateway.is_ipv4() != address.ip.is_ipv4() {
            return Err(Failure::invalid("ptpAdd", format!("gateway {gateway} is not of the family of the address {address}")));
        }
        Ok(Hop { address, gateway })
    }

    /// An address alone: /32 or /128.
    fn host(ip: IpAddr) -> Cidr {
        Cidr { ip, prefix: if ip.is_ipv4() { 32 } else { 128 } }
    }
}

fn validate_ifname(n: &str) -> Result<()> {
    if !link::valid_ifname(n) {
        return Err(Failure::invalid("ptp", format!("invalid interface name {n:?}")));
    }
    Ok(())
}

/// The second call's request checked before anything changes: names, addresses, gateways.
fn validate(req: &PtpWireRequest) -> Result<Vec<Hop>> {
    validate_ifname(&req.ifname)?;
    if req.hops.is_empty() {
        return Err(Failure::invalid("ptpWire", "no address to route the pod with"));
    }
    req.hops.iter().map(Hop::parse).collect()
}

/// Sockets in the host namespace (which the thread enters, and stays in) and the pod's.
struct Opened {
    home: OwnedFd,
    host: Rtnl,
    pod_ns: OwnedFd,
    pod: Rtnl,
}

fn open_sides(host_netns: Option<&str>, pod_netns: &str) -> Result<Opened> {
    let host_path = host_netns.unwrap_or("/proc/thread-self/ns/net");
    let home = netns::open(host_path)?;
    netns::enter(&home, host_path)?;
    let host = Rtnl::open()?;
    let pod_ns = netns::open(pod_netns)?;
    netns::enter(&pod_ns, pod_netns)?;
    let pod = Rtnl::open();
    netns::enter(&home, host_path)?;
    Ok(Opened { home, host, pod_ns, pod: pod? })
}

/// Make the pod's veth, on the calling thread, which must be a throwaway one (it enters the host
/// namespace, when one is named, and the pod's): the host end up under a random name with
/// accept_ra 0, the pod end `ifname` in the pod, down. On failure there is no veth.
pub fn ptp_veth_here(req: &PtpVethRequest) -> Result<PtpLinks> {
    validate_ifname(&req.ifname)?;
    let mut o = open_sides(req.host_netns.as_deref(), &req.pod_netns)?;
    let (host_end, pod_end) = create_veth(&mut o.host, &mut o.pod, req, &o.pod_ns)?;
    if let Err(e) = sysctl::write_if_present(&format!("net/ipv6/conf/{}/accept_ra", host_end.info.name), "0") {
        let _ = o.host.ack("veth delete (rollback)", link::del_msg(host_end.info.index, None), 0);
        return Err(e);
    }
    Ok(PtpLinks { host_veth: host_end.info, container: pod_end.info })
}

/// A veth end by name, accepted only if it is one.
fn veth_end(nl: &mut Rtnl, name: &str) -> Result<Link> {
    match link::by_name(nl, name)? {
        Some(l) if l.info.kind == Some(LinkKind::Veth) => Ok(l),
        _ => Err(Failure::new(FailureKind::NotFound, "ptpWire", format!("veth end {name:?} not found"))),
    }
}

/// Configure a pod's veth made by [`ptp_veth_here`], on the calling thread, which must be a
/// throwaway one (it enters the host namespace, when one is named, and the pod's). On failure the
/// masquerade elements are removed; the caller deletes the veth (which takes everything on both
/// its ends). Returns the two ends as configured.
pub fn ptp_wire_here(req: &PtpWireRequest) -> Result<PtpLinks> {
    let hops = validate(req)?;
    let host_path = req.host_netns.as_deref().unwrap_or("/proc/thread-self/ns/net");
    let Opened { home, mut host, pod_ns, mut pod } = open_sides(req.host_netns.as_deref(), &req.pod_netns)?;
    let host_end = veth_end(&mut host, &req.host_veth)?;
    let done = veth_end(&mut pod, &req.ifname).and_then(|pod_end| {
        if pod_end.info.peer_index != Some(host_end.info.index) {
            return Err(Failure::internal("ptpWire", format!("{:?} is not the peer of {:?}", req.ifname, req.host_veth)));
        }
        let sides = Sides { host: &mut host, pod: &mut pod, home: (&home, host_path), pod_ns: &pod_ns };
        wire(sides, req, &hops, &host_end, pod_end.info.index)
    });
    let masq = req.masquerade.as_ref().map(|o| {
        let addresses = req.hops.iter().map(|h| h.address.clone()).collect();
        o.masq_request(req.host_netns.as_deref(), &req.ifname, addresses)
    });
    let done = done.and_then(|container| {
        // nf_tables sockets for "the caller's own namespace" open in this thread's current one
        if let Some(m) = &masq {
            super::nft::masq_add(m)?;
        }
        Ok(container)
    });
    match done {
        Ok(container) => Ok(PtpLinks { host_veth: host_end.info, container: container.info }),
        Err(e) => {
            // Whatever masquerade went in: its DEL is idempotent. The veth is the caller's to
            // delete, after its IPAM DEL (a dhcp IPAM releases its lease through it).
            if let Some(m) = &masq {
                let _ = super::nft::masq_del(m);
            }
            Err(e)
        }
    }
}

/// The sockets of an ADD, opened in the host and pod namespaces, and those namespaces.
struct Sides<'a> {
    host: &'a mut Rtnl,
    pod: &'a mut Rtnl,
    home: (&'a OwnedFd, &'a str),
    pod_ns: &'a OwnedFd,
}

/// Everything after the veth: the pod's side (entering it), then the host's (back in it). Returns
/// the pod's link as configured; the thread ends in the host namespace.
fn wire(s: Sides, req: &PtpWireRequest, hops: &[Hop], host_end: &Link, index: u32) -> Result<Link> {
    netns::enter(s.pod_ns, &req.pod_netns)?;
    let pod = s.pod;
    // Every ptp address has a gateway, so ConfigureIface (`iface.settle`) has waited for DAD: the
    // routes below take the address as source, which the kernel refuses while it is tentative.
    let pod_side = iface::configure(pod, index, &req.ifname, &req.iface).and_then(|container| {
        pod.batch(pod_route_reqs(index, &req.ifname, hops)).into_iter().collect::<Result<()>>()?;
        Ok(container)
    });
    netns::enter(s.home.0, s.home.1)?;
    let container = pod_side?;
    fault::step(Step::PtpPodSide);
    host_outcome(s.host.batch(host_reqs(host_end, hops)))?;
    fault::step(Step::PtpHostRoutes);
    forward(hops)?;
    fault::step(Step::PtpForward);
    Ok(container)
}

/// Create the pair with the shared temporary-name pattern: the host end under a fresh random name
/// and up, the pod end straight into the pod under another and renamed to ifname there (an ifname
/// the pod already has is kind Exists, and nothing is left). Returns the host end and the pod end.
fn create_veth(host: &mut Rtnl, pod: &mut Rtnl, req: &PtpVethRequest, pod_ns: &OwnedFd) -> Result<(Link, Link)> {
    let build = |temp: &str| {
        let msg = link::veth_create_msg(&VethSpec {
            host_name: &link::random_veth_name(),
            peer_name: temp,
            peer_netns_fd: Some(pod_ns.as_raw_fd()),
            mtu: req.mtu,
            peer_mac: None,
            master: None,
            host_up: true,
        });
        // veth_create_msg always makes an RTM_NEWLINK
        match msg {
            RouteNetlinkMessage::NewLink(m) => m,
            _ => LinkMessage::default(),
        }
    };
    let pod_end = iface::create_in_pod(host, pod, &req.ifname, build)?;
    // the host end, by the pod end's peer index, accepted only if it points back
    let host_end = match pod_end.info.peer_index {
        Some(i) => link::by_index(host, i)?.filter(|l| l.info.peer_index == Some(pod_end.info.index)),
        None => None,
    };
    match host_end {
        Some(h) => Ok((h, pod_end)),
        None => {
            let _ = pod.ack("veth delete (rollback)", link::del_msg(pod_end.info.index, None), 0);
            Err(Failure::new(FailureKind::NotFound, "veth create", format!("the host end of {:?} was not found", req.ifname)))
        }
    }
}

fn route_addr(ip: IpAddr) -> RouteAddress {
    match ip {
        IpAddr::V4(v) => RouteAddress::Inet(v),
        IpAddr::V6(v) => RouteAddress::Inet6(v),
    }
}

/// A route through the pod's link, with the pod's address as preferred source.
fn sourced(index: u32, r: &Route, src: IpAddr) -> Result<RouteMessage> {
    let mut m = route::msg(index, r)?;
    m.attributes.push(RouteAttribute::PrefSource(route_addr(src)));
    Ok(m)
}

/// In the pod, per address: the connected route the kernel added with the address deleted, a link
/// route to the gateway and the subnet via the gateway (both with the address as source) — so the
/// pod reaches every address, its subnet's included, through the gateway, as in the reference.
fn pod_route_reqs(index: u32, ifname: &str, hops: &[Hop]) -> Vec<Req> {
    let mut reqs = Vec::new();
    for h in hops {
        let subnet = route::network(&h.address);
        let mut connected = RouteMessage::default();
        connected.header.address_family = if subnet.is_v6() { AddressFamily::Inet6 } else { AddressFamily::Inet };
        connected.header.destination_prefix_length = subnet.prefix;
        connected.header.table = 254;
        // RT_SCOPE_NOWHERE in a delete matches any scope; protocol and type 0 match any
        connected.header.scope = RouteScope::NoWhere;
        connected.attributes.push(RouteAttribute::Destination(route_addr(subnet.ip)));
        connected.attributes.push(RouteAttribute::Oif(index));
        reqs.push(Req::new(format!("route delete {subnet} dev {ifname}"), RouteNetlinkMessage::DelRoute(connected), 0));
        let to_gw = Route { dst: Hop::host(h.gateway).to_string(), ..Default::default() };
        let via_gw = Route { dst: subnet.to_string(), gw: Some(h.gateway.to_string()), ..Default::default() };
        for r in [to_gw, via_gw] {
            let via = r.gw.as_deref().map(|g| format!(" via {g}")).unwrap_or_default();
            // built from parsed addresses: cannot fail
            if let Ok(m) = sourced(index, &r, h.address.ip) {
                reqs.push(Req::new(
                    format!("route add {}{via} src {}", r.dst, h.address.ip),
                    RouteNetlinkMessage::NewRoute(m),
                    NLM_F_CREATE | NLM_F_EXCL,
                ));
            }
        }
    }
    reqs
}

/// On the host end, per address: the gateway as /32 (/128) — the same address on every pod's host
/// end — and a host-scope route to the pod's address (the reference's ip.AddHostRoute).
fn host_reqs(host_end: &Link, hops: &[Hop]) -> Vec<Req> {
    let (index, name) = (host_end.info.index, host_end.info.name.as_str());
    let mut reqs = Vec::new();
    for h in hops {
        reqs.push(addr::add_req(index, &Hop::host(h.gateway), name));
        let pod = Route { dst: Hop::host(h.address.ip).to_string(), scope: Some(RT_SCOPE_HOST), ..Default::default() };
        if let Ok(m) = route::msg(index, &pod) {
            reqs.push(Req::new(format!("route add {} dev {name}", pod.dst), RouteNetlinkMessage::NewRoute(m), NLM_F_CREATE | NLM_F_EXCL));
        }
    }
    reqs
}

/// Forwarding for the families of the pod's addresses, in the calling thread's namespace (the
/// reference's ip.EnableForward); written only when not on yet.
fn forward(hops: &[Hop]) -> Result<()> {
    let mut keys: Vec<&str> =
        hops.iter().map(|h| if h.address.is_v6() { "net/ipv6/conf/all/forwarding" } else { "net/ipv4/ip_forward" }).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        if sysctl::read(key)? != "1" {
            sysctl::write(key, "1")?;
        }
    }
    Ok(())
}

/// The first failure of the host end's batch; an address or host route that is already there is
/// none (two pod addresses with one gateway; the reference ignores EEXIST for the host route).
fn host_outcome(results: Vec<Result<()>>) -> Result<()> {
    for r in results {
        match r {
            Err(e) if e.kind == FailureKind::Exists && (e.op.starts_with("address add") || e.op.starts_with("route add")) => {}
            Err(e) => return Err(e),
            Ok(()) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(address: &str, gateway: &str) -> PtpAddress {
        PtpAddress { address: address.into(), gateway: gateway.into() }
    }

    fn req(hops: Vec<PtpAddress>) -> PtpWireRequest {
        PtpWireRequest { pod_netns: "/x".into(), ifname: "eth0".into(), hops, ..Default::default() }
    }

    fn route_of(r: &Req) -> &RouteMessage {
        match &r.msg {
            RouteNetlinkMessage::NewRoute(m) | RouteNetlinkMessage::DelRoute(m) => m,
            other => panic!("not a route message: {other:?}"),
        }
    }

    #[test]
    fn validation() {
        assert!(validate(&req(vec![hop("10.1.0.5/24", "10.1.0.1"), hop("fd00::5/64", "fd00::1")])).is_ok());
        for bad in [
            req(vec![]),
            req(vec![hop("10.1.0.5", "10.1.0.1")]),
            req(vec![hop("10.1.0.5/24", "gw")]),
            req(vec![hop("10.1.0.5/24", "fd00::1")]),
            PtpWireRequest { ifname: "a-very-long-ifname".into(), ..req(vec![hop("10.1.0.5/24", "10.1.0.1")]) },
            PtpWireRequest { ifname: "a/b".into(), ..req(vec![hop("10.1.0.5/24", "10.1.0.1")]) },
        ] {
            assert_eq!(validate(&bad).unwrap_err().kind, FailureKind::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn pod_routes_replace_the_connected_route_by_routes_through_the_gateway() {
        let hops = validate(&req(vec![hop("10.1.0.5/24", "10.1.0.1"), hop("fd00::5/64", "fd00::1")])).unwrap();
        let reqs = pod_route_reqs(3, "eth0", &hops);
        let ops: Vec<&str> = reqs.iter().map(|r| r.op.as_str()).collect();
        assert_eq!(
            ops,
            [
                "route delete 10.1.0.0/24 dev eth0",
                "route add 10.1.0.1/32 src 10.1.0.5",
                "route add 10.1.0.0/24 via 10.1.0.1 src 10.1.0.5",
                "route delete fd00::/64 dev eth0",
                "route add fd00::1/128 src fd00::5",
                "route add fd00::/64 via fd00::1 src fd00::5",
            ]
        );
        // the delete matches the kernel's route whatever its scope, protocol and type
        let del = route_of(&reqs[0]);
        assert!(matches!(reqs[0].msg, RouteNetlinkMessage::DelRoute(_)));
        assert_eq!((del.header.scope, del.header.table, del.header.destination_prefix_length), (RouteScope::NoWhere, 254, 24));
        assert_eq!(u8::from(del.header.protocol), 0);
        assert_eq!(u8::from(del.header.kind), 0);
        assert_eq!(del.attributes, [RouteAttribute::Destination(route_addr("10.1.0.0".parse().unwrap())), RouteAttribute::Oif(3)]);
        let to_gw = route_of(&reqs[1]);
        assert_eq!((to_gw.header.scope, to_gw.header.destination_prefix_length), (RouteScope::Link, 32));
        assert!(to_gw.attributes.contains(&RouteAttribute::PrefSource(route_addr("10.1.0.5".parse().unwrap()))));
        assert!(!to_gw.attributes.iter().any(|a| matches!(a, RouteAttribute::Gateway(_))));
        let via = route_of(&reqs[2]);
        assert_eq!(via.header.scope, RouteScope::Universe);
        assert!(via.attributes.contains(&RouteAttribute::Gateway(route_addr("10.1.0.1".parse().unwrap()))));
        assert!(via.attributes.contains(&RouteAttribute::PrefSource(route_addr("10.1.0.5".parse().unwrap()))));
        let v6 = route_of(&reqs[4]);
        assert_eq!((v6.header.address_family, v6.header.destination_prefix_length), (AddressFamily::Inet6, 128));
        assert!(reqs.iter().filter(|r| r.op.starts_with("route add")).all(|r| r.flags == NLM_F_CREATE | NLM_F_EXCL));
    }

    #[test]
    fn host_end_gets_the_gateways_and_host_routes_to_the_pod() {
        let hops = validate(&req(vec![hop("10.1.0.5/24", "10.1.0.1"), hop("fd00::5/64", "fd00::1")])).unwrap();
        let host_end = Link { info: LinkInfo { index: 9, name: "veth01020304".into(), ..Default::default() }, ..Default::default() };
        let reqs = host_reqs(&host_end, &hops);
        let ops: Vec<&str> = reqs.iter().map(|r| r.op.as_str()).collect();
        assert_eq!(
            ops,
            [
                "address add 10.1.0.1/32 on veth01020304",
                "route add 10.1.0.5/32 dev veth01020304",
                "address add fd00::1/128 on veth01020304",
                "route add fd00::5/128 dev veth01020304",
            ]
        );
        let r = route_of(&reqs[1]);
        assert_eq!(r.header.scope, RouteScope::Host);
        assert!(r.attributes.contains(&RouteAttribute::Oif(9)));
        assert!(!r.attributes.iter().any(|a| matches!(a, RouteAttribute::PrefSource(_) | RouteAttribute::Gateway(_))));
    }

    #[test]
    fn exists_is_no_failure_on_the_host_end() {
        let exists = |op: &str| Err(Failure { kind: FailureKind::Exists, op: op.into(), errno: libc::EEXIST, message: String::new() });
        assert!(host_outcome(vec![exists("address add 10.1.0.1/32 on v"), exists("route add 10.1.0.5/32 dev v"), Ok(())]).is_ok());
        let other = Err(Failure {
            kind: FailureKind::NotFound,
            op: "route add 10.1.0.5/32 dev v".into(),
            errno: libc::ENODEV,
            message: String::new(),
        });
        assert!(host_outcome(vec![Ok(()), other]).is_err());
    }
}
