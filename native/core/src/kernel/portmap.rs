//! The portmap plugin's ADD in one call: the host ports into our nf_tables maps (nft/portmap.rs),
//! then, in the host namespace on a thread of ours, what the reference does around them:
//! stale UDP conntrack entries of the mapped ports deleted, and for IPv4 with snat
//! `route_localnet` on the interface that routes to the pod, so that 127.0.0.1:<hostPort> from
//! the node itself can be DNATed to the pod
//! (https://github.com/containernetworking/plugins/blob/main/plugins/meta/portmap/main.go).

use std::net::IpAddr;

use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::conntrack;
use super::nft::{portmap_map, PortmapRequest};
use super::rtnl::Rtnl;
use super::sysctl;
use crate::error::{Failure, Result};

/// What an ADD did besides the maps.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PortmapAddResult {
    /// the host interface whose route_localnet was set (IPv4 with snat)
    pub route_localnet: Option<String>,
    /// UDP conntrack entries deleted
    pub conntrack_deleted: u32,
    /// why deleting conntrack entries failed, if it did (not an ADD failure, as for the reference)
    pub conntrack_error: Option<String>,
}

/// The interface the host routes `ip` through (a route lookup, as `ip route get`).
fn route_ifname(ip: IpAddr) -> Result<String> {
    const OP: &str = "portmap route lookup";
    let mut m = RouteMessage::default();
    let (family, len, addr) = match ip {
        IpAddr::V4(v) => (AddressFamily::Inet, 32, RouteAddress::Inet(v)),
        IpAddr::V6(v) => (AddressFamily::Inet6, 128, RouteAddress::Inet6(v)),
    };
    m.header.address_family = family;
    m.header.destination_prefix_length = len;
    m.attributes.push(RouteAttribute::Destination(addr));
    let reply = Rtnl::open()?.get_raw(OP, RouteNetlinkMessage::GetRoute(m))?.parse(OP)?;
    let RouteNetlinkMessage::NewRoute(r) = reply else {
        return Err(Failure::internal(OP, "unexpected reply to a route lookup"));
    };
    let oif = r.attributes.iter().find_map(|a| if let RouteAttribute::Oif(i) = a { Some(*i) } else { None });
    let oif = oif.ok_or_else(|| Failure::new(crate::error::FailureKind::NotFound, OP, format!("no route to {ip}")))?;
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: if_indextoname writes at most IF_NAMESIZE bytes into the buffer we own.
    let p = unsafe { libc::if_indextoname(oif, name.as_mut_ptr()) };
    if p.is_null() {
        return Err(Failure::last_os(OP));
    }
    // SAFETY: on success the buffer holds a NUL-terminated name.
    Ok(unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned())
}

/// UDP host ports per family that the request maps (AF_INET, AF_INET6).
fn udp_ports(req: &PortmapRequest) -> Vec<(u8, Vec<u16>)> {
    let mut out = Vec::new();
    for ip in req.container_ips.iter().filter_map(|s| s.parse::<IpAddr>().ok()) {
        let ports: Vec<u16> = req
            .mappings
            .iter()
            .filter(|m| m.protocol.eq_ignore_ascii_case("udp"))
            .filter(|m| m.host_ip.as_deref().and_then(|h| h.parse::<IpAddr>().ok()).is_none_or(|h| h.is_ipv4() == ip.is_ipv4()))
            .filter_map(|m| u16::try_from(m.host_port).ok())
            .collect();
        if !ports.is_empty() {
            out.push((if ip.is_ipv4() { libc::AF_INET as u8 } else { libc::AF_INET6 as u8 }, ports));
        }
    }
    out
}

/// Map the attachment's host ports (one nf_tables batch), then fix up the host namespace. No
/// rollback of the maps when the host part fails: the caller's undo deletes the attachment.
pub fn portmap_add(req: &PortmapRequest) -> Result<PortmapAddResult> {
    portmap_map(req)?;
    let v4 = req.container_ips.iter().filter_map(|s| s.parse::<IpAddr>().ok()).find(IpAddr::is_ipv4);
    let localnet = v4.filter(|_| req.snat && !req.mappings.is_empty());
    let udp = udp_ports(req);
    if localnet.is_none() && udp.is_empty() {
        return Ok(PortmapAddResult::default());
    }
    super::netns::run_in(req.host_netns.as_deref(), move || {
        let mut out = PortmapAddResult::default();
        for (family, ports) in &udp {
            match conntrack::flush_udp_ports(*family, ports) {
                Ok(n) => out.conntrack_deleted += n,
                Err(e) => out.conntrack_error = Some(e.message),
            }
        }
        // No route to the pod (yet): nothing to set, as the reference's getRoutableHostIF decides.
        if let Some(ifname) = localnet.and_then(|ip| route_ifname(ip).ok()) {
            // the slash form: an interface name may contain dots
            sysctl::write(&format!("net/ipv4/conf/{ifname}/route_localnet"), "1")?;
            out.route_localnet = Some(ifname);
        }
        Ok(out)
    })
}
