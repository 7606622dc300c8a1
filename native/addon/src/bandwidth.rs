//! napi exports for the bandwidth plugin's tc work (fastcni_core::kernel::tc). Both enter the pod's
//! namespace to find the host veth, so each runs on a short-lived thread of its own.

use fastcni_core as fc;
use fastcni_core::kernel::{BandwidthAddResult, BandwidthInspectResult, BandwidthRequest};
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;

outcome!("Outcome of bandwidthAdd.", BandwidthAddOutcome, BandwidthAddResult);
outcome!("Outcome of bandwidthInspect.", BandwidthInspectOutcome, BandwidthInspectResult);

/// Shape an attachment: a tbf root qdisc on the pod's host veth (ingress), and an IFB with a tbf
/// root qdisc fed by the veth's ingress qdisc and a redirecting u32 filter (egress). One call; on
/// failure what it made is removed again.
#[napi(ts_return_type = "Promise<BandwidthAddOutcome>")]
pub fn bandwidth_add(env: &Env, req: BandwidthRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-bw", move || fc::kernel::bandwidth_add_here(&req), BandwidthAddOutcome::of)
}

/// The attachment's tbf qdiscs as the kernel has them, beside what bandwidthAdd would set.
#[napi(ts_return_type = "Promise<BandwidthInspectOutcome>")]
pub fn bandwidth_inspect(env: &Env, req: BandwidthRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-bw", move || fc::kernel::bandwidth_inspect_here(&req), BandwidthInspectOutcome::of)
}
