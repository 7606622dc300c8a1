//! Kernel-facing core of fastcni: rtnetlink, nf_tables, namespaces, sysctls. Knows nothing of napi.
pub mod nft;

pub mod addr;
pub mod agent_socket;
pub mod bridge;
pub mod error;
pub mod exec;
pub mod inspect;
pub mod link;
pub mod lock;
pub mod netns;
pub mod peer;
pub mod phase;
pub mod resident;
pub mod route;
pub mod rtnl;
pub mod sysctl;
pub mod types;

pub use bridge::{
    attach_resident, bridge_add, bridge_add_here, bridge_del, bridge_del_here, bridge_del_resident, finish_resident, Attached,
};
pub use error::{Failure, Kind, Result};
pub use inspect::{
    addr_list, link_del, link_get, link_list, loopback_set, loopback_set_here, pod_inspect, pod_inspect_here, route_list, sysctl_get,
    sysctl_set,
};
pub use types::*;
