//! napi exports for rtnetlink work (fastcni_core): pod wiring, inspection, loopback, locks, and
//! fine-grained link/address/route/sysctl calls. Every async export resolves to { error?, value? }
//! and never rejects for a kernel failure. The pod-wiring calls (bridgeAddBegin, bridgeDel) run on
//! a resident worker parked in the host namespace (fc::agent::run_resident); inspection, loopback,
//! namespace creation and lock waits on a short-lived thread of their own (they must setns, or may
//! wait long). So a kernel wait (a veth deletion waits for an RCU grace period) holds no libuv pool
//! thread and concurrent calls overlap; the small calls are AsyncTasks on the libuv pool whose core
//! function spawns its namespace thread.

use fastcni_core as fc;
use fastcni_core::{
    BridgeAddResult, BridgeDelRequest, BridgeDelResult, BridgeL3Request, BridgeLinkRequest, LinkInfo, LoopbackResult, PodInspectRequest,
    PodInspectResult, Route,
};
use napi::bindgen_prelude::{AsyncTask, Object, ToNapiValue};
use napi::{Env, JsDeferred, Result, Task};
use napi_derive::napi;

use crate::outcome::BoolOutcome;

outcome!("Outcome of bridgeAdd.", BridgeAddOutcome, BridgeAddResult);
outcome!("Outcome of bridgeDel.", BridgeDelOutcome, BridgeDelResult);
outcome!("Outcome of podInspect.", PodInspectOutcome, PodInspectResult);
outcome!("Outcome of loopbackSet.", LoopbackOutcome, LoopbackResult);
outcome!("Outcome of lockAcquire: the lock handle.", LockOutcome, i32);
outcome!("Outcome of linkList.", LinksOutcome, Vec<LinkInfo>);
outcome!("Outcome of addrList.", StringsOutcome, Vec<String>);
outcome!("Outcome of routeList.", RoutesOutcome, Vec<Route>);
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

/// What a staged ADD's worker is told once the caller's IPAM is done.
enum Stage {
    Finish(Box<BridgeL3Request>, Settle<BridgeAddOutcome>),
    Abort(Settle<BoolOutcome>),
}

/// An ADD under way: its first stage (bridge, veth into the pod, host port, DAD sysctls) runs on
/// a resident worker from `bridgeAddBegin` on, while the caller runs IPAM; the worker then waits
/// for `finish` (addresses, routes, gateway, masquerade, spoof check) or `abort` (veth deleted).
/// Dropped without either (garbage-collected), the worker deletes the veth too.
#[napi]
pub struct BridgeAddStage {
    tx: Option<std::sync::mpsc::Sender<Stage>>,
}

/// A worker's step, a panic in it reported as an error.
fn guarded<T>(f: impl FnOnce() -> fc::Result<T>) -> fc::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(fc::Failure::internal("thread", "namespace worker panicked")))
}

/// Start an ADD's first stage; see [`BridgeAddStage`].
#[napi]
pub fn bridge_add_begin(req: BridgeLinkRequest) -> BridgeAddStage {
    let (tx, rx) = std::sync::mpsc::channel::<Stage>();
    let host = req.host_netns.clone();
    // If no worker can be started, the job (and rx) is dropped: finish/abort then find the
    // channel closed and reject, like every other call whose worker could not start.
    let _ = fc::agent::run_resident(host.as_deref(), move |mut res| {
        let first = guarded(|| fc::kernel::attach_resident(res.as_mut().map_err(|e| e.clone())?, req));
        match rx.recv() {
            Ok(Stage::Finish(l3, settle)) => {
                let r = first.and_then(|a| guarded(|| fc::kernel::finish_resident(res.as_mut().map_err(|e| e.clone())?, a, *l3)));
                settle.resolve(BridgeAddOutcome::of(r));
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
    BridgeAddStage { tx: Some(tx) }
}

#[napi]
impl BridgeAddStage {
    /// The second stage with the IPAM result's part: resolves to the wired pod's links, or to the
    /// first or second stage's error (the veth deleted again). Only once per stage.
    #[napi(ts_return_type = "Promise<BridgeAddOutcome>")]
    pub fn finish<'e>(&mut self, env: &'e Env, l3: BridgeL3Request) -> Result<Object<'e>> {
        let tx = self.tx.take();
        settled_by(env, move |settle| match tx {
            // a send error hands the message back: dropping its Settle rejects the promise
            Some(tx) => drop(tx.send(Stage::Finish(Box::new(l3), settle))),
            None => settle.resolve(BridgeAddOutcome::of(Err(once()))),
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
/// a resident worker, off the libuv pool: the kernel's veth teardown (an RCU grace period)
/// overlaps across concurrent calls.
#[napi(ts_return_type = "Promise<BridgeDelOutcome>")]
pub fn bridge_del(env: &Env, req: BridgeDelRequest) -> Result<Object<'_>> {
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
        BridgeDelOutcome::of,
    )
}

/// Describe a pod's interface, its host peer and optionally the bridge, for CHECK.
#[napi(ts_return_type = "Promise<PodInspectOutcome>")]
pub fn pod_inspect(env: &Env, req: PodInspectRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-inspect", move || fc::kernel::pod_inspect_here(&req), PodInspectOutcome::of)
}

/// Set lo up or down inside a namespace; reports lo and its addresses afterwards.
#[napi(ts_return_type = "Promise<LoopbackOutcome>")]
pub fn loopback_set(env: &Env, netns: String, up: bool) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-lo", move || fc::kernel::loopback_set_here(&netns, up), LoopbackOutcome::of)
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
    AsyncTask::new(LinksTask(Some(Box::new(move || LinksOutcome::of(fc::kernel::link_list(netns.as_deref()))))))
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
    AsyncTask::new(RoutesTask(Some(Box::new(move || RoutesOutcome::of(fc::kernel::route_list(netns.as_deref(), name.as_deref()))))))
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
