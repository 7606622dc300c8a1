//! The vxlan device of the overlay: its RTM_NEWLINK and the MAC it gets when none is configured.

use std::net::IpAddr;

use netlink_packet_route::link::{InfoData, InfoKind, InfoVxlan, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

/// What a new vxlan device is made with.
pub struct VxlanSpec<'a> {
    pub name: &'a str,
    pub vni: u32,
    pub port: u16,
    /// the node's underlay address: the source of the encapsulated packets
    pub local: IpAddr,
    /// the underlay link's index
    pub underlay: u32,
    pub mtu: u32,
    pub mac: &'a [u8],
}

/// RTM_NEWLINK creating the device up, as `ip link add NAME address MAC mtu MTU up type vxlan id VNI
/// local IP dev UNDERLAY dstport PORT nolearning` does (send with NLM_F_CREATE | NLM_F_EXCL). No
/// learning: every remote MAC comes from an FDB entry the sync writes, none from received packets.
pub fn create_msg(s: &VxlanSpec) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    m.attributes.push(LinkAttribute::Address(s.mac.to_vec()));
    m.attributes.push(LinkAttribute::Mtu(s.mtu));
    m.attributes.push(LinkAttribute::IfName(s.name.to_string()));
    let local = match s.local {
        IpAddr::V4(v) => InfoVxlan::Local(v),
        IpAddr::V6(v) => InfoVxlan::Local6(v),
    };
    // in the order `ip` sends them, so the bytes compare with its
    let data = vec![InfoVxlan::Link(s.underlay), InfoVxlan::Id(s.vni), local, InfoVxlan::Learning(false), InfoVxlan::Port(s.port)];
    m.attributes.push(LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(InfoKind::Vxlan), NlLinkInfo::Data(InfoData::Vxlan(data))]));
    RouteNetlinkMessage::NewLink(m)
}

/// A locally administered unicast MAC that depends only on the node's underlay address, so a
/// device recreated after a teardown, or by a restarted agent, keeps the MAC its peers know.
/// IPv4: the four octets themselves (no two nodes share one); IPv6: an FNV-1a hash of the sixteen.
pub fn stable_mac(ip: IpAddr) -> [u8; 6] {
    let tail: [u8; 4] = match ip {
        IpAddr::V4(v) => v.octets(),
        IpAddr::V6(v) => v.octets().iter().fold(0x811c_9dc5u32, |h, b| (h ^ *b as u32).wrapping_mul(0x0100_0193)).to_be_bytes(),
    };
    // 0x0e: locally administered (bit 1), unicast (bit 0 clear); the second byte tells the families apart
    let family = if ip.is_ipv4() { 0x04 } else { 0x06 };
    [0x0e, family, tail[0], tail[1], tail[2], tail[3]]
}
