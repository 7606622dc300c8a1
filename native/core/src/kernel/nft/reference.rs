//! The reference plugins' (containernetworking/plugins) nf_tables objects of one attachment,
//! removed by our DEL and GC, so that a node moves to fastcni with the reference's pods still
//! running and loses nothing when they go. Every object is found by the name or comment the
//! reference gives it (pkg/utils/utils.go, pkg/ip/ipmasq_*_linux.go, plugins/meta/portmap,
//! pkg/link/spoofcheck.go) and removed over netlink, never by an iptables or nft process:
//! - masquerade, iptables backend (iptables-nft: tables `ip nat` / `ip6 nat`): the chain
//!   `CNI-<hash>` and the POSTROUTING rules that jump to it;
//! - masquerade, nftables backend (v1.6+): the rules of `inet cni_plugins_masquerade` whose
//!   comment starts with the attachment's instance hash;
//! - portmap, iptables: the chains `CNI-DN-<hash>` (and the older `CNI-SN-<hash>`) and the rules
//!   of CNI-HOSTPORT-DNAT / -SNAT that jump to them; nftables: the rules of `ip`/`ip6 cni_hostport`
//!   whose comment is the container ID;
//! - bridge's spoof check: the chains `cni-br-iface-<cid>-<ifname>[-mac]` of `bridge nat` and the
//!   PREROUTING rule that jumps to the first.
//!
//! Nothing else is touched: a rule goes only when it jumps to one of the attachment's chains or
//! carries its comment. When none of those tables exists (a node that never ran the reference),
//! one dump of the namespace's tables is all it costs; in a shared table (iptables-nft's `nat`,
//! which kube-proxy may fill) only the attachment's chains are looked up, and the rules of the few
//! chains that jump to them read only when one exists. The iptables-legacy (x_tables) tables are
//! out of nf_tables' reach: they are only reported, for the caller to warn about.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;

use sha2::{Digest, Sha512};

use super::error::Failure;
use super::objects::{self, Table};
use super::pool;
use super::reap::GcAttachment;
use super::socket::NftSocket;
use super::wire::{NFPROTO_BRIDGE, NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6};

const NAT_V4: Table = Table { family: NFPROTO_IPV4, name: "nat" };
const NAT_V6: Table = Table { family: NFPROTO_IPV6, name: "nat" };
const MASQ_NFT: Table = Table { family: NFPROTO_INET, name: "cni_plugins_masquerade" };
const HOSTPORT_V4: Table = Table { family: NFPROTO_IPV4, name: "cni_hostport" };
const HOSTPORT_V6: Table = Table { family: NFPROTO_IPV6, name: "cni_hostport" };
const BRIDGE_NAT: Table = Table { family: NFPROTO_BRIDGE, name: "nat" };
/// The chain of `cni_plugins_masquerade` that holds the per-pod rules.
const MASQ_CHECKS: &str = "masq_checks";
/// The chains of `cni_hostport` whose rules carry a container ID as comment.
const HOSTPORT_CHAINS: [&str; 3] = ["hostports", "hostip_hostports", "masquerading"];
/// Attempts of one removal: another process may remove or add a rule between the read and the
/// commit, which makes the kernel refuse the batch; it is then read and decided again.
const TRIES: u32 = 4;

/// One attachment, and which of the reference's objects its plugin may have made.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct ReferenceDelRequest {
    /// namespace that plays the host (a path); undefined = the caller's own
    pub host_netns: Option<String>,
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    /// bridge or ptp with ipMasq
    pub masquerade: bool,
    /// portmap
    pub portmap: bool,
    /// bridge with macspoofchk
    pub spoof_check: bool,
}

/// GC of the reference's network-keyed objects (masquerade, iptables portmap) of one network:
/// those of containers not among `valid` go.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct ReferenceGcRequest {
    pub host_netns: Option<String>,
    pub network: String,
    pub valid: Vec<GcAttachment>,
    pub masquerade: bool,
    pub portmap: bool,
}

/// A pod of ours handed back to the reference plugins: the families of its addresses.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct ReferencePrepareRequest {
    pub host_netns: Option<String>,
    pub network: String,
    pub container_id: String,
    pub ipv4: bool,
    pub ipv6: bool,
}

/// What a removal did, and what it could not reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct ReferenceCleanup {
    /// the objects removed, e.g. `chain ip nat CNI-…`, `rule ip nat POSTROUTING`
    pub removed: Vec<String>,
    /// iptables-legacy (x_tables) nat tables in use in the host namespace (`ip nat`, `ip6 nat`)
    pub legacy_tables: Vec<String>,
    /// the reference's chains of the attachment that such a table may still hold
    pub legacy_chains: Vec<String>,
}

/// `prefix` then lowercase hex of SHA-512(`to_hash`), cut to `len` characters
/// (pkg/utils MustFormatHashWithPrefix).
fn hash_name(len: usize, prefix: &str, to_hash: &str) -> String {
    let hex: String = Sha512::digest(to_hash.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")[..len].to_string()
}

/// iptables chain names are 28 characters at most (pkg/utils maxChainLength).
const CHAIN_LEN: usize = 28;

/// The masquerade chain of (network, container): `CNI-` and 24 hex.
pub fn masq_chain(network: &str, cid: &str) -> String {
    hash_name(CHAIN_LEN, "CNI-", &format!("{network}{cid}"))
}

/// portmap's per-attachment chains: the DNAT chain and the older SNAT one.
pub fn portmap_chains(network: &str, cid: &str) -> [String; 2] {
    let id = format!("{network}{cid}");
    [hash_name(CHAIN_LEN, "CNI-DN-", &id), hash_name(CHAIN_LEN, "CNI-SN-", &id)]
}

/// The start of the nftables masquerade comments of an attachment (its instance hash).
pub fn masq_comment_prefix(network: &str, ifname: &str, cid: &str) -> String {
    format!("{}-{}", network_hash(network), hash_name(16, "", &format!("{ifname}:{cid}")))
}

fn network_hash(network: &str) -> String {
    hash_name(16, "", network)
}

/// bridge's spoof-check chains, the one jumped to first.
pub fn spoof_chains(cid: &str, ifname: &str) -> [String; 2] {
    let iface = format!("cni-br-iface-{cid}-{ifname}");
    let mac = format!("{iface}-mac");
    [iface, mac]
}

/// A rule as read back: where it is, its handle, the chain it jumps to and its comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignRule {
    pub chain: String,
    pub handle: u64,
    pub jump: Option<String>,
    pub comment: Option<String>,
}

/// The tables of the namespace, every family: (family, name).
fn tables(sock: &mut NftSocket) -> Result<HashSet<(u8, String)>, Failure> {
    let replies = sock.dump("nft list tables", &objects::dump_tables())?;
    Ok(replies.iter().filter_map(|p| objects::parse_table(p)).collect())
}

fn parse_rule(payload: &[u8]) -> Option<ForeignRule> {
    Some(ForeignRule {
        chain: objects::parse_rule_chain(payload)?,
        handle: objects::parse_rule(payload)?.handle,
        jump: objects::parse_rule_jump(payload),
        // nft keeps a comment in the rule's userdata, iptables-nft as an xtables match
        comment: super::portmap_objects::parse_rule_comment(payload).or_else(|| objects::parse_rule_xt_comment(payload)),
    })
}

/// The rules of the `entries` chains of a table (a chain that does not exist has none).
fn rules(sock: &mut NftSocket, t: Table, entries: &[&str]) -> Result<Vec<ForeignRule>, Failure> {
    let mut out = Vec::new();
    for chain in entries {
        let replies = sock.dump_existing("nft list rules", &objects::dump_rules(t, chain))?.unwrap_or_default();
        out.extend(replies.iter().filter_map(|p| parse_rule(p)));
    }
    Ok(out)
}

/// Which of `names` are chains of the table: one GETCHAIN each, never a dump of a table that
/// may hold thousands (kube-proxy's `ip nat`).
fn existing<'a>(sock: &mut NftSocket, t: Table, names: &'a [String]) -> Result<Vec<&'a String>, Failure> {
    let mut out = Vec::new();
    for name in names {
        match sock.request("nft get chain", &objects::get_chain(t, name)) {
            Ok(_) => out.push(name),
            Err(e) if e.errno == libc::ENOENT => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn describe(t: Table) -> String {
    let family = match t.family {
        NFPROTO_IPV4 => "ip",
        NFPROTO_IPV6 => "ip6",
        NFPROTO_INET => "inet",
        NFPROTO_BRIDGE => "bridge",
        _ => "?",
    };
    format!("{family} {}", t.name)
}

/// Where one table's reference objects are: the table, and the chains whose rules may jump to
/// an attachment's chains or carry its comment.
#[derive(Clone, Copy)]
struct Scope<'a> {
    table: Table<'a>,
    entries: &'a [&'a str],
}

/// iptables-nft's nat tables: the reference jumps to its chains from these.
const NAT_ENTRIES: [&str; 3] = ["POSTROUTING", "CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SNAT"];

/// In one table: the rules of its entry chains that `pick` chooses, and the `doomed` chains that
/// exist, in that order — a chain may go once nothing jumps to it, and deleting a chain deletes
/// its rules (and so their jumps to a later doomed chain). With doomed chains of which none exists
/// nothing is read further: no rule can jump to a chain that does not exist.
fn purge(sock: &mut NftSocket, s: Scope, doomed: &[String], pick: &dyn Fn(&ForeignRule) -> bool) -> Result<Vec<String>, Failure> {
    let t = s.table;
    let op = format!("remove the reference's objects from {}", describe(t));
    for attempt in 1..=TRIES {
        let present = existing(sock, t, doomed)?;
        if !doomed.is_empty() && present.is_empty() {
            return Ok(vec![]);
        }
        let picked: Vec<ForeignRule> = rules(sock, t, s.entries)?.into_iter().filter(|r| pick(r)).collect();
        if present.is_empty() && picked.is_empty() {
            return Ok(vec![]);
        }
        let mut msgs: Vec<_> = picked.iter().map(|r| objects::del_rule(t, &r.chain, r.handle)).collect();
        msgs.extend(present.iter().map(|c| objects::del_chain(t, c)));
        match sock.transact(&op, &msgs)? {
            Ok(()) => {
                let mut done: Vec<String> = picked.iter().map(|r| format!("rule {} {}", describe(t), r.chain)).collect();
                done.extend(present.iter().map(|c| format!("chain {} {c}", describe(t))));
                return Ok(done);
            }
            Err(errs) if attempt == TRIES => {
                let errno = errs.first().map_or(libc::EBUSY, |e| e.errno);
                return Err(super::error::nl_errno(op, errno));
            }
            Err(_) => {}
        }
    }
    Ok(vec![])
}

/// The iptables-legacy nat tables in use in the namespace at `netns` (x_tables lists them in
/// /proc/net/ip{,6}_tables_names, which shows the reading thread's namespace). Read in place when
/// `netns` is the caller's own (the usual case: the runtime's namespace is the agent's), else on a
/// thread that enters it.
fn legacy_nat_tables(netns: Option<&str>) -> Result<Vec<String>, Failure> {
    let read = || {
        let mut found = Vec::new();
        for (file, name) in [("ip_tables_names", "ip nat"), ("ip6_tables_names", "ip6 nat")] {
            let names = std::fs::read_to_string(format!("/proc/thread-self/net/{file}")).unwrap_or_default();
            if names.lines().any(|l| l.trim() == "nat") {
                found.push(name.to_string());
            }
        }
        Ok(found)
    };
    let identity = |p: &str| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    match netns {
        Some(p) if identity(p).is_none() || identity(p) != identity("/proc/thread-self/ns/net") => {
            crate::kernel::netns::run_in(Some(p), read)
        }
        _ => read(),
    }
}

/// DEL: remove the attachment's reference objects (idempotent: nothing there is success).
pub fn reference_del(req: &ReferenceDelRequest) -> Result<ReferenceCleanup, Failure> {
    let mut out = ReferenceCleanup::default();
    let mut nat_chains = Vec::new();
    if req.masquerade {
        nat_chains.push(masq_chain(&req.network, &req.container_id));
    }
    if req.portmap {
        nat_chains.extend(portmap_chains(&req.network, &req.container_id));
    }
    if !nat_chains.is_empty() {
        out.legacy_tables = legacy_nat_tables(req.host_netns.as_deref())?;
        if !out.legacy_tables.is_empty() {
            out.legacy_chains = nat_chains.clone();
        }
    }
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let have = tables(&mut sock)?;
    let exists = |t: Table| have.contains(&(t.family, t.name.to_string()));
    for t in [NAT_V4, NAT_V6].into_iter().filter(|t| !nat_chains.is_empty() && exists(*t)) {
        let jumps = |r: &ForeignRule| r.jump.as_ref().is_some_and(|j| nat_chains.contains(j));
        out.removed.extend(purge(&mut sock, Scope { table: t, entries: &NAT_ENTRIES }, &nat_chains, &jumps)?);
    }
    if req.masquerade && exists(MASQ_NFT) {
        let prefix = masq_comment_prefix(&req.network, &req.ifname, &req.container_id);
        let mine = |r: &ForeignRule| r.comment.as_ref().is_some_and(|c| c.starts_with(&prefix));
        out.removed.extend(purge(&mut sock, Scope { table: MASQ_NFT, entries: &[MASQ_CHECKS] }, &[], &mine)?);
    }
    if req.portmap {
        for t in [HOSTPORT_V4, HOSTPORT_V6].into_iter().filter(|t| exists(*t)) {
            let mine = |r: &ForeignRule| r.comment.as_deref() == Some(req.container_id.as_str());
            out.removed.extend(purge(&mut sock, Scope { table: t, entries: &HOSTPORT_CHAINS }, &[], &mine)?);
        }
    }
    if req.spoof_check && exists(BRIDGE_NAT) {
        let doomed = spoof_chains(&req.container_id, &req.ifname);
        let jumps = |r: &ForeignRule| r.jump.as_ref().is_some_and(|j| doomed.contains(j));
        out.removed.extend(purge(&mut sock, Scope { table: BRIDGE_NAT, entries: &["PREROUTING"] }, &doomed, &jumps)?);
    }
    Ok(out)
}

/// Hand a masqueraded pod of ours back to the reference plugins: an empty masquerade chain
/// `CNI-<hash>` in `ip nat` / `ip6 nat` (tables created if missing) per family of its addresses.
/// The reference's iptables teardown deletes the POSTROUTING jump before the chain, and an
/// iptables built with go-iptables before v0.7 (Debian's v1.1.1) takes "chain does not exist" for a
/// failure, so without the chain its DEL of our pod fails; with it, "no such rule" is success and
/// its DEL removes the chain. Idempotent. Returns the chains made (or already there).
pub fn reference_prepare(req: &ReferencePrepareRequest) -> Result<Vec<String>, Failure> {
    use super::wire::NLM_F_CREATE;
    let chain = masq_chain(&req.network, &req.container_id);
    let mut msgs = Vec::new();
    let mut made = Vec::new();
    for (t, wanted) in [(NAT_V4, req.ipv4), (NAT_V6, req.ipv6)] {
        if wanted {
            msgs.push(objects::new_table(t, NLM_F_CREATE));
            msgs.push(objects::new_chain(t, &chain, NLM_F_CREATE));
            made.push(format!("chain {} {chain}", describe(t)));
        }
    }
    if msgs.is_empty() {
        return Ok(made);
    }
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let op = "prepare the reference's masquerade chain";
    match sock.transact(op, &msgs)? {
        Ok(()) => Ok(made),
        Err(errs) => Err(super::error::nl_errno(op, errs.first().map_or(libc::EINVAL, |e| e.errno))),
    }
}

/// The container ID in an iptables comment of the reference for `network`
/// (`name: "<net>" id: "<cid>"`, portmap's with `dnat ` before it).
fn comment_container<'a>(comment: &'a str, network: &str) -> Option<&'a str> {
    let rest = comment.strip_prefix("dnat ").unwrap_or(comment);
    rest.strip_prefix(&format!("name: \"{network}\" id: \""))?.strip_suffix('"')
}

/// GC: the network-keyed reference objects of containers that are not valid. (portmap's nftables
/// rules and the spoof-check chains carry no network: the runtime's DEL of each stale attachment,
/// which libcni's GC sends first, removes those.)
pub fn reference_gc(req: &ReferenceGcRequest) -> Result<ReferenceCleanup, Failure> {
    let mut out = ReferenceCleanup::default();
    let valid_cid = |cid: &str| req.valid.iter().any(|a| a.container_id == cid);
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let have = tables(&mut sock)?;
    let exists = |t: Table| have.contains(&(t.family, t.name.to_string()));
    if req.masquerade || req.portmap {
        for t in [NAT_V4, NAT_V6].into_iter().filter(|t| exists(*t)) {
            let stale: HashSet<String> = rules(&mut sock, t, &NAT_ENTRIES)?
                .iter()
                .filter_map(|r| comment_container(r.comment.as_deref()?, &req.network))
                .filter(|cid| !valid_cid(cid))
                .map(str::to_string)
                .collect();
            let mut doomed = Vec::new();
            for cid in &stale {
                if req.masquerade {
                    doomed.push(masq_chain(&req.network, cid));
                }
                if req.portmap {
                    doomed.extend(portmap_chains(&req.network, cid));
                }
            }
            if !doomed.is_empty() {
                let jumps = |r: &ForeignRule| r.jump.as_ref().is_some_and(|j| doomed.contains(j));
                out.removed.extend(purge(&mut sock, Scope { table: t, entries: &NAT_ENTRIES }, &doomed, &jumps)?);
            }
        }
        out.legacy_tables = legacy_nat_tables(req.host_netns.as_deref())?;
    }
    if req.masquerade && exists(MASQ_NFT) {
        let net = format!("{}-", network_hash(&req.network));
        let kept: Vec<String> = req.valid.iter().map(|a| masq_comment_prefix(&req.network, &a.ifname, &a.container_id)).collect();
        let stale =
            |r: &ForeignRule| r.comment.as_ref().is_some_and(|c| c.starts_with(&net) && !kept.iter().any(|k| c.starts_with(k.as_str())));
        out.removed.extend(purge(&mut sock, Scope { table: MASQ_NFT, entries: &[MASQ_CHECKS] }, &[], &stale)?);
    }
    Ok(out)
}
