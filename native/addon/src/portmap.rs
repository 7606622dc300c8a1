//! napi exports for the portmap plugin: host ports in nf_tables maps (fastcni_core::kernel,
//! nft/portmap.rs) plus the host-side work of an ADD. Failures travel as data ({ error }).

use fastcni_core::kernel as fc;
use fastcni_core::kernel::{NftGcRequest, PortmapAddResult, PortmapEntry, PortmapRequest};
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::outcome::BoolOutcome;

outcome!("Outcome of portmapAdd.", PortmapAddOutcome, PortmapAddResult);
outcome!("Outcome of portmapList.", PortmapListOutcome, Vec<PortmapEntry>);
outcome!("Outcome of portmapCheck: what is wrong, one line per element (empty: all there).", PortmapCheckOutcome, Vec<String>);

pool_task!(PortmapAddTask, PortmapRequest, PortmapAddOutcome, |r| PortmapAddOutcome::of(fc::portmap_add(r)));
pool_task!(PortmapDelTask, PortmapRequest, BoolOutcome, |r| BoolOutcome::from_result(fc::portmap_unmap(r), |()| true));
pool_task!(PortmapCheckTask, PortmapRequest, PortmapCheckOutcome, |r| PortmapCheckOutcome::of(fc::portmap_check(r)));
pool_task!(PortmapGcTask, NftGcRequest, BoolOutcome, |r| BoolOutcome::from_result(fc::portmap_gc(r), |()| true));
pool_task!(PortmapListTask, (Option<String>, Option<String>), PortmapListOutcome, |s| PortmapListOutcome::of(fc::portmap_list(
    s.0.as_deref(),
    s.1.as_deref()
)));

/// Map an attachment's host ports to its pod addresses: one nf_tables batch of elements into the
/// maps of tables `ip fastcni-portmap` / `ip6 fastcni-portmap` (created on first use), then stale
/// UDP conntrack entries of the mapped ports deleted and, for IPv4 with snat, route_localnet set
/// on the host interface that routes to the pod. A host port that another attachment holds is
/// refused (kind `exists`) and nothing is added.
#[napi]
pub fn portmap_add(req: PortmapRequest) -> AsyncTask<PortmapAddTask> {
    AsyncTask::new(PortmapAddTask(req))
}

/// Remove the attachment's elements; idempotent. With its addresses and mappings, by key; with
/// addresses, snat and no mappings, nothing when its masquerade element is not there; otherwise
/// found by their comment (neither mappings nor addresses needed).
#[napi]
pub fn portmap_del(req: PortmapRequest) -> AsyncTask<PortmapDelTask> {
    AsyncTask::new(PortmapDelTask(req))
}

/// CHECK: every element an ADD of `req` makes must be there, owned by the attachment and leading
/// to the same pod address and port. Resolves to the problems found, one line each.
#[napi]
pub fn portmap_check(req: PortmapRequest) -> AsyncTask<PortmapCheckTask> {
    AsyncTask::new(PortmapCheckTask(req))
}

/// GC of one network's portmap elements: those of attachments not in `valid` go.
#[napi]
pub fn portmap_gc(req: NftGcRequest) -> AsyncTask<PortmapGcTask> {
    AsyncTask::new(PortmapGcTask(req))
}

/// List the elements of our portmap maps and sets (all networks, or one) in `hostNetns`.
#[napi]
pub fn portmap_list(host_netns: Option<String>, network: Option<String>) -> AsyncTask<PortmapListTask> {
    AsyncTask::new(PortmapListTask((host_netns, network)))
}
