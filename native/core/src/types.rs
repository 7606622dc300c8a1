//! Plain data crossing the core's public API; mirrors the TypeScript contract in src/native.ts.

/// A link as reported to callers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkInfo {
    pub name: String,
    pub index: u32,
    pub mac: String,
    /// rtnetlink kind ("bridge", "veth", …); "" when the link has none
    pub kind: String,
    pub mtu: u32,
    pub up: bool,
    pub promisc: bool,
    pub master: Option<String>,
    pub peer_index: Option<u32>,
    pub hairpin: Option<bool>,
}

/// A route to add or one found; `gw` None = on-link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub dst: String,
    pub gw: Option<String>,
    pub priority: Option<u32>,
    pub table: Option<u32>,
    pub scope: Option<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct BridgeAddRequest {
    pub host_netns: Option<String>,
    pub pod_netns: String,
    pub bridge: String,
    pub mtu: Option<u32>,
    pub promisc: bool,
    pub vlan_filtering: bool,
    pub ifname: String,
    pub mac: Option<String>,
    pub hairpin: bool,
    pub port_isolation: bool,
    pub vlan: Option<u16>,
    pub vlan_trunk: Vec<u16>,
    pub preserve_default_vlan: bool,
    pub addresses: Vec<String>,
    pub routes: Vec<Route>,
    pub bridge_addresses: Vec<String>,
    pub force_address: bool,
    pub forward_v4: bool,
    pub forward_v6: bool,
    pub enable_dad: bool,
    pub container_up: bool,
    /// masquerade the pod's addresses (ipMasq) as the last step of the same call
    pub masquerade: Option<MasqOwner>,
}

/// Whose masquerade elements an ADD creates: the network's sets, the attachment's comment.
#[derive(Debug, Clone, Default)]
pub struct MasqOwner {
    pub network: String,
    pub container_id: String,
}

impl MasqOwner {
    /// The nf_tables request for this owner's attachment `ifname` in `host_netns`.
    pub fn request(&self, host_netns: Option<&str>, ifname: &str, addresses: Vec<String>) -> crate::kernel::MasqRequest {
        crate::kernel::MasqRequest {
            host_netns: host_netns.map(str::to_string),
            network: self.network.clone(),
            container_id: self.container_id.clone(),
            ifname: ifname.to_string(),
            addresses,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BridgeAddResult {
    pub bridge: LinkInfo,
    pub host_veth: LinkInfo,
    pub container: LinkInfo,
    /// the `<bridge>.<vlan>` interface carrying the gateway addresses (vlan ≠ 0 with addresses)
    pub vlan_gateway: Option<LinkInfo>,
}

#[derive(Debug, Clone, Default)]
pub struct BridgeDelRequest {
    pub host_netns: Option<String>,
    pub pod_netns: Option<String>,
    pub ifname: String,
    /// also name the host end and the container MAC before deleting (one more host lookup), for
    /// callers that delete spoof-check elements by key
    pub name_port: bool,
    /// ipMasq: remove the masquerade elements of the addresses the link had, while the kernel
    /// tears the veth down (only on a resident worker, and only when the link was there)
    pub masquerade: Option<MasqOwner>,
}

#[derive(Debug, Clone, Default)]
pub struct BridgeDelResult {
    /// the host end of the deleted veth and the container MAC, when the host namespace could be
    /// asked before the deletion (keys of the spoof-check elements)
    pub host_ifname: Option<String>,
    pub mac: Option<String>,
    pub netns_found: bool,
    pub addresses: Vec<String>,
    /// the masquerade elements of `addresses` were removed by this call
    pub masqueraded: bool,
}

#[derive(Debug, Clone, Default)]
pub struct PodInspectRequest {
    pub host_netns: Option<String>,
    pub pod_netns: String,
    pub ifname: String,
    pub bridge: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PodInspectResult {
    pub container: Option<LinkInfo>,
    pub host_peer: Option<LinkInfo>,
    pub bridge: Option<LinkInfo>,
    pub addresses: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, Default)]
pub struct LoopbackResult {
    pub link: LinkInfo,
    pub addresses: Vec<String>,
}
