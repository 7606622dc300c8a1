//! napi export of the tap plugin's link (fastcni_core::kernel::tap), on a short-lived thread of ours
//! that enters the pod namespace. DEL is linkDel.

use fastcni_core::kernel::{self as fc, TapRequest};
use fastcni_core::LinkInfo;
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;

outcome!("Outcome of tapAdd and dummyAdd: the pod's new link.", PodLinkOutcome, LinkInfo);

/// The tap plugin's link, before IPAM: a persistent tap made through /dev/net/tun in the pod's
/// namespace under a temporary name, renamed to `ifname` with its MTU and MAC, owner and group set,
/// enslaved to `bridge` and set up (podIfaceConfigure addresses it). Nothing is left when it fails.
#[napi(ts_return_type = "Promise<PodLinkOutcome>")]
pub fn tap_add(env: &Env, req: TapRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-tap", move || fc::tap_add_here(&req), PodLinkOutcome::of)
}
