//! napi export of the dummy plugin's link (fastcni_core::kernel::dummy), on a short-lived thread of
//! ours that enters the pod namespace. DEL is linkDel.

use fastcni_core::kernel::{self as fc, DummyRequest};
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;
use crate::tap::PodLinkOutcome;

/// The dummy plugin's link, before IPAM: a dummy link named `ifname` made in the pod's namespace,
/// left down (podIfaceConfigure addresses it and brings it up).
#[napi(ts_return_type = "Promise<PodLinkOutcome>")]
pub fn dummy_add(env: &Env, req: DummyRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-dummy", move || fc::dummy_add_here(&req), PodLinkOutcome::of)
}
