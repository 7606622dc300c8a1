//! The tc messages of the bandwidth plugin, and the reference's parameter conversion. The ingress
//! qdisc, the u32 filter and its mirred actions are netlink-packet-route's types; tbf is not among
//! them, so its options (linux/pkt_sched.h `struct tc_tbf_qopt`) are encoded and parsed here.
//! Checked byte for byte against what the reference plugin sends (tests.rs).

use netlink_packet_core::{DefaultNla, NlaBuffer, NlasIterator};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::tc::{
    TcAction, TcActionAttribute, TcActionGeneric, TcActionMirrorOption, TcActionOption, TcActionType, TcAttribute, TcFilterU32Option,
    TcHandle, TcHeader, TcMessage, TcMirror, TcMirrorActionType, TcOption, TcU32Key, TcU32Selector, TcU32SelectorFlags,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::error::{Failure, Result};

/// TC_H_ROOT and TC_H_INGRESS (linux/pkt_sched.h).
pub const ROOT: u32 = 0xffff_ffff;
pub const INGRESS_PARENT: u32 = 0xffff_fff1;
/// The handles the reference gives its qdiscs: `1:` for tbf, `ffff:` for ingress.
pub const TBF_HANDLE: u32 = 0x0001_0000;
pub const INGRESS_HANDLE: u32 = 0xffff_0000;
/// The u32 filter's classid (flowid `1:1`) and priority, as the reference sets them.
const FILTER_CLASSID: u32 = 0x0001_0001;
const FILTER_PRIO: u32 = 1;
const ETH_P_ALL: u16 = 0x0003;

const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_RATE64: u16 = 4;
/// sizeof(struct tc_tbf_qopt): two tc_ratespec (12 bytes each), limit, buffer, mtu.
const TBF_QOPT_LEN: usize = 36;

/// The kernel's tc clock (/proc/net/psched): how many scheduler ticks make a microsecond.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Psched {
    pub tick_in_usec: f64,
}

impl Psched {
    /// Parse /proc/net/psched the way the reference's netlink library does (vishvananda/netlink,
    /// `initClock`), so both compute the same buffer from the same burst.
    pub fn parse(text: &str) -> Option<Psched> {
        let v: Vec<u64> = text.split_whitespace().take(3).map(|p| u64::from_str_radix(p, 16).ok()).collect::<Option<_>>()?;
        let (mut t2us, us2t, res) = (*v.first()?, *v.get(1)?, *v.get(2)?);
        if res == 1_000_000_000 {
            t2us = us2t;
        }
        if us2t == 0 {
            return None;
        }
        let clock_factor = res as f64 / TIME_UNITS_PER_SEC;
        Some(Psched { tick_in_usec: t2us as f64 / us2t as f64 * clock_factor })
    }

    pub fn read() -> Result<Psched> {
        let text = std::fs::read_to_string("/proc/net/psched").map_err(|e| Failure::io("read /proc/net/psched", &e))?;
        Psched::parse(&text).ok_or_else(|| Failure::internal("read /proc/net/psched", format!("cannot parse {text:?}")))
    }
}

const TIME_UNITS_PER_SEC: f64 = 1_000_000.0;
/// The reference's fixed latency for tbf's limit (bandwidth plugin, `latencyInMillis`).
const LATENCY_USEC: f64 = TIME_UNITS_PER_SEC * (25.0 / 1000.0);

/// A tbf qdisc's parameters as the kernel takes and reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TbfParams {
    /// bytes per second
    pub rate: u64,
    /// bytes queued at most
    pub limit: u32,
    /// the bucket, in scheduler ticks
    pub buffer: u32,
}

impl TbfParams {
    /// From a configured rate (bits/s) and burst (bits), with the reference's arithmetic
    /// (plugins/meta/bandwidth/ifb_creator.go in containernetworking/plugins v1.1.1: `createTBF`,
    /// `buffer`, `limit`): integer bytes, float64 time, truncating conversions.
    pub fn from_bits(rate_bits: u64, burst_bits: u64, clock: Psched) -> TbfParams {
        let rate = rate_bits / 8;
        let burst = (burst_bits / 8) as u32;
        let usec = (burst as f64 * TIME_UNITS_PER_SEC / rate as f64) as u32;
        let buffer = (usec as f64 * clock.tick_in_usec) as u32;
        let limit = ((rate as f64 * LATENCY_USEC / TIME_UNITS_PER_SEC) as u32).wrapping_add(burst);
        TbfParams { rate, limit, buffer }
    }
}

fn tc_msg(index: u32, handle: u32, parent: u32, info: u32, attributes: Vec<TcAttribute>) -> TcMessage {
    let h = TcHeader { index: index as i32, handle: TcHandle::from(handle), parent: TcHandle::from(parent), info, ..TcHeader::default() };
    TcMessage::from_parts(h, attributes)
}

/// TCA_OPTIONS of a tbf qdisc: `tc_tbf_qopt` with only rate, limit and buffer set (no peak rate,
/// link layer "unaware", no rate table: the kernel computes its own), and the 64-bit rate when it
/// does not fit the struct.
pub fn tbf_options(p: &TbfParams) -> Vec<TcOption> {
    let mut q = [0u8; TBF_QOPT_LEN];
    q[8..12].copy_from_slice(&(p.rate.min(u32::MAX as u64) as u32).to_ne_bytes());
    q[24..28].copy_from_slice(&p.limit.to_ne_bytes());
    q[28..32].copy_from_slice(&p.buffer.to_ne_bytes());
    let mut opts = vec![TcOption::Other(DefaultNla::new(TCA_TBF_PARMS, q.to_vec()))];
    if p.rate > u32::MAX as u64 {
        opts.push(TcOption::Other(DefaultNla::new(TCA_TBF_RATE64, p.rate.to_ne_bytes().to_vec())));
    }
    opts
}

/// RTM_NEWQDISC: tbf `1:` as the root qdisc of a link.
pub fn tbf_add_msg(index: u32, p: &TbfParams) -> RouteNetlinkMessage {
    let attrs = vec![TcAttribute::Kind("tbf".into()), TcAttribute::Options(tbf_options(p))];
    RouteNetlinkMessage::NewQueueDiscipline(tc_msg(index, TBF_HANDLE, ROOT, 0, attrs))
}

/// RTM_NEWQDISC: the ingress qdisc `ffff:` of a link.
pub fn ingress_add_msg(index: u32) -> RouteNetlinkMessage {
    let attrs = vec![TcAttribute::Kind("ingress".into()), TcAttribute::Options(Vec::new())];
    RouteNetlinkMessage::NewQueueDiscipline(tc_msg(index, INGRESS_HANDLE, INGRESS_PARENT, 0, attrs))
}

/// RTM_DELQDISC of the qdisc at `parent` (ROOT or INGRESS_PARENT) of a link.
pub fn qdisc_del_msg(index: u32, parent: u32) -> RouteNetlinkMessage {
    RouteNetlinkMessage::DelQueueDiscipline(tc_msg(index, 0, parent, 0, Vec::new()))
}

/// RTM_GETQDISC dump of one link's qdiscs (strict checking lets the kernel filter by index).
pub fn qdisc_dump_msg(index: u32) -> RouteNetlinkMessage {
    RouteNetlinkMessage::GetQueueDiscipline(tc_msg(index, 0, 0, 0, Vec::new()))
}

fn mirred_redirect(order: u16, ifindex: u32, then: TcActionType) -> TcAction {
    let mut generic = TcActionGeneric::default();
    generic.action = then;
    let mut parms = TcMirror::default();
    parms.generic = generic;
    parms.eaction = TcMirrorActionType::EgressRedir;
    parms.ifindex = ifindex;
    let mut a = TcAction::default();
    a.tab = order;
    a.attributes = vec![
        TcActionAttribute::Kind("mirred".into()),
        TcActionAttribute::Options(vec![TcActionOption::Mirror(TcActionMirrorOption::Parms(parms))]),
    ];
    a
}

/// RTM_NEWTFILTER: on the ingress qdisc of link `index`, a u32 filter matching every packet of
/// every protocol (one all-zero key, terminal) that redirects it to the egress of `to`.
/// The reference's netlink library turns its filter into two actions — a redirect that steals the
/// packet, then the redirect it was given, with "pass" — so we send the same two, and `tc` shows
/// the same filter whichever plugin made it; the second never sees a packet.
pub fn redirect_filter_msg(index: u32, to: u32) -> RouteNetlinkMessage {
    let mut sel = TcU32Selector::default();
    sel.flags = TcU32SelectorFlags::Terminal;
    sel.nkeys = 1;
    sel.keys = vec![TcU32Key::default()];
    let opts = vec![
        TcOption::U32(TcFilterU32Option::Selector(sel)),
        TcOption::U32(TcFilterU32Option::ClassId(TcHandle::from(FILTER_CLASSID))),
        TcOption::U32(TcFilterU32Option::Action(vec![
            mirred_redirect(1, to, TcActionType::Stolen),
            mirred_redirect(2, to, TcActionType::Ok),
        ])),
    ];
    let info = (FILTER_PRIO << 16) | ETH_P_ALL.to_be() as u32;
    let attrs = vec![TcAttribute::Kind("u32".into()), TcAttribute::Options(opts)];
    RouteNetlinkMessage::NewTrafficFilter(tc_msg(index, 0, INGRESS_HANDLE, info, attrs))
}

/// RTM_NEWLINK: an IFB device, up, with the host veth's MTU and txqueuelen 0 (as the reference
/// creates it).
pub fn ifb_add_msg(name: &str, mtu: u32) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    m.attributes = vec![
        LinkAttribute::IfName(name.to_string()),
        LinkAttribute::Mtu(mtu),
        LinkAttribute::TxQueueLen(0),
        LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Ifb)]),
    ];
    RouteNetlinkMessage::NewLink(m)
}

const RTM_NEWQDISC: u16 = 36;
const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCMSG_LEN: usize = 20;

/// A qdisc as a dump reports it: the link, where it hangs, its kind, and its tbf parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Qdisc {
    pub index: u32,
    pub parent: u32,
    pub kind: String,
    pub tbf: Option<TbfParams>,
}

/// Parse an RTM_NEWQDISC message (netlink header included).
pub fn parse_qdisc(buf: &[u8]) -> Result<Qdisc> {
    let bad = || Failure::internal("qdisc parse", "malformed RTM_NEWQDISC message");
    if buf.len() < 16 + TCMSG_LEN || u16::from_ne_bytes([buf[4], buf[5]]) != RTM_NEWQDISC {
        return Err(bad());
    }
    let t = &buf[16..16 + TCMSG_LEN];
    let word = |o: usize| u32::from_ne_bytes(t[o..o + 4].try_into().unwrap());
    let mut q = Qdisc { index: word(4), parent: word(12), ..Qdisc::default() };
    let mut options = None;
    for nla in NlasIterator::new(&buf[16 + TCMSG_LEN..]) {
        let nla = nla.map_err(|_| bad())?;
        match nla.kind() {
            TCA_KIND => q.kind = cstr(nla.value()),
            TCA_OPTIONS => options = Some(nla.value().to_vec()),
            _ => {}
        }
    }
    if q.kind == "tbf" {
        q.tbf = Some(parse_tbf(&options.ok_or_else(bad)?).ok_or_else(bad)?);
    }
    Ok(q)
}

fn parse_tbf(options: &[u8]) -> Option<TbfParams> {
    let (mut p, mut rate64) = (None, None);
    for nla in NlasIterator::new(options) {
        let nla: NlaBuffer<&[u8]> = nla.ok()?;
        let v = nla.value();
        match nla.kind() {
            TCA_TBF_PARMS if v.len() >= TBF_QOPT_LEN => {
                let word = |o: usize| u32::from_ne_bytes(v[o..o + 4].try_into().unwrap());
                p = Some(TbfParams { rate: word(8) as u64, limit: word(24), buffer: word(28) });
            }
            TCA_TBF_RATE64 if v.len() >= 8 => rate64 = Some(u64::from_ne_bytes(v[0..8].try_into().unwrap())),
            _ => {}
        }
    }
    let mut p = p?;
    if let Some(r) = rate64 {
        p.rate = r;
    }
    Some(p)
}

fn cstr(v: &[u8]) -> String {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}
