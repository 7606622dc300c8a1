//! Source-based routing of a pod interface (the sbr plugin), as the reference does it
//! (https://github.com/containernetworking/plugins/blob/main/plugins/meta/sbr/main.go): per address
//! a policy routing table (the first id from 100 that no rule and no route uses), a rule
//! `from <address> lookup <table>`, the table's default route and the interface's routes copied
//! into it; then the interface's routes leave the main table. DEL removes the rules (and what the
//! tables hold through the interface). Each call runs in the pod namespace on a thread of ours and
//! holds a flock on the namespace file, as the reference does, so that two sbr calls in one pod
//! (ours or the reference's) never pick the same table.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::addr::{self, Cidr};
use super::link;
use super::netns;
use super::route;
use super::rtnl::Rtnl;
use crate::error::{Failure, FailureKind, Result};
use crate::fault::{self, Step};
use crate::types::Route;

/// The first table id the reference considers.
const FIRST_TABLE: u32 = 100;
const RT_TABLE_MAIN: u32 = 254;
/// default (253), main (254), local (255): never flushed, whatever a rule says
const RESERVED_TABLES: std::ops::RangeInclusive<u32> = 253..=255;

/// One address of the pod interface, and the gateway of its table's default route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SbrAddress {
    /// with its prefix length, e.g. 10.1.0.5/24: the prefix decides which routes are copied
    pub address: String,
    /// the default route's gateway in the address's table; undefined = no default route
    pub gateway: Option<String>,
}

/// Source-based routing for one pod interface: the sbr plugin's ADD.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SbrAddRequest {
    /// the pod's network namespace (a path the calling process can open)
    pub netns: String,
    pub ifname: String,
    pub addresses: Vec<SbrAddress>,
    /// a fixed table: only the rules are added, no route is copied or removed
    pub table: Option<u32>,
    /// keep the interface's on-link routes to an address's subnet in main, with that address as
    /// their source hint, instead of removing them
    pub source_hints: bool,
}

/// A policy rule of the sbr plugin: `from <source> lookup <table>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SbrRule {
    pub source: String,
    pub table: u32,
}

/// The sbr plugin's DEL for one pod interface.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SbrDelRequest {
    pub netns: String,
    pub ifname: String,
    /// addresses whose rules go, besides those still on the interface (prevResult's: the interface
    /// may be gone already)
    pub addresses: Vec<String>,
    /// the rules' tables were picked by ADD (no fixed table): their routes through the interface go too
    pub flush_tables: bool,
}

/// What CHECK reads: a pod interface's source rules and what their tables route through it.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SbrInspectRequest {
    pub netns: String,
    pub ifname: String,
}

/// A rule with a source address, and the routes of its table through the interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SbrRuleState {
    pub source: String,
    pub table: u32,
    pub routes: Vec<Route>,
}

/// ADD on the calling thread, which must be a throwaway one (it enters the pod namespace). On a
/// failure everything done so far is undone. Resolves to the rules added, in address order.
pub fn sbr_add_here(req: &SbrAddRequest) -> Result<Vec<SbrRule>> {
    let addresses = req
        .addresses
        .iter()
        .map(|a| {
            let gw = match &a.gateway {
                Some(g) => Some(g.parse::<IpAddr>().map_err(|_| Failure::invalid("sbr", format!("invalid gateway {g:?}")))?),
                None => None,
            };
            Ok((Cidr::parse(&a.address)?, gw))
        })
        .collect::<Result<Vec<_>>>()?;
    let _lock = enter_locked(&req.netns)?;
    let mut nl = Rtnl::open()?;
    let index = link::by_name(&mut nl, &req.ifname)?
        .ok_or_else(|| Failure::new(FailureKind::NotFound, "sbr", format!("cannot find network interface {}", req.ifname)))?
        .info
        .index;
    let mut undo = Vec::new();
    let r = add_with(&mut nl, req, index, &addresses, &mut undo);
    if r.is_err() {
        for (op, msg, flags) in undo.into_iter().rev() {
            let _ = nl.ack(op, msg, flags);
        }
    }
    r
}

type Undo = Vec<(&'static str, RouteNetlinkMessage, u16)>;

fn add_with(nl: &mut Rtnl, req: &SbrAddRequest, index: u32, addresses: &[(Cidr, Option<IpAddr>)], undo: &mut Undo) -> Result<Vec<SbrRule>> {
    if let Some(table) = req.table {
        let mut added = Vec::new();
        for (cidr, _) in addresses {
            added.push(add_rule(nl, cidr.ip, table, undo)?);
        }
        return Ok(added);
    }
    let (all_rules, all_routes) = rules_and_routes(nl)?;
    let mut used: BTreeSet<u32> = all_rules.iter().map(rule_table).chain(all_routes.iter().map(route_table)).collect();
    let ours: Vec<Found> =
        all_routes.iter().filter(|m| route_table(m) == RT_TABLE_MAIN && oif(m) == Some(index)).filter_map(Found::of).collect();

    let mut added = Vec::new();
    let mut candidate = FIRST_TABLE;
    for (cidr, gw) in addresses {
        let table = next_free(&used, candidate);
        added.push(add_rule(nl, cidr.ip, table, undo)?);
        if let Some(gw) = gw {
            let dst = if cidr.is_v6() { "::/0" } else { "0.0.0.0/0" };
            let m = route::msg(index, &Route { dst: dst.into(), gw: Some(gw.to_string()), table: Some(table), ..Default::default() })?;
            nl.ack("sbr default route add", RouteNetlinkMessage::NewRoute(m.clone()), NLM_F_CREATE | NLM_F_EXCL)
                .map_err(why(format!("failed to add default route to {gw} in table {table}")))?;
            undo.push(("sbr route undo", RouteNetlinkMessage::DelRoute(m), 0));
        }
        // replace: the default route just added may be one of them; but a default route of main via
        // another gateway (when `gateways` names one) does not take the place of the address's own
        let displaces = |r: &Found| gw.is_some() && r.dst.prefix == 0 && r.dst.is_v6() == cidr.is_v6() && r.gw != *gw;
        for r in ours.iter().filter(|r| r.belongs_to(cidr) && !displaces(r)) {
            let m = r.in_table(table);
            nl.ack("sbr route copy", RouteNetlinkMessage::NewRoute(m.clone()), NLM_F_CREATE | NLM_F_REPLACE)
                .map_err(why(format!("failed to copy route {} to table {table}", r.dst)))?;
            undo.push(("sbr route undo", RouteNetlinkMessage::DelRoute(m), 0));
        }
        used.insert(table);
        candidate = table + 1;
    }
    fault::step(Step::SbrAddTables);
    // Only now, so that a second address of the same subnet still finds its routes (the reference's order).
    for r in &ours {
        let hint = addresses.iter().map(|(c, _)| c.ip).find(|ip| req.source_hints && r.gw.is_none() && r.dst.contains(*ip));
        match hint {
            Some(ip) => {
                nl.ack("sbr source hint", RouteNetlinkMessage::NewRoute(r.with_source(ip)), NLM_F_REPLACE)
                    .map_err(why(format!("failed to set source {ip} on route {}", r.dst)))?;
                undo.push(("sbr route undo", RouteNetlinkMessage::NewRoute(r.msg.clone()), NLM_F_REPLACE));
            }
            None => {
                nl.ack("sbr route delete", RouteNetlinkMessage::DelRoute(r.msg.clone()), 0)
                    .map_err(why(format!("failed to delete route {}", r.dst)))?;
                undo.push(("sbr route undo", RouteNetlinkMessage::NewRoute(r.msg.clone()), NLM_F_CREATE | NLM_F_EXCL));
            }
        }
    }
    Ok(added)
}

/// DEL on the calling thread, which must be a throwaway one. A missing namespace fails with kind
/// netnsGone (nothing left to do: rules and tables went with it); nothing is created at its path.
/// A missing interface is no failure. Resolves to the rules removed.
pub fn sbr_del_here(req: &SbrDelRequest) -> Result<Vec<SbrRule>> {
    let mut wanted: Vec<IpAddr> = req.addresses.iter().map(|a| Ok(Cidr::parse(a)?.ip)).collect::<Result<_>>()?;
    let _lock = enter_locked(&req.netns)?;
    let mut nl = Rtnl::open()?;
    let index = link::by_name(&mut nl, &req.ifname)?.map(|l| l.info.index);
    if let Some(i) = index {
        wanted.extend(addr::list(&mut nl, Some(i))?.into_iter().map(|a| a.cidr.ip));
    }
    // Like the reference: keep going after a failure, report the last one.
    let mut failed = None;
    let mut removed = Vec::new();
    let (rules, routes) = rules_and_routes(&mut nl)?;
    for r in rules {
        let Some(src) = rule_source(&r) else { continue };
        if !wanted.contains(&src) {
            continue;
        }
        match nl.ack("sbr rule delete", RouteNetlinkMessage::DelRule(rule_key(&r)), 0) {
            Ok(()) => removed.push(SbrRule { source: src.to_string(), table: rule_table(&r) }),
            Err(e) if e.is(FailureKind::NotFound) => {}
            Err(e) => failed = Some(e),
        }
    }
    fault::step(Step::SbrDelRules);
    if let (true, Some(i)) = (req.flush_tables, index) {
        let tables: BTreeSet<u32> = removed.iter().map(|r| r.table).filter(|t| !RESERVED_TABLES.contains(t)).collect();
        for m in routes.into_iter().filter(|m| tables.contains(&route_table(m)) && oif(m) == Some(i)) {
            if let Some(f) = Found::of(&m) {
                match nl.ack("sbr route delete", RouteNetlinkMessage::DelRoute(f.msg), 0) {
                    Ok(()) => {}
                    Err(e) if e.is(FailureKind::NotFound) => {}
                    Err(e) => failed = Some(e),
                }
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}

/// CHECK's view on the calling thread, which must be a throwaway one: every rule with a source
/// address, and the routes of its table through the interface (kind notFound when it is missing).
pub fn sbr_inspect_here(req: &SbrInspectRequest) -> Result<Vec<SbrRuleState>> {
    netns::enter(&netns::open(&req.netns)?, &req.netns)?;
    let mut nl = Rtnl::open()?;
    let index = link::by_name(&mut nl, &req.ifname)?
        .ok_or_else(|| Failure::new(FailureKind::NotFound, "sbr", format!("cannot find network interface {}", req.ifname)))?
        .info
        .index;
    let (rules, routes) = rules_and_routes(&mut nl)?;
    let through: Vec<Route> = routes.iter().filter_map(route::parse).filter(|(_, o)| *o == Some(index)).map(|(r, _)| r).collect();
    Ok(rules
        .iter()
        .filter_map(|r| {
            let table = rule_table(r);
            let routes = through.iter().filter(|x| x.table == Some(table)).cloned().collect();
            Some(SbrRuleState { source: rule_source(r)?.to_string(), table, routes })
        })
        .collect())
}

/// Open the namespace file (never creating it), flock it, and enter it. The lock lasts as long as
/// the returned descriptor.
fn enter_locked(path: &str) -> Result<OwnedFd> {
    let fd = netns::open(path)?;
    loop {
        // SAFETY: plain syscall on a valid fd.
        if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) } == 0 {
            break;
        }
        let f = Failure::last_os("sbr netns lock");
        if f.errno != libc::EINTR {
            return Err(f.with_message(format!("cannot lock network namespace {path}")));
        }
    }
    netns::enter(&fd, path)?;
    Ok(fd)
}

/// Prefix a failure's message with what was being done.
fn why(what: String) -> impl FnOnce(Failure) -> Failure {
    move |e| {
        let m = format!("{what}: {}", e.message);
        e.with_message(m)
    }
}

/// The first table id from `from` on that nothing uses.
fn next_free(used: &BTreeSet<u32>, from: u32) -> u32 {
    let mut t = from;
    while used.contains(&t) {
        t += 1;
    }
    t
}

fn family_of(ip: IpAddr) -> AddressFamily {
    if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

fn rule_msg(src: IpAddr, table: u32) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header.family = family_of(src);
    m.header.src_len = if src.is_ipv4() { 32 } else { 128 };
    m.header.action = RuleAction::ToTable;
    m.header.table = if table < 256 { table as u8 } else { RouteHeader::RT_TABLE_UNSPEC };
    m.attributes.push(RuleAttribute::Source(src));
    m.attributes.push(RuleAttribute::Table(table));
    m
}

fn add_rule(nl: &mut Rtnl, src: IpAddr, table: u32, undo: &mut Undo) -> Result<SbrRule> {
    // No priority: the kernel gives it the one below the first rule's, as it does for the reference.
    let m = rule_msg(src, table);
    nl.ack("sbr rule add", RouteNetlinkMessage::NewRule(m.clone()), NLM_F_CREATE | NLM_F_EXCL)
        .map_err(why(format!("failed to add rule from {src} lookup {table}")))?;
    undo.push(("sbr rule undo", RouteNetlinkMessage::DelRule(m), 0));
    Ok(SbrRule { source: src.to_string(), table })
}

/// What identifies a dumped rule for its deletion: header, source, table, priority.
fn rule_key(r: &RuleMessage) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header = r.header.clone();
    m.attributes = r
        .attributes
        .iter()
        .filter(|a| matches!(a, RuleAttribute::Source(_) | RuleAttribute::Table(_) | RuleAttribute::Priority(_)))
        .cloned()
        .collect();
    m
}

fn rule_table(r: &RuleMessage) -> u32 {
    r.attributes.iter().find_map(|a| if let RuleAttribute::Table(t) = a { Some(*t) } else { None }).unwrap_or(r.header.table as u32)
}

fn rule_source(r: &RuleMessage) -> Option<IpAddr> {
    r.attributes.iter().find_map(|a| if let RuleAttribute::Source(ip) = a { Some(*ip) } else { None })
}

/// Every policy rule, and every route of every table, both families (the kernel's cached clones
/// are not dumped).
fn rules_and_routes(nl: &mut Rtnl) -> Result<(Vec<RuleMessage>, Vec<RouteMessage>)> {
    let (mut rules, mut routes) = (Vec::new(), Vec::new());
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut rule = RuleMessage::default();
        rule.header.family = family;
        let mut route = RouteMessage::default();
        route.header.address_family = family;
        for reply in nl
            .dump("rule list", RouteNetlinkMessage::GetRule(rule))?
            .into_iter()
            .chain(nl.dump("route list", RouteNetlinkMessage::GetRoute(route))?)
        {
            match reply {
                RouteNetlinkMessage::NewRule(r) => rules.push(r),
                RouteNetlinkMessage::NewRoute(r) => routes.push(r),
                _ => {}
            }
        }
    }
    Ok((rules, routes))
}

fn route_table(m: &RouteMessage) -> u32 {
    m.attributes.iter().find_map(|a| if let RouteAttribute::Table(t) = a { Some(*t) } else { None }).unwrap_or(m.header.table as u32)
}

fn oif(m: &RouteMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| if let RouteAttribute::Oif(i) = a { Some(*i) } else { None })
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}

fn route_address(ip: IpAddr) -> RouteAddress {
    match ip {
        IpAddr::V4(v) => RouteAddress::Inet(v),
        IpAddr::V6(v) => RouteAddress::Inet6(v),
    }
}

/// A route of the interface as dumped, reduced to what adding it elsewhere and deleting it need
/// (no cache info, no expiry: the kernel reports those, they do not describe the route).
#[derive(Debug, Clone)]
pub(super) struct Found {
    msg: RouteMessage,
    pub(super) dst: Cidr,
    gw: Option<IpAddr>,
    prefsrc: Option<IpAddr>,
}

impl Found {
    pub(super) fn of(m: &RouteMessage) -> Option<Found> {
        let v6 = match m.header.address_family {
            AddressFamily::Inet => false,
            AddressFamily::Inet6 => true,
            _ => return None,
        };
        let mut msg = RouteMessage::default();
        msg.header = m.header.clone();
        let (mut dst, mut gw, mut prefsrc) = (None, None, None);
        for a in &m.attributes {
            match a {
                RouteAttribute::Destination(d) => dst = ip_of(d),
                RouteAttribute::Gateway(g) => gw = ip_of(g),
                RouteAttribute::PrefSource(s) => prefsrc = ip_of(s),
                RouteAttribute::Source(_)
                | RouteAttribute::Oif(_)
                | RouteAttribute::Priority(_)
                | RouteAttribute::Metrics(_)
                | RouteAttribute::Preference(_)
                | RouteAttribute::Realm(_)
                | RouteAttribute::Table(_) => {}
                _ => continue,
            }
            msg.attributes.push(a.clone());
        }
        let ip = dst.unwrap_or(if v6 { IpAddr::V6(0u128.into()) } else { IpAddr::V4(0u32.into()) });
        Some(Found { msg, dst: Cidr { ip, prefix: m.header.destination_prefix_length }, gw, prefsrc })
    }

    /// The reference's choice: a route whose source hint or gateway is in the address's subnet,
    /// or that has neither.
    fn belongs_to(&self, cidr: &Cidr) -> bool {
        match (self.prefsrc, self.gw) {
            (None, None) => true,
            (src, gw) => src.is_some_and(|s| cidr.contains(s)) || gw.is_some_and(|g| cidr.contains(g)),
        }
    }

    /// A copy for `table`, its flags cleared (the kernel refuses some it sets itself, as the
    /// reference notes).
    pub(super) fn in_table(&self, table: u32) -> RouteMessage {
        let mut m = self.msg.clone();
        m.header.flags = RouteFlags::empty();
        m.header.table = if table < 256 { table as u8 } else { RouteHeader::RT_TABLE_UNSPEC };
        m.attributes.retain(|a| !matches!(a, RouteAttribute::Table(_)));
        m.attributes.push(RouteAttribute::Table(table));
        m
    }

    /// The same route with `ip` as its source hint.
    fn with_source(&self, ip: IpAddr) -> RouteMessage {
        let mut m = self.msg.clone();
        m.header.flags = RouteFlags::empty();
        m.attributes.retain(|a| !matches!(a, RouteAttribute::PrefSource(_)));
        m.attributes.push(RouteAttribute::PrefSource(route_address(ip)));
        m
    }
}

#[cfg(test)]
#[path = "sbr_tests.rs"]
mod tests;
