//! The native core of fastcni, in two layers. `kernel` does the kernel work: rtnetlink (links,
//! addresses, routes), sysctls, nf_tables and network namespaces, with the bridge plugin's pod
//! wiring built on them. `agent` is the plumbing around it: the agent's socket and its callers'
//! credentials, the resident worker threads that kernel work runs on, exec of foreign plugins,
//! file locks. The agent layer uses the kernel layer, never the other way round; both use the
//! leaves below (failures, the data that crosses to JavaScript, per-phase timing, test-only fault points). Knows nothing
//! of napi, except that with the `napi` feature its boundary types derive their bindings.
pub mod agent;
pub mod kernel;

mod error;
pub mod fault;
mod phase;
mod types;

pub use error::{Failure, FailureKind, Result};
pub use fault::points as fault_points;
pub use phase::{totals as phase_totals, PhaseTotal};
pub use types::{
    BridgeAddResult, BridgeDelRequest, BridgeDelResult, BridgeL3Request, BridgeLinkRequest, LinkInfo, LinkKind, LoopbackResult, NftOwner,
    PodInspectRequest, PodInspectResult, Route,
};
