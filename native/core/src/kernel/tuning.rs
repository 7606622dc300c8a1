//! The tuning plugin's kernel work inside a pod's namespace: net.* sysctls, opened beneath a
//! descriptor of /proc/sys/net that no key can climb out of, and one interface's MAC, MTU,
//! promiscuous and all-multicast flags and transmit queue length, set in one RTM_NEWLINK. ADD reads
//! what it changes first and puts it back itself when a step fails; DEL restores; CHECK reads.
//! Each call runs on a throwaway thread of ours (it enters the pod's namespace).

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};

use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::link;
use super::netns;
use super::rtnl::Rtnl;
use crate::error::{Failure, FailureKind, Result};
use crate::fault::{self, Step};

/// One sysctl: `key` relative to /proc/sys in slash form ("net/ipv4/conf/eth0/rp_filter").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SysctlValue {
    pub key: String,
    pub value: String,
}

/// Link attributes to set (or restore); each one undefined is left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct LinkTuning {
    /// "aa:bb:cc:dd:ee:ff"
    pub mac: Option<String>,
    pub mtu: Option<u32>,
    pub promisc: Option<bool>,
    pub allmulti: Option<bool>,
    pub tx_q_len: Option<u32>,
}

impl LinkTuning {
    fn any(&self) -> bool {
        self.mac.is_some() || self.mtu.is_some() || self.promisc.is_some() || self.allmulti.is_some() || self.tx_q_len.is_some()
    }
}

/// What tuning changes in a pod (ADD), or puts back (DEL, a failed ADD's undo).
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct TuningRequest {
    /// the pod's namespace (a path)
    pub netns: String,
    pub ifname: String,
    /// written in this order, before the link is touched
    pub sysctls: Vec<SysctlValue>,
    pub link: LinkTuning,
}

/// What an ADD changed, as it was before: give it back to tuningRestore to undo the ADD.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct TuningPrior {
    /// the former values of the sysctls written (one that could not be read, a write-only one, is absent)
    pub sysctls: Vec<SysctlValue>,
    /// the former values of exactly the attributes the request set
    pub link: LinkTuning,
}

/// The attributes tuning manages, as the kernel reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct TuningLinkState {
    pub mac: String,
    pub mtu: u32,
    pub promisc: bool,
    pub allmulti: bool,
    pub tx_q_len: u32,
}

/// What CHECK reads in a pod.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct TuningInspectRequest {
    pub netns: String,
    pub ifname: String,
    /// keys in slash form, as in SysctlValue
    pub sysctls: Vec<String>,
}

/// The sysctls' values (as read, newline included) and the link (absent: no such link).
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct TuningInspectResult {
    pub sysctls: Vec<SysctlValue>,
    pub link: Option<TuningLinkState>,
}

/// The part of a key below /proc/sys/net, refused unless it names something under it: no empty,
/// "." or ".." component, no NUL. TypeScript checks the same before the request is sent; this is
/// the check that holds whoever calls.
fn below_net(key: &str) -> Result<&str> {
    let invalid = || Failure::invalid("sysctl", format!("invalid net sysctl key: {key:?} (must name a file under /proc/sys/net)"));
    let rest = key.strip_prefix("net/").ok_or_else(invalid)?;
    if rest.contains('\0') || rest.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(invalid());
    }
    Ok(rest)
}

/// /proc/sys/net of the calling thread's namespace (opened after entering it).
fn open_net_dir() -> Result<OwnedFd> {
    let c = c"/proc/sys/net";
    // SAFETY: open with a valid C string; the fd is owned below.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Failure::last_os("sysctl open /proc/sys/net"));
    }
    // SAFETY: fd was just opened by us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Open `rest` beneath the /proc/sys/net descriptor: the kernel refuses any resolution that would
/// leave it (RESOLVE_BENEATH) or follow a link, whatever the key says.
fn open_beneath(dir: &OwnedFd, key: &str, rest: &str, write: bool) -> Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let op = if write { "sysctl write" } else { "sysctl read" };
    let c = std::ffi::CString::new(rest).map_err(|_| Failure::invalid("sysctl", format!("invalid net sysctl key: {key:?}")))?;
    // SAFETY: open_how is plain data; zeroed is its documented initial state.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = ((if write { libc::O_WRONLY } else { libc::O_RDONLY }) | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS | libc::RESOLVE_NO_XDEV;
    // SAFETY: openat2 with our dirfd, a valid C string and an open_how of the size we pass.
    let fd = unsafe {
        libc::syscall(libc::SYS_openat2, dir.as_raw_fd(), c.as_ptr(), &how as *const libc::open_how, std::mem::size_of::<libc::open_how>())
    };
    if fd < 0 {
        let f = Failure::last_os(op);
        let msg = format!("{}: /proc/sys/{key}", f.message);
        return Err(f.with_message(msg));
    }
    // SAFETY: fd was just opened by us.
    Ok(unsafe { std::fs::File::from_raw_fd(fd as i32) })
}

fn sysctl_read(dir: &OwnedFd, key: &str) -> Result<String> {
    let rest = below_net(key)?;
    let mut s = String::new();
    open_beneath(dir, key, rest, false)?.read_to_string(&mut s).map_err(|e| Failure::io("sysctl read", &e))?;
    Ok(s)
}

fn sysctl_write(dir: &OwnedFd, key: &str, value: &str) -> Result<()> {
    let rest = below_net(key)?;
    open_beneath(dir, key, rest, true)?.write_all(value.as_bytes()).map_err(|e| {
        let f = Failure::io("sysctl write", &e);
        let m = format!("{}: /proc/sys/{key}", f.message);
        f.with_message(m)
    })
}

/// The managed attributes of a link, from its RTM_NEWLINK (one link: the typed parser will do).
fn state_of(msg: &RouteNetlinkMessage) -> Option<TuningLinkState> {
    let RouteNetlinkMessage::NewLink(m) = msg else { return None };
    let mut s = TuningLinkState {
        promisc: m.header.flags.contains(LinkFlags::Promisc),
        allmulti: m.header.flags.contains(LinkFlags::Allmulti),
        ..Default::default()
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::Address(b) => s.mac = link::format_mac(b),
            LinkAttribute::Mtu(v) => s.mtu = *v,
            LinkAttribute::TxQueueLen(v) => s.tx_q_len = *v,
            _ => {}
        }
    }
    Some(s)
}

/// The link's index and managed attributes; None when there is no link of that name.
fn read_link(nl: &mut Rtnl, ifname: &str) -> Result<Option<(u32, TuningLinkState)>> {
    let raw = match nl.get_raw(&format!("link get {ifname}"), link::get_msg(0, Some(ifname))) {
        Ok(r) => r,
        Err(e) if e.kind == FailureKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let msg = raw.parse("link get")?;
    let index = match &msg {
        RouteNetlinkMessage::NewLink(m) => m.header.index,
        _ => return Err(Failure::internal("link get", "unexpected reply to RTM_GETLINK")),
    };
    let state = state_of(&msg).ok_or_else(|| Failure::internal("link get", "unexpected reply to RTM_GETLINK"))?;
    Ok(Some((index, state)))
}

/// The former values of exactly the attributes `want` sets.
fn prior_of(now: &TuningLinkState, want: &LinkTuning) -> LinkTuning {
    LinkTuning {
        mac: want.mac.as_ref().map(|_| now.mac.clone()),
        mtu: want.mtu.map(|_| now.mtu),
        promisc: want.promisc.map(|_| now.promisc),
        allmulti: want.allmulti.map(|_| now.allmulti),
        tx_q_len: want.tx_q_len.map(|_| now.tx_q_len),
    }
}

/// One RTM_NEWLINK setting every attribute `t` names.
fn set_link_msg(index: u32, t: &LinkTuning, mac: Option<Vec<u8>>) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    for (want, flag) in [(t.promisc, LinkFlags::Promisc), (t.allmulti, LinkFlags::Allmulti)] {
        if let Some(on) = want {
            m.header.change_mask |= flag;
            if on {
                m.header.flags |= flag;
            }
        }
    }
    if let Some(mac) = mac {
        m.attributes.push(LinkAttribute::Address(mac));
    }
    if let Some(mtu) = t.mtu {
        m.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(q) = t.tx_q_len {
        m.attributes.push(LinkAttribute::TxQueueLen(q));
    }
    RouteNetlinkMessage::NewLink(m)
}

fn set_link(nl: &mut Rtnl, index: u32, ifname: &str, t: &LinkTuning) -> Result<()> {
    let mac = t.mac.as_deref().map(link::parse_mac).transpose()?;
    nl.ack(&format!("link set {ifname}"), set_link_msg(index, t, mac), 0)
}

fn link_missing(ifname: &str) -> Failure {
    Failure::new(FailureKind::NotFound, "link get", format!("failed to get {ifname:?}: Link not found"))
}

/// The ADD's steps, recording in `prior` what each changed before it changes it.
fn apply_steps(nl: &mut Rtnl, dir: &OwnedFd, req: &TuningRequest, prior: &mut TuningPrior, index: Option<u32>) -> Result<()> {
    for s in &req.sysctls {
        // a write-only sysctl has no value to put back; the write below still has to succeed
        if let Ok(old) = sysctl_read(dir, &s.key) {
            prior.sysctls.push(SysctlValue { key: s.key.clone(), value: old.trim_end_matches('\n').to_string() });
        }
        sysctl_write(dir, &s.key, &s.value)?;
    }
    fault::step(Step::TuningApplySysctls);
    if let Some(index) = index {
        set_link(nl, index, &req.ifname, &req.link)?;
    }
    Ok(())
}

/// ADD, on the calling thread, which must be a throwaway one (it enters the pod's namespace):
/// every key and the MAC are checked before anything changes; the sysctls are written in order,
/// then the link's attributes set in one message. Returns the former values; when a step fails,
/// what was changed is put back before the error is returned.
pub fn tuning_apply_here(req: &TuningRequest) -> Result<TuningPrior> {
    for s in &req.sysctls {
        below_net(&s.key)?;
    }
    if let Some(mac) = req.link.mac.as_deref() {
        link::parse_mac(mac)?;
    }
    let ns = netns::open(&req.netns)?;
    if req.sysctls.is_empty() && !req.link.any() {
        // Nothing to change (podman's bare `{"type": "tuning"}`): the namespace must open, as the
        // reference's WithNetNSPath requires, but no thread switch or netlink socket is needed.
        return Ok(TuningPrior::default());
    }
    netns::enter(&ns, &req.netns)?;
    let mut nl = Rtnl::open()?;
    let mut prior = TuningPrior::default();
    let index = if req.link.any() {
        let (index, now) = read_link(&mut nl, &req.ifname)?.ok_or_else(|| link_missing(&req.ifname))?;
        prior.link = prior_of(&now, &req.link);
        Some(index)
    } else {
        None
    };
    let dir = if req.sysctls.is_empty() { None } else { Some(open_net_dir()?) };
    let steps = match &dir {
        Some(d) => apply_steps(&mut nl, d, req, &mut prior, index),
        None => index.map_or(Ok(()), |i| set_link(&mut nl, i, &req.ifname, &req.link)),
    };
    if let Err(e) = steps {
        if let Some(i) = index {
            let _ = set_link(&mut nl, i, &req.ifname, &prior.link);
        }
        if let Some(d) = &dir {
            for s in prior.sysctls.iter().rev() {
                let _ = sysctl_write(d, &s.key, &s.value);
            }
        }
        return Err(e);
    }
    Ok(prior)
}

/// DEL's restore (and a failed ADD's undo), on a throwaway thread of ours: the sysctls written
/// back in reverse order, then the link's attributes. Every step is tried; the errors are joined.
/// Ok(false) when the link is gone (nothing of it to restore).
pub fn tuning_restore_here(req: &TuningRequest) -> Result<bool> {
    for s in &req.sysctls {
        below_net(&s.key)?;
    }
    netns::enter(&netns::open(&req.netns)?, &req.netns)?;
    let mut errors: Vec<Failure> = Vec::new();
    if !req.sysctls.is_empty() {
        match open_net_dir() {
            Ok(d) => errors.extend(req.sysctls.iter().rev().filter_map(|s| sysctl_write(&d, &s.key, &s.value).err())),
            Err(e) => errors.push(e),
        }
    }
    fault::step(Step::TuningRestoreSysctls);
    let mut found = true;
    if req.link.any() {
        let mut nl = Rtnl::open()?;
        match read_link(&mut nl, &req.ifname)? {
            Some((index, _)) => errors.extend(set_link(&mut nl, index, &req.ifname, &req.link).err()),
            None => found = false,
        }
    }
    match errors.len() {
        0 => Ok(found),
        1 => Err(errors.remove(0)),
        _ => {
            let msg = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
            Err(errors.remove(0).with_message(msg))
        }
    }
}

/// CHECK's view, on a throwaway thread of ours: each sysctl's value and the link's attributes.
pub fn tuning_inspect_here(req: &TuningInspectRequest) -> Result<TuningInspectResult> {
    for k in &req.sysctls {
        below_net(k)?;
    }
    netns::enter(&netns::open(&req.netns)?, &req.netns)?;
    let mut out = TuningInspectResult::default();
    if !req.sysctls.is_empty() {
        let dir = open_net_dir()?;
        for k in &req.sysctls {
            out.sysctls.push(SysctlValue { key: k.clone(), value: sysctl_read(&dir, k)? });
        }
    }
    out.link = read_link(&mut Rtnl::open()?, &req.ifname)?.map(|(_, s)| s);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_below_net() {
        assert_eq!(below_net("net/ipv4/conf/eth0.100/rp_filter").unwrap(), "ipv4/conf/eth0.100/rp_filter");
        for bad in ["kernel/hostname", "net", "net/", "net/ipv4/../../kernel/x", "net/./ipv4", "net//ipv4", "/net/ipv4", "net/a\0b"] {
            let e = below_net(bad).unwrap_err();
            assert_eq!(e.kind, FailureKind::Invalid, "{bad}");
        }
    }

    #[test]
    fn set_link_message_names_only_what_is_asked() {
        let t = LinkTuning { promisc: Some(true), allmulti: Some(false), mtu: Some(1400), ..Default::default() };
        let RouteNetlinkMessage::NewLink(m) = set_link_msg(7, &t, None) else { panic!("not a NEWLINK") };
        assert_eq!(m.header.index, 7);
        assert_eq!(m.header.change_mask, LinkFlags::Promisc | LinkFlags::Allmulti);
        assert_eq!(m.header.flags, LinkFlags::Promisc);
        assert_eq!(m.attributes, vec![LinkAttribute::Mtu(1400)]);
    }

    #[test]
    fn prior_has_exactly_the_asked_attributes() {
        let now = TuningLinkState { mac: "02:00:00:00:00:01".into(), mtu: 1500, promisc: false, allmulti: true, tx_q_len: 1000 };
        let want = LinkTuning { mac: Some("02:00:00:00:00:02".into()), tx_q_len: Some(5), ..Default::default() };
        assert_eq!(prior_of(&now, &want), LinkTuning { mac: Some(now.mac.clone()), tx_q_len: Some(1000), ..Default::default() });
    }

    /// A namespace of our own with a dummy link, for the root tests; removed with its thread.
    fn in_private_netns<T: Send>(f: impl FnOnce(String) -> T + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: unshare on a thread of ours that is dropped afterwards.
                assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare");
                let path = format!("/proc/{}/task/{}/ns/net", std::process::id(), unsafe { libc::gettid() });
                f(path)
            })
            .join()
            .unwrap()
        })
    }

    #[test]
    #[ignore = "needs root: creates a network namespace"]
    fn apply_restore_and_undo() {
        in_private_netns(|ns| {
            let ns2 = ns.clone();
            // link "lo" always exists: its MTU and flags stand in for a pod's interface
            let req = TuningRequest {
                netns: ns.clone(),
                ifname: "lo".into(),
                sysctls: vec![SysctlValue { key: "net/ipv4/conf/lo/rp_filter".into(), value: "2".into() }],
                link: LinkTuning { mtu: Some(9000), promisc: Some(true), tx_q_len: Some(77), ..Default::default() },
            };
            let prior = netns::on_thread(|| tuning_apply_here(&req)).unwrap();
            assert_eq!(prior.sysctls, vec![SysctlValue { key: "net/ipv4/conf/lo/rp_filter".into(), value: "0".into() }]);
            assert_eq!(prior.link.promisc, Some(false));
            let ireq = TuningInspectRequest { netns: ns2.clone(), ifname: "lo".into(), sysctls: vec!["net/ipv4/conf/lo/rp_filter".into()] };
            let seen = netns::on_thread(|| tuning_inspect_here(&ireq)).unwrap();
            assert_eq!(seen.sysctls[0].value, "2\n");
            let l = seen.link.unwrap();
            assert_eq!((l.mtu, l.promisc, l.tx_q_len), (9000, true, 77));

            let back = TuningRequest { netns: ns2.clone(), ifname: "lo".into(), sysctls: prior.sysctls.clone(), link: prior.link.clone() };
            assert!(netns::on_thread(|| tuning_restore_here(&back)).unwrap());
            let seen = netns::on_thread(|| tuning_inspect_here(&ireq)).unwrap();
            assert_eq!(seen.sysctls[0].value, "0\n");
            assert!(!seen.link.unwrap().promisc);

            // a failing link step (MTU beyond lo's maximum) puts the sysctl back
            let bad = TuningRequest { link: LinkTuning { mtu: Some(u32::MAX), ..Default::default() }, ..req.clone() };
            let e = netns::on_thread(|| tuning_apply_here(&bad)).unwrap_err();
            assert_eq!(e.kind, FailureKind::Invalid, "{e:?}");
            let seen = netns::on_thread(|| tuning_inspect_here(&ireq)).unwrap();
            assert_eq!(seen.sysctls[0].value, "0\n");

            // a missing link: ADD fails before anything changes, restore reports it gone
            let none = TuningRequest { ifname: "nope0".into(), ..req.clone() };
            assert_eq!(netns::on_thread(|| tuning_apply_here(&none)).unwrap_err().kind, FailureKind::NotFound);
            let seen = netns::on_thread(|| tuning_inspect_here(&ireq)).unwrap();
            assert_eq!(seen.sysctls[0].value, "0\n");
            let none_back = TuningRequest { sysctls: vec![], ..none };
            assert!(!netns::on_thread(|| tuning_restore_here(&none_back)).unwrap());
        });
    }
}
