//! napi exports for the firewall plugin's nf_tables policy (table `inet fastcni-firewall`,
//! fastcni_core::kernel). Failures travel as data ({ error }) because async tasks cannot carry a
//! typed error.

use fastcni_core::kernel as fc;
use fastcni_core::kernel::{FirewallDelRequest, FirewallInspection, FirewallRequest, NftGcRequest};
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::outcome::BoolOutcome;

outcome!("Outcome of firewallInspect.", FirewallInspectOutcome, FirewallInspection);

pool_task!(FirewallAddTask, FirewallRequest, BoolOutcome, |r| BoolOutcome::from_result(fc::firewall_add(r), |()| true));
pool_task!(FirewallDelTask, FirewallDelRequest, BoolOutcome, |r| BoolOutcome::from_result(fc::firewall_del(r), |()| true));
pool_task!(FirewallGcTask, NftGcRequest, BoolOutcome, |r| BoolOutcome::from_result(fc::firewall_gc(r), |()| true));
pool_task!(FirewallInspectTask, FirewallRequest, FirewallInspectOutcome, |r| FirewallInspectOutcome::of(fc::firewall_inspect(r)));

/// Accept forwarding for the pod's addresses (replies toward it, anything from it) and apply the
/// bridge's ingress policy: one batch of set elements, after the set-up of table, chains, admin
/// chain and the network's sets when they are missing. Resolves to `{ value: true }` or `{ error }`.
#[napi]
pub fn firewall_add(req: FirewallRequest) -> AsyncTask<FirewallAddTask> {
    AsyncTask::new(FirewallAddTask(req))
}

/// Remove the attachment's elements, found by their comment (no addresses needed); idempotent.
/// The network's sets go with their last element; chains and bridge policies stay.
#[napi]
pub fn firewall_del(req: FirewallDelRequest) -> AsyncTask<FirewallDelTask> {
    AsyncTask::new(FirewallDelTask(req))
}

/// GC of one network's firewall elements: those of attachments not in `valid` go, then the
/// network's empty sets with their rules. Resolves to `{ value: true }` or `{ error }`.
#[napi]
pub fn firewall_gc(req: NftGcRequest) -> AsyncTask<FirewallGcTask> {
    AsyncTask::new(FirewallGcTask(req))
}

/// What the kernel holds for an attachment's firewall request (its addresses, the admin chain's
/// jump, the bridge's policy), for CHECK.
#[napi]
pub fn firewall_inspect(req: FirewallRequest) -> AsyncTask<FirewallInspectTask> {
    AsyncTask::new(FirewallInspectTask(req))
}
