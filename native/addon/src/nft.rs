//! napi exports for pod masquerading and the bridge MAC spoof check through nf_tables sets
//! (fastcni_core::nft).
//! Failures travel as data ({ error }) because async tasks cannot carry a typed error.

use fastcni_core::error::Failure;
use fastcni_core::nft;
use napi::{bindgen_prelude::AsyncTask, Env, Result, Task};
use napi_derive::napi;

/// A failure reported by the native addon, as data.
#[napi(object)]
#[derive(Clone)]
pub struct NativeFailure {
    /// stable class: notFound, exists, netnsGone, invalid, busy, permission, timeout, kernel, internal
    pub kind: String,
    /// the native operation that failed, e.g. "masq add"
    pub op: String,
    pub errno: i32,
    pub message: String,
}

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

/// Outcome of masqAdd / masqDel: `value` is true on success, `error` set on failure.
#[napi(object)]
pub struct MasqOutcome {
    pub error: Option<NativeFailure>,
    pub value: Option<bool>,
}

/// Outcome of masqList.
#[napi(object)]
pub struct MasqListOutcome {
    pub error: Option<NativeFailure>,
    pub value: Option<Vec<MasqEntry>>,
}

fn core_req(r: &MasqRequest) -> nft::MasqRequest {
    nft::MasqRequest {
        host_netns: r.host_netns.clone(),
        network: r.network.clone(),
        container_id: r.container_id.clone(),
        ifname: r.ifname.clone(),
        addresses: r.addresses.clone(),
    }
}

fn bool_outcome(r: std::result::Result<(), Failure>) -> MasqOutcome {
    match r {
        Ok(()) => MasqOutcome {
            error: None,
            value: Some(true),
        },
        Err(e) => MasqOutcome {
            error: Some(e.into()),
            value: None,
        },
    }
}

pub struct MasqAddTask(nft::MasqRequest);

#[napi]
impl Task for MasqAddTask {
    type Output = MasqOutcome;
    type JsValue = MasqOutcome;
    fn compute(&mut self) -> Result<MasqOutcome> {
        Ok(bool_outcome(nft::masq_add(&self.0)))
    }
    fn resolve(&mut self, _env: Env, out: MasqOutcome) -> Result<MasqOutcome> {
        Ok(out)
    }
}

pub struct MasqDelTask(nft::MasqRequest);

#[napi]
impl Task for MasqDelTask {
    type Output = MasqOutcome;
    type JsValue = MasqOutcome;
    fn compute(&mut self) -> Result<MasqOutcome> {
        Ok(bool_outcome(nft::masq_del(&self.0)))
    }
    fn resolve(&mut self, _env: Env, out: MasqOutcome) -> Result<MasqOutcome> {
        Ok(out)
    }
}

pub struct MasqListTask {
    host_netns: Option<String>,
    network: Option<String>,
}

#[napi]
impl Task for MasqListTask {
    type Output = MasqListOutcome;
    type JsValue = MasqListOutcome;
    fn compute(&mut self) -> Result<MasqListOutcome> {
        Ok(
            match nft::masq_list(self.host_netns.as_deref(), self.network.as_deref()) {
                Ok(v) => MasqListOutcome {
                    error: None,
                    value: Some(
                        v.into_iter()
                            .map(|e| MasqEntry {
                                network: e.network,
                                container_id: e.container_id,
                                ifname: e.ifname,
                                address: e.address,
                            })
                            .collect(),
                    ),
                },
                Err(e) => MasqListOutcome {
                    error: Some(e.into()),
                    value: None,
                },
            },
        )
    }
    fn resolve(&mut self, _env: Env, out: MasqListOutcome) -> Result<MasqListOutcome> {
        Ok(out)
    }
}

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
    AsyncTask::new(MasqListTask {
        host_netns,
        network,
    })
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

/// Outcome of spoofCheckAdd / spoofCheckDel: `value` is true on success, `error` set on failure.
#[napi(object)]
pub struct SpoofCheckOutcome {
    pub error: Option<NativeFailure>,
    pub value: Option<bool>,
}

/// Outcome of spoofCheckList.
#[napi(object)]
pub struct SpoofCheckListOutcome {
    pub error: Option<NativeFailure>,
    pub value: Option<Vec<SpoofCheckEntry>>,
}

fn spoof_outcome(r: std::result::Result<(), Failure>) -> SpoofCheckOutcome {
    match r {
        Ok(()) => SpoofCheckOutcome {
            error: None,
            value: Some(true),
        },
        Err(e) => SpoofCheckOutcome {
            error: Some(e.into()),
            value: None,
        },
    }
}

pub struct SpoofAddTask(nft::SpoofAddRequest);

#[napi]
impl Task for SpoofAddTask {
    type Output = SpoofCheckOutcome;
    type JsValue = SpoofCheckOutcome;
    fn compute(&mut self) -> Result<SpoofCheckOutcome> {
        Ok(spoof_outcome(nft::spoof_add(&self.0)))
    }
    fn resolve(&mut self, _env: Env, out: SpoofCheckOutcome) -> Result<SpoofCheckOutcome> {
        Ok(out)
    }
}

pub struct SpoofDelTask(nft::SpoofDelRequest);

#[napi]
impl Task for SpoofDelTask {
    type Output = SpoofCheckOutcome;
    type JsValue = SpoofCheckOutcome;
    fn compute(&mut self) -> Result<SpoofCheckOutcome> {
        Ok(spoof_outcome(nft::spoof_del(&self.0)))
    }
    fn resolve(&mut self, _env: Env, out: SpoofCheckOutcome) -> Result<SpoofCheckOutcome> {
        Ok(out)
    }
}

pub struct SpoofListTask {
    host_netns: Option<String>,
    network: Option<String>,
}

#[napi]
impl Task for SpoofListTask {
    type Output = SpoofCheckListOutcome;
    type JsValue = SpoofCheckListOutcome;
    fn compute(&mut self) -> Result<SpoofCheckListOutcome> {
        Ok(
            match nft::spoof_list(self.host_netns.as_deref(), self.network.as_deref()) {
                Ok(v) => SpoofCheckListOutcome {
                    error: None,
                    value: Some(
                        v.into_iter()
                            .map(|e| SpoofCheckEntry {
                                network: e.network,
                                container_id: e.container_id,
                                ifname: e.ifname,
                                host_ifname: e.host_ifname,
                                mac: e.mac,
                            })
                            .collect(),
                    ),
                },
                Err(e) => SpoofCheckListOutcome {
                    error: Some(e.into()),
                    value: None,
                },
            },
        )
    }
    fn resolve(&mut self, _env: Env, out: SpoofCheckListOutcome) -> Result<SpoofCheckListOutcome> {
        Ok(out)
    }
}

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
    }))
}

/// List the guarded ports (all networks, or one) in `hostNetns`.
#[napi]
pub fn spoof_check_list(
    host_netns: Option<String>,
    network: Option<String>,
) -> AsyncTask<SpoofListTask> {
    AsyncTask::new(SpoofListTask {
        host_netns,
        network,
    })
}
