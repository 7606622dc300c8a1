//! Host port mappings in nf_tables maps (tables `ip fastcni-portmap` and `ip6 fastcni-portmap`,
//! portmap_objects.rs): a pod's mappings are elements of the maps, all added in one batch, each
//! carrying its owner ("<network> <containerId>/<ifname>") so that DEL and GC find them without
//! being told the mappings again. The tables, chains, maps and rules are made once per node (by
//! the first ADD, on ENOENT) and stay, as the reference keeps its `cni_hostport` tables.

use std::net::IpAddr;

use super::error::{nl_errno, Failure, FailureKind};
use super::objects;
use super::pool;
use super::portmap_objects::{self as po, Family, MapElem, SetKind};
use super::reap::{self, NftGcRequest};
use super::socket::{MsgError, NftSocket};
use super::wire::{Msg, NLM_F_CREATE, NLM_F_EXCL};

const ADD: &str = "portmap add";
const DEL: &str = "portmap del";
const MAX_COMMENT: usize = 240;
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

/// The elements one set of one family gets for an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub family: Family,
    pub set: SetKind,
    pub elems: Vec<MapElem>,
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
    let mut groups: Vec<Group> = Vec::new();
    let mut push = |family: Family, set: SetKind, key: Vec<u8>, data: Option<Vec<u8>>| {
        let elem = MapElem { key, data, comment: Some(comment.clone()) };
        match groups.iter_mut().find(|g| g.family == family && g.set == set) {
            Some(g) => g.elems.push(elem),
            None => groups.push(Group { family, set, elems: vec![elem] }),
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

/// The element currently stored under `key`, if any.
fn lookup(sock: &mut NftSocket, f: Family, set: SetKind, key: &[u8]) -> Result<Option<MapElem>, Failure> {
    match sock.request("portmap add lookup", &objects::get_set_elem(f.table(), set.name(), key)) {
        Ok(replies) => Ok(replies.iter().flat_map(|r| po::parse_elems(r)).find(|e| e.key == key)),
        Err(e) if e.errno == libc::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
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
            let Some(cur) = lookup(sock, g.family, g.set, &e.key)? else { continue };
            if g.set.is_map() && cur.comment.as_deref().is_some_and(|c| c != mine) {
                let (proto, hp) = (e.key[e.key.len() - 8], u16::from_be_bytes([e.key[e.key.len() - 4], e.key[e.key.len() - 3]]));
                let addr =
                    if g.set == SetKind::HostIpPorts { format!(" on {}", fmt_addr(&e.key[..e.key.len() - 8])) } else { String::new() };
                let other =
                    cur.comment.as_deref().and_then(parse_owner).map(|(n, c, i)| format!("{c}/{i} of network {n}")).unwrap_or_default();
                let mut f = Failure::new(
                    FailureKind::Exists,
                    ADD,
                    format!("host port {}/{hp}{addr} is already mapped to another attachment ({other})", protocol_name(proto)),
                );
                f.errno = libc::EEXIST;
                return Err(f);
            }
            stale.push(cur);
        }
        if !stale.is_empty() {
            msgs.push(po::del_elems(g.family, g.set, &stale));
        }
    }
    Ok(msgs)
}

/// Add the attachment's elements: one batch on the common path. The first use of a family on the
/// node creates its table first (ENOENT); elements already present are resolved as
/// [`resolve_existing`] says, then the batch is sent again with their deletion in front.
pub fn portmap_map(req: &PortmapRequest) -> Result<(), Failure> {
    let groups = plan(req)?;
    if groups.is_empty() {
        return Ok(());
    }
    let mine = owner(&req.network, &req.container_id, &req.ifname);
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let mut before: Vec<Msg> = Vec::new();
    for _ in 0..6 {
        let mut msgs = before.clone();
        msgs.extend(groups.iter().map(|g| po::new_elems(g.family, g.set, &g.elems, NLM_F_CREATE | NLM_F_EXCL)));
        let errs = match sock.transact(ADD, &msgs)? {
            Ok(()) => return Ok(()),
            Err(errs) => errs,
        };
        if errs.iter().any(|e| e.errno == libc::ENOENT) {
            let mut fams: Vec<Family> = groups.iter().map(|g| g.family).collect();
            fams.dedup();
            for f in fams {
                ensure(&mut sock, f)?;
            }
        } else if errs.iter().any(|e| e.errno == libc::EEXIST) {
            before = resolve_existing(&mut sock, &groups, &mine)?;
        } else {
            return Err(fail(ADD, &errs));
        }
    }
    Err(Failure::new(FailureKind::Busy, ADD, "portmap set-up kept racing with concurrent changes"))
}

/// CHECK: each element ADD would make for `req` must be in the kernel, owned by this attachment
/// and (for a host port) leading to the same pod address and port. Returns what is wrong, one
/// line per element (empty: all there).
pub fn portmap_check(req: &PortmapRequest) -> Result<Vec<String>, Failure> {
    let groups = plan(req)?;
    if groups.is_empty() {
        return Ok(vec![]);
    }
    let mine = owner(&req.network, &req.container_id, &req.ifname);
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    let mut problems = Vec::new();
    for g in &groups {
        for e in &g.elems {
            let cur = match lookup(&mut sock, g.family, g.set, &e.key)? {
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

/// The elements of one of our sets; None when it (or its table) does not exist.
fn set_elems(sock: &mut NftSocket, f: Family, set: SetKind) -> Result<Option<Vec<MapElem>>, Failure> {
    let replies = sock.dump_existing("portmap list", &objects::dump_set_elems(f.table(), set.name()))?;
    Ok(replies.map(|r| r.iter().flat_map(|p| po::parse_elems(p)).collect()))
}

/// Delete, under a generation check, every element whose comment `gone` selects.
fn sweep(sock: &mut NftSocket, op: &str, gone: impl Fn(Option<&str>) -> bool) -> Result<(), Failure> {
    reap::sweep(sock, op, |sock| {
        let mut msgs = Vec::new();
        for f in Family::ALL {
            for set in SetKind::ALL {
                let Some(elems) = set_elems(sock, f, set)? else { break }; // no table: nothing of this family
                let stale: Vec<MapElem> = elems.into_iter().filter(|e| gone(e.comment.as_deref())).collect();
                if !stale.is_empty() {
                    msgs.push(po::del_elems(f, set, &stale));
                }
            }
        }
        Ok(msgs)
    })
}

/// Whether any of the attachment's masquerade elements (hairpin or masq-all, keyed by its pod
/// address) is there: with snat, an attachment that mapped ports has one, so without one there is
/// nothing to delete (a pod without mappings pays two lookups per address, not a dump of the maps).
fn has_masq_marker(sock: &mut NftSocket, req: &PortmapRequest, mine: &str) -> Result<bool, Failure> {
    for ip in req.container_ips.iter().filter_map(|s| s.parse::<IpAddr>().ok()) {
        let (f, pod) = (family_of(&ip), octets(&ip));
        for (set, key) in [(SetKind::Hairpin, [pod.clone(), pod.clone()].concat()), (SetKind::MasqAll, pod)] {
            if lookup(sock, f, set, &key)?.is_some_and(|e| e.comment.as_deref() == Some(mine)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Remove the attachment's elements; idempotent. By key when the request names addresses and
/// mappings (each element only if its comment still names this attachment); otherwise every
/// element whose comment names it, so that DEL needs neither the mappings nor prevResult.
pub fn portmap_unmap(req: &PortmapRequest) -> Result<(), Failure> {
    let mine = owner(&req.network, &req.container_id, &req.ifname);
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    if !req.container_ips.is_empty() {
        // a request ADD would refuse cannot have added anything by key: fall through to the comments
        if let (false, Ok(groups)) = (req.mappings.is_empty(), plan(req)) {
            return reap::sweep(&mut sock, DEL, |sock| {
                let mut msgs = Vec::new();
                for g in &groups {
                    let mut ours = Vec::new();
                    for e in &g.elems {
                        ours.extend(lookup(sock, g.family, g.set, &e.key)?.filter(|c| c.comment.as_deref() == Some(mine.as_str())));
                    }
                    if !ours.is_empty() {
                        msgs.push(po::del_elems(g.family, g.set, &ours));
                    }
                }
                Ok(msgs)
            });
        }
        if req.mappings.is_empty() && req.snat && !has_masq_marker(&mut sock, req, &mine)? {
            return Ok(());
        }
    }
    sweep(&mut sock, DEL, |c| c == Some(mine.as_str()))
}

/// GC of one network: its elements of attachments not in `valid` go.
pub fn portmap_gc(req: &NftGcRequest) -> Result<(), Failure> {
    let mut sock = pool::lease(req.host_netns.as_deref())?;
    sweep(&mut sock, "portmap gc", |c| {
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
        for set in SetKind::ALL {
            let Some(elems) = set_elems(&mut sock, f, set)? else { break };
            out.extend(elems.into_iter().map(|e| entry(f, set, e)).filter(|e| network.is_none_or(|n| n == e.network)));
        }
    }
    Ok(out)
}
