//! napi exports of the overlay between nodes (fastcni_core::kernel::overlay): the cluster
//! controller's reconcile and teardown, each on a short-lived thread of ours that enters the
//! node's namespace.

use fastcni_core::kernel::{self as fc, OverlayRequest, OverlayState};
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;

outcome!("Outcome of overlaySync and overlayTeardown: the overlay after the call.", OverlayStateOutcome, OverlayState);

/// Reconcile the node's overlay with the complete peer set (idempotent): host-gw routes through
/// each peer's public address, or the vxlan device with an FDB entry, a neighbour entry and an
/// onlink route per peer. Our routes carry our own protocol number, so entries of departed peers
/// are removed and nobody else's. Bad input fails (kind invalid, the field named) before anything
/// changes; a later failure undoes what the call added.
#[napi(ts_return_type = "Promise<OverlayStateOutcome>")]
pub fn overlay_sync(env: &Env, req: OverlayRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-overlay", move || fc::overlay_sync_here(&req), OverlayStateOutcome::of)
}

/// Remove every route of ours and the vxlan device (`device`, default "fastcni.1"); only
/// `hostNetns` and `device` are read.
#[napi(ts_return_type = "Promise<OverlayStateOutcome>")]
pub fn overlay_teardown(env: &Env, req: OverlayRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-overlay", move || fc::overlay_teardown_here(&req), OverlayStateOutcome::of)
}
