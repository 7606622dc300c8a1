//! Test-only fault injection inside the coarse native calls: at the end of each step — a bridge
//! ADD's phases ([`crate::phase::Phase`]) and the [`Step`]s of other calls that make several kernel
//! changes — the process SIGKILLs itself if the request being served armed that step. Inert unless the process was started with
//! FASTCNI_FAULT_INJECTION=1: then a point costs one load of a flag that is false.
//!
//! The JavaScript side (src/faults.ts) knows which request a call serves; it arms the next
//! dispatch on its own thread ([`arm_next`]), and the dispatch ([`carry`]) hands the armed point
//! to the worker thread that does the call's work ([`Armed::install`]), so a point armed for one
//! request never fires for a concurrent one.

use std::cell::RefCell;
use std::io::Write;
use std::sync::LazyLock;

/// Whether this process was started with fault injection enabled (read once).
static ENABLED: LazyLock<bool> = LazyLock::new(|| std::env::var_os("FASTCNI_FAULT_INJECTION").is_some_and(|v| v == "1"));

/// What a request armed: the point that kills, and a file that records every point passed.
#[derive(Clone, Debug, Default)]
pub struct Armed {
    pub point: Option<String>,
    pub trace: Option<String>,
}

thread_local! {
    /// On the JavaScript thread: what the next dispatch carries.
    static NEXT: RefCell<Option<Armed>> = const { RefCell::new(None) };
    /// On a worker thread: what the call it runs armed.
    static CURRENT: RefCell<Option<Armed>> = const { RefCell::new(None) };
}

/// Steps inside native calls other than the bridge ADD (whose steps are its phases).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// ptpWire: the pod's interface configured and routed
    PtpPodSide,
    /// ptpWire: the host end's gateway addresses and host routes
    PtpHostRoutes,
    /// ptpWire: forwarding enabled (the masquerade elements follow)
    PtpForward,
    /// bandwidthAdd: the tbf root qdisc on the host veth
    BandwidthIngress,
    /// bandwidthAdd: the IFB created
    BandwidthIfb,
    /// bandwidthAdd: the host veth's ingress qdisc and its redirect to the IFB (its tbf follows)
    BandwidthRedirect,
    /// hostDeviceAdd: the device moved into the (pinned) temporary namespace
    HostDeviceAddToTemp,
    /// hostDeviceAdd: its node name set as its alias
    HostDeviceAddAlias,
    /// hostDeviceAdd: renamed to the pod's ifname
    HostDeviceAddRename,
    /// hostDeviceAdd: moved into the pod (set up there next)
    HostDeviceAddToPod,
    /// hostDeviceDel: the device moved from the pod into the (pinned) temporary namespace
    HostDeviceDelToTemp,
    /// hostDeviceDel: renamed to its node name
    HostDeviceDelRename,
    /// hostDeviceDel: its alias cleared (moved to the node next)
    HostDeviceDelAlias,
    /// sublinkAdd, ptpVeth: the link made in the pod under its temporary name (renamed next)
    CreateInPodTemp,
    /// tapAdd: the tap made in the pod under its temporary name (renamed next)
    TapAddTemp,
    /// tapAdd: renamed, with its MTU and MAC (set up, in its bridge, next)
    TapAddRename,
    /// podIfaceConfigure, ptpWire: the interface's sysctls written (addresses, up and routes next)
    PodIfaceSysctls,
    /// podIfaceConfigure, ptpWire: addresses, link up and routes (the IPv6 settle wait next)
    PodIfaceBatch,
    /// tuningApply: the sysctls written (the link's attributes next)
    TuningApplySysctls,
    /// tuningRestore: the sysctls written back (the link's attributes next)
    TuningRestoreSysctls,
    /// sbrAdd: each address's rule and table filled (the main table's routes changed next)
    SbrAddTables,
    /// sbrDel: the rules deleted (their tables flushed next)
    SbrDelRules,
}

const STEPS: [Step; 22] = [
    Step::PtpPodSide,
    Step::PtpHostRoutes,
    Step::PtpForward,
    Step::BandwidthIngress,
    Step::BandwidthIfb,
    Step::BandwidthRedirect,
    Step::HostDeviceAddToTemp,
    Step::HostDeviceAddAlias,
    Step::HostDeviceAddRename,
    Step::HostDeviceAddToPod,
    Step::HostDeviceDelToTemp,
    Step::HostDeviceDelRename,
    Step::HostDeviceDelAlias,
    Step::CreateInPodTemp,
    Step::TapAddTemp,
    Step::TapAddRename,
    Step::PodIfaceSysctls,
    Step::PodIfaceBatch,
    Step::TuningApplySysctls,
    Step::TuningRestoreSysctls,
    Step::SbrAddTables,
    Step::SbrDelRules,
];

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::PtpPodSide => "ptpWire.podSide",
            Step::PtpHostRoutes => "ptpWire.hostRoutes",
            Step::PtpForward => "ptpWire.forward",
            Step::BandwidthIngress => "bandwidthAdd.ingress",
            Step::BandwidthIfb => "bandwidthAdd.ifb",
            Step::BandwidthRedirect => "bandwidthAdd.redirect",
            Step::HostDeviceAddToTemp => "hostDeviceAdd.toTemp",
            Step::HostDeviceAddAlias => "hostDeviceAdd.alias",
            Step::HostDeviceAddRename => "hostDeviceAdd.rename",
            Step::HostDeviceAddToPod => "hostDeviceAdd.toPod",
            Step::HostDeviceDelToTemp => "hostDeviceDel.toTemp",
            Step::HostDeviceDelRename => "hostDeviceDel.rename",
            Step::HostDeviceDelAlias => "hostDeviceDel.alias",
            Step::CreateInPodTemp => "createInPod.temp",
            Step::TapAddTemp => "tapAdd.temp",
            Step::TapAddRename => "tapAdd.rename",
            Step::PodIfaceSysctls => "podIface.sysctls",
            Step::PodIfaceBatch => "podIface.batch",
            Step::TuningApplySysctls => "tuningApply.sysctls",
            Step::TuningRestoreSysctls => "tuningRestore.sysctls",
            Step::SbrAddTables => "sbrAdd.tables",
            Step::SbrDelRules => "sbrDel.rules",
        }
    }
}

/// Every native fault point: the bridge ADD's phases, then the other calls' steps.
pub fn points() -> impl Iterator<Item = &'static str> {
    crate::phase::names().chain(STEPS.iter().map(|s| s.name()))
}

/// A step done: a fault point.
pub fn step(s: Step) {
    point(s.name());
}

/// Whether fault injection is enabled in this process.
pub fn enabled() -> bool {
    *ENABLED
}

/// Arm (or with None, disarm) the calls dispatched next from this thread.
pub fn arm_next(armed: Option<Armed>) {
    if enabled() {
        NEXT.with(|n| *n.borrow_mut() = armed);
    }
}

/// At a dispatch, on the dispatching thread: what the work it hands to another thread armed.
pub fn carry() -> Option<Armed> {
    if !enabled() {
        return None;
    }
    NEXT.with(|n| n.borrow().clone())
}

/// Run `f` with `armed` as this thread's armed request (a resident worker serves many requests:
/// it is cleared again afterwards).
pub fn with_armed<R>(armed: Option<Armed>, f: impl FnOnce() -> R) -> R {
    let Some(armed) = armed else { return f() };
    CURRENT.with(|c| *c.borrow_mut() = Some(armed));
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            CURRENT.with(|c| *c.borrow_mut() = None);
        }
    }
    let _clear = Clear;
    f()
}

/// A fault point: record it in the armed request's trace, and SIGKILL the process if the request
/// armed it.
pub fn point(name: &str) {
    if !enabled() {
        return;
    }
    CURRENT.with(|c| {
        let Some(armed) = &*c.borrow() else { return };
        if let Some(trace) = &armed.trace {
            if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(trace) {
                let _ = f.write_all(format!("{name}\n").as_bytes());
            }
        }
        if armed.point.as_deref() == Some(name) {
            // SAFETY: a signal to this process; it does not return.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        }
    });
}
