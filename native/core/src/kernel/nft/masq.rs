//! Pod masquerading with nf_tables sets: table `inet fastcni`, base chain `postrouting`, one set
//! of pod addresses per (network, subnet) plus one rule using it. Adding a pod adds an element;
//! the DEL that takes a set's last element also takes the set and its rule (see reap.rs).

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use super::error::{nl_errno, Failure, FailureKind};
use super::objects::{self, Elem, Ip, SetSpec, Table};
use super::pool;
use super::reap::{self, NftGcRequest};
use super::socket::{MsgError, NftSocket};
use super::wire::{Msg, NFPROTO_INET, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL};

/// Table `inet fastcni`.
pub const TABLE: Table<'static> = Table { family: NFPROTO_INET, name: "fastcni" };
pub const CHAIN: &str = "postrouting";
pub const SET_PREFIX: &str = "masq-";
/// NF_IP_PRI_NAT_SRC ("srcnat").
const SRCNAT_PRIORITY: i32 = 100;
use super::wire::MAX_COMMENT;
const DEL: &str = "masq del";
/// Where the rules that use our sets are.
const SCOPE: reap::Scope<'static> = reap::Scope { table: TABLE, chain: CHAIN, op: DEL };

/// One attachment's masquerade request.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct MasqRequest {
    /// namespace that plays the host (a path); undefined = the caller's own
    pub host_netns: Option<String>,
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    /// pod CIDRs (address/prefix); on DEL may be empty: then the attachment's elements are found
    /// by their comment
    pub addresses: Vec<String>,
    /// nonMasqueradeCIDRs: destinations left unmasqueraded besides the pod's own subnet, each in the
    /// rule of its family's set. On DEL they only name the set looked in first: an element added
    /// under another list is still found (by the sets' comments)
    pub non_masquerade_cidrs: Option<Vec<String>>,
}

/// One element of our masquerade sets. `address` is address/prefix, the prefix being the set's
/// subnet, so that it can be handed back to masqDel as is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct MasqEntry {
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    pub address: String,
}

/// A pod address with the prefix of its subnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodCidr {
    pub ip: Ip,
    pub addr: Vec<u8>,
    pub prefix: u8,
}

impl PodCidr {
    pub fn parse(s: &str) -> Result<Self, Failure> {
        let bad = || Failure::new(FailureKind::Invalid, "masq", format!("invalid pod CIDR {s:?} (want address/prefix)"));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        let (ip, bytes) = match addr {
            IpAddr::V4(v) => (Ip::V4, v.octets().to_vec()),
            IpAddr::V6(v) => (Ip::V6, v.octets().to_vec()),
        };
        if prefix == 0 || prefix as usize > 8 * bytes.len() {
            // /0 would mean "never masquerade" (every destination is on-subnet): refuse it explicitly.
            return Err(bad());
        }
        Ok(PodCidr { ip, addr: bytes, prefix })
    }

    /// The subnet's network address bytes.
    pub fn net(&self) -> Vec<u8> {
        self.addr
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let bits = (self.prefix as i32 - 8 * i as i32).clamp(0, 8);
                if bits == 0 {
                    0
                } else {
                    b & (0xffu8 << (8 - bits))
                }
            })
            .collect()
    }

    pub fn subnet_string(&self) -> String {
        format!("{}/{}", fmt_addr(&self.net()), self.prefix)
    }

    /// The subnet itself (host bits cleared).
    fn subnet(&self) -> PodCidr {
        PodCidr { ip: self.ip, addr: self.net(), prefix: self.prefix }
    }
}

/// nonMasqueradeCIDRs as subnets, sorted and without repeats, so that the same list in another
/// order or spelling names the same set.
pub fn exemptions(list: &[String]) -> Result<Vec<PodCidr>, Failure> {
    let mut out = list
        .iter()
        .map(|c| {
            PodCidr::parse(c).map(|p| p.subnet()).map_err(|_| {
                Failure::new(
                    FailureKind::Invalid,
                    "masq",
                    format!("invalid nonMasqueradeCIDRs entry {c:?} (want address/prefix, prefix not 0)"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| (a.ip as u8, &a.addr, a.prefix).cmp(&(b.ip as u8, &b.addr, b.prefix)));
    out.dedup();
    Ok(out)
}

pub(super) fn fmt_addr(b: &[u8]) -> String {
    match b.len() {
        4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(b).unwrap()).to_string(),
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap()).to_string(),
        _ => format!("{b:02x?}"),
    }
}

/// Set name for a (network, subnet, exemptions): `masq-` + 16 hex of
/// sha256("<network>\n<subnet>[\n<exemption>]…"). Without exemptions the name is the one sets had
/// before exemptions existed, so a node's existing sets keep theirs; another list is another set
/// (its rule differs), and the sets' comment stays "<network> <subnet>" for DEL and GC to find.
pub fn set_name(network: &str, subnet: &str, exempt: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(network.as_bytes());
    h.update(b"\n");
    h.update(subnet.as_bytes());
    for e in exempt {
        h.update(b"\n");
        h.update(e.as_bytes());
    }
    let d = h.finalize();
    let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{SET_PREFIX}{hex}")
}

/// Set comment: "<network> <subnet>" (CNI network names contain no spaces; parsed from the right).
pub fn set_comment(network: &str, subnet: &str) -> String {
    format!("{network} {subnet}")
}

fn parse_set_comment(c: &str) -> Option<(String, PodCidr)> {
    let (net, subnet) = c.rsplit_once(' ')?;
    Some((net.to_string(), PodCidr::parse(subnet).ok()?))
}

/// Element comment: "<containerId>/<ifname>" (interface names cannot contain '/').
pub fn elem_comment(container_id: &str, ifname: &str) -> String {
    format!("{container_id}/{ifname}")
}

/// The messages that make up the masquerade objects for one pod CIDR.
pub struct Plan {
    pub set: String,
    pub cidr: PodCidr,
    /// the exemptions of the pod CIDR's family (subnets, sorted)
    pub exempt: Vec<PodCidr>,
    pub set_comment: String,
    pub elem: Elem,
}

impl Plan {
    /// `exempt`: the attachment's exemptions as [`exemptions`] returns them, of either family.
    pub fn new(network: &str, container_id: &str, ifname: &str, cidr: PodCidr, exempt: &[PodCidr]) -> Result<Self, Failure> {
        let subnet = cidr.subnet_string();
        // an exemption of the other family has no place in this family's rule
        let exempt: Vec<PodCidr> = exempt.iter().filter(|e| e.ip == cidr.ip).cloned().collect();
        let names: Vec<String> = exempt.iter().map(PodCidr::subnet_string).collect();
        let set_comment = set_comment(network, &subnet);
        let comment = elem_comment(container_id, ifname);
        if set_comment.len() > MAX_COMMENT || comment.len() > MAX_COMMENT {
            return Err(Failure::new(
                FailureKind::Invalid,
                "masq",
                "network name, container id or ifname too long for an nf_tables comment",
            ));
        }
        Ok(Plan {
            set: set_name(network, &subnet, &names),
            elem: Elem { key: cidr.addr.clone(), comment: Some(comment) },
            cidr,
            exempt,
            set_comment,
        })
    }

    /// Table and base chain (EXCL: whoever creates the chain also adds the multicast returns).
    pub fn chain_msgs(&self) -> Vec<Msg> {
        vec![
            objects::new_table(TABLE, NLM_F_CREATE),
            objects::new_nat_postrouting_chain(TABLE, CHAIN, SRCNAT_PRIORITY, NLM_F_CREATE | NLM_F_EXCL),
            objects::new_rule(TABLE, CHAIN, &objects::multicast_return(Ip::V4), NLM_F_CREATE | NLM_F_APPEND),
            objects::new_rule(TABLE, CHAIN, &objects::multicast_return(Ip::V6), NLM_F_CREATE | NLM_F_APPEND),
        ]
    }

    /// The set (EXCL: whoever creates it also appends its rule) and its masquerade rule.
    pub fn set_msgs(&self) -> Vec<Msg> {
        let net = self.cidr.net();
        let not_to: Vec<(&[u8], u8)> =
            std::iter::once((&net[..], self.cidr.prefix)).chain(self.exempt.iter().map(|e| (&e.addr[..], e.prefix))).collect();
        let rule = objects::masq_rule(self.cidr.ip, &self.set, Some(1), &not_to);
        vec![
            objects::new_set(TABLE, &SetSpec::addresses(&self.set, self.cidr.ip, 1, &self.set_comment), NLM_F_CREATE | NLM_F_EXCL),
            objects::new_rule(TABLE, CHAIN, &rule, NLM_F_CREATE | NLM_F_APPEND),
        ]
    }

    pub fn add_elem_msg(&self, set_id: Option<u32>) -> Msg {
        objects::new_set_elems(TABLE, &self.set, set_id, std::slice::from_ref(&self.elem), NLM_F_CREATE | NLM_F_EXCL)
    }

    pub fn del_elem_msg(&self) -> Msg {
        objects::del_set_elems(TABLE, &self.set, std::slice::from_ref(&self.elem))
    }
}

fn fail(op: &str, errs: &[MsgError]) -> Failure {
    nl_errno(op, errs[0].errno)
}

/// Add one pod CIDR. Common path: one batch (the element). First use of a network: a batch that
/// also creates table/chain/set/rule; EXCL on chain and set makes concurrent first uses race-free.
fn add_one(sock: &mut NftSocket, plan: &Plan) -> Result<(), Failure> {
    const OP: &str = "masq add";
    let (mut need_chain, mut need_set) = (false, false);
    let mut last: Option<MsgError> = None;
    for _ in 0..6 {
        let mut msgs = Vec::new();
        let chain_at = msgs.len();
        if need_chain {
            msgs.extend(plan.chain_msgs());
        }
        let set_at = msgs.len();
        if need_set {
            msgs.extend(plan.set_msgs());
        }
        msgs.push(plan.add_elem_msg(need_set.then_some(1)));
        let errs = match sock.transact(OP, &msgs)? {
            Ok(()) => return Ok(()),
            Err(errs) => errs,
        };
        let elem_at = msgs.len() - 1;
        let exists = |i: usize| errs.iter().any(|e| e.index == i && e.errno == libc::EEXIST);
        if !need_set {
            match errs.iter().find(|e| e.index == elem_at).map(|e| e.errno) {
                // Set or table missing: first use of this network on this node, or the DEL of its
                // last pod removed it since (nothing remembers a network as set up: this ENOENT tells).
                Some(libc::ENOENT) => (need_chain, need_set) = (true, true),
                // A stale element (address reused after a missed DEL): replace it; the newest ADD owns the address.
                Some(libc::EEXIST) => {
                    return match sock.transact(OP, &[plan.del_elem_msg(), plan.add_elem_msg(None)])? {
                        Ok(()) => Ok(()),
                        Err(e) if e.iter().all(|e| e.errno == libc::ENOENT) => continue, // deleted meanwhile; retry
                        Err(e) => Err(fail(OP, &e)),
                    };
                }
                _ => return Err(fail(OP, &errs)),
            }
            continue;
        }
        // Setup batch failed: EEXIST on chain or set means another process set it up first;
        // other errors in that aborted batch may be consequences, so retry with less.
        let chain_exists = need_chain && exists(chain_at + 1);
        let set_exists = exists(set_at);
        if !chain_exists && !set_exists {
            return Err(fail(OP, &errs));
        }
        last = Some(errs[0]);
        if chain_exists {
            need_chain = false;
        }
        if set_exists {
            (need_chain, need_set) = (false, false);
        }
    }
    if let Some(e) = last {
        return Err(nl_errno(OP, e.errno));
    }
    Err(Failure::new(FailureKind::Busy, OP, "masquerade set-up kept racing with concurrent changes"))
}

/// Add every pod CIDR of the attachment (one batch each on the common path). No rollback of
/// CIDRs already added when a later one fails: the caller's undo runs masq_del.
pub fn masq_add(req: &MasqRequest) -> Result<(), Failure> {
    let plans = plans(req)?;
    if plans.is_empty() {
        return Ok(());
    }
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    for p in &plans {
        add_one(&mut sock, p)?;
    }
    Ok(())
}

fn plans(req: &MasqRequest) -> Result<Vec<Plan>, Failure> {
    let exempt = exemptions(req.non_masquerade_cidrs.as_deref().unwrap_or_default())?;
    req.addresses.iter().map(|a| Plan::new(&req.network, &req.container_id, &req.ifname, PodCidr::parse(a)?, &exempt)).collect()
}

/// Delete one element; missing element, set or table is success.
fn del_elem(sock: &mut NftSocket, msg: Msg) -> Result<(), Failure> {
    match sock.transact(DEL, &[msg])? {
        Ok(()) => Ok(()),
        Err(e) if e.iter().all(|e| e.errno == libc::ENOENT) => Ok(()),
        Err(e) => Err(fail(DEL, &e)),
    }
}

/// Remove the attachment's elements, and each set this leaves empty with the rule using it.
/// With addresses, each element is deleted only if its comment names this attachment (or it has
/// none), so a DEL that runs after the address was reused by another pod leaves the new owner
/// alone. Without addresses, elements are found by comment in the network's sets.
/// The emptiness check costs one dump of the set per address after the element's deletion, also
/// when the element was already gone, so that a repeated DEL finishes what a failed one began.
pub fn masq_del(req: &MasqRequest) -> Result<(), Failure> {
    let plans = plans(req)?;
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let mine = elem_comment(&req.container_id, &req.ifname);
    if !plans.is_empty() {
        for p in &plans {
            match lookup_elem(&mut sock, &p.set, &p.elem.key)? {
                Some(e) if e.comment.as_deref().is_none_or(|c| c == mine) => del_elem(&mut sock, p.del_elem_msg())?,
                Some(_) => {}
                // Not where this list of exemptions puts it: the list may have changed since the ADD.
                None => del_from_siblings(&mut sock, req, p, &mine)?,
            }
            reap::reap_if_empty(&mut sock, SCOPE, &[&p.set])?;
        }
        return Ok(());
    }
    for set in network_sets(&mut sock, Some(&req.network))? {
        let elems = reap::set_elems(&mut sock, TABLE, &set.name)?.unwrap_or_default();
        let gone: Vec<Elem> = elems.into_iter().filter(|e| e.comment.as_deref() == Some(mine.as_str())).collect();
        if !gone.is_empty() {
            del_elem(&mut sock, objects::del_set_elems(TABLE, &set.name, &gone))?;
        }
        reap::reap_if_empty(&mut sock, SCOPE, &[&set.name])?;
    }
    Ok(())
}

/// One element of a set, if set and element exist.
fn lookup_elem(sock: &mut NftSocket, set: &str, key: &[u8]) -> Result<Option<Elem>, Failure> {
    match sock.request("masq del lookup", &objects::get_set_elem(TABLE, set, key)) {
        Ok(replies) => Ok(replies.iter().flat_map(|r| objects::parse_set_elems(r)).find(|e| e.key == key)),
        Err(e) if e.errno == libc::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

/// The plan's element in the network's other sets of the same subnet (those of other exemption
/// lists), removed where this attachment owns it, with a set this leaves empty. Costs a listing of
/// the table's sets, so only a DEL that missed the element pays it.
fn del_from_siblings(sock: &mut NftSocket, req: &MasqRequest, p: &Plan, mine: &str) -> Result<(), Failure> {
    let subnet = p.cidr.subnet();
    for set in network_sets(sock, Some(&req.network))? {
        if set.name == p.set || set.subnet.subnet() != subnet {
            continue;
        }
        if let Some(e) = lookup_elem(sock, &set.name, &p.elem.key)? {
            if e.comment.as_deref().is_none_or(|c| c == mine) {
                del_elem(sock, objects::del_set_elems(TABLE, &set.name, std::slice::from_ref(&p.elem)))?;
                reap::reap_if_empty(sock, SCOPE, &[&set.name])?;
            }
        }
    }
    Ok(())
}

/// GC of one network: the elements of attachments that are not valid go (in one transaction per
/// listing, valid only if nothing changed since), then every set of the network left empty.
pub fn masq_gc(req: &NftGcRequest) -> Result<(), Failure> {
    const OP: &str = "masq gc";
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    reap::sweep(&mut sock, OP, |sock| {
        let mut msgs = Vec::new();
        for set in network_sets(sock, Some(&req.network))? {
            let elems = reap::set_elems(sock, TABLE, &set.name)?.unwrap_or_default();
            let stale: Vec<Elem> = elems.into_iter().filter(|e| !req.keeps(e.comment.as_deref())).collect();
            if !stale.is_empty() {
                msgs.push(objects::del_set_elems(TABLE, &set.name, &stale));
            }
        }
        Ok(msgs)
    })?;
    for set in network_sets(&mut sock, Some(&req.network))? {
        reap::reap_if_empty(&mut sock, reap::Scope { op: OP, ..SCOPE }, &[&set.name])?;
    }
    Ok(())
}

/// One of our sets, with what its comment says it is for.
struct NetSet {
    name: String,
    network: String,
    subnet: PodCidr,
}

/// Our sets (optionally one network's), as their comments name them.
fn network_sets(sock: &mut NftSocket, network: Option<&str>) -> Result<Vec<NetSet>, Failure> {
    let sets = sock.dump_existing("masq list sets", &objects::dump_sets(TABLE))?.unwrap_or_default();
    Ok(sets
        .iter()
        .filter_map(|p| objects::parse_set(p))
        .filter(|s| s.name.starts_with(SET_PREFIX))
        .filter_map(|s| {
            let (net, subnet) = s.comment.as_deref().and_then(parse_set_comment)?;
            network.is_none_or(|n| n == net).then_some(NetSet { name: s.name, network: net, subnet })
        })
        .collect())
}

/// An element of one of our sets, with what its set says about it.
struct Listed {
    network: String,
    subnet: PodCidr,
    elem: Elem,
}

/// Every element of our sets, optionally one network's.
fn list_elems(sock: &mut NftSocket, network: Option<&str>) -> Result<Vec<Listed>, Failure> {
    let mut out = Vec::new();
    for s in network_sets(sock, network)? {
        // a set removed meanwhile has no elements
        for elem in reap::set_elems(sock, TABLE, &s.name)?.unwrap_or_default() {
            out.push(Listed { network: s.network.clone(), subnet: s.subnet.clone(), elem });
        }
    }
    Ok(out)
}

/// Every element of our sets (optionally one network's) as entries; elements without a parsable
/// comment are reported with empty containerId and ifname.
pub fn masq_list(host_netns: Option<&str>, network: Option<&str>) -> Result<Vec<MasqEntry>, Failure> {
    let mut sock = pool::lease(host_netns)?;
    Ok(list_elems(&mut sock, network)?
        .into_iter()
        .map(|Listed { network, subnet, elem, .. }| {
            let (cid, ifname) =
                elem.comment.as_deref().and_then(|c| c.rsplit_once('/')).map(|(a, b)| (a.to_string(), b.to_string())).unwrap_or_default();
            MasqEntry { network, container_id: cid, ifname, address: format!("{}/{}", fmt_addr(&elem.key), subnet.prefix) }
        })
        .collect())
}
