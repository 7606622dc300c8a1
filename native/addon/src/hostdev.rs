//! napi exports of the host-device plugin's kernel work (fastcni_core::kernel::hostdev): the move
//! into the pod and back, each on a short-lived thread of ours that enters the node's namespace,
//! unshares a temporary one and enters the pod's.

use fastcni_core::kernel as fc;
use fastcni_core::kernel::{
    HostDeviceAddRequest, HostDeviceAddResult, HostDeviceDelRequest, HostDeviceDelResult, HostDeviceRecoverRequest, HostDeviceRecoverResult,
};
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;

outcome!("Outcome of hostDeviceAdd.", HostDeviceAddOutcome, HostDeviceAddResult);
outcome!("Outcome of hostDeviceDel.", HostDeviceDelOutcome, HostDeviceDelResult);
outcome!("Outcome of hostDeviceRecover.", HostDeviceRecoverOutcome, HostDeviceRecoverResult);

/// host-device's ADD: find the node's device (by name or MAC), move it through a temporary
/// namespace, where it is renamed to `ifname` and its node name kept as its ifalias, into the pod,
/// and set it up there; every step undone on a failure. Kind notFound with op "host device lookup"
/// when the node has no such device.
#[napi(ts_return_type = "Promise<HostDeviceAddOutcome>")]
pub fn host_device_add(env: &Env, req: HostDeviceAddRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-hostdev", move || fc::host_device_add_here(&req), HostDeviceAddOutcome::of)
}

/// host-device's DEL: move the pod's `ifname` back to the node through a temporary namespace,
/// renamed to its ifalias, the alias cleared, left down. Kind netnsGone when the pod's namespace is
/// gone; `restored` undefined when the pod has no such link. With `up` (undoing an ADD) the device
/// is set up again in the node.
#[napi(ts_return_type = "Promise<HostDeviceDelOutcome>")]
pub fn host_device_del(env: &Env, req: HostDeviceDelRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-hostdev", move || fc::host_device_del_here(&req), HostDeviceDelOutcome::of)
}

/// After a process was killed mid-move: every link of the temporary namespace pinned at `pin` back
/// to the node under its node name (its alias, or its name without one), then the pin removed.
#[napi(ts_return_type = "Promise<HostDeviceRecoverOutcome>")]
pub fn host_device_recover(env: &Env, req: HostDeviceRecoverRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-hostdev", move || fc::host_device_recover_here(&req), HostDeviceRecoverOutcome::of)
}
