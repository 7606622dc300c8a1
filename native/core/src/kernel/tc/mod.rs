//! The bandwidth plugin's kernel work over rtnetlink: a tbf root qdisc on the pod's host-side veth
//! (traffic toward the pod), and for traffic from the pod an IFB device fed by the veth's ingress
//! qdisc and a match-all u32 filter redirecting to it, with a tbf root qdisc of its own; and the
//! read-back CHECK compares. As the reference does it
//! (https://github.com/containernetworking/plugins/tree/v1.1.1/plugins/meta/bandwidth).

#[cfg(test)]
mod tests;
mod wire;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};

use super::link::{self, Link};
use super::netns;
use super::rtnl::Rtnl;
use crate::error::{Failure, FailureKind, Result};
use crate::fault::{self, Step};
use crate::types::LinkKind;
use wire::{Psched, Qdisc, TbfParams, INGRESS_PARENT, ROOT};

/// One direction's limit as configured: a rate in bits per second and a burst in bits (both > 0).
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct BandwidthShape {
    pub rate: f64,
    pub burst: f64,
}

/// One attachment's shaping, for bandwidthAdd and bandwidthInspect.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct BandwidthRequest {
    /// namespace that plays the host (a path); undefined = the caller's own
    pub host_netns: Option<String>,
    /// the pod's namespace (a path), where `ifname` is
    pub pod_netns: String,
    /// the pod's veth; its peer in the host namespace is the link shaped
    pub ifname: String,
    /// the host-side interfaces prevResult lists (those without a sandbox): the peer must be one
    pub host_interfaces: Vec<String>,
    /// traffic toward the pod: tbf on the host veth
    pub ingress: Option<BandwidthShape>,
    /// traffic from the pod: through the IFB `ifb`
    pub egress: Option<BandwidthShape>,
    /// the IFB device's name (used with `egress`)
    pub ifb: String,
}

/// What bandwidthAdd made.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct BandwidthAddResult {
    /// the host veth that was shaped
    pub host_ifname: String,
    /// the IFB's MAC, when egress is shaped
    pub ifb_mac: Option<String>,
}

/// A tbf qdisc's parameters: rate in bytes/s, limit in bytes, buffer in scheduler ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct TbfInfo {
    pub rate: f64,
    pub limit: u32,
    pub buffer: u32,
}

/// One shaped direction as CHECK sees it: what ADD would set, and what the link's root qdisc is.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct ShapeState {
    /// the link that carries the tbf (host veth or IFB); undefined when it does not exist
    pub link: Option<String>,
    pub expected: TbfInfo,
    /// the root qdisc's kind (undefined: none reported)
    pub root_kind: Option<String>,
    /// its parameters, when it is a tbf
    pub actual: Option<TbfInfo>,
}

/// bandwidthInspect's view of an attachment.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct BandwidthInspectResult {
    pub host_ifname: String,
    pub ingress: Option<ShapeState>,
    pub egress: Option<ShapeState>,
}

impl From<TbfParams> for TbfInfo {
    fn from(p: TbfParams) -> TbfInfo {
        TbfInfo { rate: p.rate as f64, limit: p.limit, buffer: p.buffer }
    }
}

fn params(s: &BandwidthShape, clock: Psched) -> TbfParams {
    TbfParams::from_bits(s.rate as u64, s.burst as u64, clock)
}

/// Sockets in both namespaces (the calling thread is left in the pod's), and the pod's host veth:
/// the peer of `ifname`, which prevResult must list among the host's interfaces. Messages as the
/// reference's `getHostInterface`.
fn host_veth(req: &BandwidthRequest) -> Result<(Rtnl, Link)> {
    if let Some(h) = req.host_netns.as_deref() {
        netns::enter(&netns::open(h)?, h)?;
    }
    let mut host = Rtnl::open()?;
    netns::enter(&netns::open(&req.pod_netns)?, &req.pod_netns)?;
    let mut pod = Rtnl::open()?;
    let op = "bandwidth host interface";
    let peer = match link::by_name(&mut pod, &req.ifname)? {
        Some(c) if c.info.kind == Some(LinkKind::Veth) => c.info.peer_index,
        _ => None,
    };
    let peer =
        peer.ok_or_else(|| Failure::new(FailureKind::NotFound, op, format!("container interface {} has no veth peer", req.ifname)))?;
    let hv = link::by_index(&mut host, peer)?
        .ok_or_else(|| Failure::new(FailureKind::NotFound, op, format!("veth peer with index {peer} is not in host ns")))?;
    if !req.host_interfaces.contains(&hv.info.name) {
        return Err(Failure::new(FailureKind::NotFound, op, "no veth peer of container interface found in host ns"));
    }
    Ok((host, hv))
}

/// What an ADD changed so far, undone in reverse on failure.
#[derive(Default)]
struct Made {
    root_tbf: Option<u32>,
    ifb: Option<String>,
    ingress_qdisc: Option<u32>,
}

impl Made {
    fn undo(self, nl: &mut Rtnl) {
        // Deleting the ingress qdisc takes its filter along; the IFB takes its qdisc along.
        if let Some(i) = self.ingress_qdisc {
            let _ = nl.ack("ingress qdisc delete", wire::qdisc_del_msg(i, INGRESS_PARENT), 0);
        }
        if let Some(name) = self.ifb {
            let _ = link::delete_by_name(nl, &name);
        }
        if let Some(i) = self.root_tbf {
            let _ = nl.ack("tbf qdisc delete", wire::qdisc_del_msg(i, ROOT), 0);
        }
    }
}

/// Shape an attachment; on any failure what this call made is removed again. The calling thread
/// must be a throwaway one (it enters both namespaces).
pub fn bandwidth_add_here(req: &BandwidthRequest) -> Result<BandwidthAddResult> {
    let clock = Psched::read()?;
    let (mut nl, hv) = host_veth(req)?;
    let mut made = Made::default();
    match shape(&mut nl, req, &hv, clock, &mut made) {
        Ok(ifb_mac) => Ok(BandwidthAddResult { host_ifname: hv.info.name, ifb_mac }),
        Err(e) => {
            made.undo(&mut nl);
            Err(e)
        }
    }
}

fn shape(nl: &mut Rtnl, req: &BandwidthRequest, hv: &Link, clock: Psched, made: &mut Made) -> Result<Option<String>> {
    let create = NLM_F_CREATE | NLM_F_EXCL;
    let index = hv.info.index;
    if let Some(s) = &req.ingress {
        nl.ack("create qdisc", wire::tbf_add_msg(index, &params(s, clock)), create)?;
        made.root_tbf = Some(index);
        fault::step(Step::BandwidthIngress);
    }
    let Some(s) = &req.egress else { return Ok(None) };
    nl.ack("adding link", wire::ifb_add_msg(&req.ifb, hv.info.mtu), create)?;
    made.ifb = Some(req.ifb.clone());
    fault::step(Step::BandwidthIfb);
    let ifb = link::by_name(nl, &req.ifb)?
        .ok_or_else(|| Failure::new(FailureKind::NotFound, "get ifb device", format!("{} vanished after it was created", req.ifb)))?;
    nl.ack("create ingress qdisc", wire::ingress_add_msg(index), create)?;
    made.ingress_qdisc = Some(index);
    nl.ack("add filter", wire::redirect_filter_msg(index, ifb.info.index), create)?;
    fault::step(Step::BandwidthRedirect);
    nl.ack("create ifb qdisc", wire::tbf_add_msg(ifb.info.index, &params(s, clock)), create)?;
    Ok(Some(ifb.info.mac))
}

/// The root qdisc of a link, from a dump of its qdiscs.
fn root_qdisc(nl: &mut Rtnl, index: u32) -> Result<Option<Qdisc>> {
    for m in nl.dump_raw("qdisc list", wire::qdisc_dump_msg(index))? {
        let q = wire::parse_qdisc(&m.buf)?;
        if q.index == index && q.parent == ROOT {
            return Ok(Some(q));
        }
    }
    Ok(None)
}

fn shape_state(nl: &mut Rtnl, link: Option<&Link>, expected: TbfParams) -> Result<ShapeState> {
    let mut st = ShapeState { link: link.map(|l| l.info.name.clone()), expected: expected.into(), ..ShapeState::default() };
    if let Some(l) = link {
        if let Some(q) = root_qdisc(nl, l.info.index)? {
            st.actual = q.tbf.map(TbfInfo::from);
            st.root_kind = Some(q.kind);
        }
    }
    Ok(st)
}

/// The shaping of an attachment as the kernel has it, beside what ADD would set, for CHECK. The
/// calling thread must be a throwaway one (it enters both namespaces).
pub fn bandwidth_inspect_here(req: &BandwidthRequest) -> Result<BandwidthInspectResult> {
    let clock = Psched::read()?;
    let (mut nl, hv) = host_veth(req)?;
    let mut out = BandwidthInspectResult { host_ifname: hv.info.name.clone(), ..BandwidthInspectResult::default() };
    if let Some(s) = &req.ingress {
        out.ingress = Some(shape_state(&mut nl, Some(&hv), params(s, clock))?);
    }
    if let Some(s) = &req.egress {
        let ifb = link::by_name(&mut nl, &req.ifb)?;
        out.egress = Some(shape_state(&mut nl, ifb.as_ref(), params(s, clock))?);
    }
    Ok(out)
}
