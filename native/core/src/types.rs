//! The data that crosses to JavaScript. With the `napi` feature each type derives its napi-rs
//! binding, and the doc comments here become native/addon/index.d.ts, the only TypeScript
//! statement of these types (src/native.ts takes them from there).

/// What kind of link the kernel says a link is (IFLA_INFO_KIND): the kinds the CNI plugins make
/// or meet; any other kind is `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(string_enum = "lowercase"))]
pub enum LinkKind {
    Bond,
    Bridge,
    Dummy,
    Geneve,
    Ifb,
    Ipvlan,
    Ipvtap,
    Macvlan,
    Macvtap,
    /// tun and tap devices
    Tun,
    Veth,
    Vlan,
    Vrf,
    Vxlan,
    Wireguard,
    Other,
}

impl LinkKind {
    /// The kind whose kernel name is `name`.
    pub fn from_name(name: &str) -> LinkKind {
        match name {
            "bond" => LinkKind::Bond,
            "bridge" => LinkKind::Bridge,
            "dummy" => LinkKind::Dummy,
            "geneve" => LinkKind::Geneve,
            "ifb" => LinkKind::Ifb,
            "ipvlan" => LinkKind::Ipvlan,
            "ipvtap" => LinkKind::Ipvtap,
            "macvlan" => LinkKind::Macvlan,
            "macvtap" => LinkKind::Macvtap,
            "tun" => LinkKind::Tun,
            "veth" => LinkKind::Veth,
            "vlan" => LinkKind::Vlan,
            "vrf" => LinkKind::Vrf,
            "vxlan" => LinkKind::Vxlan,
            "wireguard" => LinkKind::Wireguard,
            _ => LinkKind::Other,
        }
    }
}

/// A link as the native side reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct LinkInfo {
    pub name: String,
    pub index: u32,
    pub mac: String,
    /// absent when the link has no kind (lo, a physical device)
    pub kind: Option<LinkKind>,
    pub mtu: u32,
    pub up: bool,
    pub promisc: bool,
    /// name of the master (bridge) this link is enslaved to, if any
    pub master: Option<String>,
    /// for a veth: ifindex of its peer (in whatever namespace the peer lives)
    pub peer_index: Option<u32>,
    pub hairpin: Option<bool>,
}

/// A route as the native side applies or reports it; gw absent means on-link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct Route {
    pub dst: String,
    pub gw: Option<String>,
    pub priority: Option<u32>,
    pub table: Option<u32>,
    /// rtnetlink scope (0–255; a larger value counts as 255)
    pub scope: Option<u32>,
}

/// Wire one pod into a bridge: what the first stage of an ADD needs (no IPAM result).
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct BridgeLinkRequest {
    /// namespace that plays the host (a path); undefined = the caller's own
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
    /// the host port's VLAN (only with vlanFiltering), 1–4094
    pub vlan: Option<u32>,
    /// VLANs the host port also carries, tagged (only with vlanFiltering)
    pub vlan_trunk: Vec<u32>,
    pub preserve_default_vlan: bool,
    /// keep IPv6 DAD on the container side (enhanced_dad) instead of disabling it
    pub enable_dad: bool,
    /// false for disableContainerInterface: leave the container link down
    pub container_up: bool,
}

/// The second stage of an ADD: what follows from the IPAM result.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct BridgeL3Request {
    /// CIDRs to put on the container interface, e.g. "10.1.0.5/24"
    pub addresses: Vec<String>,
    /// routes to add in the container, gateways already resolved by the caller
    pub routes: Vec<Route>,
    /// CIDRs to put on the bridge (gateway address with the pod prefix). With vlan ≠ 0 they go on
    /// the VLAN gateway veth `<bridge>.<vlan>` instead (created on first use, an untagged member of
    /// that VLAN), as the reference does for isGateway with a vlan.
    pub bridge_addresses: Vec<String>,
    /// replace other addresses on the bridge instead of failing
    pub force_address: bool,
    pub forward_v4: bool,
    pub forward_v6: bool,
    /// ipMasq: add `addresses` to the network's masquerade set once the pod is wired (when this or
    /// a later step fails, the call undoes everything it did); removed again by masqDel
    pub masquerade: Option<NftOwner>,
    /// macspoofchk: allow only the container's MAC from the pod's host port, the call's last step
    /// (when it fails, the call undoes everything it did); removed again by spoofCheckDel
    pub spoof_check: Option<NftOwner>,
}

/// Whose nf_tables elements (masquerade, spoof check) an ADD creates or a DEL removes.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct NftOwner {
    /// network name (selects the nf_tables sets)
    pub network: String,
    /// container ID (with the ifname, the elements' comment)
    pub container_id: String,
    /// masquerade only (the spoof check ignores it): the network's nonMasqueradeCIDRs
    pub non_masquerade_cidrs: Option<Vec<String>>,
}

impl NftOwner {
    /// The masquerade request for this owner's attachment `ifname` in `host_netns`.
    pub fn masq_request(&self, host_netns: Option<&str>, ifname: &str, addresses: Vec<String>) -> crate::kernel::MasqRequest {
        crate::kernel::MasqRequest {
            host_netns: host_netns.map(str::to_string),
            network: self.network.clone(),
            container_id: self.container_id.clone(),
            ifname: ifname.to_string(),
            addresses,
            non_masquerade_cidrs: self.non_masquerade_cidrs.clone(),
        }
    }

    /// The spoof-check request for this owner's attachment `ifname`: only `mac` may leave through
    /// the host port `host_ifname`.
    pub fn spoof_request(
        &self,
        host_netns: Option<&str>,
        ifname: &str,
        host_ifname: &str,
        mac: &str,
    ) -> crate::kernel::SpoofCheckAddRequest {
        crate::kernel::SpoofCheckAddRequest {
            host_netns: host_netns.map(str::to_string),
            network: self.network.clone(),
            host_ifname: host_ifname.to_string(),
            mac: mac.to_string(),
            container_id: self.container_id.clone(),
            ifname: ifname.to_string(),
        }
    }
}

/// The links of a wired pod.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct BridgeAddResult {
    pub bridge: LinkInfo,
    pub host_veth: LinkInfo,
    pub container: LinkInfo,
    /// the VLAN gateway `<bridge>.<vlan>` holding the bridgeAddresses, when vlan ≠ 0 and there
    /// were any (the reference adds it to the result's interfaces)
    pub vlan_gateway: Option<LinkInfo>,
}

/// Unwire a pod.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct BridgeDelRequest {
    pub host_netns: Option<String>,
    /// absent or non-existent: nothing to delete in the pod
    pub pod_netns: Option<String>,
    pub ifname: String,
    /// also report hostIfname and mac, read before the deletion (one more lookup in hostNetns), for
    /// callers that delete spoof-check elements by key
    pub name_port: bool,
    /// ipMasq: remove the masquerade elements of the link's addresses while the kernel tears the veth
    /// down (`masqueraded` in the result says whether it happened; not when the link was gone)
    pub masquerade: Option<NftOwner>,
}

/// What unwiring found.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct BridgeDelResult {
    /// false when podNetns was absent or no longer exists
    pub netns_found: bool,
    /// global unicast CIDRs the container link had before deletion
    pub addresses: Vec<String>,
    /// with namePort: the host end of the deleted veth, when it could be named before the deletion
    pub host_ifname: Option<String>,
    /// with namePort: the deleted container link's MAC (when hostIfname is there)
    pub mac: Option<String>,
    /// with masquerade: the elements of `addresses` were removed by this call
    pub masqueraded: bool,
}

/// What to describe for CHECK.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PodInspectRequest {
    pub host_netns: Option<String>,
    pub pod_netns: String,
    pub ifname: String,
    /// bridge to describe as well (CHECK of the bridge plugin)
    pub bridge: Option<String>,
}

/// A pod's interface as the kernel has it.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PodInspectResult {
    pub container: Option<LinkInfo>,
    /// the host end of the container's veth, found by peer index in hostNetns
    pub host_peer: Option<LinkInfo>,
    pub bridge: Option<LinkInfo>,
    /// CIDRs on the container link (all scopes but host)
    pub addresses: Vec<String>,
    /// routes in the container's main table that use the container link
    pub routes: Vec<Route>,
}

/// lo after loopbackSet.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct LoopbackResult {
    /// lo as it is after the call
    pub link: LinkInfo,
    /// CIDRs on lo
    pub addresses: Vec<String>,
}
