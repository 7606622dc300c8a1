//! The dummy plugin's link: a dummy device named CNI_IFNAME made inside the pod's namespace, as the
//! reference does (https://github.com/containernetworking/plugins/blob/main/plugins/main/dummy/dummy.go),
//! before IPAM; ConfigureIface comes after (iface::configure_here).
//! It is created where it will live, so no temporary name is needed. Runs on a throwaway thread of
//! ours that enters the pod's namespace.

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo as NlLinkInfo, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::link;
use super::netns;
use super::rtnl::Rtnl;
use crate::error::{Failure, FailureKind, Result};
use crate::types::LinkInfo;

/// The dummy plugin's link, made before IPAM.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct DummyRequest {
    /// the pod's namespace (a path)
    pub netns: String,
    pub ifname: String,
}

/// RTM_NEWLINK (with NLM_F_CREATE | NLM_F_EXCL) of a dummy link named `ifname`.
pub fn create_msg(ifname: &str) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(ifname.to_string()));
    m.attributes.push(LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(InfoKind::Dummy)]));
    RouteNetlinkMessage::NewLink(m)
}

/// Make the dummy link in the pod's namespace, left down. The message names the module when the
/// kernel has no dummy driver.
pub fn dummy_add_here(req: &DummyRequest) -> Result<LinkInfo> {
    let ifname = &req.ifname;
    netns::enter(&netns::open(&req.netns)?, &req.netns)?;
    let mut nl = Rtnl::open()?;
    nl.ack(&format!("dummy create {ifname}"), create_msg(ifname), NLM_F_CREATE | NLM_F_EXCL).map_err(|e| {
        let m = match e.errno {
            libc::EOPNOTSUPP => format!("failed to create dummy: the kernel has no dummy driver (module dummy): {}", e.message),
            _ => format!("failed to create dummy: {}", e.message),
        };
        e.with_message(m)
    })?;
    let l = link::by_name(&mut nl, ifname)?
        .ok_or_else(|| Failure::new(FailureKind::NotFound, "dummy get", format!("failed to fetch dummy {ifname:?}")))?;
    Ok(l.info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::rtnl::payload_bytes;

    #[test]
    fn create_message_bytes() {
        let body = &payload_bytes(create_msg("eth0"));
        // ifinfomsg all zero: no index, no flags
        assert_eq!(&body[..16], &[0; 16]);
        #[rustfmt::skip]
        let attrs: &[u8] = &[
            9, 0, 3, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0, // IFLA_IFNAME "eth0"
            16, 0, 18, 0, // IFLA_LINKINFO
            10, 0, 1, 0, b'd', b'u', b'm', b'm', b'y', 0, 0, 0, // IFLA_INFO_KIND "dummy"
        ];
        assert_eq!(&body[16..], attrs);
    }
}
