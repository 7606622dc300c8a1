//! The host-device plugin's kernel work, as the reference does it
//! (https://github.com/containernetworking/plugins/blob/main/plugins/main/host-device/host-device.go,
//! moveLinkIn / moveLinkOut): a device of the node moves into the pod through a temporary network
//! namespace, is renamed there to the pod's interface name with its node name kept in its ifalias,
//! then moves on into the pod and is set up; DEL moves it back the same way, renamed to the alias,
//! the alias cleared, left down. Renaming in a namespace of its own (not under a temporary name in
//! the node) keeps udev and NetworkManager from seeing a rename race. Each step is undone when a
//! later one fails, so the device never stays in the temporary namespace: destroying that namespace
//! would send a physical device to the initial namespace (not the node's) and destroy a virtual one.
//! A process killed mid-move cannot undo anything, so while the device may sit there the temporary
//! namespace is pinned (bind-mounted at the request's `pin` path): the next DEL, ADD or GC of the
//! attachment finds it and moves the device back to the node ([`host_device_recover_here`]).
//!
//! Each call runs on a throwaway thread of ours: it opens one rtnetlink socket in the node's
//! namespace, one in a namespace it unshares (the temporary one, gone when the thread ends and its
//! descriptors close), and one in the pod's.

use std::os::fd::{AsRawFd, OwnedFd};

use netlink_packet_core::DefaultNla;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::iface::rename_msg;
use super::link::{self, Link};
use super::netns;
use super::rtnl::Rtnl;
use crate::error::{Failure, FailureKind, Result};
use crate::fault::{self, Step};
use crate::types::LinkInfo;

/// How ADD names the node's device; exactly one is set.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct HostDeviceSelector {
    /// the device's name in the node's namespace
    pub name: Option<String>,
    /// its MAC address, lowercase hex pairs joined by ':' (any length: 6, 8 or 20 bytes)
    pub hwaddr: Option<String>,
}

/// The host-device plugin's ADD: move a node device into the pod as `ifname`.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct HostDeviceAddRequest {
    /// the namespace that plays the node; undefined = the caller's own
    pub host_netns: Option<String>,
    /// the pod's network namespace (a path the calling process can open)
    pub pod_netns: String,
    pub device: HostDeviceSelector,
    /// CNI_IFNAME: the device's name in the pod
    pub ifname: String,
    /// where the temporary namespace is pinned during the move, in the serving process's mount
    /// namespace (the runtime's, or the agent's): a file that must not exist, its directory made
    /// when missing; undefined = not pinned
    pub pin: Option<String>,
}

/// The host-device plugin's DEL: move the pod's `ifname` back to the node under its alias.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct HostDeviceDelRequest {
    pub host_netns: Option<String>,
    pub pod_netns: String,
    pub ifname: String,
    /// set it up again in the node: a failed ADD's undo, for a device that was up before
    pub up: bool,
    /// as for ADD
    pub pin: Option<String>,
}

/// Recover what a process killed inside a move left pinned: every link of the temporary namespace
/// pinned at `pin` back to the node.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct HostDeviceRecoverRequest {
    pub host_netns: Option<String>,
    pub pin: String,
}

/// What recovery moved back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct HostDeviceRecoverResult {
    /// the devices' names back in the node (none when the pin held no device, or was not there)
    pub restored: Vec<String>,
}

/// What ADD did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct HostDeviceAddResult {
    /// the device as the pod has it
    pub link: LinkInfo,
    /// it was up in the node (what undoing the ADD restores)
    pub node_up: bool,
}

/// What DEL did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct HostDeviceDelResult {
    /// the device's name back in the node; undefined when the pod had no such link
    pub restored: Option<String>,
}

/// The op of a failed lookup of the node's device (kind notFound), for the plugin to name the field.
pub const LOOKUP_OP: &str = "host device lookup";

/// RTM_NEWLINK moving link `index` into the namespace of `fd` (IFLA_NET_NS_FD).
pub fn set_netns_msg(index: u32, fd: i32) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.attributes.push(LinkAttribute::NetNsFd(fd));
    RouteNetlinkMessage::NewLink(m)
}

/// RTM_NEWLINK setting the ifalias of link `index`; an empty alias is sent as an empty attribute,
/// which the kernel takes as "clear" (as vishvananda/netlink's LinkSetAlias("") sends it).
pub fn alias_msg(index: u32, alias: &str) -> RouteNetlinkMessage {
    const IFLA_IFALIAS: u16 = 20;
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.attributes.push(LinkAttribute::Other(DefaultNla::new(IFLA_IFALIAS, alias.as_bytes().to_vec())));
    RouteNetlinkMessage::NewLink(m)
}

/// A link with its ifalias, which the fast parser of link.rs does not read.
fn with_alias(nl: &mut Rtnl, name: &str) -> Result<Option<(Link, String)>> {
    let raw = match nl.get_raw(&format!("link get {name}"), link::get_msg(0, Some(name))) {
        Ok(r) => r,
        Err(e) if e.kind == FailureKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let l = link::parse_raw(&raw.buf)?;
    let alias = match raw.parse("link get")? {
        RouteNetlinkMessage::NewLink(m) => m.attributes.into_iter().find_map(|a| match a {
            LinkAttribute::IfAlias(s) => Some(s),
            _ => None,
        }),
        _ => None,
    };
    Ok(Some((l, alias.unwrap_or_default())))
}

fn by_name(nl: &mut Rtnl, name: &str, op: &str) -> Result<Link> {
    link::by_name(nl, name)?.ok_or_else(|| Failure::new(FailureKind::NotFound, op, format!("link {name:?} vanished during the move")))
}

/// The node's device the selector names.
fn find(nl: &mut Rtnl, sel: &HostDeviceSelector) -> Result<Link> {
    let not_found = |what: String| Failure::new(FailureKind::NotFound, LOOKUP_OP, format!("failed to find host device: {what}"));
    if let Some(name) = sel.name.as_deref() {
        return link::by_name(nl, name)?
            .ok_or_else(|| not_found(format!("no link {name:?} in the node's network namespace (missing, or moved into a pod already)")));
    }
    if let Some(mac) = sel.hwaddr.as_deref() {
        return link::list(nl)?.into_iter().find(|l| l.info.mac.eq_ignore_ascii_case(mac)).ok_or_else(|| {
            not_found(format!("no link with MAC address {mac} in the node's network namespace (missing, or moved into a pod already)"))
        });
    }
    Err(Failure::invalid(LOOKUP_OP, "no device name or MAC address given"))
}

/// The three namespaces of a move, each with a socket opened inside it, and their descriptors.
struct Spaces {
    host_fd: OwnedFd,
    host: Rtnl,
    temp_fd: OwnedFd,
    temp: Rtnl,
    pod_fd: OwnedFd,
    pod: Rtnl,
    pin: Option<Pin>,
}

/// The temporary namespace pinned at a path, unpinned when the call returns (not when the process
/// is killed: that is what the pin is for).
struct Pin(String);
impl Drop for Pin {
    fn drop(&mut self) {
        netns::unpin(&self.0);
    }
}

/// Open the node, a new temporary namespace and the pod, leaving the calling (throwaway) thread in
/// the pod. The temporary namespace lives as long as `temp_fd` and `temp` do.
fn spaces(host_netns: Option<&str>, pod_netns: &str) -> Result<Spaces> {
    if let Some(h) = host_netns {
        netns::enter(&netns::open(h)?, h)?;
    }
    let host_fd = netns::open("/proc/thread-self/ns/net")?;
    let host = Rtnl::open()?;
    // the pod first: a pod namespace that is gone fails before a temporary one is made
    let pod_fd = netns::open(pod_netns)?;
    // SAFETY: affects the calling (throwaway) thread only.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        let f = Failure::last_os("temporary netns");
        let m = format!("cannot create a temporary network namespace: {}", f.message);
        return Err(f.with_message(m));
    }
    let temp_fd = netns::open("/proc/thread-self/ns/net")?;
    let temp = Rtnl::open()?;
    netns::enter(&pod_fd, pod_netns)?;
    let pod = Rtnl::open()?;
    Ok(Spaces { host_fd, host, temp_fd, temp, pod_fd, pod, pin: None })
}

impl Spaces {
    /// Pin the temporary namespace at `path` (none: not pinned) until the call returns: just
    /// before a device moves into it, so a lookup that finds nothing leaves no trace.
    fn pin(&mut self, path: Option<&str>) -> Result<()> {
        let Some(path) = path else { return Ok(()) };
        netns::pin(&self.temp_fd, path)?;
        self.pin = Some(Pin(path.to_string()));
        Ok(())
    }
}

/// What ADD has done so far, undone in reverse on a failure.
enum AddStep {
    /// in the temporary namespace under its node name; `up` = it was up in the node
    InTemp {
        orig: String,
        up: bool,
    },
    /// its node name set as its alias
    Aliased {
        orig: String,
    },
    Renamed {
        orig: String,
        ifname: String,
    },
    InPod {
        ifname: String,
    },
}

fn undo_add(s: &mut Spaces, steps: Vec<AddStep>) -> Vec<String> {
    let mut problems = Vec::new();
    for step in steps.into_iter().rev() {
        let r = match &step {
            AddStep::InPod { ifname } => by_name(&mut s.pod, ifname, "undo: back to temporary netns")
                .and_then(|l| s.pod.ack("undo: back to temporary netns", set_netns_msg(l.info.index, s.temp_fd.as_raw_fd()), 0)),
            AddStep::Aliased { orig } => {
                by_name(&mut s.temp, orig, "undo: alias").and_then(|l| s.temp.ack("undo: alias", alias_msg(l.info.index, ""), 0))
            }
            AddStep::Renamed { orig, ifname } => {
                by_name(&mut s.temp, ifname, "undo: rename").and_then(|l| s.temp.ack("undo: rename", rename_msg(l.info.index, orig), 0))
            }
            AddStep::InTemp { orig, up } => by_name(&mut s.temp, orig, "undo: back to node")
                .and_then(|l| s.temp.ack("undo: back to node", set_netns_msg(l.info.index, s.host_fd.as_raw_fd()), 0))
                // moving between namespaces sets a link down: bring it up again as it was
                .and_then(|()| {
                    if *up {
                        by_name(&mut s.host, orig, "undo: up").and_then(|l| link::set_up(&mut s.host, l.info.index, true))
                    } else {
                        Ok(())
                    }
                }),
        };
        if let Err(e) = r {
            problems.push(e.message);
        }
    }
    problems
}

/// A failure with what its undo could not do appended.
fn failed(e: Failure, problems: Vec<String>) -> Failure {
    if problems.is_empty() {
        return e;
    }
    let m = format!("{} (and undoing it failed: {})", e.message, problems.join("; "));
    e.with_message(m)
}

/// ADD on the calling thread, which must be a throwaway one: find the device in the node, move it
/// through a temporary namespace (renamed to `ifname`, its node name as ifalias) into the pod and
/// set it up there. Returns the device as the pod has it. Kind notFound with op [`LOOKUP_OP`] when
/// the node has no such device; netnsGone when the pod's namespace is gone.
pub fn host_device_add_here(req: &HostDeviceAddRequest) -> Result<HostDeviceAddResult> {
    if let Some(pin) = req.pin.as_deref() {
        recover(req.host_netns.as_deref(), pin)?;
    }
    let mut s = spaces(req.host_netns.as_deref(), &req.pod_netns)?;
    let dev = find(&mut s.host, &req.device)?;
    s.pin(req.pin.as_deref())?;
    let orig = dev.info.name.clone();
    let mut steps = Vec::new();
    let r = move_in(&mut s, &dev, &req.ifname, &mut steps);
    match r {
        Ok(link) => Ok(HostDeviceAddResult { link, node_up: dev.info.up }),
        Err(e) => {
            let problems = undo_add(&mut s, steps);
            Err(failed(e.with_message_prefix(&format!("failed to move {orig:?} into the pod as {:?}", req.ifname)), problems))
        }
    }
}

fn move_in(s: &mut Spaces, dev: &Link, ifname: &str, steps: &mut Vec<AddStep>) -> Result<LinkInfo> {
    let orig = dev.info.name.clone();
    s.host.ack("move to temporary netns", set_netns_msg(dev.info.index, s.temp_fd.as_raw_fd()), 0)?;
    steps.push(AddStep::InTemp { orig: orig.clone(), up: dev.info.up });
    fault::step(Step::HostDeviceAddToTemp);
    let t = by_name(&mut s.temp, &orig, "find in temporary netns")?;
    // the alias before the rename: whatever step a kill interrupts, the device's node name is its
    // alias, or its name while it has none (what recovery relies on)
    s.temp.ack("set alias", alias_msg(t.info.index, &orig), 0)?;
    steps.push(AddStep::Aliased { orig: orig.clone() });
    fault::step(Step::HostDeviceAddAlias);
    s.temp.ack("rename", rename_msg(t.info.index, ifname), 0)?;
    steps.push(AddStep::Renamed { orig: orig.clone(), ifname: ifname.to_string() });
    fault::step(Step::HostDeviceAddRename);
    s.temp.ack("move to pod netns", set_netns_msg(t.info.index, s.pod_fd.as_raw_fd()), 0)?;
    steps.push(AddStep::InPod { ifname: ifname.to_string() });
    fault::step(Step::HostDeviceAddToPod);
    let p = by_name(&mut s.pod, ifname, "find in pod netns")?;
    link::set_up(&mut s.pod, p.info.index, true)?;
    Ok(by_name(&mut s.pod, ifname, "find in pod netns")?.info)
}

/// DEL on the calling thread, which must be a throwaway one: move the pod's `ifname` through a
/// temporary namespace back to the node, renamed to its ifalias, the alias cleared, left down (its
/// state before ADD is not known) unless `up`. Kind netnsGone when the pod's namespace is gone; invalid when
/// the link has no alias (not one this plugin moved).
pub fn host_device_del_here(req: &HostDeviceDelRequest) -> Result<HostDeviceDelResult> {
    if let Some(pin) = req.pin.as_deref() {
        recover(req.host_netns.as_deref(), pin)?;
    }
    let mut s = spaces(req.host_netns.as_deref(), &req.pod_netns)?;
    let Some((dev, alias)) = with_alias(&mut s.pod, &req.ifname)? else { return Ok(HostDeviceDelResult { restored: None }) };
    if alias.is_empty() {
        return Err(Failure::invalid("host device del", format!("failed to find original ifname for {:?} (alias is not set)", req.ifname)));
    }
    s.pin(req.pin.as_deref())?;
    s.pod.ack("move to temporary netns", set_netns_msg(dev.info.index, s.temp_fd.as_raw_fd()), 0)?;
    fault::step(Step::HostDeviceDelToTemp);
    let r = move_out(&mut s, &req.ifname, &alias).and_then(|()| {
        if req.up {
            by_name(&mut s.host, &alias, "link up").and_then(|l| link::set_up(&mut s.host, l.info.index, true))
        } else {
            Ok(())
        }
    });
    if let Err(e) = r {
        let problems = undo_del(&mut s, &req.ifname, dev.info.up);
        return Err(failed(e.with_message_prefix(&format!("failed to move {:?} back to the node as {alias:?}", req.ifname)), problems));
    }
    Ok(HostDeviceDelResult { restored: Some(alias) })
}

fn move_out(s: &mut Spaces, ifname: &str, alias: &str) -> Result<()> {
    let t = by_name(&mut s.temp, ifname, "find in temporary netns")?;
    s.temp.ack("rename", rename_msg(t.info.index, alias), 0)?;
    fault::step(Step::HostDeviceDelRename);
    if let Err(e) = s.temp.ack("clear alias", alias_msg(t.info.index, ""), 0) {
        let _ = s.temp.ack("undo: rename", rename_msg(t.info.index, ifname), 0);
        return Err(e);
    }
    fault::step(Step::HostDeviceDelAlias);
    if let Err(e) = s.temp.ack("move to node netns", set_netns_msg(t.info.index, s.host_fd.as_raw_fd()), 0) {
        let _ = s.temp.ack("undo: alias", alias_msg(t.info.index, alias), 0);
        let _ = s.temp.ack("undo: rename", rename_msg(t.info.index, ifname), 0);
        return Err(e);
    }
    Ok(())
}

/// Back into the pod as `ifname` (move_out restored name and alias), up again if it was.
fn undo_del(s: &mut Spaces, ifname: &str, up: bool) -> Vec<String> {
    let r = by_name(&mut s.temp, ifname, "undo: back to pod")
        .and_then(|l| s.temp.ack("undo: back to pod", set_netns_msg(l.info.index, s.pod_fd.as_raw_fd()), 0))
        .and_then(|()| {
            if up {
                by_name(&mut s.pod, ifname, "undo: up").and_then(|l| link::set_up(&mut s.pod, l.info.index, true))
            } else {
                Ok(())
            }
        });
    r.err().map(|e| vec![e.message]).unwrap_or_default()
}

/// Recovery (also the first thing ADD and DEL do when given a pin), on the calling thread, which
/// must be a throwaway one: each link of the namespace pinned
/// at `pin` (a process was killed while it moved a device through it) goes back to the node under
/// its node name — its alias, or its name when it has none — its alias cleared, left down; then
/// the pin is removed. No pin: nothing to do.
pub fn host_device_recover_here(req: &HostDeviceRecoverRequest) -> Result<HostDeviceRecoverResult> {
    let restored = recover(req.host_netns.as_deref(), &req.pin)?;
    Ok(HostDeviceRecoverResult { restored })
}

/// [`host_device_recover_here`]'s work; the calling thread ends in the node's namespace.
fn recover(host_netns: Option<&str>, pin: &str) -> Result<Vec<String>> {
    let mut restored = Vec::new();
    let Some(temp_fd) = netns::open_pinned(pin)? else { return Ok(restored) };
    if let Some(h) = host_netns {
        netns::enter(&netns::open(h)?, h)?;
    }
    let host_fd = netns::open("/proc/thread-self/ns/net")?;
    // a pin file whose bind mount the kill forestalled is no namespace: nothing was moved into it
    if netns::enter(&temp_fd, pin).is_ok() {
        let mut temp = Rtnl::open()?;
        for l in link::list(&mut temp)? {
            if l.info.name == "lo" {
                continue;
            }
            let Some((dev, alias)) = with_alias(&mut temp, &l.info.name)? else { continue };
            let name = if alias.is_empty() { dev.info.name.clone() } else { alias.clone() };
            if name != dev.info.name {
                temp.ack("recover: rename", rename_msg(dev.info.index, &name), 0)?;
            }
            if !alias.is_empty() {
                temp.ack("recover: clear alias", alias_msg(dev.info.index, ""), 0)?;
            }
            temp.ack("recover: move to node netns", set_netns_msg(dev.info.index, host_fd.as_raw_fd()), 0)?;
            restored.push(name);
        }
        netns::enter(&host_fd, "the node's namespace")?;
    }
    netns::unpin(pin);
    Ok(restored)
}

trait Prefixed {
    fn with_message_prefix(self, what: &str) -> Self;
}
impl Prefixed for Failure {
    fn with_message_prefix(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

#[cfg(test)]
#[path = "hostdev_tests.rs"]
mod tests;
