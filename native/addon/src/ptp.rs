//! napi exports of the ptp plugin's kernel work (fastcni_core::kernel::ptp): the veth before IPAM,
//! its configuration after, each on a short-lived thread of ours that enters the host and pod
//! namespaces. Its DEL is bridgeDel's work.

use fastcni_core as fc;
use fastcni_core::kernel::{PtpLinks, PtpVethRequest, PtpWireRequest};
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;

outcome!("Outcome of ptpVeth and ptpWire: the two ends of the veth.", PtpLinksOutcome, PtpLinks);

/// The first call of a ptp ADD, before IPAM: the veth pair, the host end `veth` + 8 random hex and
/// up, the pod end made straight into the pod under a temporary name and renamed to `ifname`
/// (down). Nothing is left on failure.
#[napi(ts_return_type = "Promise<PtpLinksOutcome>")]
pub fn ptp_veth(env: &Env, req: PtpVethRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-ptp", move || fc::kernel::ptp_veth_here(&req), PtpLinksOutcome::of)
}

/// The second call, with the IPAM result: the pod's interface configured and routed through each
/// address's gateway, the gateways and host routes on the host end, forwarding, masquerade. On a
/// failure the masquerade elements are removed; deleting the veth (after IPAM DEL) is the caller's.
#[napi(ts_return_type = "Promise<PtpLinksOutcome>")]
pub fn ptp_wire(env: &Env, req: PtpWireRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-ptp", move || fc::kernel::ptp_wire_here(&req), PtpLinksOutcome::of)
}
