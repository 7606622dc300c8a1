//! napi exports of the macvlan, ipvlan and vlan plugins' kernel work (fastcni_core::kernel::sublink):
//! the link made into the pod, its deletion and CHECK's view, each on a fresh thread of ours that
//! enters the namespaces.

use fastcni_core::kernel as fc;
use fastcni_core::kernel::{SublinkAddRequest, SublinkAddResult, SublinkInspectRequest, SublinkInspectResult};
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;
use crate::outcome::BoolOutcome;

outcome!("Outcome of sublinkAdd.", SublinkAddOutcome, SublinkAddResult);
outcome!("Outcome of sublinkInspect.", SublinkInspectOutcome, SublinkInspectResult);

/// A macvlan, ipvlan or vlan link on its master (by name, or the default route's interface), made
/// under a temporary name straight into the pod namespace and renamed to `ifname` there; left down.
/// Kind invalid (naming the field) for a bad mode, VLAN id, MAC or an MTU above the master's; kind
/// notFound when the master is missing.
#[napi(ts_return_type = "Promise<SublinkAddOutcome>")]
pub fn sublink_add(env: &Env, req: SublinkAddRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-sublink", move || fc::sublink_add_here(&req), SublinkAddOutcome::of)
}

/// Delete the pod's link; false when it was already gone, kind netnsGone when the namespace is.
#[napi(ts_return_type = "Promise<BoolOutcome>")]
pub fn sublink_del(env: &Env, pod_netns: String, ifname: String) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-sublink", move || fc::sublink_del_here(&pod_netns, &ifname), |r| BoolOutcome::from_result(r, |b| b))
}

/// CHECK's view: whether the master is there, and the pod's link with its kind, mode, VLAN id,
/// addresses and the pod's routes.
#[napi(ts_return_type = "Promise<SublinkInspectOutcome>")]
pub fn sublink_inspect(env: &Env, req: SublinkInspectRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-sublink", move || fc::sublink_inspect_here(&req), SublinkInspectOutcome::of)
}
