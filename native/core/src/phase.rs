//! Where the native side of an ADD spends its time, per phase, summed over the process's life in
//! atomics (two clock reads and two relaxed adds per phase). The benchmark and the agent's status
//! read them, so a slow ADD can be explained without a profiler.
//!
//! A call marks its start with [`begin`] and the end of each phase with [`lap`]; the time since
//! the previous mark on the same thread is charged to that phase. Each worker thread runs one call
//! at a time, so a thread-local mark is enough.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// The phases of a bridge ADD, in order. The first five are the first stage (no IPAM result
/// needed: it runs while the caller's IPAM does), the rest the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// the pod namespace opened and a netlink socket made in it
    PodSocket,
    /// bridge found or created
    BridgeEnsure,
    /// the veth pair created (peer straight in the pod)
    VethCreate,
    /// bridge-port flags, VLANs and sysctls of the host end
    HostPort,
    /// DAD sysctls inside the pod
    PodSysctl,
    /// the gateway addresses (on the bridge or its VLAN gateway), forwarding
    Gateway,
    /// IPv6 enablement, then addresses, link up, routes and the read-back in one batch
    PodBatch,
    /// bridge and host end read back (and waiting for the host end to be up)
    ReadBack,
    /// the pod's masquerade elements
    Masquerade,
    /// the pod's spoof-check elements
    SpoofCheck,
}

const PHASES: [Phase; 10] = [
    Phase::PodSocket,
    Phase::BridgeEnsure,
    Phase::VethCreate,
    Phase::HostPort,
    Phase::PodSysctl,
    Phase::Gateway,
    Phase::PodBatch,
    Phase::ReadBack,
    Phase::Masquerade,
    Phase::SpoofCheck,
];

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::PodSocket => "bridgeAdd.podSocket",
            Phase::BridgeEnsure => "bridgeAdd.bridgeEnsure",
            Phase::VethCreate => "bridgeAdd.vethCreate",
            Phase::HostPort => "bridgeAdd.hostPort",
            Phase::PodSysctl => "bridgeAdd.podSysctl",
            Phase::Gateway => "bridgeAdd.gateway",
            Phase::PodBatch => "bridgeAdd.podBatch",
            Phase::ReadBack => "bridgeAdd.readBack",
            Phase::Masquerade => "bridgeAdd.masquerade",
            Phase::SpoofCheck => "bridgeAdd.spoofCheck",
        }
    }
}

static TOTAL_NS: [AtomicU64; PHASES.len()] = [const { AtomicU64::new(0) }; PHASES.len()];
static COUNT: [AtomicU64; PHASES.len()] = [const { AtomicU64::new(0) }; PHASES.len()];

thread_local! {
    static MARK: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Start timing a call on this thread.
pub fn begin() {
    MARK.with(|m| m.set(Some(Instant::now())));
}

/// Charge the time since the previous mark on this thread to `p` (nothing without a [`begin`]);
/// the phase is done, so it is also a fault point (crate::fault).
pub fn lap(p: Phase) {
    crate::fault::point(p.name());
    MARK.with(|m| {
        let Some(prev) = m.get() else { return };
        let now = Instant::now();
        TOTAL_NS[p as usize].fetch_add(now.duration_since(prev).as_nanos() as u64, Relaxed);
        COUNT[p as usize].fetch_add(1, Relaxed);
        m.set(Some(now));
    });
}

/// Every phase's name, in ADD order: the native fault points.
pub fn names() -> impl Iterator<Item = &'static str> {
    PHASES.iter().map(|p| p.name())
}

/// One phase's totals since start (or the last reset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseTotal {
    pub name: &'static str,
    pub total_ns: u64,
    pub count: u64,
}

/// Every phase's totals, in ADD order; with `reset`, the counters restart from zero.
pub fn totals(reset: bool) -> Vec<PhaseTotal> {
    PHASES
        .iter()
        .map(|&p| {
            let i = p as usize;
            let (total_ns, count) = if reset {
                (TOTAL_NS[i].swap(0, Relaxed), COUNT[i].swap(0, Relaxed))
            } else {
                (TOTAL_NS[i].load(Relaxed), COUNT[i].load(Relaxed))
            };
            PhaseTotal { name: p.name(), total_ns, count }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laps_are_charged_to_their_phase_and_reset() {
        // other tests never mark Masquerade on this thread; counters are process-wide
        let before = totals(false).into_iter().find(|t| t.name == "bridgeAdd.masquerade").unwrap();
        lap(Phase::Masquerade); // without begin: not counted
        begin();
        std::thread::sleep(std::time::Duration::from_millis(2));
        lap(Phase::Masquerade);
        let after = totals(false).into_iter().find(|t| t.name == "bridgeAdd.masquerade").unwrap();
        assert_eq!(after.count, before.count + 1);
        assert!(after.total_ns - before.total_ns >= 2_000_000);
        totals(true);
        assert_eq!(totals(false).into_iter().find(|t| t.name == "bridgeAdd.masquerade").unwrap().count, 0);
    }
}
