//! Host port mappings in nf_tables maps (tables `ip fastcni-portmap` and `ip6 fastcni-portmap`,
//! portmap_objects.rs): a pod's mappings are elements of the maps, all added in one batch, each
//! carrying its owner ("<network> <containerId>/<ifname>") so that DEL and GC find them without
//! being told the mappings again. The tables, chains, maps and rules are made once per node (by
//! the first ADD, on ENOENT) and stay, as the reference keeps its `cni_hostport` tables.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use super::error::{nl_errno, Failure, FailureKind};
use super::objects;
use super::pool;
use super::portmap_objects::{self as po, Cond, Family, MapElem, NetRules, SetKind};
use super::reap::{self, NftGcRequest};
use super::socket::{Guarded, MsgError, NftSocket};
use super::wire::{Msg, NLM_F_CREATE, NLM_F_EXCL};

const ADD: &str = "portmap add";
const DEL: &str = "portmap del";
use super::wire::MAX_COMMENT;
const LOCALHOST_V4: [u8; 4] = [127, 0, 0, 1];

/// One host port mapping (CNI `portMappings` capability).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PortMapping {
    pub host_port: u32,
    pub container_port: u32,
    /// tcp, udp or sctp
    pub protocol: String,
    /// only traffic to this host address is mapped; empty or unspecified (0.0.0.0, ::) = any
    /// address of the node. A mapping whose hostIP is of the other family is skipped there.
    pub host_ip: Option<String>,
}

/// An attachment's host ports and pod addresses: what ADD maps and CHECK verifies. DEL takes it
/// too, with what it knows: with addresses and mappings it deletes by key; with addresses and
/// snat but no mappings it first looks for the attachment's masquerade element; otherwise it finds
/// the attachment's elements by their comment (a dump of the maps).
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PortmapRequest {
    /// namespace that plays the host (a path); undefined = the caller's own
    pub host_netns: Option<String>,
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    /// the pod's addresses without prefix, at most one per family
    pub container_ips: Vec<String>,
    pub mappings: Vec<PortMapping>,
    /// masquerade traffic from the pod to its own host port and from the node's 127.0.0.1
    pub snat: bool,
    /// with snat: masquerade every connection to the pod instead
    pub masq_all: bool,
    /// conditionsV4: matches in front of the network's own IPv4 DNAT rules (none: the shared maps)
    pub conditions_v4: Option<Vec<PortmapCondition>>,
    /// conditionsV6, likewise for IPv6
    pub conditions_v6: Option<Vec<PortmapCondition>>,
}

/// One match of conditionsV4/V6 (nftables form), parsed by the caller:
/// `<selector> [!=] <value>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PortmapCondition {
    /// "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr" or "iifname"
    pub selector: String,
    pub negate: bool,
    /// an address or CIDR of the selector's family, or an interface name (optionally ending in `*`)
    pub value: String,
}

/// One element of our maps and sets as listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PortmapEntry {
    pub network: String,
    pub container_id: String,
    pub ifname: String,
    /// "dnat" (a host port), "hairpin" (a masqueraded source . pod pair) or "masqAll"
    pub kind: String,
    /// dnat: tcp, udp, sctp (or the protocol number)
    pub protocol: Option<String>,
    pub host_ip: Option<String>,
    pub host_port: Option<u32>,
    /// hairpin: the source address masqueraded toward the pod
    pub source: Option<String>,
    pub container_ip: String,
    pub container_port: Option<u32>,
}

fn protocol_number(p: &str) -> Option<u8> {
    match p.to_ascii_lowercase().as_str() {
        "tcp" => Some(6),
        "udp" => Some(17),
        "sctp" => Some(132),
        _ => None,
    }
}

fn protocol_name(n: u8) -> String {
    match n {
        6 => "tcp".into(),
        17 => "udp".into(),
        132 => "sctp".into(),
        n => n.to_string(),
    }
}

fn family_of(ip: &IpAddr) -> Family {
    match ip {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

fn octets(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn fmt_addr(b: &[u8]) -> String {
    match b.len() {
        4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(b).unwrap()).to_string(),
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap()).to_string(),
        _ => format!("{b:02x?}"),
    }
}

/// Element comment: "<network> <containerId>/<ifname>" (network names hold no space).
pub fn owner(network: &str, container_id: &str, ifname: &str) -> String {
    format!("{network} {container_id}/{ifname}")
}

fn parse_owner(c: &str) -> Option<(&str, &str, &str)> {
    let (net, att) = c.split_once(' ')?;
    let (cid, ifname) = att.rsplit_once('/')?;
    Some((net, cid, ifname))
}

/// The elements one set of one family gets for an attachment; `net`: the suffix of the network's
/// own map (a network with conditions in that family), None for the shared set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub family: Family,
    pub set: SetKind,
    pub net: Option<String>,
    pub elems: Vec<MapElem>,
}

/// The suffix of a network's own maps: 16 hex of sha256(network).
pub fn net_suffix(network: &str) -> String {
    Sha256::digest(network.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn parse_cond(f: Family, c: &PortmapCondition) -> Result<Cond, Failure> {
    let bad = |what: &str| invalid(format!("condition {} {}{:?}: {what}", c.selector, if c.negate { "!= " } else { "" }, c.value));
    let (fam, daddr) = match c.selector.as_str() {
        "iifname" => {
            let (name, wildcard) = match c.value.strip_suffix('*') {
                Some(n) => (n, true),
                None => (c.value.as_str(), false),
            };
            if name.is_empty() || name.len() > 15 || name.contains(['/', ' ', '\0']) {
                return Err(bad("not an interface name"));
            }
            return Ok(Cond::Iif { neq: c.negate, name: name.to_string(), wildcard });
        }
        "ip saddr" => (Family::V4, false),
        "ip daddr" => (Family::V4, true),
        "ip6 saddr" => (Family::V6, false),
        "ip6 daddr" => (Family::V6, true),
        _ => return Err(bad("unknown selector")),
    };
    if fam != f {
        return Err(bad("selector of the other family"));
    }
    let (addr, prefix) = match c.value.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (c.value.as_str(), None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| bad("not an address"))?;
    if family_of(&ip) != f {
        return Err(bad("an address of the other family"));
    }
    let max = (f.addr_len() * 8) as u8;
    let prefix = match prefix {
        None => max,
        Some(p) => p.parse::<u8>().ok().filter(|p| (1..=max).contains(p)).ok_or_else(|| bad("invalid prefix length"))?,
    };
    Ok(Cond::Addr { daddr, neq: c.negate, net: octets(&ip), prefix })
}

/// The conditions in words, as the rules' comment: a repeated ADD compares it to tell whether the
/// network's rules carry its conditions.
fn conditions_tag(conds: &[PortmapCondition]) -> String {
    let text =
        conds.iter().map(|c| format!("{}{} {}", c.selector, if c.negate { " !=" } else { "" }, c.value)).collect::<Vec<_>>().join(" ");
    // a comment holds at most 255 bytes with its NUL; a longer text is named by its digest
    if text.len() < 250 {
        text
    } else {
        format!("sha256 {}", net_suffix(&text))
    }
}

/// A network's own DNAT objects in family `f`, when the request has conditions there.
pub fn net_rules(req: &PortmapRequest, f: Family) -> Result<Option<NetRules>, Failure> {
    let conds = match f {
        Family::V4 => req.conditions_v4.as_deref(),
        Family::V6 => req.conditions_v6.as_deref(),
    }
    .unwrap_or_default();
    if conds.is_empty() {
        return Ok(None);
    }
    Ok(Some(NetRules {
        suffix: net_suffix(&req.network),
        network: req.network.clone(),
        conditions: conds.iter().map(|c| parse_cond(f, c)).collect::<Result<_, _>>()?,
        tag: conditions_tag(conds),
    }))
}

fn invalid(msg: String) -> Failure {
    Failure::new(FailureKind::Invalid, ADD, msg)
}

fn port(v: u32, what: &str) -> Result<u16, Failure> {
    u16::try_from(v).ok().filter(|p| *p != 0).ok_or_else(|| invalid(format!("invalid {what} {v} (must be 1-65535)")))
}

/// The elements of an attachment, grouped per (family, set), in the order they are sent.
pub fn plan(req: &PortmapRequest) -> Result<Vec<Group>, Failure> {
    let comment = owner(&req.network, &req.container_id, &req.ifname);
    if comment.len() > MAX_COMMENT {
        return Err(invalid("network name, container id or ifname too long for an nf_tables comment".into()));
    }
    let mut nets = Vec::new();
    for f in Family::ALL {
        nets.push((f, net_rules(req, f)?.map(|n| n.suffix)));
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut push = |family: Family, set: SetKind, key: Vec<u8>, data: Option<Vec<u8>>| {
        let elem = MapElem { key, data, comment: Some(comment.clone()) };
        let net = if set.is_map() { nets.iter().find(|(f, _)| *f == family).and_then(|(_, n)| n.clone()) } else { None };
        match groups.iter_mut().find(|g| g.family == family && g.set == set) {
            Some(g) => g.elems.push(elem),
            None => groups.push(Group { family, set, net, elems: vec![elem] }),
        }
    };
    let mut seen = Vec::new();
    for ip_s in &req.container_ips {
        let ip: IpAddr = ip_s.parse().map_err(|_| invalid(format!("invalid container address {ip_s:?}")))?;
        let fam = family_of(&ip);
        if seen.contains(&fam) {
            return Err(invalid(format!("more than one container address of one family ({ip_s})")));
        }
        seen.push(fam);
        let pod = octets(&ip);
        let mut mapped = false;
        for m in &req.mappings {
            let proto = protocol_number(&m.protocol).ok_or_else(|| invalid(format!("unknown protocol {:?}", m.protocol)))?;
            let (hp, cp) = (port(m.host_port, "hostPort")?, port(m.container_port, "containerPort")?);
            let data = Some(po::addr_port(&pod, cp));
            let host_ip = match m.host_ip.as_deref().filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => Some(s.parse::<IpAddr>().map_err(|_| invalid(format!("invalid hostIP {s:?}")))?),
            };
            match host_ip {
                Some(h) if family_of(&h) != fam => continue,
                Some(h) if !h.is_unspecified() => {
                    let mut key = octets(&h);
                    key.extend(po::proto_port_key(proto, hp));
                    push(fam, SetKind::HostIpPorts, key, data);
                }
                _ => push(fam, SetKind::Ports, po::proto_port_key(proto, hp), data),
            }
            mapped = true;
        }
        if !mapped || !req.snat {
            continue;
        }
        if req.masq_all {
            push(fam, SetKind::MasqAll, pod.clone(), None);
        } else {
            push(fam, SetKind::Hairpin, [pod.clone(), pod.clone()].concat(), None);
            if fam == Family::V4 {
                push(fam, SetKind::Hairpin, [LOCALHOST_V4.to_vec(), pod.clone()].concat(), None);
            }
        }
    }
    Ok(groups)
}

fn fail(op: &str, errs: &[MsgError]) -> Failure {
    nl_errno(op, errs[0].errno)
}

/// Create one family's table, chains, sets and rules; EEXIST means another ADD made them first.
fn ensure(sock: &mut NftSocket, f: Family) -> Result<(), Failure> {
    match sock.transact(ADD, &po::setup_msgs(f))? {
        Ok(()) => Ok(()),
        Err(errs) if errs.iter().any(|e| e.errno == libc::EEXIST) => Ok(()),
        Err(errs) => Err(fail(ADD, &errs)),
    }
}

/// The chains holding DNAT rules.
const DNAT_CHAINS: [&str; 2] = [po::PREROUTING, po::OUTPUT];

/// A rule of the network's as read back: its chain, handle and comment.
pub(super) type NetRule = (&'static str, u64, Option<String>);

/// The rules of the DNAT chains that look up the network's maps: (chain, handle, comment); None
/// when the family's table does not exist.
pub(super) fn net_rules_in_kernel(sock: &mut NftSocket, f: Family, suffix: &str) -> Result<Option<Vec<NetRule>>, Failure> {
    let maps = [SetKind::Ports.name_in(Some(suffix)), SetKind::HostIpPorts.name_in(Some(suffix))];
    let mut out = Vec::new();
    for chain in DNAT_CHAINS {
        let Some(rules) = sock.dump_existing("portmap list rules", &objects::dump_rules(f.table(), chain))? else { return Ok(None) };
        for p in &rules {
            let Some(r) = objects::parse_rule(p) else { continue };
            if r.sets.iter().any(|s| maps.contains(s)) {
                out.push((chain, r.handle, po::parse_rule_comment(p)));
            }
        }
    }
    Ok(Some(out))
}

/// Make sure the network's maps and rules are there and carry its current conditions: created
/// by its first ADD (the maps EXCL: a concurrent first ADD fails with EEXIST and finds them), and
/// replaced, under a generation check, when an ADD brings other conditions (the latest ADD's
/// conditions apply to its network).
fn sync_net(sock: &mut NftSocket, f: Family, n: &NetRules) -> Result<(), Failure> {
    reap::guarded(
        || {
            let genid = sock.generation()?;
            let Some(rules) = net_rules_in_kernel(sock, f, &n.suffix)? else {
                ensure(sock, f)?;
                return Ok(None);
            };
            if rules.is_empty() {
                return match sock.transact(ADD, &po::net_setup_msgs(f, n, NLM_F_CREATE | NLM_F_EXCL))? {
                    Ok(()) => Ok(Some(())),
                    // the family's table is not there yet (a dump of its chains' rules does not tell)
                    Err(errs) if errs.iter().any(|e| e.errno == libc::ENOENT) => {
                        ensure(sock, f)?;
                        Ok(None)
                    }
                    Err(errs) if errs.iter().any(|e| e.errno == libc::EEXIST) => Ok(None),
                    Err(errs) => Err(fail(ADD, &errs)),
                };
            }
            if rules.len() == 4 && rules.iter().all(|(_, _, c)| c.as_deref() == Some(n.tag.as_str())) {
                return Ok(Some(()));
            }
            let mut msgs: Vec<Msg> = rules.iter().map(|(chain, h, _)| objects::del_rule(f.table(), chain, *h)).collect();
            msgs.extend(po::net_rules(f, n));
            match sock.transact_at(ADD, &msgs, genid)? {
                Guarded::Committed => Ok(Some(())),
                Guarded::Stale => Ok(None),
                Guarded::Refused(errs) if errs.iter().any(|e| e.errno == libc::ENOENT) => Ok(None),
                Guarded::Refused(errs) => Err(fail(ADD, &errs)),
            }
        },
        ADD,
    )
}

/// Remove the network's maps in family `f`, with the rules that use them, once both are empty; in
/// one transaction valid at the generation they were read at (reap.rs's pattern), so an ADD that
/// put an element in meanwhile keeps its map. A map still used by a rule outside our chains
/// (EBUSY) is left alone.
fn reap_net(sock: &mut NftSocket, f: Family, suffix: &str, op: &str) -> Result<(), Failure> {
    reap::guarded(
        || {
            let genid = sock.generation()?;
            let mut present = Vec::new();
            for k in [SetKind::Ports, SetKind::HostIpPorts] {
                match set_elems(sock, f, k, Some(suffix))? {
                    None => {}
                    Some(e) if e.is_empty() => present.push(k),
                    Some(_) => return Ok(Some(())),
                }
            }
            if present.is_empty() {
                return Ok(Some(()));
            }
            let rules = net_rules_in_kernel(sock, f, suffix)?.unwrap_or_default();
            let mut msgs: Vec<Msg> = rules.iter().map(|(chain, h, _)| objects::del_rule(f.table(), chain, *h)).collect();
            msgs.extend(present.iter().map(|k| objects::del_set(f.table(), &k.name_in(Some(suffix)))));
            match sock.transact_at(op, &msgs, genid)? {
                Guarded::Committed => Ok(Some(())),
                Guarded::Stale => Ok(None),
                Guarded::Refused(errs) if errs.iter().any(|e| e.errno == libc::EBUSY || e.errno == libc::ENOENT) => Ok(None),
                Guarded::Refused(errs) => Err(fail(op, &errs)),
            }
        },
        op,
    )
}

/// The suffixes of the networks' own maps in family `f` (none when the table does not exist).
pub(super) fn net_suffixes(sock: &mut NftSocket, f: Family) -> Result<Vec<String>, Failure> {
    let sets = sock.dump_existing("portmap list sets", &objects::dump_sets(f.table()))?.unwrap_or_default();
    let prefix = format!("{}-", SetKind::Ports.name());
    Ok(sets.iter().filter_map(|p| objects::parse_set(p)).filter_map(|s| s.name.strip_prefix(&prefix).map(str::to_string)).collect())
}

/// The element currently stored under `key`, if any.
fn lookup(sock: &mut NftSocket, f: Family, set: SetKind, net: Option<&str>, key: &[u8]) -> Result<Option<MapElem>, Failure> {
    match sock.request("portmap add lookup", &objects::get_set_elem(f.table(), &set.name_in(net), key)) {
        Ok(replies) => Ok(replies.iter().flat_map(|r| po::parse_elems(r)).find(|e| e.key == key)),
        Err(e) if e.errno == libc::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

/// The refusal of a host port that another attachment holds.
fn taken(set: SetKind, key: &[u8], holder: Option<&str>) -> Failure {
    let (proto, hp) = (key[key.len() - 8], u16::from_be_bytes([key[key.len() - 4], key[key.len() - 3]]));
    let addr = if set == SetKind::HostIpPorts { format!(" on {}", fmt_addr(&key[..key.len() - 8])) } else { String::new() };
    let other = holder.and_then(parse_owner).map(|(n, c, i)| format!("{c}/{i} of network {n}")).unwrap_or_default();
    let mut f = Failure::new(
        FailureKind::Exists,
        ADD,
        format!("host port {}/{hp}{addr} is already mapped to another attachment ({other})", protocol_name(proto)),
    );
    f.errno = libc::EEXIST;
    f
}

/// What an element of `groups` already in the kernel means: a host port of another attachment
/// is a conflict (a map holds one pod per port, and two pods on one host port cannot both get
/// the traffic); a stale element of the same attachment (a repeated ADD) or a masquerade
/// element of an address reused after a missed DEL is replaced. Returns the deletions.
fn resolve_existing(sock: &mut NftSocket, groups: &[Group], mine: &str) -> Result<Vec<Msg>, Failure> {
    let mut msgs = Vec::new();
    for g in groups {
        let mut stale = Vec::new();
        for e in &g.elems {
            let Some(cur) = lookup(sock, g.family, g.set, g.net.as_deref(), &e.key)? else { continue };
            if g.set.is_map() && cur.comment.as_deref().is_some_and(|c| c != mine) {
                return Err(taken(g.set, &e.key, cur.comment.as_deref()));
            }
            stale.push(cur);
        }
        if !stale.is_empty() {
            msgs.push(po::del_elems(g.family, g.set, g.net.as_deref(), &stale));
        }
    }
    Ok(msgs)
}

/// A host port is one pod's across every map of its family: the shared maps and each network's
/// own. The maps other than the one an element goes to are looked up here (only when some
/// network has maps of its own); the attachment's own elements found there (its network's
/// conditions came or went) are deleted.
fn check_other_maps(sock: &mut NftSocket, groups: &[Group], mine: &str) -> Result<Vec<Msg>, Failure> {
    let mut msgs = Vec::new();
    let mut fams: Vec<Family> = groups.iter().filter(|g| g.set.is_map()).map(|g| g.family).collect();
    fams.dedup();
    for f in fams {
        let suffixes = net_suffixes(sock, f)?;
        if suffixes.is_empty() && groups.iter().all(|g| g.family != f || g.net.is_none()) {
            continue;
        }
        let all: Vec<Option<String>> = std::iter::once(None).chain(suffixes.into_iter().map(Some)).collect();
        for g in groups.iter().filter(|g| g.family == f && g.set.is_map()) {
            for other in all.iter().filter(|n| **n != g.net) {
                let mut stale = Vec::new();
                for e in &g.elems {
                    let Some(cur) = lookup(sock, f, g.set, other.as_deref(), &e.key)? else { continue };
                    if cur.comment.as_deref() != Some(mine) {
                        return Err(taken(g.set, &e.key, cur.comment.as_deref()));
                    }
                    stale.push(cur);
                }
                if !stale.is_empty() {
                    msgs.push(po::del_elems(f, g.set, other.as_deref(), &stale));
                }
            }
        }
    }
    Ok(msgs)
}

/// Add the attachment's elements: one batch on the common path. The first use of a family on the
/// node creates its table first (ENOENT), a network with conditions its own maps and rules;
/// elements already present are resolved as [`resolve_existing`] says, then the batch is sent
/// again with their deletion in front.
pub fn portmap_map(req: &PortmapRequest) -> Result<(), Failure> {
    let groups = plan(req)?;
    if groups.is_empty() {
        return Ok(());
    }
    let mine = owner(&req.network, &req.container_id, &req.ifname);
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let mut nets = Vec::new();
    for f in Family::ALL {
        if let Some(n) = net_rules(req, f)?.filter(|_| groups.iter().any(|g| g.family == f && g.net.is_some())) {
            sync_net(&mut sock, f, &n)?;
            nets.push((f, n));
        }
    }
    let done = add_elems(&mut sock, &groups, &nets, &mine);
    if done.is_err() {
        // a refused first ADD of a network leaves no maps or rules of it behind
        for (f, n) in &nets {
            reap_net(&mut sock, *f, &n.suffix, ADD)?;
        }
    }
    done
}

/// The element batch of [`portmap_map`], once the network's own maps and rules are there.
fn add_elems(sock: &mut NftSocket, groups: &[Group], nets: &[(Family, NetRules)], mine: &str) -> Result<(), Failure> {
    let elsewhere = check_other_maps(sock, groups, mine)?;
    let mut before: Vec<Msg> = Vec::new();
    for _ in 0..6 {
        let mut msgs = elsewhere.clone();
        msgs.extend(before.iter().cloned());
        msgs.extend(groups.iter().map(|g| po::new_elems(g.family, g.set, g.net.as_deref(), &g.elems, NLM_F_CREATE | NLM_F_EXCL)));
        let errs = match sock.transact(ADD, &msgs)? {
            Ok(()) => return Ok(()),
            Err(errs) => errs,
        };
        if errs.iter().any(|e| e.errno == libc::ENOENT) {
            let mut fams: Vec<Family> = groups.iter().map(|g| g.family).collect();
            fams.dedup();
            for f in fams {
                ensure(sock, f)?;
            }
            // a DEL may have removed the network's maps after they were checked
            for (f, n) in nets {
                sync_net(sock, *f, n)?;
            }
        } else if errs.iter().any(|e| e.errno == libc::EEXIST) {
            before = resolve_existing(sock, groups, mine)?;
        } else {
            return Err(fail(ADD, &errs));
        }
    }
    Err(Failure::new(FailureKind::Busy, ADD, "portmap set-up kept racing with concurrent changes"))
}

/// CHECK: each element ADD would make for `req` must be in the kernel, owned by this attachment
/// and (for a host port) leading to the same pod address and port; a network with conditions
/// must have its rules with those conditions. Returns what is wrong, one line per element or
/// rule set (empty: all there).
pub fn portmap_check(req: &PortmapRequest) -> Result<Vec<String>, Failure> {
    let groups = plan(req)?;
    if groups.is_empty() {
        return Ok(vec![]);
    }
    let mine = owner(&req.network, &req.container_id, &req.ifname);
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let mut problems = Vec::new();
    for f in Family::ALL {
        let Some(n) = net_rules(req, f)?.filter(|_| groups.iter().any(|g| g.family == f && g.net.is_some())) else { continue };
        let rules = net_rules_in_kernel(&mut sock, f, &n.suffix)?.unwrap_or_default();
        if rules.len() != 4 || rules.iter().any(|(_, _, c)| c.as_deref() != Some(n.tag.as_str())) {
            problems.push(format!("the DNAT rules of network {} do not carry its conditions ({})", req.network, n.tag));
        }
    }
    for g in &groups {
        for e in &g.elems {
            let cur = match lookup(&mut sock, g.family, g.set, g.net.as_deref(), &e.key)? {
                Some(cur) if cur.comment.as_deref() == Some(mine.as_str()) && cur.data == e.data => continue,
                cur => cur,
            };
            let want = describe(g.family, g.set, e);
            problems.push(match cur {
                None => format!("{want} is missing"),
                Some(c) if c.comment.as_deref() != Some(mine.as_str()) => {
                    format!("{want} belongs to {}", c.comment.as_deref().unwrap_or("no attachment"))
                }
                Some(c) => format!("{want} leads to {} instead", describe(g.family, g.set, &c)),
            });
        }
    }
    Ok(problems)
}

/// An element in words, for CHECK's messages.
fn describe(f: Family, set: SetKind, e: &MapElem) -> String {
    let p = entry(f, set, e.clone());
    match set {
        SetKind::Ports | SetKind::HostIpPorts => format!(
            "host port {}/{}{} -> {}:{}",
            p.protocol.unwrap_or_default(),
            p.host_port.unwrap_or_default(),
            p.host_ip.map(|h| format!(" on {h}")).unwrap_or_default(),
            p.container_ip,
            p.container_port.unwrap_or_default()
        ),
        SetKind::Hairpin => format!("masquerade of {} -> {}", p.source.unwrap_or_default(), p.container_ip),
        SetKind::MasqAll => format!("masquerade of all traffic to {}", p.container_ip),
    }
}

/// The elements of one of our sets (shared, or a network's map); None when it (or its table)
/// does not exist.
fn set_elems(sock: &mut NftSocket, f: Family, set: SetKind, net: Option<&str>) -> Result<Option<Vec<MapElem>>, Failure> {
    let replies = sock.dump_existing("portmap list", &objects::dump_set_elems(f.table(), &set.name_in(net)))?;
    Ok(replies.map(|r| r.iter().flat_map(|p| po::parse_elems(p)).collect()))
}

/// The sets a network's elements can be in, per family: the shared ones, then its own maps.
fn sets_of(suffix: &str) -> Vec<(SetKind, Option<&str>)> {
    let mut v: Vec<(SetKind, Option<&str>)> = SetKind::ALL.iter().map(|k| (*k, None)).collect();
    v.extend([(SetKind::Ports, Some(suffix)), (SetKind::HostIpPorts, Some(suffix))]);
    v
}

/// Delete, under a generation check, every element of the network's sets whose comment `gone`
/// selects; then the network's own maps that this left empty.
fn sweep(sock: &mut NftSocket, op: &str, network: &str, gone: impl Fn(Option<&str>) -> bool) -> Result<(), Failure> {
    let suffix = net_suffix(network);
    let mut own = Vec::new();
    reap::sweep(sock, op, |sock| {
        let mut msgs = Vec::new();
        own.clear();
        for f in Family::ALL {
            for (set, net) in sets_of(&suffix) {
                let Some(elems) = set_elems(sock, f, set, net)? else {
                    if net.is_none() {
                        break; // no table: nothing of this family
                    }
                    continue;
                };
                if net.is_some() && !own.contains(&f) {
                    own.push(f);
                }
                let stale: Vec<MapElem> = elems.into_iter().filter(|e| gone(e.comment.as_deref())).collect();
                if !stale.is_empty() {
                    msgs.push(po::del_elems(f, set, net, &stale));
                }
            }
        }
        Ok(msgs)
    })?;
    for f in own {
        reap_net(sock, f, &suffix, op)?;
    }
    Ok(())
}

/// Whether any of the attachment's masquerade elements (hairpin or masq-all, keyed by its pod
/// address) is there: with snat, an attachment that mapped ports has one, so without one there is
/// nothing to delete (a pod without mappings pays two lookups per address, not a dump of the maps).
fn has_masq_marker(sock: &mut NftSocket, req: &PortmapRequest, mine: &str) -> Result<bool, Failure> {
    for ip in req.container_ips.iter().filter_map(|s| s.parse::<IpAddr>().ok()) {
        let (f, pod) = (family_of(&ip), octets(&ip));
        for (set, key) in [(SetKind::Hairpin, [pod.clone(), pod.clone()].concat()), (SetKind::MasqAll, pod)] {
            if lookup(sock, f, set, None, &key)?.is_some_and(|e| e.comment.as_deref() == Some(mine)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Remove the attachment's elements; idempotent. By key when the request names addresses and
/// mappings (each element only if its comment still names this attachment; a host port is looked
/// for in the shared map and in the network's own, whatever the conditions are now); otherwise
/// every element whose comment names it, so that DEL needs neither the mappings nor prevResult.
/// The network's own maps go with their last element.
pub fn portmap_unmap(req: &PortmapRequest) -> Result<(), Failure> {
    let mine = owner(&req.network, &req.container_id, &req.ifname);
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    if !req.container_ips.is_empty() {
        // a request ADD would refuse cannot have added anything by key: fall through to the comments
        let plain = PortmapRequest { conditions_v4: None, conditions_v6: None, ..req.clone() };
        if let (false, Ok(groups)) = (req.mappings.is_empty(), plan(&plain)) {
            let suffix = net_suffix(&req.network);
            let mut own = Vec::new();
            reap::sweep(&mut sock, DEL, |sock| {
                let mut msgs = Vec::new();
                own.clear();
                for g in &groups {
                    // a host port may be in the shared map or the network's own, whatever the conditions are now
                    let both = [None, Some(suffix.as_str())];
                    for net in if g.set.is_map() { &both[..] } else { &both[..1] } {
                        let mut ours = Vec::new();
                        for e in &g.elems {
                            ours.extend(
                                lookup(sock, g.family, g.set, *net, &e.key)?.filter(|c| c.comment.as_deref() == Some(mine.as_str())),
                            );
                        }
                        if !ours.is_empty() {
                            if net.is_some() && !own.contains(&g.family) {
                                own.push(g.family);
                            }
                            msgs.push(po::del_elems(g.family, g.set, *net, &ours));
                        }
                    }
                }
                Ok(msgs)
            })?;
            for f in own {
                reap_net(&mut sock, f, &suffix, DEL)?;
            }
            return Ok(());
        }
        if req.mappings.is_empty() && req.snat && !has_masq_marker(&mut sock, req, &mine)? {
            return Ok(());
        }
    }
    sweep(&mut sock, DEL, &req.network, |c| c == Some(mine.as_str()))
}

/// GC of one network: its elements of attachments not in `valid` go, then its own maps if empty.
pub fn portmap_gc(req: &NftGcRequest) -> Result<(), Failure> {
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    sweep(&mut sock, "portmap gc", &req.network, |c| {
        let Some((net, cid, ifname)) = c.and_then(parse_owner) else { return false };
        net == req.network && !req.valid.iter().any(|a| a.container_id == cid && a.ifname == ifname)
    })
}

fn entry(f: Family, set: SetKind, e: MapElem) -> PortmapEntry {
    let (network, container_id, ifname) =
        e.comment.as_deref().and_then(parse_owner).map(|(n, c, i)| (n.to_string(), c.to_string(), i.to_string())).unwrap_or_default();
    let mut out = PortmapEntry { network, container_id, ifname, ..Default::default() };
    let alen = f.addr_len();
    let k = &e.key;
    match set {
        SetKind::Ports | SetKind::HostIpPorts => {
            let pp = &k[k.len().saturating_sub(8)..];
            out.kind = "dnat".into();
            out.protocol = pp.first().map(|p| protocol_name(*p));
            out.host_port = pp.get(4..6).map(|b| u16::from_be_bytes([b[0], b[1]]) as u32);
            out.host_ip = (set == SetKind::HostIpPorts).then(|| fmt_addr(&k[..alen.min(k.len())]));
            if let Some(d) = e.data.as_deref().filter(|d| d.len() >= alen + 2) {
                out.container_ip = fmt_addr(&d[..alen]);
                out.container_port = Some(u16::from_be_bytes([d[alen], d[alen + 1]]) as u32);
            }
        }
        SetKind::Hairpin => {
            out.kind = "hairpin".into();
            if k.len() == 2 * alen {
                out.source = Some(fmt_addr(&k[..alen]));
                out.container_ip = fmt_addr(&k[alen..]);
            }
        }
        SetKind::MasqAll => {
            out.kind = "masqAll".into();
            out.container_ip = fmt_addr(k);
        }
    }
    out
}

/// Every element of our maps and sets (optionally one network's), both families.
pub fn portmap_list(host_netns: Option<&str>, network: Option<&str>) -> Result<Vec<PortmapEntry>, Failure> {
    let mut sock = pool::lease(host_netns)?;
    let mut out = Vec::new();
    for f in Family::ALL {
        let suffixes = net_suffixes(&mut sock, f)?;
        let mut sets: Vec<(SetKind, Option<&str>)> = SetKind::ALL.iter().map(|k| (*k, None)).collect();
        for s in &suffixes {
            sets.extend([(SetKind::Ports, Some(s.as_str())), (SetKind::HostIpPorts, Some(s.as_str()))]);
        }
        for (set, net) in sets {
            let Some(elems) = set_elems(&mut sock, f, set, net)? else { continue };
            out.extend(elems.into_iter().map(|e| entry(f, set, e)).filter(|e| network.is_none_or(|n| n == e.network)));
        }
    }
    Ok(out)
}
