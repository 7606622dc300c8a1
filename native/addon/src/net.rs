//! napi exports for rtnetlink work (fastcni_core): pod wiring, inspection, loopback, locks, and
//! fine-grained link/address/route/sysctl calls. Every async export resolves to { error?, value? }
//! and never rejects for a kernel failure. The pod-wiring calls and namespace creation run on a
//! short-lived thread of their own (they must setns anyway), so a kernel wait (veth deletion is
//! ~20 ms of RCU) holds no libuv pool thread and concurrent calls overlap; the small calls are
//! AsyncTasks whose core function spawns its namespace thread.

use fastcni_core as fc;
use napi::bindgen_prelude::{AsyncTask, Object, ToNapiValue};
use napi::{Env, JsDeferred, Result, Task};
use napi_derive::napi;

use crate::outcome::BoolOutcome;

/// A link as reported by the native side.
#[napi(object)]
pub struct LinkInfo {
    pub name: String,
    pub index: u32,
    pub mac: String,
    /// rtnetlink kind ("bridge", "veth", …); "" when the link has no kind (lo, physical)
    pub kind: String,
    pub mtu: u32,
    pub up: bool,
    pub promisc: bool,
    /// name of the master (bridge) this link is enslaved to, if any
    pub master: Option<String>,
    /// for a veth: ifindex of its peer (in whatever namespace the peer lives)
    pub peer_index: Option<u32>,
    pub hairpin: Option<bool>,
}

impl From<fc::LinkInfo> for LinkInfo {
    fn from(l: fc::LinkInfo) -> Self {
        LinkInfo {
            name: l.name,
            index: l.index,
            mac: l.mac,
            kind: l.kind,
            mtu: l.mtu,
            up: l.up,
            promisc: l.promisc,
            master: l.master,
            peer_index: l.peer_index,
            hairpin: l.hairpin,
        }
    }
}

/// A route as the native side applies or reports it; gw absent means on-link.
#[napi(object)]
pub struct NativeRoute {
    pub dst: String,
    pub gw: Option<String>,
    pub priority: Option<u32>,
    pub table: Option<u32>,
    pub scope: Option<u32>,
}

impl From<fc::Route> for NativeRoute {
    fn from(r: fc::Route) -> Self {
        NativeRoute { dst: r.dst, gw: r.gw, priority: r.priority, table: r.table, scope: r.scope.map(u32::from) }
    }
}

impl From<NativeRoute> for fc::Route {
    fn from(r: NativeRoute) -> Self {
        fc::Route { dst: r.dst, gw: r.gw, priority: r.priority, table: r.table, scope: r.scope.map(|s| s.min(255) as u8) }
    }
}

/// Wire one pod into a bridge: what the first stage of an ADD needs (no IPAM result).
#[napi(object)]
pub struct BridgeLinkRequest {
    /// namespace that plays the host; undefined = caller's own
    pub host_netns: Option<String>,
    pub pod_netns: String,
    pub bridge: String,
    /// MTU for a newly created bridge and both veth ends; undefined = kernel default
    pub mtu: Option<u32>,
    pub promisc: bool,
    pub vlan_filtering: bool,
    /// container-side interface name (CNI_IFNAME)
    pub ifname: String,
    /// container-side MAC; undefined = kernel-chosen
    pub mac: Option<String>,
    pub hairpin: bool,
    pub port_isolation: bool,
    /// host port VLAN set-up (only when vlanFiltering)
    pub vlan: Option<u32>,
    pub vlan_trunk: Option<Vec<u32>>,
    pub preserve_default_vlan: bool,
    /// keep IPv6 DAD on the container side (enhanced_dad) instead of disabling it
    pub enable_dad: bool,
    /// false for disableContainerInterface: leave the container link down
    pub container_up: bool,
}

/// The second stage of an ADD: what follows from the IPAM result.
#[napi(object)]
pub struct BridgeL3Request {
    /// CIDRs to put on the container interface, e.g. "10.1.0.5/24"
    pub addresses: Vec<String>,
    /// routes to add in the container, gateways already resolved by the caller
    pub routes: Vec<NativeRoute>,
    /// CIDRs to put on the bridge (gateway address with the pod prefix); with vlan ≠ 0 they go on
    /// the VLAN gateway veth `<bridge>.<vlan>` instead, created on first use (isGateway + vlan)
    pub bridge_addresses: Vec<String>,
    /// replace other addresses on the bridge instead of failing
    pub force_address: bool,
    pub forward_v4: bool,
    pub forward_v6: bool,
    /// ipMasq: add the pod's addresses to the network's masquerade set in the same call
    pub masquerade: Option<MasqOwner>,
}

/// Owner of the masquerade elements an ADD creates.
#[napi(object)]
pub struct MasqOwner {
    /// network name (selects the nf_tables set)
    pub network: String,
    /// container ID (with the ifname, the elements' comment)
    pub container_id: String,
}

impl From<MasqOwner> for fc::MasqOwner {
    fn from(m: MasqOwner) -> Self {
        fc::MasqOwner { network: m.network, container_id: m.container_id }
    }
}

fn vid(v: u32) -> u16 {
    v.min(u16::MAX as u32) as u16
}

impl From<BridgeLinkRequest> for fc::BridgeAddRequest {
    fn from(r: BridgeLinkRequest) -> Self {
        fc::BridgeAddRequest {
            host_netns: r.host_netns,
            pod_netns: r.pod_netns,
            bridge: r.bridge,
            mtu: r.mtu,
            promisc: r.promisc,
            vlan_filtering: r.vlan_filtering,
            ifname: r.ifname,
            mac: r.mac,
            hairpin: r.hairpin,
            port_isolation: r.port_isolation,
            vlan: r.vlan.map(vid),
            vlan_trunk: r.vlan_trunk.unwrap_or_default().into_iter().map(vid).collect(),
            preserve_default_vlan: r.preserve_default_vlan,
            enable_dad: r.enable_dad,
            container_up: r.container_up,
            ..Default::default()
        }
    }
}

/// The first stage's request completed with the second stage's part.
fn with_l3(link: &fc::BridgeAddRequest, l3: BridgeL3Request) -> fc::BridgeAddRequest {
    fc::BridgeAddRequest {
        addresses: l3.addresses,
        routes: l3.routes.into_iter().map(Into::into).collect(),
        bridge_addresses: l3.bridge_addresses,
        force_address: l3.force_address,
        forward_v4: l3.forward_v4,
        forward_v6: l3.forward_v6,
        masquerade: l3.masquerade.map(Into::into),
        ..link.clone()
    }
}

/// The links of a wired pod.
#[napi(object)]
pub struct BridgeAddResult {
    pub bridge: LinkInfo,
    pub host_veth: LinkInfo,
    pub container: LinkInfo,
    /// the VLAN gateway `<bridge>.<vlan>` carrying the gateway addresses, when vlan ≠ 0 and
    /// bridgeAddresses were given (the reference adds it to the result's interfaces)
    pub vlan_gateway: Option<LinkInfo>,
}

/// Unwire a pod.
#[napi(object)]
pub struct BridgeDelRequest {
    pub host_netns: Option<String>,
    /// absent or non-existent: nothing to delete in the pod
    pub pod_netns: Option<String>,
    pub ifname: String,
    /// also report the host end's name and the container MAC (keys of the spoof-check elements)
    pub name_port: Option<bool>,
    /// ipMasq: remove the masquerade elements of the link's addresses during the veth teardown
    pub masquerade: Option<MasqOwner>,
}

/// What unwiring found.
#[napi(object)]
pub struct BridgeDelResult {
    /// false when podNetns was absent or no longer exists
    pub netns_found: bool,
    /// global unicast CIDRs the container link had before deletion
    pub addresses: Vec<String>,
    /// the host end of the deleted veth, when it could be named before the deletion
    pub host_ifname: Option<String>,
    /// the deleted container link's MAC
    pub mac: Option<String>,
    /// the masquerade elements of `addresses` were removed by this call
    pub masqueraded: bool,
}

/// What to describe for CHECK.
#[napi(object)]
pub struct PodInspectRequest {
    pub host_netns: Option<String>,
    pub pod_netns: String,
    pub ifname: String,
    /// bridge to describe as well (CHECK of the bridge plugin)
    pub bridge: Option<String>,
}

/// A pod's interface as the kernel has it.
#[napi(object)]
pub struct PodInspectResult {
    pub container: Option<LinkInfo>,
    /// the host end of the container's veth, found by peer index in hostNetns
    pub host_peer: Option<LinkInfo>,
    pub bridge: Option<LinkInfo>,
    /// CIDRs on the container link (all scopes but host)
    pub addresses: Vec<String>,
    /// routes in the container's main table that use the container link
    pub routes: Vec<NativeRoute>,
}

/// lo after loopbackSet.
#[napi(object)]
pub struct LoopbackResult {
    /// lo as it is after the call
    pub link: LinkInfo,
    /// CIDRs on lo
    pub addresses: Vec<String>,
}

outcome!("Outcome of bridgeAdd.", BridgeAddOutcome, BridgeAddResult);
outcome!("Outcome of bridgeDel.", BridgeDelOutcome, BridgeDelResult);
outcome!("Outcome of podInspect.", PodInspectOutcome, PodInspectResult);
outcome!("Outcome of loopbackSet.", LoopbackOutcome, LoopbackResult);
outcome!("Outcome of lockAcquire: the lock handle.", LockOutcome, i32);
outcome!("Outcome of linkList.", LinksOutcome, Vec<LinkInfo>);
outcome!("Outcome of addrList.", StringsOutcome, Vec<String>);
outcome!("Outcome of routeList.", RoutesOutcome, Vec<NativeRoute>);
outcome!("Outcome of sysctlGet and netnsCreate.", StringOutcome, String);

type Resolver<O> = Box<dyn FnOnce(Env) -> Result<O> + Send>;

/// Settles a promise exactly once: with the outcome, or — if it is dropped unsettled because the
/// worker thread could not start — with a rejection, so the promise never hangs.
pub(crate) struct Settle<O: ToNapiValue + 'static>(Option<JsDeferred<O, Resolver<O>>>);

impl<O: ToNapiValue + Send + 'static> Settle<O> {
    pub(crate) fn resolve(mut self, out: O) {
        if let Some(d) = self.0.take() {
            d.resolve(Box::new(move |_env| Ok(out)));
        }
    }
}

impl<O: ToNapiValue + 'static> Drop for Settle<O> {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            d.reject(napi::Error::from_reason("fastcni: native worker thread could not be started"));
        }
    }
}

/// A promise settled through the [`Settle`] that `start` hands to a thread it spawns. On a spawn
/// failure the closure holding `settle` is dropped, which rejects the promise.
pub(crate) fn settled_by<'e, O>(env: &'e Env, start: impl FnOnce(Settle<O>)) -> Result<Object<'e>>
where
    O: ToNapiValue + Send + 'static,
{
    let (deferred, promise) = env.create_deferred::<O, Resolver<O>>()?;
    start(Settle(Some(deferred)));
    Ok(promise)
}

/// Run `work` on a fresh thread of ours (see fc::kernel::detached) and resolve the returned promise
/// with `outcome(result)` from that thread; the JS thread and the libuv pool only wait on the promise.
pub(crate) fn on_own_thread<'e, T, O>(
    env: &'e Env,
    name: &str,
    work: impl FnOnce() -> fc::Result<T> + Send + 'static,
    outcome: impl FnOnce(fc::Result<T>) -> O + Send + 'static,
) -> Result<Object<'e>>
where
    T: 'static,
    O: ToNapiValue + Send + 'static,
{
    settled_by(env, move |settle| {
        let _ = fc::kernel::detached(name, work, move |r| settle.resolve(outcome(r)));
    })
}

/// Like [`on_own_thread`], on a resident worker of ours parked in `host_netns` (fc::agent::run_resident):
/// sequential calls reuse its thread, socket and caches; concurrent ones get a worker each.
fn on_resident<'e, T, O>(
    env: &'e Env,
    host_netns: Option<String>,
    work: impl FnOnce(fc::Result<&mut fc::kernel::Resident>) -> fc::Result<T> + Send + 'static,
    outcome: impl FnOnce(fc::Result<T>) -> O + Send + 'static,
) -> Result<Object<'e>>
where
    T: 'static,
    O: ToNapiValue + Send + 'static,
{
    settled_by(env, move |settle| {
        let _ = fc::agent::run_resident(host_netns.as_deref(), move |res| settle.resolve(outcome(guarded(|| work(res)))));
    })
}

/// Defines an AsyncTask whose compute runs a core call (which spawns its own namespace thread)
/// and whose result is the matching outcome object.
macro_rules! task {
    ($name:ident, $outcome:ident) => {
        pub struct $name(Option<Box<dyn FnOnce() -> $outcome + Send>>);
        /// Runs the boxed core call on a libuv worker; the call itself uses a fresh thread for namespaces.
        #[napi]
        impl Task for $name {
            type Output = $outcome;
            type JsValue = $outcome;
            fn compute(&mut self) -> Result<$outcome> {
                let f = self.0.take().expect("task computed twice");
                Ok(f())
            }
            fn resolve(&mut self, _env: Env, out: $outcome) -> Result<$outcome> {
                Ok(out)
            }
        }
    };
}

task!(BoolTask, BoolOutcome);
task!(LinksTask, LinksOutcome);
task!(StringsTask, StringsOutcome);
task!(RoutesTask, RoutesOutcome);
task!(StringTask, StringOutcome);

fn bridge_add_result(r: fc::BridgeAddResult) -> BridgeAddResult {
    BridgeAddResult {
        bridge: r.bridge.into(),
        host_veth: r.host_veth.into(),
        container: r.container.into(),
        vlan_gateway: r.vlan_gateway.map(Into::into),
    }
}

/// What a staged ADD's worker is told once the caller's IPAM is done.
enum Stage {
    Finish(Box<fc::BridgeAddRequest>, Settle<BridgeAddOutcome>),
    Abort(Settle<BoolOutcome>),
}

/// An ADD under way: its first stage (bridge, veth into the pod, host port, DAD sysctls) runs on
/// a resident worker from `bridgeAddBegin` on, while the caller runs IPAM; the worker then waits
/// for `finish` (addresses, routes, gateway, masquerade) or `abort` (veth deleted). Dropped
/// without either (garbage-collected), the worker deletes the veth too.
#[napi]
pub struct BridgeAddStage {
    tx: Option<std::sync::mpsc::Sender<Stage>>,
    link: fc::BridgeAddRequest,
}

/// A worker's step, a panic in it reported as an error.
fn guarded<T>(f: impl FnOnce() -> fc::Result<T>) -> fc::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(fc::Failure::internal("thread", "namespace worker panicked")))
}

/// Start an ADD's first stage; see [`BridgeAddStage`].
#[napi]
pub fn bridge_add_begin(req: BridgeLinkRequest) -> BridgeAddStage {
    let link: fc::BridgeAddRequest = req.into();
    let (tx, rx) = std::sync::mpsc::channel::<Stage>();
    let job = link.clone();
    // If no worker can be started, the job (and rx) is dropped: finish/abort then find the
    // channel closed and reject, like every other call whose worker could not start.
    let _ = fc::agent::run_resident(job.host_netns.clone().as_deref(), move |mut res| {
        let first = guarded(|| fc::kernel::attach_resident(res.as_mut().map_err(|e| e.clone())?, &job));
        match rx.recv() {
            Ok(Stage::Finish(full, settle)) => {
                let r = first.and_then(|a| guarded(|| fc::kernel::finish_resident(res.as_mut().map_err(|e| e.clone())?, a, &full)));
                settle.resolve(BridgeAddOutcome::from_result(r, bridge_add_result));
            }
            Ok(Stage::Abort(settle)) => {
                let r = first.and_then(|a| guarded(|| a.rollback(res.as_mut().map_err(|e| e.clone())?)));
                settle.resolve(BoolOutcome::from_result(r, |()| true));
            }
            // the stage was dropped unused
            Err(_) => {
                if let (Ok(r), Ok(a)) = (res.as_mut(), first) {
                    let _ = a.rollback(r);
                }
            }
        }
    });
    BridgeAddStage { tx: Some(tx), link }
}

#[napi]
impl BridgeAddStage {
    /// The second stage with the IPAM result's part: resolves to the wired pod's links, or to the
    /// first or second stage's error (the veth deleted again). Only once per stage.
    #[napi(ts_return_type = "Promise<BridgeAddOutcome>")]
    pub fn finish<'e>(&mut self, env: &'e Env, l3: BridgeL3Request) -> Result<Object<'e>> {
        let full = Box::new(with_l3(&self.link, l3));
        let tx = self.tx.take();
        settled_by(env, move |settle| match tx {
            // a send error hands the message back: dropping its Settle rejects the promise
            Some(tx) => drop(tx.send(Stage::Finish(full, settle))),
            None => settle.resolve(BridgeAddOutcome::from_result(Err(once()), bridge_add_result)),
        })
    }

    /// Undo the first stage (delete the veth): resolves to true, or to the first stage's error.
    #[napi(ts_return_type = "Promise<BoolOutcome>")]
    pub fn abort<'e>(&mut self, env: &'e Env) -> Result<Object<'e>> {
        let tx = self.tx.take();
        settled_by(env, move |settle| match tx {
            Some(tx) => drop(tx.send(Stage::Abort(settle))),
            None => settle.resolve(BoolOutcome::from_result(Err(once()), |b| b)),
        })
    }
}

fn once() -> fc::Failure {
    fc::Failure::internal("bridgeAdd", "the ADD was already finished or aborted")
}

/// Delete the container link (idempotent), reporting the global unicast addresses it had. Runs on
/// its own thread: the kernel's ~20 ms veth teardown overlaps across concurrent calls.
#[napi(ts_return_type = "Promise<BridgeDelOutcome>")]
pub fn bridge_del(env: &Env, req: BridgeDelRequest) -> Result<Object<'_>> {
    let req = fc::BridgeDelRequest {
        host_netns: req.host_netns,
        pod_netns: req.pod_netns,
        ifname: req.ifname,
        name_port: req.name_port.unwrap_or(false),
        masquerade: req.masquerade.map(Into::into),
    };
    let host = req.host_netns.clone();
    on_resident(
        env,
        host,
        move |res| match res {
            Ok(res) => fc::kernel::bridge_del_resident(res, &req),
            // no worker in the host namespace (gone, say): DEL never needed it; this thread is ours
            // and throwaway
            Err(_) => fc::kernel::bridge_del_here(&req),
        },
        |r| {
            BridgeDelOutcome::from_result(r, |r| BridgeDelResult {
                netns_found: r.netns_found,
                addresses: r.addresses,
                host_ifname: r.host_ifname,
                mac: r.mac,
                masqueraded: r.masqueraded,
            })
        },
    )
}

/// Describe a pod's interface, its host peer and optionally the bridge, for CHECK.
#[napi(ts_return_type = "Promise<PodInspectOutcome>")]
pub fn pod_inspect(env: &Env, req: PodInspectRequest) -> Result<Object<'_>> {
    let req = fc::PodInspectRequest { host_netns: req.host_netns, pod_netns: req.pod_netns, ifname: req.ifname, bridge: req.bridge };
    on_own_thread(
        env,
        "fastcni-inspect",
        move || fc::kernel::pod_inspect_here(&req),
        |r| {
            PodInspectOutcome::from_result(r, |r| PodInspectResult {
                container: r.container.map(Into::into),
                host_peer: r.host_peer.map(Into::into),
                bridge: r.bridge.map(Into::into),
                addresses: r.addresses,
                routes: r.routes.into_iter().map(Into::into).collect(),
            })
        },
    )
}

/// Set lo up or down inside a namespace; reports lo and its addresses afterwards.
#[napi(ts_return_type = "Promise<LoopbackOutcome>")]
pub fn loopback_set(env: &Env, netns: String, up: bool) -> Result<Object<'_>> {
    on_own_thread(
        env,
        "fastcni-lo",
        move || fc::kernel::loopback_set_here(&netns, up),
        |r| LoopbackOutcome::from_result(r, |r| LoopbackResult { link: r.link.into(), addresses: r.addresses }),
    )
}

/// Take an exclusive flock on a file (created with mode 0600 if missing); resolves once held, with
/// a handle for lockRelease. The wait runs on a dedicated thread, not the libuv pool, so waiters
/// cannot starve the pool that the lock holder needs.
#[napi(ts_return_type = "Promise<LockOutcome>")]
pub fn lock_acquire(env: &Env, path: String) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-lock", move || fc::agent::lock_acquire(&path), |r| LockOutcome::from_result(r, |fd| fd))
}

/// Create a named network namespace exactly as `ip netns add NAME` does (shared /var/run/netns,
/// an empty file, a fresh namespace bind-mounted onto it); resolves to its path
/// /var/run/netns/NAME. Kinds: exists (name taken), invalid (not one file name).
#[napi(ts_return_type = "Promise<StringOutcome>")]
pub fn netns_create(env: &Env, name: String) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-netns", move || fc::kernel::create_named_here(&name), |r| StringOutcome::from_result(r, |p| p))
}

/// Delete a named network namespace as `ip netns del NAME` does (lazy unmount, unlink).
/// Kinds: notFound (no such name), invalid.
#[napi(ts_return_type = "Promise<BoolOutcome>")]
pub fn netns_delete(env: &Env, name: String) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-netns", move || fc::kernel::delete_named(&name), |r| BoolOutcome::from_result(r, |()| true))
}

/// Try to take an exclusive flock without waiting: the handle when taken, -1 when another holder
/// has it (then use lockAcquire). Synchronous: the uncontended case needs no thread hop.
#[napi]
pub fn lock_try(path: String) -> LockOutcome {
    LockOutcome::from_result(fc::agent::lock_try(&path), |h| h.unwrap_or(-1))
}

/// Release a lock taken with lockAcquire (closes its handle).
#[napi]
pub fn lock_release(handle: i32) -> BoolOutcome {
    BoolOutcome::from_result(fc::agent::lock_release(handle), |()| true)
}

/// Every link of a namespace (null/undefined = the caller's own).
#[napi]
pub fn link_list(netns: Option<String>) -> AsyncTask<LinksTask> {
    AsyncTask::new(LinksTask(Some(Box::new(move || {
        LinksOutcome::from_result(fc::kernel::link_list(netns.as_deref()), |v| v.into_iter().map(Into::into).collect())
    }))))
}

/// Delete a link by name; value false when it was already gone.
#[napi]
pub fn link_del(netns: Option<String>, name: String) -> AsyncTask<BoolTask> {
    AsyncTask::new(BoolTask(Some(Box::new(move || BoolOutcome::from_result(fc::kernel::link_del(netns.as_deref(), &name), |b| b)))))
}

/// CIDRs on one link (by name) or on every link of the namespace.
#[napi]
pub fn addr_list(netns: Option<String>, name: Option<String>) -> AsyncTask<StringsTask> {
    AsyncTask::new(StringsTask(Some(Box::new(move || {
        StringsOutcome::from_result(fc::kernel::addr_list(netns.as_deref(), name.as_deref()), |v| v)
    }))))
}

/// Unicast routes of the main table, optionally only those through one link (by name).
#[napi]
pub fn route_list(netns: Option<String>, name: Option<String>) -> AsyncTask<RoutesTask> {
    AsyncTask::new(RoutesTask(Some(Box::new(move || {
        RoutesOutcome::from_result(fc::kernel::route_list(netns.as_deref(), name.as_deref()), |v| v.into_iter().map(Into::into).collect())
    }))))
}

/// Read a net.* sysctl inside a namespace ("net.ipv4.ip_forward" or "net/ipv4/ip_forward").
#[napi]
pub fn sysctl_get(netns: Option<String>, key: String) -> AsyncTask<StringTask> {
    AsyncTask::new(StringTask(Some(Box::new(move || StringOutcome::from_result(fc::kernel::sysctl_get(netns.as_deref(), &key), |v| v)))))
}

/// Write a net.* sysctl inside a namespace.
#[napi]
pub fn sysctl_set(netns: Option<String>, key: String, value: String) -> AsyncTask<BoolTask> {
    AsyncTask::new(BoolTask(Some(Box::new(move || {
        BoolOutcome::from_result(fc::kernel::sysctl_set(netns.as_deref(), &key, &value), |()| true)
    }))))
}
