//! napi export of ConfigureIface in the pod (fastcni_core::kernel::iface::configure_here), shared
//! by the plugins that make or move the pod's link before IPAM, on a short-lived thread of ours
//! that enters the pod namespace.

use fastcni_core::kernel::{self as fc, PodIfaceConfigureRequest};
use fastcni_core::LinkInfo;
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;

outcome!("Outcome of podIfaceConfigure: the link afterwards.", PodIfaceConfigureOutcome, LinkInfo);

/// In the pod, on its `ifname`: with `iface`, the reference's ConfigureIface (IPv6 enablement,
/// addresses, link up, routes, the DAD wait); without, the link only brought up. Kind notFound
/// when the pod has no such link.
#[napi(ts_return_type = "Promise<PodIfaceConfigureOutcome>")]
pub fn pod_iface_configure(env: &Env, req: PodIfaceConfigureRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-iface", move || fc::pod_iface_configure_here(&req), PodIfaceConfigureOutcome::of)
}
