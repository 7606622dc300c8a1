//! napi exports for pod masquerading and the bridge MAC spoof check through nf_tables sets
//! (fastcni_core::kernel). Failures travel as data ({ error }) because async tasks cannot carry a
//! typed error.

use fastcni_core::kernel as fc;
use fastcni_core::kernel::{
    MasqEntry, MasqRequest, NftGcRequest, ReferenceCleanup, ReferenceDelRequest, ReferenceGcRequest, ReferencePrepareRequest,
    SpoofCheckAddRequest, SpoofCheckDelRequest, SpoofCheckEntry,
};
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::outcome::BoolOutcome;

outcome!("Outcome of masqList.", MasqListOutcome, Vec<MasqEntry>);
outcome!("Outcome of spoofCheckList.", SpoofCheckListOutcome, Vec<SpoofCheckEntry>);
outcome!("Outcome of referenceDel and referenceGc.", ReferenceOutcome, ReferenceCleanup);

/// (hostNetns, network) of a list call.
type ListScope = (Option<String>, Option<String>);

pool_task!(MasqAddTask, MasqRequest, BoolOutcome, |r| BoolOutcome::from_result(fc::masq_add(r), |()| true));
pool_task!(MasqDelTask, MasqRequest, BoolOutcome, |r| BoolOutcome::from_result(fc::masq_del(r), |()| true));
pool_task!(MasqGcTask, NftGcRequest, BoolOutcome, |r| BoolOutcome::from_result(fc::masq_gc(r), |()| true));
pool_task!(MasqListTask, ListScope, MasqListOutcome, |s| MasqListOutcome::of(fc::masq_list(s.0.as_deref(), s.1.as_deref())));
pool_task!(SpoofAddTask, SpoofCheckAddRequest, BoolOutcome, |r| BoolOutcome::from_result(fc::spoof_add(r), |()| true));
pool_task!(SpoofDelTask, SpoofCheckDelRequest, BoolOutcome, |r| BoolOutcome::from_result(fc::spoof_del(r), |()| true));
pool_task!(SpoofGcTask, NftGcRequest, BoolOutcome, |r| BoolOutcome::from_result(fc::spoof_gc(r), |()| true));
pool_task!(ReferenceDelTask, ReferenceDelRequest, ReferenceOutcome, |r| ReferenceOutcome::of(fc::reference_del(r)));
pool_task!(ReferenceGcTask, ReferenceGcRequest, ReferenceOutcome, |r| ReferenceOutcome::of(fc::reference_gc(r)));
outcome!("Outcome of referencePrepare: the chains made.", ReferencePrepareOutcome, Vec<String>);
pool_task!(ReferencePrepareTask, ReferencePrepareRequest, ReferencePrepareOutcome, |r| ReferencePrepareOutcome::of(fc::reference_prepare(
    r
)));
pool_task!(SpoofListTask, ListScope, SpoofCheckListOutcome, |s| SpoofCheckListOutcome::of(fc::spoof_list(s.0.as_deref(), s.1.as_deref())));

/// Add the pod's addresses to our nf_tables masquerade sets (table `inet fastcni`), creating the
/// table, chain, per-network set and rule on first use. One netlink batch per address when the
/// network is already set up. Resolves to `{ value: true }` or `{ error }`.
#[napi]
pub fn masq_add(req: MasqRequest) -> AsyncTask<MasqAddTask> {
    AsyncTask::new(MasqAddTask(req))
}

/// Remove the pod's addresses from our masquerade sets; idempotent (missing element, set or
/// table is success). With no addresses, the attachment's elements are found by their comment.
/// A set left empty goes with the rule that uses it.
#[napi]
pub fn masq_del(req: MasqRequest) -> AsyncTask<MasqDelTask> {
    AsyncTask::new(MasqDelTask(req))
}

/// GC of one network's masquerade elements: those of attachments not in `valid` go, then the
/// network's empty sets with their rules. Resolves to `{ value: true }` or `{ error }`.
#[napi]
pub fn masq_gc(req: NftGcRequest) -> AsyncTask<MasqGcTask> {
    AsyncTask::new(MasqGcTask(req))
}

/// List the elements of our masquerade sets (all networks, or one) in `hostNetns`.
#[napi]
pub fn masq_list(host_netns: Option<String>, network: Option<String>) -> AsyncTask<MasqListTask> {
    AsyncTask::new(MasqListTask((host_netns, network)))
}

/// Allow only `mac` as source MAC of frames entering the bridge from `hostIfname` (table
/// `bridge fastcni`, chain `prerouting`, the network's sets `spoof-if-*` / `spoof-mac-*`), creating
/// the table, chain, sets and rule on first use. One netlink batch of two elements when the
/// network is already set up. Resolves to `{ value: true }` or `{ error }`.
#[napi]
pub fn spoof_check_add(req: SpoofCheckAddRequest) -> AsyncTask<SpoofAddTask> {
    AsyncTask::new(SpoofAddTask(req))
}

/// Remove the attachment's spoof-check elements, found by their comment; idempotent (missing
/// elements, sets or table are success). Needs only the host namespace, not the pod's. The
/// network's sets and rule go with its last elements.
#[napi]
pub fn spoof_check_del(req: SpoofCheckDelRequest) -> AsyncTask<SpoofDelTask> {
    AsyncTask::new(SpoofDelTask(req))
}

/// GC of one network's spoof-check elements: those of attachments not in `valid` go, then the
/// network's sets and rule if they are left empty. Resolves to `{ value: true }` or `{ error }`.
#[napi]
pub fn spoof_check_gc(req: NftGcRequest) -> AsyncTask<SpoofGcTask> {
    AsyncTask::new(SpoofGcTask(req))
}

/// List the guarded ports (all networks, or one) in `hostNetns`.
#[napi]
pub fn spoof_check_list(host_netns: Option<String>, network: Option<String>) -> AsyncTask<SpoofListTask> {
    AsyncTask::new(SpoofListTask((host_netns, network)))
}

/// Remove the reference plugins' nf_tables objects of one attachment (masquerade chain and rules,
/// portmap chains and rules, spoof-check chains), found by the names and comments the reference
/// gives them; idempotent. Resolves to what went and the iptables-legacy tables it cannot reach.
#[napi]
pub fn reference_del(req: ReferenceDelRequest) -> AsyncTask<ReferenceDelTask> {
    AsyncTask::new(ReferenceDelTask(req))
}

/// GC of one network's reference masquerade and iptables portmap objects: those of containers
/// not in `valid` go.
#[napi]
pub fn reference_gc(req: ReferenceGcRequest) -> AsyncTask<ReferenceGcTask> {
    AsyncTask::new(ReferenceGcTask(req))
}

/// Hand a masqueraded pod of ours back to the reference plugins: the empty masquerade chain their
/// iptables teardown needs to find (`fastcni handback`). Idempotent.
#[napi]
pub fn reference_prepare(req: ReferencePrepareRequest) -> AsyncTask<ReferencePrepareTask> {
    AsyncTask::new(ReferencePrepareTask(req))
}
