//! nf_tables over netlink with our own small encoder (no nft process, no rule strings):
//! pod masquerading through per-network address sets in table `inet fastcni`, and the bridge
//! plugin's MAC spoof check through per-network port sets in table `bridge fastcni`, the firewall
//! plugin's pod sets (`inet fastcni-firewall`) and portmap's host-port maps (`ip`/`ip6
//! fastcni-portmap`). A network's sets and rules go with its last element, guarded against
//! concurrent ADDs (reap.rs). The reference plugins' objects of an attachment are removed by name
//! and comment (reference.rs), so that a node can move from them to fastcni with pods running.

mod error;
mod firewall;
mod masq;
mod objects;
mod pool;
mod portmap;
mod portmap_objects;
mod reap;
mod reference;
mod socket;
mod spoof;
mod wire;

#[cfg(any(test, feature = "fuzzing"))]
pub(super) mod decode_any;
#[cfg(test)]
mod decode_props;
#[cfg(test)]
mod firewall_tests;
#[cfg(test)]
mod portmap_tests;
#[cfg(test)]
mod reap_tests;
#[cfg(test)]
mod reference_tests;
#[cfg(test)]
mod spoof_tests;
#[cfg(test)]
mod tests;

pub use firewall::{firewall_add, firewall_del, firewall_gc, firewall_inspect, FirewallDelRequest, FirewallInspection, FirewallRequest};
pub use masq::{masq_add, masq_del, masq_gc, masq_list, MasqEntry, MasqRequest};
pub use portmap::{portmap_check, portmap_gc, portmap_list, portmap_map, portmap_unmap, PortMapping, PortmapEntry, PortmapRequest};
pub use reap::{GcAttachment, NftGcRequest};
pub use reference::{
    reference_del, reference_gc, reference_prepare, ReferenceCleanup, ReferenceDelRequest, ReferenceGcRequest, ReferencePrepareRequest,
};
pub use spoof::{spoof_add, spoof_del, spoof_gc, spoof_list, SpoofCheckAddRequest, SpoofCheckDelRequest, SpoofCheckEntry};
/// nfnetlink framing, shared with ctnetlink (kernel/conntrack.rs): same messages, another subsystem.
pub(crate) use wire::{find_attr, split_messages, NLMSG_DONE, NLMSG_ERROR};
