//! The kernel work, over rtnetlink, nf_tables, /proc/sys and setns: the bridge plugin's pod wiring
//! and unwiring, CHECK's view of a pod, loopback, named network namespaces, masquerade and MAC
//! spoof-check sets, the overlay between nodes (routes, a vxlan device, its neighbour and FDB
//! entries), and the small per-namespace calls (links, addresses, routes, sysctls). Every
//! call that switches namespaces does it on a thread of ours (see netns.rs), never the caller's.

mod addr;
mod bridge;
mod conntrack;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod decode_any;
#[cfg(test)]
mod decode_props;
mod dhcp;
mod dummy;
mod hostdev;
pub mod iface;
mod inspect;
mod link;
mod neigh;
pub(crate) mod netns;
mod nft;
mod overlay;
mod portmap;
mod ptp;
mod resident;
mod route;
mod rtnl;
mod sbr;
mod sublink;
mod sysctl;
mod tap;
mod tc;
mod tuning;
mod vrf;

pub use bridge::{attach_resident, bridge_del_here, bridge_del_resident, finish_resident, Attached};
pub use dhcp::{dhcp_exchange_here, DhcpAnswer, DhcpExchange, DhcpLease, DhcpOptionValue, DhcpRequest, DhcpRoute};
pub use dummy::{dummy_add_here, DummyRequest};
pub use hostdev::{
    host_device_add_here, host_device_del_here, host_device_recover_here, HostDeviceAddRequest, HostDeviceAddResult, HostDeviceDelRequest,
    HostDeviceDelResult, HostDeviceRecoverRequest, HostDeviceRecoverResult, HostDeviceSelector, LOOKUP_OP as HOST_DEVICE_LOOKUP_OP,
};
pub use iface::{configure_here as pod_iface_configure_here, PodIface, PodIfaceConfigureRequest};
pub use inspect::{addr_list, link_del, link_list, loopback_set_here, pod_inspect_here, route_list, sysctl_get, sysctl_set};
pub use netns::{create_named_here, delete_named, detached};
pub use nft::{firewall_add, firewall_del, firewall_gc, firewall_inspect, FirewallDelRequest, FirewallInspection, FirewallRequest};
pub use nft::{
    masq_add, masq_del, masq_gc, masq_list, spoof_add, spoof_del, spoof_gc, spoof_list, GcAttachment, MasqEntry, MasqRequest, NftGcRequest,
    SpoofCheckAddRequest, SpoofCheckDelRequest, SpoofCheckEntry,
};
pub use nft::{portmap_check, portmap_gc, portmap_list, portmap_unmap, PortMapping, PortmapEntry, PortmapRequest};
pub use nft::{
    reference_del, reference_gc, reference_prepare, ReferenceCleanup, ReferenceDelRequest, ReferenceGcRequest, ReferencePrepareRequest,
};
pub use overlay::{overlay_sync_here, overlay_teardown_here, stable_mac, OverlayPeer, OverlayRequest, OverlayState};
pub use portmap::{portmap_add, PortmapAddResult};
pub use ptp::{ptp_veth_here, ptp_wire_here, PtpAddress, PtpLinks, PtpVethRequest, PtpWireRequest};
pub use resident::Resident;
pub use sbr::{
    sbr_add_here, sbr_del_here, sbr_inspect_here, SbrAddRequest, SbrAddress, SbrDelRequest, SbrInspectRequest, SbrRule, SbrRuleState,
};
pub use sublink::{
    sublink_add_here, sublink_del_here, sublink_inspect_here, SublinkAddRequest, SublinkAddResult, SublinkInspectRequest,
    SublinkInspectResult, SublinkKind, SublinkSpec, SublinkState,
};
pub use tap::{tap_add_here, TapRequest};
pub use tc::{
    bandwidth_add_here, bandwidth_inspect_here, BandwidthAddResult, BandwidthInspectResult, BandwidthRequest, BandwidthShape, ShapeState,
    TbfInfo,
};
pub use tuning::{
    tuning_apply_here, tuning_inspect_here, tuning_restore_here, LinkTuning, SysctlValue, TuningInspectRequest, TuningInspectResult,
    TuningLinkState, TuningPrior, TuningRequest,
};
pub use vrf::{vrf_add_here, vrf_del_here, VrfAddRequest, VrfDelRequest};
