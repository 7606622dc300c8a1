//! Read-side and small per-namespace operations: CHECK's view of a pod, loopback, and the
//! fine-grained calls for library users (links, addresses, routes, sysctls).

use super::addr;
use super::iface;
use super::link;
use super::netns;
use super::route;
use super::rtnl::Rtnl;
use super::sysctl;
use crate::error::{Failure, FailureKind, Result};
use crate::types::{LinkInfo, LinkKind, LoopbackResult, PodInspectRequest, PodInspectResult, Route};

/// The pod's interface, its host peer (by peer index in hostNetns) and optionally the bridge, on the
/// calling thread, which must be a throwaway one (it switches namespaces).
pub fn pod_inspect_here(req: &PodInspectRequest) -> Result<PodInspectResult> {
    if let Some(h) = req.host_netns.as_deref() {
        netns::enter(&netns::open(h)?, h)?;
    }
    let mut host = Rtnl::open()?;
    let pod_ns = netns::open(&req.pod_netns)?;
    netns::enter(&pod_ns, &req.pod_netns)?;
    let mut pod = Rtnl::open()?;

    let mut out = PodInspectResult::default();
    let bridge = match req.bridge.as_deref() {
        Some(b) => link::by_name(&mut host, b)?,
        None => None,
    };
    if let Some(c) = link::by_name(&mut pod, &req.ifname)? {
        out.addresses = addr::list(&mut pod, Some(c.info.index))?
            .into_iter()
            .filter(|a| a.scope != netlink_packet_route::address::AddressScope::Host)
            .map(|a| a.cidr.to_string())
            .collect();
        out.routes = route::list(&mut pod, Some(c.info.index))?;
        if let Some(pi) = c.info.peer_index {
            if let Some(p) = link::by_index(&mut host, pi)? {
                // an index is only meaningful in one namespace: accept it only if it points back
                if p.info.kind == Some(LinkKind::Veth) && p.info.peer_index == Some(c.info.index) {
                    out.host_peer = Some(link::with_master_name(&mut host, &p, bridge.as_ref())?);
                }
            }
        }
        out.container = Some(link::with_master_name(&mut pod, &c, None)?);
    }
    out.bridge = bridge.map(|b| b.info);
    Ok(out)
}

/// Set lo up or down in a namespace and report it and its addresses afterwards, on the calling
/// thread, which must be a throwaway one (it enters the namespace).
pub fn loopback_set_here(netns_path: &str, up: bool) -> Result<LoopbackResult> {
    netns::enter(&netns::open(netns_path)?, netns_path)?;
    let mut nl = Rtnl::open()?;
    let lo = link::by_name(&mut nl, "lo")?.ok_or_else(|| Failure::new(FailureKind::NotFound, "loopback", "no lo in the namespace"))?;
    if lo.info.up != up {
        link::set_up(&mut nl, lo.info.index, up)?;
    }
    let lo = link::by_index(&mut nl, lo.info.index)?.ok_or_else(|| Failure::new(FailureKind::NotFound, "loopback", "lo vanished"))?;
    let addresses = addr::list(&mut nl, Some(lo.info.index))?.into_iter().map(|a| a.cidr.to_string()).collect();
    Ok(LoopbackResult { link: lo.info, addresses })
}

/// Every link of a namespace.
pub fn link_list(netns_path: Option<&str>) -> Result<Vec<LinkInfo>> {
    netns::run_in(netns_path, || {
        let mut nl = Rtnl::open()?;
        let links = link::list(&mut nl)?;
        Ok(links
            .iter()
            .map(|l| {
                let mut i = l.info.clone();
                i.master = l.master_index.and_then(|m| links.iter().find(|x| x.info.index == m)).map(|m| m.info.name.clone());
                i
            })
            .collect())
    })
}

/// Delete a link by name, and one a killed ADD left under its temporary name (tap's DEL, ptp's
/// rollback: iface::temp_name); false when there was neither.
pub fn link_del(netns_path: Option<&str>, name: &str) -> Result<bool> {
    netns::run_in(netns_path, || {
        let mut nl = Rtnl::open()?;
        let temp = iface::delete_temp(&mut nl, name)?;
        Ok(link::delete_by_name(&mut nl, name)? || temp)
    })
}

/// CIDRs on a link (all scopes), or on every link when name is None.
pub fn addr_list(netns_path: Option<&str>, name: Option<&str>) -> Result<Vec<String>> {
    netns::run_in(netns_path, || {
        let mut nl = Rtnl::open()?;
        let index = match name {
            Some(n) => Some(
                link::by_name(&mut nl, n)?
                    .ok_or_else(|| Failure::new(FailureKind::NotFound, "address list", format!("link {n:?} not found")))?
                    .info
                    .index,
            ),
            None => None,
        };
        Ok(addr::list(&mut nl, index)?.into_iter().map(|a| a.cidr.to_string()).collect())
    })
}

/// Unicast routes of the main table, optionally only those through one link.
pub fn route_list(netns_path: Option<&str>, name: Option<&str>) -> Result<Vec<Route>> {
    netns::run_in(netns_path, || {
        let mut nl = Rtnl::open()?;
        let oif = match name {
            Some(n) => Some(
                link::by_name(&mut nl, n)?
                    .ok_or_else(|| Failure::new(FailureKind::NotFound, "route list", format!("link {n:?} not found")))?
                    .info
                    .index,
            ),
            None => None,
        };
        route::list(&mut nl, oif)
    })
}

pub fn sysctl_get(netns_path: Option<&str>, key: &str) -> Result<String> {
    netns::run_in(netns_path, || sysctl::read(key))
}

pub fn sysctl_set(netns_path: Option<&str>, key: &str, value: &str) -> Result<()> {
    netns::run_in(netns_path, || sysctl::write(key, value))
}
