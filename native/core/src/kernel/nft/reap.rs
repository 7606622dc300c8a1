//! What goes when pods are gone: a network's sets once they are empty, with the rules that use
//! them (after the last DEL of a subnet, and in GC), and the elements GC finds stale.
//!
//! Every decision here is read from the kernel and applied in a transaction that carries the
//! ruleset generation it was read at, so the kernel refuses it (ERESTART) if anything committed
//! in between — say, an ADD in another process that put an element into the set this DEL found
//! empty. Then it is read and decided again. An ADD whose element finds its set already gone
//! creates the set and rule again (masq::add_one, spoof::spoof_add), so no ADD loses its element.
//!
//! The table and its base chain stay: there is one of each per node whatever the number of
//! networks, as the reference plugin keeps its `cni_plugins_masquerade` table and chains, and the
//! ADD that creates the chain is the one that adds its fixed rules (masq's multicast returns).

use std::time::Duration;

use super::error::{nl_errno, Failure, FailureKind};
use super::objects::{self, Table};
use super::socket::{Guarded, NftSocket};
use super::wire::Msg;

/// Attempts of a generation-guarded decision before giving up with Busy: each stale attempt means
/// some other transaction committed, so contention ends quickly unless the ruleset churns nonstop.
const GUARDED_TRIES: u32 = 16;

/// An attachment whose elements GC keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct GcAttachment {
    pub container_id: String,
    pub ifname: String,
}

/// GC of one network's nf_tables elements: those of attachments not in `valid` go, then the
/// network's sets that are empty, with the rules that use them.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct NftGcRequest {
    /// namespace that plays the host (a path); undefined = the caller's own
    pub host_netns: Option<String>,
    pub network: String,
    /// the runtime's valid attachments (CNI GC `cni.dev/valid-attachments`)
    pub valid: Vec<GcAttachment>,
}

impl NftGcRequest {
    /// Whether an element with this comment (`<containerId>/<ifname>`) belongs to a valid
    /// attachment; an element without a comment belongs to none.
    pub fn keeps(&self, comment: Option<&str>) -> bool {
        let Some((cid, ifname)) = comment.and_then(|c| c.rsplit_once('/')) else { return false };
        self.valid.iter().any(|a| a.container_id == cid && a.ifname == ifname)
    }
}

/// The elements of one set; None when the set (or its table) does not exist.
pub fn set_elems(sock: &mut NftSocket, t: Table, set: &str) -> Result<Option<Vec<objects::Elem>>, Failure> {
    let replies = sock.dump_existing("nft list elements", &objects::dump_set_elems(t, set))?;
    Ok(replies.map(|r| r.iter().flat_map(|p| objects::parse_set_elems(p)).collect()))
}

/// Where the rules that use a family's sets are (our table and its base chain), and the operation
/// that errors name.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub table: Table<'a>,
    pub chain: &'a str,
    pub op: &'a str,
}

/// Remove `sets` and every rule of the chain that looks one of them up, if none of them holds an
/// element. A quick look first (one dump per set: the common case, a set still in use, ends
/// there); then the decision again under a generation check. A set that is already gone is
/// skipped; a set still in use by a rule outside our chain (EBUSY) is left alone.
pub fn reap_if_empty(sock: &mut NftSocket, scope: Scope, sets: &[&str]) -> Result<(), Failure> {
    // nothing to do while a set holds an element, or when none of them exists
    if all_empty(sock, scope.table, sets)?.is_none_or(|present| present.is_empty()) {
        return Ok(());
    }
    guarded(
        || match plan_reap(sock, scope, sets)? {
            None => Ok(Some(())),
            Some(plan) => Ok(match commit_reap(sock, scope, &plan)? {
                Reaped::Removed | Reaped::InUse => Some(()),
                Reaped::Stale => None,
            }),
        },
        scope.op,
    )
}

/// A removal decided at one ruleset generation, valid only while nothing else commits.
pub struct ReapPlan {
    genid: u32,
    msgs: Vec<Msg>,
}

/// How a [`ReapPlan`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Reaped {
    Removed,
    /// a rule outside our chain still uses a set: left alone
    InUse,
    /// the ruleset moved on since the plan was read (an element may have gone in): nothing done
    Stale,
}

/// Read the generation, then whether `sets` are all empty and which rules use them: None when
/// there is nothing to remove. The generation is read first, so that any commit after the reads
/// began makes the plan stale.
pub fn plan_reap(sock: &mut NftSocket, scope: Scope, sets: &[&str]) -> Result<Option<ReapPlan>, Failure> {
    let genid = sock.generation()?;
    let Some(present) = all_empty(sock, scope.table, sets)?.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let mut msgs: Vec<Msg> =
        rules_using(sock, scope, &present)?.into_iter().map(|h| objects::del_rule(scope.table, scope.chain, h)).collect();
    msgs.extend(present.iter().map(|s| objects::del_set(scope.table, s)));
    Ok(Some(ReapPlan { genid, msgs }))
}

/// Commit a plan (rules first: a set that a rule uses cannot go), if the ruleset is still at its
/// generation.
pub fn commit_reap(sock: &mut NftSocket, scope: Scope, plan: &ReapPlan) -> Result<Reaped, Failure> {
    match sock.transact_at(scope.op, &plan.msgs, plan.genid)? {
        Guarded::Committed => Ok(Reaped::Removed),
        Guarded::Stale => Ok(Reaped::Stale),
        Guarded::Refused(errs) if errs.iter().any(|e| e.errno == libc::EBUSY) => Ok(Reaped::InUse),
        Guarded::Refused(errs) => Err(nl_errno(scope.op, errs[0].errno)),
    }
}

/// Some(the sets of `sets` that exist) when none of them holds an element; None otherwise.
fn all_empty<'s>(sock: &mut NftSocket, t: Table, sets: &[&'s str]) -> Result<Option<Vec<&'s str>>, Failure> {
    let mut present = Vec::new();
    for s in sets {
        match set_elems(sock, t, s)? {
            None => {}
            Some(elems) if elems.is_empty() => present.push(*s),
            Some(_) => return Ok(None),
        }
    }
    Ok(Some(present))
}

/// Handles of the chain's rules that look up any of `sets`.
fn rules_using(sock: &mut NftSocket, scope: Scope, sets: &[&str]) -> Result<Vec<u64>, Failure> {
    let rules = sock.dump_existing("nft list rules", &objects::dump_rules(scope.table, scope.chain))?.unwrap_or_default();
    Ok(rules
        .iter()
        .filter_map(|p| objects::parse_rule(p))
        .filter(|r| r.sets.iter().any(|s| sets.contains(&s.as_str())))
        .map(|r| r.handle)
        .collect())
}

/// Delete, in one transaction valid at the generation they were listed at, the element deletions
/// that `stale` lists (an empty list: nothing to do); list again when the ruleset moved meanwhile,
/// so an element re-added by a new owner since the listing is never taken.
pub fn sweep(sock: &mut NftSocket, op: &str, mut stale: impl FnMut(&mut NftSocket) -> Result<Vec<Msg>, Failure>) -> Result<(), Failure> {
    guarded(
        || {
            let genid = sock.generation()?;
            let msgs = stale(sock)?;
            if msgs.is_empty() {
                return Ok(Some(()));
            }
            match sock.transact_at(op, &msgs, genid)? {
                Guarded::Committed => Ok(Some(())),
                Guarded::Stale => Ok(None),
                Guarded::Refused(errs) => Err(nl_errno(op, errs[0].errno)),
            }
        },
        op,
    )
}

/// Run `attempt` until it decides (Some) or [`GUARDED_TRIES`] attempts were stale (None), with a
/// short growing pause between them so that contenders stop colliding.
pub(super) fn guarded<T>(mut attempt: impl FnMut() -> Result<Option<T>, Failure>, op: &str) -> Result<T, Failure> {
    for i in 0..GUARDED_TRIES {
        if let Some(v) = attempt()? {
            return Ok(v);
        }
        std::thread::sleep(Duration::from_micros(50 << i.min(7)));
    }
    Err(Failure::new(FailureKind::Busy, op, format!("{op}: the ruleset kept changing; try again")))
}
