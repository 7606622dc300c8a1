//! The bridge plugin's MAC spoof check with nf_tables sets: table `bridge fastcni`, base chain
//! `prerouting` (filter, priority -300), and per network two sets and one rule:
//!   iifname @spoof-if-<h> iifname . ether saddr != @spoof-mac-<h> drop
//! Adding a pod adds two elements (its host veth; its host veth . container MAC) in one batch;
//! the DEL that takes the network's last elements also takes its sets and rule (see reap.rs).

use sha2::{Digest, Sha256};

use super::error::{nl_errno, Failure, FailureKind};
use super::masq::elem_comment;
use super::objects::{self, Elem, SetSpec, Table, IFNAME_LEN};
use super::pool;
use super::reap::{self, NftGcRequest};
use super::socket::{MsgError, NftSocket};
use super::wire::{Msg, NFPROTO_BRIDGE, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL};

/// Table `bridge fastcni`.
pub const TABLE: Table<'static> = Table { family: NFPROTO_BRIDGE, name: "fastcni" };
pub const CHAIN: &str = "prerouting";
pub const IF_SET_PREFIX: &str = "spoof-if-";
pub const MAC_SET_PREFIX: &str = "spoof-mac-";
/// The reference's priority (NF_BR_PRI_NAT_DST_BRIDGED, "dstnat" in the bridge family).
const PRIORITY: i32 = -300;
/// Set ids within a set-up batch.
const IF_SET_ID: u32 = 1;
const MAC_SET_ID: u32 = 2;
use super::wire::MAX_COMMENT;
const DEL: &str = "spoof check del";
/// Where the rule that uses a network's sets is.
const SCOPE: reap::Scope<'static> = reap::Scope { table: TABLE, chain: CHAIN, op: DEL };

/// Guard a pod's host port against MAC spoofing (bridge `macspoofchk`).
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SpoofCheckAddRequest {
    /// namespace that plays the host (a path); undefined = the caller's own
    pub host_netns: Option<String>,
    /// CNI network name: each network has its own pair of sets in table `bridge fastcni` (so GC
    /// of one network never touches another's pods)
    pub network: String,
    /// the pod's host-side veth (the bridge port)
    pub host_ifname: String,
    /// the container interface's MAC (aa:bb:cc:dd:ee:ff): the only source MAC allowed from the port
    pub mac: String,
    pub container_id: String,
    pub ifname: String,
}

/// Remove one attachment's spoof-check elements.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SpoofCheckDelRequest {
    pub host_netns: Option<String>,
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    /// when given, only elements of this host port are removed (still only if their comment
    /// `<containerId>/<ifname>` names this attachment)
    pub host_ifname: Option<String>,
    /// the container MAC: with hostIfname, the two elements are looked up by key instead of
    /// listing the network's sets (O(1) per DEL instead of O(pods of the network)), and
    /// hostIfname is no longer a filter when they are not found there
    pub mac: Option<String>,
}

/// One guarded port as listed from the sets; `mac` is "" when only the port element exists.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SpoofCheckEntry {
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    pub host_ifname: String,
    pub mac: String,
}

/// Set names of a network: `spoof-if-` / `spoof-mac-` + 16 hex of sha256(network).
pub fn set_names(network: &str) -> (String, String) {
    let d = Sha256::digest(network.as_bytes());
    let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
    (format!("{IF_SET_PREFIX}{hex}"), format!("{MAC_SET_PREFIX}{hex}"))
}

fn invalid(msg: String) -> Failure {
    Failure::new(FailureKind::Invalid, "spoof check", msg)
}

pub fn parse_mac(s: &str) -> Result<[u8; 6], Failure> {
    let bad = || invalid(format!("invalid MAC address {s:?}"));
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut out = [0u8; 6];
    for (o, p) in out.iter_mut().zip(&parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

fn check_ifname(name: &str) -> Result<(), Failure> {
    if name.is_empty() || name.len() >= IFNAME_LEN || name.contains(['/', '\0']) {
        return Err(invalid(format!("invalid host interface name {name:?}")));
    }
    Ok(())
}

fn fmt_mac(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")
}

fn key_ifname(key: &[u8]) -> String {
    super::wire::attr_str(&key[..key.len().min(IFNAME_LEN)])
}

/// The objects and elements for one pod.
pub struct Plan {
    pub if_set: String,
    pub mac_set: String,
    pub network: String,
    pub host_ifname: String,
    pub if_elem: Elem,
    pub mac_elem: Elem,
}

impl Plan {
    pub fn new(req: &SpoofCheckAddRequest) -> Result<Self, Failure> {
        check_ifname(&req.host_ifname)?;
        let mac = parse_mac(&req.mac)?;
        let comment = elem_comment(&req.container_id, &req.ifname);
        if comment.len() > MAX_COMMENT || req.network.len() > MAX_COMMENT {
            return Err(invalid("network name, container id or ifname too long for an nf_tables comment".into()));
        }
        let (if_set, mac_set) = set_names(&req.network);
        Ok(Plan {
            if_set,
            mac_set,
            network: req.network.clone(),
            host_ifname: req.host_ifname.clone(),
            if_elem: Elem { key: objects::ifname_key(&req.host_ifname), comment: Some(comment.clone()) },
            mac_elem: Elem { key: objects::ifname_ether_key(&req.host_ifname, &mac), comment: Some(comment) },
        })
    }

    /// Table, chain, the network's two sets (EXCL: whoever creates them appends the rule) and rule.
    pub fn setup_msgs(&self) -> Vec<Msg> {
        let rule = objects::spoof_rule(&self.if_set, Some(IF_SET_ID), &self.mac_set, Some(MAC_SET_ID));
        vec![
            objects::new_table(TABLE, NLM_F_CREATE),
            // No EXCL: the chain holds no rules of its own, so re-adding an identical one is harmless.
            objects::new_filter_prerouting_chain(TABLE, CHAIN, PRIORITY, NLM_F_CREATE),
            objects::new_set(
                TABLE,
                &SetSpec {
                    name: &self.if_set,
                    key_type: objects::TYPE_IFNAME,
                    key_len: IFNAME_LEN as u32,
                    id: IF_SET_ID,
                    udata: objects::ifname_set_udata(&self.network),
                },
                NLM_F_CREATE | NLM_F_EXCL,
            ),
            objects::new_set(
                TABLE,
                &SetSpec {
                    name: &self.mac_set,
                    key_type: objects::TYPE_IFNAME_ETHER,
                    key_len: (IFNAME_LEN + objects::ETHER_KEY_LEN) as u32,
                    id: MAC_SET_ID,
                    udata: objects::ifname_ether_set_udata(&self.network),
                },
                NLM_F_CREATE | NLM_F_EXCL,
            ),
            objects::new_rule(TABLE, CHAIN, &rule, NLM_F_CREATE | NLM_F_APPEND),
        ]
    }

    /// The two elements (set ids when the sets are created in the same batch).
    pub fn add_elem_msgs(&self, with_ids: bool) -> Vec<Msg> {
        let f = NLM_F_CREATE | NLM_F_EXCL;
        vec![
            objects::new_set_elems(TABLE, &self.if_set, with_ids.then_some(IF_SET_ID), std::slice::from_ref(&self.if_elem), f),
            objects::new_set_elems(TABLE, &self.mac_set, with_ids.then_some(MAC_SET_ID), std::slice::from_ref(&self.mac_elem), f),
        ]
    }
}

fn fail(op: &str, errs: &[MsgError]) -> Failure {
    nl_errno(op, errs[0].errno)
}

/// Guard the pod's host port. Common path: one batch with the two elements. First use of a
/// network on this node: a batch that also creates table, chain, sets and rule; EXCL on the sets
/// makes concurrent first uses race-free (the loser retries with the elements only).
pub fn spoof_add(req: &SpoofCheckAddRequest) -> Result<(), Failure> {
    const OP: &str = "spoof check add";
    let plan = Plan::new(req)?;
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let mut need_setup = false;
    let mut last: Option<MsgError> = None;
    for _ in 0..6 {
        let mut msgs = if need_setup { plan.setup_msgs() } else { vec![] };
        let elems_at = msgs.len();
        msgs.extend(plan.add_elem_msgs(need_setup));
        let errs = match sock.transact(OP, &msgs)? {
            Ok(()) => return Ok(()),
            Err(errs) => errs,
        };
        let errno_at = |i: usize| errs.iter().find(|e| e.index == i).map(|e| e.errno);
        if !need_setup {
            let elem_errs: Vec<i32> = (elems_at..msgs.len()).filter_map(errno_at).collect();
            if elem_errs.contains(&libc::ENOENT) {
                // Set or table missing: first use of this network on this node, or the DEL of its
                // last pod removed it since (nothing remembers a network as set up: this ENOENT tells).
                need_setup = true;
                continue;
            }
            if elem_errs.contains(&libc::EEXIST) {
                // A stale entry for this port (re-ADD, or a reused veth name after a missed DEL):
                // replace everything of the port; the newest ADD owns it.
                match replace(&mut sock, &plan)? {
                    Ok(()) => return Ok(()),
                    Err(e) if e.iter().all(|e| e.errno == libc::ENOENT) => continue,
                    Err(e) => return Err(fail(OP, &e)),
                }
            }
            return Err(fail(OP, &errs));
        }
        // Set-up batch failed: EEXIST on a set means another process set this network up first;
        // other errors of that aborted batch may be consequences, so retry with the elements only.
        if errno_at(2) == Some(libc::EEXIST) || errno_at(3) == Some(libc::EEXIST) {
            last = Some(errs[0]);
            need_setup = false;
            continue;
        }
        return Err(fail(OP, &errs));
    }
    if let Some(e) = last {
        return Err(nl_errno(OP, e.errno));
    }
    Err(Failure::new(FailureKind::Busy, OP, "spoof-check set-up kept racing with concurrent changes"))
}

/// One batch: delete every element of the plan's port, add the plan's two elements.
fn replace(sock: &mut NftSocket, plan: &Plan) -> Result<Result<(), Vec<MsgError>>, Failure> {
    let listed = list_network(sock, &plan.if_set, &plan.mac_set)?;
    let mut msgs = del_msgs(&plan.if_set, &plan.mac_set, &listed, |l| l.host_ifname == plan.host_ifname);
    msgs.extend(plan.add_elem_msgs(false));
    sock.transact("spoof check add", &msgs)
}

/// An element of a network's sets.
struct Listed {
    in_mac_set: bool,
    host_ifname: String,
    elem: Elem,
}

fn list_network(sock: &mut NftSocket, if_set: &str, mac_set: &str) -> Result<Vec<Listed>, Failure> {
    let mut out = Vec::new();
    for (set, in_mac_set) in [(if_set, false), (mac_set, true)] {
        // no table or set: nothing there
        for elem in reap::set_elems(sock, TABLE, set)?.unwrap_or_default() {
            out.push(Listed { in_mac_set, host_ifname: key_ifname(&elem.key), elem });
        }
    }
    Ok(out)
}

/// DELSETELEM messages (at most one per set) for the listed elements that `pick` selects.
fn del_msgs(if_set: &str, mac_set: &str, listed: &[Listed], pick: impl Fn(&Listed) -> bool) -> Vec<Msg> {
    let mut msgs = Vec::new();
    for (set, in_mac) in [(if_set, false), (mac_set, true)] {
        let elems: Vec<Elem> = listed.iter().filter(|l| l.in_mac_set == in_mac && pick(l)).map(|l| l.elem.clone()).collect();
        if !elems.is_empty() {
            msgs.push(objects::del_set_elems(TABLE, set, &elems));
        }
    }
    msgs
}

/// Remove the attachment's elements, found by their comment `<containerId>/<ifname>` in the
/// network's two sets (so a DEL running after the port name was reused leaves the new owner
/// alone), then the network's sets and rule if no element is left (see reap.rs). Idempotent:
/// missing elements, sets or table are success, and a repeated DEL still removes empty sets.
pub fn spoof_del(req: &SpoofCheckDelRequest) -> Result<(), Failure> {
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let (if_set, mac_set) = set_names(&req.network);
    del_elements(&mut sock, req, (&if_set, &mac_set))?;
    reap::reap_if_empty(&mut sock, SCOPE, &[&if_set, &mac_set])
}

fn del_elements(sock: &mut NftSocket, req: &SpoofCheckDelRequest, (if_set, mac_set): (&str, &str)) -> Result<(), Failure> {
    let mine = elem_comment(&req.container_id, &req.ifname);
    // With the MAC, the port is where to look first, not a filter: the listing that follows a miss
    // removes the attachment's elements on any port.
    let mut only_port = req.host_ifname.as_deref();
    if let (Some(host), Some(mac)) = (req.host_ifname.as_deref(), req.mac.as_deref()) {
        if del_by_key(sock, (if_set, mac_set), host, mac, &mine)? {
            return Ok(());
        }
        only_port = None;
    }
    for _ in 0..3 {
        let listed = list_network(sock, if_set, mac_set)?;
        let msgs = del_msgs(if_set, mac_set, &listed, |l| {
            l.elem.comment.as_deref() == Some(mine.as_str()) && only_port.is_none_or(|h| h == l.host_ifname)
        });
        if msgs.is_empty() {
            return Ok(());
        }
        match sock.transact(DEL, &msgs)? {
            Ok(()) => return Ok(()),
            // Something was deleted meanwhile (the whole batch was refused): list again.
            Err(e) if e.iter().all(|e| e.errno == libc::ENOENT) => continue,
            Err(e) => return Err(fail(DEL, &e)),
        }
    }
    Err(Failure::new(FailureKind::Busy, DEL, "spoof-check elements kept changing during DEL"))
}

/// GC of one network: the elements of attachments that are not valid go (in one transaction,
/// valid only if nothing changed since they were listed), then the network's sets and rule if no
/// element is left.
pub fn spoof_gc(req: &NftGcRequest) -> Result<(), Failure> {
    const OP: &str = "spoof check gc";
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let (if_set, mac_set) = set_names(&req.network);
    reap::sweep(&mut sock, OP, |sock| {
        let listed = list_network(sock, &if_set, &mac_set)?;
        Ok(del_msgs(&if_set, &mac_set, &listed, |l| !req.keeps(l.elem.comment.as_deref())))
    })?;
    reap::reap_if_empty(&mut sock, reap::Scope { op: OP, ..SCOPE }, &[&if_set, &mac_set])
}

/// The attachment's two elements looked up by key and deleted when their comment names it.
/// False when the port element is not there as expected (never added, already deleted, or owned
/// by another attachment): the caller then falls back to listing, which also finds strays.
fn del_by_key(sock: &mut NftSocket, (if_set, mac_set): (&str, &str), host: &str, mac: &str, mine: &str) -> Result<bool, Failure> {
    if check_ifname(host).is_err() {
        return Ok(false);
    }
    let Ok(mac) = parse_mac(mac) else { return Ok(false) };
    let mut found = Vec::new();
    for (set, key) in [(if_set, objects::ifname_key(host)), (mac_set, objects::ifname_ether_key(host, &mac))] {
        let msg = objects::get_set_elem(TABLE, set, &key);
        let current = match sock.request("spoof check del lookup", &msg) {
            Ok(replies) => replies.iter().flat_map(|r| objects::parse_set_elems(r)).find(|e| e.key == key),
            Err(e) if e.errno == libc::ENOENT => None,
            Err(e) => return Err(e),
        };
        match current {
            Some(e) if e.comment.as_deref() == Some(mine) => found.push(objects::del_set_elems(TABLE, set, &[e])),
            _ if set == if_set => return Ok(false),
            _ => {}
        }
    }
    match sock.transact(DEL, &found)? {
        Ok(()) => Ok(true),
        Err(e) if e.iter().all(|e| e.errno == libc::ENOENT) => Ok(false), // changed meanwhile: list
        Err(e) => Err(fail(DEL, &e)),
    }
}

/// The guarded ports of one network (or of all networks) in `host_netns`. Elements without a
/// parsable comment are reported with empty containerId and ifname.
pub fn spoof_list(host_netns: Option<&str>, network: Option<&str>) -> Result<Vec<SpoofCheckEntry>, Failure> {
    let mut sock = pool::lease(host_netns)?;
    let networks: Vec<String> = match network {
        Some(n) => vec![n.to_string()],
        None => {
            let sets = sock.dump_existing("spoof check list sets", &objects::dump_sets(TABLE))?.unwrap_or_default();
            sets.iter()
                .filter_map(|p| objects::parse_set(p))
                .filter(|s| s.name.starts_with(MAC_SET_PREFIX))
                .filter_map(|s| s.comment)
                .collect()
        }
    };
    let mut out: Vec<SpoofCheckEntry> = Vec::new();
    for net in networks {
        let (if_set, mac_set) = set_names(&net);
        let mut listed = list_network(&mut sock, &if_set, &mac_set)?;
        // MAC elements first, so a port element only adds an entry when its pair is missing.
        listed.sort_by_key(|l| !l.in_mac_set);
        for l in listed {
            let (cid, ifname) =
                l.elem.comment.as_deref().and_then(|c| c.rsplit_once('/')).map(|(a, b)| (a.to_string(), b.to_string())).unwrap_or_default();
            let seen =
                out.iter().any(|e| e.network == net && e.host_ifname == l.host_ifname && e.container_id == cid && e.ifname == ifname);
            if !l.in_mac_set && seen {
                continue;
            }
            let mac =
                if l.in_mac_set { l.elem.key.get(IFNAME_LEN..IFNAME_LEN + 6).map(fmt_mac).unwrap_or_default() } else { String::new() };
            out.push(SpoofCheckEntry { network: net.clone(), container_id: cid, ifname, host_ifname: l.host_ifname, mac });
        }
    }
    Ok(out)
}
