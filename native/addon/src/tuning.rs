//! napi exports for the tuning plugin (fastcni_core::kernel::tuning): one call per command, each
//! on a fresh thread of ours that enters the pod's namespace.

use fastcni_core::kernel as fc;
use fastcni_core::kernel::{TuningInspectRequest, TuningInspectResult, TuningPrior, TuningRequest};
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;
use crate::outcome::BoolOutcome;

outcome!("Outcome of tuningApply: the former values of what it changed.", TuningApplyOutcome, TuningPrior);
outcome!("Outcome of tuningInspect.", TuningInspectOutcome, TuningInspectResult);

/// Tuning's ADD: write the sysctls, then set the link's attributes, in the pod's namespace; every
/// key is checked first, and a failed step puts back what was changed. Resolves to the former values.
#[napi(ts_return_type = "Promise<TuningApplyOutcome>")]
pub fn tuning_apply(env: &Env, req: TuningRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-tuning", move || fc::tuning_apply_here(&req), TuningApplyOutcome::of)
}

/// Tuning's DEL (and a failed ADD's undo): write the given values back, trying every step.
/// Resolves to false when the link is gone.
#[napi(ts_return_type = "Promise<BoolOutcome>")]
pub fn tuning_restore(env: &Env, req: TuningRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-tuning", move || fc::tuning_restore_here(&req), |r| BoolOutcome::from_result(r, |b| b))
}

/// Tuning's CHECK: the sysctls' values and the link's attributes in the pod's namespace.
#[napi(ts_return_type = "Promise<TuningInspectOutcome>")]
pub fn tuning_inspect(env: &Env, req: TuningInspectRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-tuning", move || fc::tuning_inspect_here(&req), TuningInspectOutcome::of)
}
