//! napi exports for pod masquerading and the bridge MAC spoof check through nf_tables sets
//! (fastcni_core::kernel).
//! Failures travel as data ({ error }) because async tasks cannot carry a typed error.

use fastcni_core::kernel as nft;
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::outcome::BoolOutcome;

/// One attachment's masquerade request.
#[napi(object)]
pub struct MasqRequest {
    /// namespace that plays the host (path); undefined = the caller's own
    pub host_netns: Option<String>,
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    /// pod CIDRs (address/prefix); on DEL may be empty: then the attachment's elements are found by their comment
    pub addresses: Vec<String>,
}

/// One element of our masquerade sets; `address` is address/prefix (the prefix of its subnet).
#[napi(object)]
pub struct MasqEntry {
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    pub address: String,
}

outcome!("Outcome of masqList.", MasqListOutcome, Vec<MasqEntry>);

fn core_req(r: &MasqRequest) -> nft::MasqRequest {
    nft::MasqRequest {
        host_netns: r.host_netns.clone(),
        network: r.network.clone(),
        container_id: r.container_id.clone(),
        ifname: r.ifname.clone(),
        addresses: r.addresses.clone(),
    }
}

fn masq_entry(e: nft::MasqEntry) -> MasqEntry {
    MasqEntry { network: e.network, container_id: e.container_id, ifname: e.ifname, address: e.address }
}

/// (hostNetns, network) of a list call.
type ListScope = (Option<String>, Option<String>);

pool_task!(MasqAddTask, nft::MasqRequest, BoolOutcome, |r| BoolOutcome::from_result(nft::masq_add(r), |()| true));
pool_task!(MasqDelTask, nft::MasqRequest, BoolOutcome, |r| BoolOutcome::from_result(nft::masq_del(r), |()| true));
pool_task!(MasqListTask, ListScope, MasqListOutcome, |s| MasqListOutcome::from_result(
    nft::masq_list(s.0.as_deref(), s.1.as_deref()),
    |v| v.into_iter().map(masq_entry).collect()
));

/// Add the pod's addresses to our nf_tables masquerade sets (table `inet fastcni`), creating the
/// table, chain, per-network set and rule on first use. One netlink batch per address when the
/// network is already set up. Resolves to `{ value: true }` or `{ error }`.
#[napi]
pub fn masq_add(req: MasqRequest) -> AsyncTask<MasqAddTask> {
    AsyncTask::new(MasqAddTask(core_req(&req)))
}

/// Remove the pod's addresses from our masquerade sets; idempotent (missing element, set or
/// table is success). With no addresses, the attachment's elements are found by their comment.
#[napi]
pub fn masq_del(req: MasqRequest) -> AsyncTask<MasqDelTask> {
    AsyncTask::new(MasqDelTask(core_req(&req)))
}

/// List the elements of our masquerade sets (all networks, or one) in `hostNetns`.
#[napi]
pub fn masq_list(host_netns: Option<String>, network: Option<String>) -> AsyncTask<MasqListTask> {
    AsyncTask::new(MasqListTask((host_netns, network)))
}

/// Guard a pod's host port against MAC spoofing (bridge `macspoofchk`).
#[napi(object)]
pub struct SpoofCheckAddRequest {
    /// namespace that plays the host (path); undefined = the caller's own
    pub host_netns: Option<String>,
    /// CNI network name; each network has its own pair of sets
    pub network: String,
    /// the pod's host-side veth (the bridge port)
    pub host_ifname: String,
    /// the container interface's MAC (aa:bb:cc:dd:ee:ff): the only source MAC allowed from the port
    pub mac: String,
    pub container_id: String,
    pub ifname: String,
}

/// Remove an attachment's spoof-check elements.
#[napi(object)]
pub struct SpoofCheckDelRequest {
    pub host_netns: Option<String>,
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    /// when given, only elements of this host port are removed; elements are always matched by
    /// their comment `<containerId>/<ifname>`
    pub host_ifname: Option<String>,
    /// the container MAC; with hostIfname the elements are looked up by key (no listing)
    pub mac: Option<String>,
}

/// One guarded port; `mac` is "" when only the port element exists.
#[napi(object)]
pub struct SpoofCheckEntry {
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    pub host_ifname: String,
    pub mac: String,
}

outcome!("Outcome of spoofCheckList.", SpoofCheckListOutcome, Vec<SpoofCheckEntry>);

fn spoof_entry(e: nft::SpoofEntry) -> SpoofCheckEntry {
    SpoofCheckEntry { network: e.network, container_id: e.container_id, ifname: e.ifname, host_ifname: e.host_ifname, mac: e.mac }
}

pool_task!(SpoofAddTask, nft::SpoofAddRequest, BoolOutcome, |r| BoolOutcome::from_result(nft::spoof_add(r), |()| true));
pool_task!(SpoofDelTask, nft::SpoofDelRequest, BoolOutcome, |r| BoolOutcome::from_result(nft::spoof_del(r), |()| true));
pool_task!(SpoofListTask, ListScope, SpoofCheckListOutcome, |s| SpoofCheckListOutcome::from_result(
    nft::spoof_list(s.0.as_deref(), s.1.as_deref()),
    |v| v.into_iter().map(spoof_entry).collect()
));

/// Allow only `mac` as source MAC of frames entering the bridge from `hostIfname` (table
/// `bridge fastcni`, chain `prerouting`, the network's sets `spoof-if-*` / `spoof-mac-*`), creating
/// the table, chain, sets and rule on first use. One netlink batch of two elements when the
/// network is already set up. Resolves to `{ value: true }` or `{ error }`.
#[napi]
pub fn spoof_check_add(req: SpoofCheckAddRequest) -> AsyncTask<SpoofAddTask> {
    AsyncTask::new(SpoofAddTask(nft::SpoofAddRequest {
        host_netns: req.host_netns,
        network: req.network,
        host_ifname: req.host_ifname,
        mac: req.mac,
        container_id: req.container_id,
        ifname: req.ifname,
    }))
}

/// Remove the attachment's spoof-check elements, found by their comment; idempotent (missing
/// elements, sets or table are success). Needs only the host namespace, not the pod's.
#[napi]
pub fn spoof_check_del(req: SpoofCheckDelRequest) -> AsyncTask<SpoofDelTask> {
    AsyncTask::new(SpoofDelTask(nft::SpoofDelRequest {
        host_netns: req.host_netns,
        network: req.network,
        container_id: req.container_id,
        ifname: req.ifname,
        host_ifname: req.host_ifname,
        mac: req.mac,
    }))
}

/// List the guarded ports (all networks, or one) in `hostNetns`.
#[napi]
pub fn spoof_check_list(host_netns: Option<String>, network: Option<String>) -> AsyncTask<SpoofListTask> {
    AsyncTask::new(SpoofListTask((host_netns, network)))
}
