//! The firewall plugin's forwarding policy, the reference's iptables backend
//! (https://github.com/containernetworking/plugins/tree/main/plugins/meta/firewall) on nf_tables:
//! table `inet fastcni-firewall`, base chain `forward` (filter) jumping to `isolation` (the ingress
//! policies) and `admin` (one jump per admin chain), then per (network, admin chain) two address
//! sets with the rules accepting replies toward their pods and anything from them. A pod's ADD is
//! one batch of elements, each carrying `<containerID>/<ifname>`, so DEL, CHECK and GC find an
//! attachment without its addresses.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use super::error::{nl_errno, Failure, FailureKind};
use super::masq::{elem_comment, fmt_addr};
use super::objects::{self, Elem, Ip, PodSide, SetSpec, Table};
use super::pool;
use super::reap::{self, NftGcRequest};
use super::socket::{Guarded, MsgError, NftSocket};
use super::wire::{Msg, NFPROTO_INET, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL};

/// Table `inet fastcni-firewall`.
pub const TABLE: Table<'static> = Table { family: NFPROTO_INET, name: "fastcni-firewall" };
pub const FORWARD: &str = "forward";
pub const ISOLATION: &str = "isolation";
pub const ADMIN: &str = "admin";
/// Our own chains: an admin chain may not take one of these names.
pub const OWN_CHAINS: [&str; 3] = [FORWARD, ISOLATION, ADMIN];
/// Bridges under a same-bridge or isolated policy, `b . b` for each of them, and `b . b` for the
/// isolated ones.
pub const POLICY_BRIDGES: &str = "policy-bridges";
pub const BRIDGE_PAIRS: &str = "bridge-pairs";
pub const ISOLATED_PAIRS: &str = "isolated-pairs";
const SET_PREFIX: [&str; 2] = ["pods4-", "pods6-"];
/// NF_IP_PRI_FILTER.
const FILTER_PRIORITY: i32 = 0;
/// NFT_NAME_MAXLEN less the NUL; IFNAMSIZ less the NUL.
const MAX_CHAIN: usize = 255;
const MAX_IFNAME: usize = 15;
use super::wire::MAX_COMMENT;
/// Batches tried on ADD before giving up (each failed one means a concurrent change).
const ADD_TRIES: usize = 8;

/// One attachment's firewall request (ADD and CHECK).
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct FirewallRequest {
    /// namespace that plays the host (a path); undefined = the caller's own
    pub host_netns: Option<String>,
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    /// the chain users fill (iptablesAdminChainName), jumped to before our accepts
    pub admin_chain: String,
    /// the pod's addresses, without prefix
    pub addresses: Vec<String>,
    /// "open", "same-bridge" or "isolated"
    pub ingress_policy: String,
    /// the bridge the policy applies to (prevResult.interfaces[0].name); unused with "open"
    pub bridge: Option<String>,
}

/// One attachment, for DEL: its elements are found by their comment.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct FirewallDelRequest {
    /// namespace that plays the host (a path); undefined = the caller's own
    pub host_netns: Option<String>,
    pub network: String,
    pub container_id: String,
    pub ifname: String,
}

/// What the kernel holds for one attachment's request (CHECK compares it with the request).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct FirewallInspection {
    /// the attachment's addresses in the sets of the request's network and admin chain
    pub addresses: Vec<String>,
    /// whether chain `admin` jumps to the admin chain
    pub admin_jump: bool,
    /// whether the bridge is under a same-bridge or isolated policy
    pub policy_bridge: bool,
    /// whether the bridge is isolated
    pub isolated_bridge: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Policy {
    Open,
    SameBridge,
    Isolated,
}

fn invalid(msg: String) -> Failure {
    Failure::new(FailureKind::Invalid, "firewall", msg)
}

/// The names of a (network, admin chain)'s address sets: `pods4-`/`pods6-` + 16 hex of
/// sha256("<network>\n<admin chain>"). The admin chain is part of the name so that the ADD of a
/// config naming a new admin chain finds its sets missing and sets the chain up.
pub fn set_names(network: &str, admin: &str) -> [String; 2] {
    let mut h = Sha256::new();
    h.update(network.as_bytes());
    h.update(b"\n");
    h.update(admin.as_bytes());
    let hex: String = h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    SET_PREFIX.map(|p| format!("{p}{hex}"))
}

/// The sets' comment: "<network> <admin chain>" (CNI network names contain no spaces).
fn set_comment(network: &str, admin: &str) -> String {
    format!("{network} {admin}")
}

fn set_network(comment: &str) -> &str {
    comment.split_once(' ').map_or(comment, |(n, _)| n)
}

/// A validated request: what to ask the kernel for.
pub struct Plan {
    admin: String,
    /// (pods4, pods6) set names
    pub(super) sets: [String; 2],
    set_comment: String,
    /// (family index, element)
    elems: Vec<(usize, Elem)>,
    policy: Policy,
    bridge: String,
}

/// What the setup batch must create besides the elements.
#[derive(Clone, Copy, Debug, Default)]
pub struct Need {
    /// table, base chain, `isolation`, `admin` and the bridge sets
    pub core: bool,
    /// the admin chain and its jump
    pub admin: bool,
    /// the (network, admin chain)'s sets and accept rules
    pub sets: bool,
}

impl Plan {
    pub fn new(req: &FirewallRequest) -> Result<Self, Failure> {
        let admin = req.admin_chain.clone();
        if admin.is_empty() || admin.len() > MAX_CHAIN || OWN_CHAINS.contains(&admin.as_str()) {
            return Err(invalid(format!(
                "iptablesAdminChainName {admin:?}: want 1 to {MAX_CHAIN} bytes and none of {}",
                OWN_CHAINS.join(", ")
            )));
        }
        let policy = match req.ingress_policy.as_str() {
            "" | "open" => Policy::Open,
            "same-bridge" => Policy::SameBridge,
            "isolated" => Policy::Isolated,
            p => return Err(invalid(format!("ingressPolicy {p:?}: want open, same-bridge or isolated"))),
        };
        let bridge = req.bridge.clone().unwrap_or_default();
        if policy != Policy::Open && (bridge.is_empty() || bridge.len() > MAX_IFNAME) {
            return Err(invalid(format!("ingressPolicy {}: invalid bridge name {bridge:?}", req.ingress_policy)));
        }
        let comment = elem_comment(&req.container_id, &req.ifname);
        let set_comment = set_comment(&req.network, &admin);
        if comment.len() > MAX_COMMENT || set_comment.len() > MAX_COMMENT {
            return Err(invalid("network name, admin chain, container id or ifname too long for an nf_tables comment".into()));
        }
        let elems = req
            .addresses
            .iter()
            .map(|a| {
                let ip: IpAddr = a.parse().map_err(|_| invalid(format!("invalid pod address {a:?}")))?;
                Ok(match ip {
                    IpAddr::V4(v) => (0, Elem { key: v.octets().to_vec(), comment: Some(comment.clone()) }),
                    IpAddr::V6(v) => (1, Elem { key: v.octets().to_vec(), comment: Some(comment.clone()) }),
                })
            })
            .collect::<Result<_, Failure>>()?;
        Ok(Plan { sets: set_names(&req.network, &admin), admin, set_comment, elems, policy, bridge })
    }

    /// The set-up batch as nft orders it (table, chains, sets, rules); sets numbered 1.. in the
    /// order they are created, for the rules and elements of the same batch.
    pub fn setup_msgs(&self, need: Need) -> (Vec<Msg>, SetIds) {
        let mut ids = SetIds::default();
        let mut msgs = Vec::new();
        if need.core {
            msgs.push(objects::new_table(TABLE, 0));
            msgs.push(objects::new_filter_forward_chain(TABLE, FORWARD, FILTER_PRIORITY, NLM_F_CREATE));
            msgs.push(objects::new_chain(TABLE, ISOLATION, NLM_F_CREATE));
            msgs.push(objects::new_chain(TABLE, ADMIN, NLM_F_CREATE));
        }
        if need.admin {
            // an admin chain that exists (made by its user beforehand) is kept as it is
            msgs.push(objects::new_chain(TABLE, &self.admin, NLM_F_CREATE));
        }
        let mut next = 1;
        let mut set = |msgs: &mut Vec<Msg>, name: &str, key_type: u32, key_len: u32, udata: Vec<u8>| {
            msgs.push(objects::new_set(TABLE, &SetSpec { name, key_type, key_len, id: next, udata }, NLM_F_CREATE));
            next += 1;
            next - 1
        };
        if need.core {
            ids.policy = Some(set(&mut msgs, POLICY_BRIDGES, objects::TYPE_IFNAME, 16, objects::ifname_plain_set_udata()));
            ids.pairs = Some(set(&mut msgs, BRIDGE_PAIRS, objects::TYPE_IFNAME_PAIR, 32, objects::ifname_pair_set_udata()));
            ids.isolated = Some(set(&mut msgs, ISOLATED_PAIRS, objects::TYPE_IFNAME_PAIR, 32, objects::ifname_pair_set_udata()));
        }
        if need.sets {
            for (i, ip) in [Ip::V4, Ip::V6].into_iter().enumerate() {
                let spec = SetSpec::addresses(&self.sets[i], ip, next, &self.set_comment);
                msgs.push(objects::new_set(TABLE, &spec, NLM_F_CREATE));
                ids.pods[i] = Some(next);
                next += 1;
            }
        }
        let rule = |msgs: &mut Vec<Msg>, chain: &str, exprs: Vec<objects::Expr>| {
            msgs.push(objects::new_rule(TABLE, chain, &exprs, NLM_F_CREATE | NLM_F_APPEND));
        };
        if need.core {
            rule(&mut msgs, FORWARD, objects::jump_rule(ISOLATION));
            rule(&mut msgs, FORWARD, objects::jump_rule(ADMIN));
        }
        if need.sets {
            for (i, ip) in [Ip::V4, Ip::V6].into_iter().enumerate() {
                for side in [PodSide::ToPodEstablished, PodSide::FromPod] {
                    rule(&mut msgs, FORWARD, objects::pod_accept_rule(ip, &self.sets[i], ids.pods[i], side));
                }
            }
        }
        if need.core {
            rule(&mut msgs, ISOLATION, objects::same_bridge_drop_rule(ISOLATED_PAIRS, ids.isolated));
            rule(&mut msgs, ISOLATION, objects::cross_bridge_drop_rule(POLICY_BRIDGES, ids.policy, BRIDGE_PAIRS, ids.pairs));
        }
        if need.admin {
            rule(&mut msgs, ADMIN, objects::jump_rule(&self.admin));
        }
        (msgs, ids)
    }

    /// One message per pod address (EXCL: a stale owner shows as EEXIST on its own message), then
    /// the bridge's policy elements (no EXCL: the first pod of a bridge adds them, the rest find
    /// them there). `replace[i]` deletes element i first.
    pub fn elem_msgs(&self, ids: &SetIds, replace: &[bool]) -> Vec<Msg> {
        let mut msgs = Vec::new();
        for (i, (fam, el)) in self.elems.iter().enumerate() {
            if replace.get(i).copied().unwrap_or(false) {
                msgs.push(objects::del_set_elems(TABLE, &self.sets[*fam], std::slice::from_ref(el)));
            }
            msgs.push(objects::new_set_elems(TABLE, &self.sets[*fam], ids.pods[*fam], std::slice::from_ref(el), NLM_F_CREATE | NLM_F_EXCL));
        }
        if self.policy != Policy::Open {
            let b = &self.bridge;
            let one = |key: Vec<u8>| [Elem { key, comment: None }];
            msgs.push(objects::new_set_elems(TABLE, POLICY_BRIDGES, ids.policy, &one(objects::ifname_key(b)), NLM_F_CREATE));
            msgs.push(objects::new_set_elems(TABLE, BRIDGE_PAIRS, ids.pairs, &one(objects::ifname_pair_key(b, b)), NLM_F_CREATE));
            if self.policy == Policy::Isolated {
                msgs.push(objects::new_set_elems(TABLE, ISOLATED_PAIRS, ids.isolated, &one(objects::ifname_pair_key(b, b)), NLM_F_CREATE));
            }
        }
        msgs
    }
}

/// Batch ids of the sets a setup batch creates (None: the set exists).
#[derive(Clone, Copy, Debug, Default)]
pub struct SetIds {
    pub policy: Option<u32>,
    pub pairs: Option<u32>,
    pub isolated: Option<u32>,
    pub pods: [Option<u32>; 2],
}

/// Admin chains jumped to from chain `admin`; None when the table does not exist.
fn admin_jumps(sock: &mut NftSocket) -> Result<Option<Vec<String>>, Failure> {
    let rules = sock.dump_existing("firewall list rules", &objects::dump_rules(TABLE, ADMIN))?;
    Ok(rules.map(|r| r.iter().filter_map(|p| objects::parse_rule_jump(p)).collect()))
}

/// Our sets' names with their comments; None when the table does not exist.
fn sets(sock: &mut NftSocket) -> Result<Option<Vec<objects::SetInfo>>, Failure> {
    Ok(sock
        .dump_existing("firewall list sets", &objects::dump_sets(TABLE))?
        .map(|r| r.iter().filter_map(|p| objects::parse_set(p)).collect()))
}

/// Create what is missing of table, chains, admin jump and the request's sets: decided from one
/// reading and committed only if nothing changed since (else read and decide again).
fn ensure(sock: &mut NftSocket, plan: &Plan) -> Result<(), Failure> {
    const OP: &str = "firewall setup";
    reap::guarded(
        || {
            let genid = sock.generation()?;
            let Some(present) = sets(sock)? else {
                let (msgs, _) = plan.setup_msgs(Need { core: true, admin: true, sets: true });
                return commit(sock, OP, &msgs, genid);
            };
            let need = Need {
                core: false,
                sets: !present.iter().any(|s| s.name == plan.sets[0]),
                admin: !admin_jumps(sock)?.unwrap_or_default().contains(&plan.admin),
            };
            if !need.sets && !need.admin {
                return Ok(Some(()));
            }
            let (msgs, _) = plan.setup_msgs(need);
            commit(sock, OP, &msgs, genid)
        },
        OP,
    )
}

fn commit(sock: &mut NftSocket, op: &str, msgs: &[Msg], genid: u32) -> Result<Option<()>, Failure> {
    match sock.transact_at(op, msgs, genid)? {
        Guarded::Committed => Ok(Some(())),
        Guarded::Stale => Ok(None),
        Guarded::Refused(errs) => Err(nl_errno(op, errs[0].errno)),
    }
}

/// ADD: one batch of elements on the common path; when a set is missing (first pod of this
/// network and admin chain on the node, or the last DEL removed them), the set-up first.
pub fn firewall_add(req: &FirewallRequest) -> Result<(), Failure> {
    const OP: &str = "firewall add";
    let plan = Plan::new(req)?;
    if plan.elems.is_empty() && plan.policy == Policy::Open {
        // nothing to accept: the reference then sets up nothing either
        return Ok(());
    }
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let mut replace = vec![false; plan.elems.len()];
    let mut last: Option<MsgError> = None;
    for _ in 0..ADD_TRIES {
        let msgs = plan.elem_msgs(&SetIds::default(), &replace);
        let errs = match sock.transact(OP, &msgs)? {
            Ok(()) => return Ok(()),
            Err(errs) => errs,
        };
        last = errs.first().copied();
        // map message index back to element index
        let mut at = Vec::new();
        for (i, r) in replace.iter().enumerate() {
            if *r {
                at.push((i, true));
            }
            at.push((i, false));
        }
        let mut setup = false;
        for e in &errs {
            match (at.get(e.index), e.errno) {
                // a stale element (address reused after a missed DEL): the newest ADD owns it
                (Some(&(i, false)), libc::EEXIST) => replace[i] = true,
                // deleted meanwhile: add it plainly
                (Some(&(i, true)), libc::ENOENT) => replace[i] = false,
                (_, libc::ENOENT) => setup = true,
                _ => return Err(nl_errno(OP, e.errno)),
            }
        }
        if setup {
            ensure(&mut sock, &plan)?;
        }
    }
    Err(last.map_or_else(
        || Failure::new(FailureKind::Busy, OP, "firewall set-up kept racing with concurrent changes"),
        |e| nl_errno(OP, e.errno),
    ))
}

/// The (pods4, pods6) sets of one network, whatever its admin chain.
fn network_sets(sock: &mut NftSocket, network: &str) -> Result<Vec<String>, Failure> {
    Ok(sets(sock)?
        .unwrap_or_default()
        .into_iter()
        .filter(|s| SET_PREFIX.iter().any(|p| s.name.starts_with(p)))
        .filter(|s| s.comment.as_deref().is_some_and(|c| set_network(c) == network))
        .map(|s| s.name)
        .collect())
}

/// Remove sets left empty with their accept rules; the admin chain, its jump and the bridge
/// policy stay (the reference never removes its chains or isolation rules either).
fn reap_empty(sock: &mut NftSocket, op: &str, sets: &[String]) -> Result<(), Failure> {
    let scope = reap::Scope { table: TABLE, chain: FORWARD, op };
    for s in sets {
        reap::reap_if_empty(sock, scope, &[s.as_str()])?;
    }
    Ok(())
}

/// DEL: the attachment's elements, found by comment in its network's sets; missing table, sets or
/// elements are success. Sets left empty go with their rules.
pub fn firewall_del(req: &FirewallDelRequest) -> Result<(), Failure> {
    const OP: &str = "firewall del";
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let mine = elem_comment(&req.container_id, &req.ifname);
    let sets = network_sets(&mut sock, &req.network)?;
    for set in &sets {
        let elems = reap::set_elems(&mut sock, TABLE, set)?.unwrap_or_default();
        let gone: Vec<Elem> = elems.into_iter().filter(|e| e.comment.as_deref() == Some(mine.as_str())).collect();
        if gone.is_empty() {
            continue;
        }
        match sock.transact(OP, &[objects::del_set_elems(TABLE, set, &gone)])? {
            Ok(()) => {}
            Err(e) if e.iter().all(|e| e.errno == libc::ENOENT) => {}
            Err(e) => return Err(nl_errno(OP, e[0].errno)),
        }
    }
    reap_empty(&mut sock, OP, &sets)
}

/// GC of one network: elements of attachments not in `valid` go in one guarded transaction, then
/// the network's sets left empty.
pub fn firewall_gc(req: &NftGcRequest) -> Result<(), Failure> {
    const OP: &str = "firewall gc";
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    reap::sweep(&mut sock, OP, |sock| {
        let mut msgs = Vec::new();
        for set in network_sets(sock, &req.network)? {
            let elems = reap::set_elems(sock, TABLE, &set)?.unwrap_or_default();
            let stale: Vec<Elem> = elems.into_iter().filter(|e| !req.keeps(e.comment.as_deref())).collect();
            if !stale.is_empty() {
                msgs.push(objects::del_set_elems(TABLE, &set, &stale));
            }
        }
        Ok(msgs)
    })?;
    let sets = network_sets(&mut sock, &req.network)?;
    reap_empty(&mut sock, OP, &sets)
}

/// CHECK's view: the attachment's addresses in the request's sets, the admin jump and the bridge's
/// policy elements.
pub fn firewall_inspect(req: &FirewallRequest) -> Result<FirewallInspection, Failure> {
    let plan = Plan::new(req)?;
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let mine = elem_comment(&req.container_id, &req.ifname);
    let mut out = FirewallInspection::default();
    for set in &plan.sets {
        for e in reap::set_elems(&mut sock, TABLE, set)?.unwrap_or_default() {
            if e.comment.as_deref() == Some(mine.as_str()) {
                out.addresses.push(fmt_addr(&e.key));
            }
        }
    }
    out.admin_jump = admin_jumps(&mut sock)?.unwrap_or_default().contains(&plan.admin);
    if plan.policy != Policy::Open {
        let b = &plan.bridge;
        let has = |sock: &mut NftSocket, set: &str, key: Vec<u8>| -> Result<bool, Failure> {
            Ok(reap::set_elems(sock, TABLE, set)?.unwrap_or_default().iter().any(|e| e.key == key))
        };
        out.policy_bridge =
            has(&mut sock, POLICY_BRIDGES, objects::ifname_key(b))? && has(&mut sock, BRIDGE_PAIRS, objects::ifname_pair_key(b, b))?;
        out.isolated_bridge = has(&mut sock, ISOLATED_PAIRS, objects::ifname_pair_key(b, b))?;
    }
    Ok(out)
}
