//! napi exports of the sbr plugin's kernel work (fastcni_core::kernel::sbr): one call each for ADD,
//! DEL and CHECK, on a short-lived thread of ours that enters the pod namespace.

use fastcni_core as fc;
use fastcni_core::kernel::{SbrAddRequest, SbrDelRequest, SbrInspectRequest, SbrRule, SbrRuleState};
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;

outcome!("Outcome of sbrAdd and sbrDel: the rules added or removed.", SbrRulesOutcome, Vec<SbrRule>);
outcome!("Outcome of sbrInspect.", SbrInspectOutcome, Vec<SbrRuleState>);

/// Source-based routing for a pod interface: per address a table (the first free id from 100, or
/// the fixed `table`), a rule `from <address> lookup <table>`, the default route and the interface's
/// routes copied into it, then those routes removed from main. Undone entirely on a failure.
#[napi(ts_return_type = "Promise<SbrRulesOutcome>")]
pub fn sbr_add(env: &Env, req: SbrAddRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-sbr", move || fc::kernel::sbr_add_here(&req), SbrRulesOutcome::of)
}

/// Remove the rules of the interface's addresses (and of `addresses`), and with `flushTables` the
/// routes through the interface in their tables. Kind netnsGone when the namespace is gone; a
/// missing interface is no failure.
#[napi(ts_return_type = "Promise<SbrRulesOutcome>")]
pub fn sbr_del(env: &Env, req: SbrDelRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-sbr", move || fc::kernel::sbr_del_here(&req), SbrRulesOutcome::of)
}

/// CHECK's view of a pod interface: every rule with a source address, with the routes of its table
/// through the interface. Kind notFound when the interface is missing.
#[napi(ts_return_type = "Promise<SbrInspectOutcome>")]
pub fn sbr_inspect(env: &Env, req: SbrInspectRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-sbr", move || fc::kernel::sbr_inspect_here(&req), SbrInspectOutcome::of)
}
