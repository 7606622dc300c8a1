//! napi exports of the vrf plugin's kernel work (fastcni_core::kernel::vrf), each on a short-lived
//! thread of ours that enters the pod namespace. CHECK reads the links with linkList.

use fastcni_core::kernel::{self as fc, VrfAddRequest, VrfDelRequest};
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;
use crate::outcome::BoolOutcome;

outcome!("Outcome of vrfAdd: the VRF's routing table.", VrfAddOutcome, u32);

/// Put the interface into the VRF (found, or created with the given or the lowest free table),
/// keeping its global IPv6 addresses and copying its routes into the VRF's table. A failure
/// releases the interface and deletes a VRF this call created.
#[napi(ts_return_type = "Promise<VrfAddOutcome>")]
pub fn vrf_add(env: &Env, req: VrfAddRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-vrf", move || fc::vrf_add_here(&req), VrfAddOutcome::of)
}

/// Release the interface from the VRF and delete the VRF when no member is left (resolves to
/// whether it was deleted). Kind netnsGone when the namespace is gone; a missing VRF or interface
/// is no failure.
#[napi(ts_return_type = "Promise<BoolOutcome>")]
pub fn vrf_del(env: &Env, req: VrfDelRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-vrf", move || fc::vrf_del_here(&req), |r| BoolOutcome::from_result(r, |b| b))
}
