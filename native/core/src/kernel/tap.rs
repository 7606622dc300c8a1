//! The tap plugin's link, made inside the pod's namespace without a process (the reference runs
//! `ip tuntap` when owner or group is unset,
//! https://github.com/containernetworking/plugins/blob/main/plugins/main/tap/tap.go): a persistent
//! tap device from /dev/net/tun (TUNSETIFF, TUNSETOWNER, TUNSETGROUP, TUNSETPERSIST) under its
//! temporary name (iface::temp_name), then one RTM_NEWLINK renaming it to the pod's interface name
//! with its MTU and MAC, then enslaved to a bridge of the pod's namespace and set up; IPAM and ConfigureIface come
//! after (iface::configure_here), as the reference makes the link before IPAM. Any failure
//! removes it again.
//! Runs on a throwaway thread of ours: /dev/net/tun makes the device in the namespace of the thread
//! that opens it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::iface;
use super::link;
use super::netns;
use super::rtnl::Rtnl;
use crate::error::{Failure, FailureKind, Result};
use crate::fault::{self, Step};
use crate::types::{LinkInfo, LinkKind};

/// The tap to make in a pod.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct TapRequest {
    /// the pod's namespace (a path)
    pub netns: String,
    pub ifname: String,
    /// "aa:bb:cc:dd:ee:ff"; absent: the kernel's random one
    pub mac: Option<String>,
    pub mtu: Option<u32>,
    pub multi_queue: bool,
    /// uid allowed to attach to the tap; absent: any process with CAP_NET_ADMIN only
    pub owner: Option<u32>,
    /// gid allowed to attach to the tap
    pub group: Option<u32>,
    /// a bridge in the pod's namespace to enslave the tap to
    pub bridge: Option<String>,
}

// linux/if_tun.h
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb;
const TUNSETOWNER: libc::c_ulong = 0x4004_54cc;
const TUNSETGROUP: libc::c_ulong = 0x4004_54ce;
const IFF_TAP: u16 = 0x0002;
const IFF_MULTI_QUEUE: u16 = 0x0100;
const IFF_NO_PI: u16 = 0x1000;
const IFF_VNET_HDR: u16 = 0x4000;

/// TUNSETIFF's flags: a tap without packet information, with virtio-net headers (what the
/// reference's netlink path asks for), one queue per attached descriptor when multi-queue.
pub fn tun_flags(multi_queue: bool) -> u16 {
    IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | if multi_queue { IFF_MULTI_QUEUE } else { 0 }
}

/// struct ifreq as TUNSETIFF reads it: the name, then the flags at the start of the union.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: u16,
    _union_rest: [u8; 22],
}

fn ifreq(name: &str, flags: u16) -> IfReq {
    let mut r = IfReq { name: [0; libc::IFNAMSIZ], flags, _union_rest: [0; 22] };
    r.name[..name.len()].copy_from_slice(name.as_bytes());
    r
}

fn ioctl(fd: &OwnedFd, op: &str, req: libc::c_ulong, arg: libc::c_ulong) -> Result<()> {
    // SAFETY: the tun ioctls used here take an integer or a pointer to a live IfReq.
    if unsafe { libc::ioctl(fd.as_raw_fd(), req, arg) } < 0 {
        return Err(Failure::last_os(op));
    }
    Ok(())
}

/// Make a persistent tap named `name` in the calling thread's namespace. Until TUNSETPERSIST the
/// device lives only as long as the descriptor, so a failed owner or group goes with it.
fn create_persistent(name: &str, req: &TapRequest) -> Result<()> {
    // SAFETY: open with a valid C string; the fd is owned below.
    let fd = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        let f = Failure::last_os("tap create");
        let m = format!("cannot open /dev/net/tun: {}", f.message);
        return Err(f.with_message(m));
    }
    // SAFETY: fd was just opened by us.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut r = ifreq(name, tun_flags(req.multi_queue));
    ioctl(&fd, "tap create", TUNSETIFF, &mut r as *mut IfReq as libc::c_ulong)?;
    if let Some(uid) = req.owner {
        ioctl(&fd, "tap owner", TUNSETOWNER, uid as libc::c_ulong)?;
    }
    if let Some(gid) = req.group {
        ioctl(&fd, "tap group", TUNSETGROUP, gid as libc::c_ulong)?;
    }
    ioctl(&fd, "tap persist", TUNSETPERSIST, 1)
}

/// The RTM_NEWLINK that gives the new tap its final name, MTU and MAC (it is still down).
pub fn rename_msg(index: u32, ifname: &str, mtu: Option<u32>, mac: Option<Vec<u8>>) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.attributes.push(LinkAttribute::IfName(ifname.to_string()));
    if let Some(mtu) = mtu {
        m.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = mac {
        m.attributes.push(LinkAttribute::Address(mac));
    }
    RouteNetlinkMessage::NewLink(m)
}

/// The RTM_NEWLINK that enslaves the tap to `master` (when given) and sets it up.
pub fn up_msg(index: u32, master: Option<u32>) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    if let Some(master) = master {
        m.attributes.push(LinkAttribute::Controller(master));
    }
    RouteNetlinkMessage::NewLink(m)
}

/// The bridge of the pod's namespace a tap goes into: it must exist and be a bridge.
fn find_bridge(nl: &mut Rtnl, name: &str) -> Result<u32> {
    match link::by_name(nl, name)? {
        None => Err(Failure::invalid("tap bridge", format!("failed to get bridge {name}: no such link in the pod's network namespace"))),
        Some(b) if b.info.kind != Some(LinkKind::Bridge) => {
            Err(Failure::new(FailureKind::NotBridge, "tap bridge", format!("failed to get bridge {name}: {name} is not a bridge")))
        }
        Some(b) => Ok(b.info.index),
    }
}

/// The new tap under its final name with its MTU and MAC, in its bridge and up.
fn finish(nl: &mut Rtnl, index: u32, req: &TapRequest, mac: Option<Vec<u8>>) -> Result<LinkInfo> {
    nl.ack(&format!("tap rename to {}", req.ifname), rename_msg(index, &req.ifname, req.mtu, mac), 0).map_err(|e| {
        let m = format!("failed to rename tap to {:?}: {}", req.ifname, e.message);
        e.with_message(m)
    })?;
    fault::step(Step::TapAddRename);
    let master = req.bridge.as_deref().map(|b| find_bridge(nl, b)).transpose()?;
    nl.ack("tap up", up_msg(index, master), 0).map_err(|e| {
        let m = match &req.bridge {
            Some(b) => format!("failed to set tap {} as a port of bridge {b} and up: {}", req.ifname, e.message),
            None => format!("failed to set tap {} up: {}", req.ifname, e.message),
        };
        e.with_message(m)
    })?;
    let l = link::by_index(nl, index)?.ok_or_else(|| Failure::new(FailureKind::NotFound, "tap get", "the new tap disappeared"))?;
    link::with_master_name(nl, &l, None)
}

/// The tap plugin's link, before IPAM (see the module doc). Moves the calling thread into `req.netns`:
/// call it only on a thread of ours.
pub fn tap_add_here(req: &TapRequest) -> Result<LinkInfo> {
    let mac = req.mac.as_deref().map(link::parse_mac).transpose()?;
    netns::enter(&netns::open(&req.netns)?, &req.netns)?;
    let temp = iface::temp_name(&req.ifname);
    let mut nl = Rtnl::open()?;
    iface::delete_temp(&mut nl, &req.ifname)?;
    create_persistent(&temp, req)?;
    fault::step(Step::TapAddTemp);
    let index = link::by_name(&mut nl, &temp)?
        .ok_or_else(|| Failure::new(FailureKind::NotFound, "tap create", format!("the new tap {temp} is not there")))?
        .info
        .index;
    finish(&mut nl, index, req, mac).inspect_err(|_| {
        let _ = nl.ack("tap delete", link::del_msg(index, None), 0);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::rtnl::payload_bytes as bytes;

    #[test]
    fn flags_are_tap_no_pi_vnet_hdr_and_multi_queue_on_request() {
        assert_eq!(tun_flags(false), 0x5002);
        assert_eq!(tun_flags(true), 0x5102);
    }

    #[test]
    fn ifreq_layout_is_the_kernels() {
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
        let r = ifreq("veth0123abcd", 0x5002);
        assert_eq!(&r.name[..13], b"veth0123abcd\0");
        // SAFETY: IfReq is plain bytes.
        let raw: [u8; 40] = unsafe { std::mem::transmute(r) };
        assert_eq!(&raw[16..18], &0x5002u16.to_ne_bytes());
    }

    #[test]
    fn rename_sets_name_mtu_and_mac_in_one_message() {
        let b = bytes(rename_msg(7, "tap0", Some(1400), Some(vec![2, 0, 0, 0, 0, 1])));
        // ifinfomsg: family, pad, type, index 7, flags 0, change 0
        assert_eq!(&b[4..8], &7i32.to_ne_bytes());
        assert_eq!(&b[8..16], &[0; 8]);
        let attrs = &b[16..];
        // IFLA_IFNAME "tap0\0", IFLA_MTU 1400, IFLA_ADDRESS
        assert_eq!(&attrs[..12], &[9, 0, 3, 0, b't', b'a', b'p', b'0', 0, 0, 0, 0]);
        assert_eq!(&attrs[12..20], &[8, 0, 4, 0, 0x78, 0x05, 0, 0]);
        assert_eq!(&attrs[20..32], &[10, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(attrs.len(), 32);
    }

    #[test]
    fn up_sets_the_up_flag_and_the_master() {
        let b = bytes(up_msg(7, Some(3)));
        assert_eq!(&b[8..16], &[1, 0, 0, 0, 1, 0, 0, 0]);
        // IFLA_MASTER (10) = 3
        assert_eq!(&b[16..], &[8, 0, 10, 0, 3, 0, 0, 0]);
        assert_eq!(bytes(up_msg(7, None)).len(), 16);
    }

    fn ip(args: &[&str]) -> String {
        let out = std::process::Command::new("ip").args(args).output().unwrap();
        assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tap with every option in a private throwaway namespace, read back with iproute2; then a
    /// second one whose name is taken, which leaves nothing behind.
    #[test]
    #[ignore = "needs root: make test runs it with --include-ignored"]
    fn add_in_a_namespace() {
        netns::on_thread(|| {
            // SAFETY: unshare affects only this thread, which ends with the test.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
            ip(&["link", "add", "br0", "type", "bridge"]);
            let req = TapRequest {
                netns: "/proc/thread-self/ns/net".into(),
                ifname: "tap0".into(),
                mac: Some("02:00:00:00:00:01".into()),
                mtu: Some(1300),
                multi_queue: true,
                owner: Some(1234),
                group: Some(5678),
                bridge: Some("br0".into()),
            };
            let l = tap_add_here(&req)?;
            assert_eq!((l.name.as_str(), l.mac.as_str(), l.mtu, l.master.as_deref()), ("tap0", "02:00:00:00:00:01", 1300, Some("br0")));
            let shown = ip(&["-d", "link", "show", "tap0"]);
            for want in ["tun type tap", "multi_queue", "persist on", "user 1234", "group 5678", "vnet_hdr on", "master br0"] {
                assert!(shown.contains(want), "{want}: {shown}");
            }
            let before = ip(&["-o", "link"]).lines().count();
            let e = tap_add_here(&TapRequest { bridge: None, ..req.clone() }).unwrap_err();
            assert_eq!(e.kind, FailureKind::Exists, "{e:?}");
            assert_eq!(ip(&["-o", "link"]).lines().count(), before);
            Ok(())
        })
        .unwrap();
    }
}
