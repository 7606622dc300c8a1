//! Links on top of a master device for the macvlan, ipvlan and vlan plugins
//! (https://github.com/containernetworking/plugins/tree/main/plugins/main/{macvlan,ipvlan,vlan}):
//! the master found by name or as the interface of the first default route (in the host namespace,
//! or with `link_in_container` in the pod's), its MTU checked against the requested one, the link
//! created under a temporary name straight into the pod namespace and renamed there; DEL and
//! CHECK's view of the link. Every `_here` function switches namespaces: it runs on a thread of ours.

use std::os::fd::{AsRawFd, RawFd};

use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoKind, InfoMacVlan, InfoVlan, IpVlanMode, LinkAttribute, LinkInfo as NlLinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::addr;
use super::iface;
use super::link::{self, Link};
use super::netns;
use super::route;
use super::rtnl::Rtnl;
use crate::error::{Failure, FailureKind, Result};
use crate::types::{LinkInfo, Route};

/// The kind of link a sublink plugin makes on its master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(string_enum = "lowercase"))]
pub enum SublinkKind {
    Macvlan,
    Ipvlan,
    Vlan,
}

/// The link a sublink plugin's ADD makes: what, on which master, with which settings.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SublinkSpec {
    /// `macvlan`, `ipvlan` or `vlan`; absent = macvlan
    pub kind: Option<SublinkKind>,
    /// the master's name; absent = the interface of the first default route
    pub master: Option<String>,
    /// the master lives in the pod namespace: it is looked up, and the link created, there
    pub link_in_container: bool,
    /// macvlan: bridge (default), private, vepa, passthru; ipvlan: l2 (default), l3, l3s
    pub mode: Option<String>,
    /// vlan: the 802.1Q id (0–4094)
    pub vlan_id: Option<u32>,
    /// 0 or absent = the kernel's default (the master's MTU); at most the master's MTU
    pub mtu: Option<u32>,
    /// macvlan: the link's MAC address
    pub mac: Option<String>,
    /// macvlan: the broadcast/multicast receive queue length requested (IFLA_MACVLAN_BC_QUEUE_LEN)
    pub bc_queue_len: Option<u32>,
}

/// A sublink plugin's link to create in a pod.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SublinkAddRequest {
    /// the namespace playing the host (absent = the caller's own)
    pub host_netns: Option<String>,
    /// the pod's network namespace (a path the calling process can open)
    pub pod_netns: String,
    /// its final name in the pod (CNI_IFNAME)
    pub ifname: String,
    pub spec: SublinkSpec,
}

/// The link made, and the master it was made on.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SublinkAddResult {
    pub link: LinkInfo,
    /// the master's name (the default-route interface when none was asked for)
    pub master: String,
}

/// CHECK's question: the pod's link and the master by name.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SublinkInspectRequest {
    pub host_netns: Option<String>,
    pub pod_netns: String,
    pub ifname: String,
    pub master: Option<String>,
    pub link_in_container: bool,
}

/// The pod's link as the kernel has it.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SublinkState {
    pub link: LinkInfo,
    /// the IFLA_INFO_KIND the kernel reports (macvlan, ipvlan, vlan, or another kind)
    pub kind_name: String,
    /// macvlan or ipvlan mode by the plugins' names (bridge, private, vepa, passthru, source; l2, l3, l3s)
    pub mode: Option<String>,
    pub vlan_id: Option<u32>,
    /// addresses on the link (host scope left out)
    pub addresses: Vec<String>,
    /// routes of the pod's main table, every link's (the reference checks them that way)
    pub routes: Vec<Route>,
}

/// CHECK's answer.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SublinkInspectResult {
    /// the master's name when it was found (a default-route lookup included)
    pub master: Option<String>,
    /// absent when the pod has no link of that name
    pub state: Option<SublinkState>,
}

/// IFLA_MACVLAN_MODE values of the reference's modes.
pub fn macvlan_mode(name: &str) -> Result<MacVlanMode> {
    match name {
        "" | "bridge" => Ok(MacVlanMode::Bridge),
        "private" => Ok(MacVlanMode::Private),
        "vepa" => Ok(MacVlanMode::Vepa),
        "passthru" => Ok(MacVlanMode::Passthrough),
        _ => Err(Failure::invalid("macvlan mode", format!("mode: unknown macvlan mode: {name:?}"))),
    }
}

/// IFLA_IPVLAN_MODE values of the reference's modes.
pub fn ipvlan_mode(name: &str) -> Result<IpVlanMode> {
    match name {
        "" | "l2" => Ok(IpVlanMode::L2),
        "l3" => Ok(IpVlanMode::L3),
        "l3s" => Ok(IpVlanMode::L3S),
        _ => Err(Failure::invalid("ipvlan mode", format!("mode: unknown ipvlan mode: {name:?}"))),
    }
}

fn macvlan_mode_name(m: MacVlanMode) -> String {
    match m {
        MacVlanMode::Bridge => "bridge".into(),
        MacVlanMode::Private => "private".into(),
        MacVlanMode::Vepa => "vepa".into(),
        MacVlanMode::Passthrough => "passthru".into(),
        MacVlanMode::Source => "source".into(),
        other => format!("unknown({})", u32::from(other)),
    }
}

fn ipvlan_mode_name(m: IpVlanMode) -> String {
    match m {
        IpVlanMode::L2 => "l2".into(),
        IpVlanMode::L3 => "l3".into(),
        IpVlanMode::L3S => "l3s".into(),
        other => format!("unknown({})", u16::from(other)),
    }
}

/// IFLA_LINKINFO of the link: its kind and the kind's data.
pub fn link_info(spec: &SublinkSpec) -> Result<Vec<NlLinkInfo>> {
    let mode = spec.mode.as_deref().unwrap_or("");
    Ok(match spec.kind.unwrap_or(SublinkKind::Macvlan) {
        SublinkKind::Macvlan => {
            let mut data = vec![InfoMacVlan::Mode(macvlan_mode(mode)?)];
            if let Some(q) = spec.bc_queue_len.filter(|q| *q > 0) {
                data.push(InfoMacVlan::BcQueueLen(q));
            }
            vec![NlLinkInfo::Kind(InfoKind::MacVlan), NlLinkInfo::Data(InfoData::MacVlan(data))]
        }
        SublinkKind::Ipvlan => {
            vec![NlLinkInfo::Kind(InfoKind::IpVlan), NlLinkInfo::Data(InfoData::IpVlan(vec![InfoIpVlan::Mode(ipvlan_mode(mode)?)]))]
        }
        SublinkKind::Vlan => {
            let id = spec.vlan_id.unwrap_or(0);
            if id > 4094 {
                return Err(Failure::invalid("vlan", format!("vlanId: invalid VLAN ID {id} (must be between 0 and 4094)")));
            }
            vec![NlLinkInfo::Kind(InfoKind::Vlan), NlLinkInfo::Data(InfoData::Vlan(vec![InfoVlan::Id(id as u16)]))]
        }
    })
}

/// Everything of the link's RTM_NEWLINK but its name, checked: built once per request, then named
/// by each temporary-name attempt.
pub struct Prepared {
    master_index: u32,
    netns_fd: Option<RawFd>,
    mtu: Option<u32>,
    mac: Option<Vec<u8>>,
    info: Vec<NlLinkInfo>,
}

/// Check the spec (mode, VLAN id, MAC) and prepare the message for master `master_index`, made
/// straight into the namespace of `netns_fd` when given (else where the socket is).
pub fn prepare(spec: &SublinkSpec, master_index: u32, netns_fd: Option<RawFd>) -> Result<Prepared> {
    let mac = match spec.mac.as_deref().filter(|m| !m.is_empty()) {
        Some(m) => Some(link::parse_mac(m).map_err(|e| e.with_message(format!("mac: invalid MAC address {m:?}")))?),
        None => None,
    };
    Ok(Prepared { master_index, netns_fd, mtu: spec.mtu.filter(|m| *m > 0), mac, info: link_info(spec)? })
}

/// The RTM_NEWLINK that creates the link named `name`.
pub fn create_msg(p: &Prepared, name: &str) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes.push(LinkAttribute::Link(p.master_index));
    if let Some(fd) = p.netns_fd {
        m.attributes.push(LinkAttribute::NetNsFd(fd));
    }
    if let Some(mtu) = p.mtu {
        m.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = &p.mac {
        m.attributes.push(LinkAttribute::Address(mac.clone()));
    }
    m.attributes.push(LinkAttribute::LinkInfo(p.info.clone()));
    m
}

/// The link of the first default route of the main table (either family, IPv4 first), as the
/// reference's getDefaultRouteInterfaceName picks it.
fn default_route_link(nl: &mut Rtnl) -> Result<u32> {
    route::list_with_links(nl, None)?
        .into_iter()
        .find_map(|(r, oif)| if r.dst.ends_with("/0") { oif } else { None })
        .ok_or_else(|| Failure::new(FailureKind::NotFound, "master lookup", "no default route interface found"))
}

/// The master by name, or the default-route interface; a clear failure naming `master` otherwise.
fn find_master(nl: &mut Rtnl, name: Option<&str>) -> Result<Link> {
    let found = match name.filter(|n| !n.is_empty()) {
        Some(n) => link::by_name(nl, n)?.ok_or_else(|| {
            Failure::new(FailureKind::NotFound, "master lookup", format!("master: failed to lookup master {n:?}: Link not found"))
        })?,
        None => {
            let index = default_route_link(nl)?;
            link::by_index(nl, index)?
                .ok_or_else(|| Failure::new(FailureKind::NotFound, "master lookup", "master: the default route's interface vanished"))?
        }
    };
    Ok(found)
}

/// The reference's MTU rule: 0 (the kernel's default) up to the master's MTU.
pub fn check_mtu(mtu: Option<u32>, master_mtu: u32) -> Result<()> {
    match mtu {
        Some(m) if m > master_mtu => Err(Failure::invalid("mtu", format!("mtu: invalid MTU {m}, must be [0, master MTU({master_mtu})]"))),
        _ => Ok(()),
    }
}

/// ADD's first step: find the master, check the MTU, create the link under a temporary name
/// straight into the pod namespace and rename it there (iface::create_in_pod). On the calling
/// thread, which must be a throwaway one. The link is left down.
pub fn sublink_add_here(req: &SublinkAddRequest) -> Result<SublinkAddResult> {
    let spec = &req.spec;
    // the spec is checked before the kernel is touched
    prepare(spec, 0, None)?;
    if let Some(h) = req.host_netns.as_deref() {
        netns::enter(&netns::open(h)?, h)?;
    }
    let pod_fd = netns::open(&req.pod_netns)?;
    let host = if spec.link_in_container { None } else { Some(Rtnl::open()?) };
    netns::enter(&pod_fd, &req.pod_netns)?;
    let mut pod = Rtnl::open()?;
    let (mut creator, ns_fd) = match host {
        Some(h) => (h, Some(pod_fd.as_raw_fd())),
        None => (Rtnl::open()?, None),
    };
    let master = find_master(&mut creator, spec.master.as_deref())?;
    check_mtu(spec.mtu, master.info.mtu)?;
    let prepared = prepare(spec, master.info.index, ns_fd)?;
    let link = iface::create_in_pod(&mut creator, &mut pod, &req.ifname, |name| create_msg(&prepared, name))?;
    Ok(SublinkAddResult { link: link.info, master: master.info.name })
}

/// DEL: delete the pod's link, and one a killed ADD left under its temporary name; Ok(false) when
/// there was neither. Kind netnsGone when the namespace is gone. On the calling thread, which must
/// be a throwaway one.
pub fn sublink_del_here(pod_netns: &str, ifname: &str) -> Result<bool> {
    netns::enter(&netns::open(pod_netns)?, pod_netns)?;
    let mut pod = Rtnl::open()?;
    let temp = iface::delete_temp(&mut pod, ifname)?;
    Ok(link::delete_by_name(&mut pod, ifname)? || temp)
}

/// The kind, mode and VLAN id in a link's IFLA_LINKINFO.
fn kind_facts(m: &LinkMessage) -> (String, Option<String>, Option<u32>) {
    let (mut kind, mut mode, mut vlan) = (String::new(), None, None);
    for a in &m.attributes {
        if let LinkAttribute::LinkInfo(infos) = a {
            for i in infos {
                match i {
                    NlLinkInfo::Kind(k) => {
                        kind = match k {
                            InfoKind::Other(s) => s.clone(),
                            k => k.to_string(),
                        }
                    }
                    NlLinkInfo::Data(InfoData::MacVlan(d)) => {
                        mode = d.iter().find_map(|x| if let InfoMacVlan::Mode(m) = x { Some(macvlan_mode_name(*m)) } else { None })
                    }
                    NlLinkInfo::Data(InfoData::IpVlan(d)) => {
                        mode = d.iter().find_map(|x| if let InfoIpVlan::Mode(m) = x { Some(ipvlan_mode_name(*m)) } else { None })
                    }
                    NlLinkInfo::Data(InfoData::Vlan(d)) => {
                        vlan = d.iter().find_map(|x| if let InfoVlan::Id(v) = x { Some(u32::from(*v)) } else { None })
                    }
                    _ => {}
                }
            }
        }
    }
    (kind, mode, vlan)
}

/// CHECK's view: the master (looked up where ADD looked it up) and the pod's link with its kind
/// facts, addresses and the pod's routes. On the calling thread, which must be a throwaway one.
pub fn sublink_inspect_here(req: &SublinkInspectRequest) -> Result<SublinkInspectResult> {
    if let Some(h) = req.host_netns.as_deref() {
        netns::enter(&netns::open(h)?, h)?;
    }
    let pod_fd = netns::open(&req.pod_netns)?;
    let mut out = SublinkInspectResult::default();
    if !req.link_in_container {
        out.master = find_master(&mut Rtnl::open()?, req.master.as_deref()).ok().map(|m| m.info.name);
    }
    netns::enter(&pod_fd, &req.pod_netns)?;
    let mut nl = Rtnl::open()?;
    if req.link_in_container {
        out.master = find_master(&mut nl, req.master.as_deref()).ok().map(|m| m.info.name);
    }
    let raw = match nl.get_raw(&format!("link get {}", req.ifname), link::get_msg(0, Some(&req.ifname))) {
        Ok(r) => r,
        Err(e) if e.kind == FailureKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    let l = link::parse_raw(&raw.buf)?;
    let (kind_name, mode, vlan_id) = match raw.parse("link get")? {
        RouteNetlinkMessage::NewLink(m) => kind_facts(&m),
        _ => (String::new(), None, None),
    };
    let addresses = addr::list(&mut nl, Some(l.info.index))?
        .into_iter()
        .filter(|a| a.scope != netlink_packet_route::address::AddressScope::Host)
        .map(|a| a.cidr.to_string())
        .collect();
    let routes = route::list(&mut nl, None)?;
    out.state = Some(SublinkState { link: l.info, kind_name, mode, vlan_id, addresses, routes });
    Ok(out)
}

#[cfg(test)]
#[path = "sublink_tests.rs"]
mod tests;
