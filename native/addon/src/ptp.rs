//! napi export of the ptp plugin's kernel work (fastcni_core::kernel::ptp): one call for ADD, on a
//! short-lived thread of ours that enters the host and pod namespaces. Its DEL is bridgeDel's work.

use fastcni_core as fc;
use fastcni_core::kernel::{PtpAddRequest, PtpAddResult};
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;

outcome!("Outcome of ptpAdd.", PtpAddOutcome, PtpAddResult);

/// Wire a pod with ptp after its IPAM: the veth pair (host end `veth` + 8 random hex, pod end
/// `ifname` straight in the pod), the pod's interface configured and routed through each address's
/// gateway, the gateways and host routes on the host end, forwarding, masquerade. Undone entirely
/// on a failure.
#[napi(ts_return_type = "Promise<PtpAddOutcome>")]
pub fn ptp_add(env: &Env, req: PtpAddRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-ptp", move || fc::kernel::ptp_add_here(&req), PtpAddOutcome::of)
}
