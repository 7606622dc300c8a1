//! Thin napi-rs exports over fastcni-core.
#[macro_use]
mod outcome;
mod agent;
mod bandwidth;
mod dhcp;
mod dummy;
mod exec;
mod firewall;
mod hostdev;
mod net;
mod nft;
mod overlay;
mod pod_iface;
mod portmap;
mod ptp;
mod sbr;
mod sublink;
mod tap;
mod tuning;
mod vrf;

use napi_derive::napi;

/// Version of the native addon.
#[napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// One native phase's totals since the addon loaded (or the last reset).
#[napi(object)]
pub struct NativePhase {
    /// e.g. "bridgeAdd.vethCreate"
    pub name: String,
    /// summed wall time, microseconds
    pub total_us: f64,
    pub count: f64,
}

/// Per-phase time of the native ADD path (fastcni_core::phase_totals); `reset` restarts the counters.
#[napi]
pub fn native_phases(reset: bool) -> Vec<NativePhase> {
    fastcni_core::phase_totals(reset)
        .into_iter()
        .map(|t| NativePhase { name: t.name.to_string(), total_us: t.total_ns as f64 / 1000.0, count: t.count as f64 })
        .collect()
}

/// The native fault points (the steps inside the coarse native calls): where a request armed with FASTCNI_FAULT kills
/// the process, when it was started with FASTCNI_FAULT_INJECTION=1 (test only; src/faults.ts).
#[napi]
pub fn native_fault_points() -> Vec<String> {
    fastcni_core::fault_points().map(str::to_string).collect()
}

/// Arm the native calls this thread dispatches next with a request's fault point and trace file,
/// or disarm them (both None); does nothing unless fault injection is enabled (src/faults.ts).
#[napi]
pub fn fault_arm(point: Option<String>, trace: Option<String>) {
    let armed = (point.is_some() || trace.is_some()).then_some(fastcni_core::fault::Armed { point, trace });
    fastcni_core::fault::arm_next(armed);
}
