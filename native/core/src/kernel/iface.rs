//! TEMPORARY stand-in for the shared ConfigureIface (replaced by main's iface.rs before merging).

use std::time::{Duration, Instant};

use netlink_packet_route::link::LinkFlags;

use super::addr::{self, Cidr};
use super::link::{self, Link};
use super::route;
use super::rtnl::{Req, Rtnl};
use super::sysctl;
use crate::error::{Failure, FailureKind, Result};
use crate::types::Route;

/// The container interface as ConfigureIface leaves it.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PodIface {
    pub addresses: Vec<String>,
    pub routes: Vec<Route>,
}

pub fn configure(pod: &mut Rtnl, index: u32, ifname: &str, iface: &PodIface) -> Result<Link> {
    let cidrs: Vec<Cidr> = iface.addresses.iter().map(|a| Cidr::parse(a)).collect::<Result<_>>()?;
    if cidrs.iter().any(|c| c.is_v6()) {
        for dev in ["lo", ifname] {
            sysctl::write(&format!("net/ipv6/conf/{dev}/disable_ipv6"), "0")?;
        }
        let _ = sysctl::write_if_present(&format!("net/ipv6/conf/{ifname}/keep_addr_on_down"), "1");
    }
    let mut batch: Vec<Req> = cidrs.iter().map(|c| addr::add_req(index, c, ifname)).collect();
    batch.push(Req::new(format!("link up {ifname}"), link::set_flags_msg(index, LinkFlags::Up, LinkFlags::empty()), 0));
    for r in &iface.routes {
        batch.push(route::add_req(index, r)?);
    }
    for r in pod.batch(batch) {
        r?;
    }
    if cidrs.iter().any(|c| c.is_v6()) {
        let start = Instant::now();
        loop {
            let addrs = addr::list(pod, Some(index))?;
            if !addrs.iter().any(|a| a.tentative && a.cidr.is_v6()) {
                break;
            }
            if start.elapsed() > Duration::from_secs(5) {
                return Err(Failure::new(FailureKind::Timeout, "ipv6 dad", "timed out"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    link::by_index(pod, index)?.ok_or_else(|| Failure::new(FailureKind::NotFound, "link get", ifname.to_string()))
}
