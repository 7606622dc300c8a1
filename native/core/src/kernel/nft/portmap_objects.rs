//! The nf_tables objects of the portmap plugin, encoded as nft 1.0.6 sends them: per family a
//! table `fastcni-portmap` with two verdict-free maps from (protocol . port) and
//! (address . protocol . port) to (pod address . port), a hairpin set of (source . destination)
//! pairs, a masquerade-all set of pod addresses, and three base chains whose six rules look them
//! up. Rules and sets are fixed; a pod is only elements.

use super::objects::{
    self, Table, NFTA_DATA_VALUE, NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_LIST_ELEM, NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS, NFTA_RULE_TABLE,
    NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_LIST_ELEMENTS, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_SET_ID, NFTA_SET_ELEM_LIST_TABLE,
    NFTA_SET_ELEM_USERDATA, NFTA_SET_FLAGS, NFTA_SET_ID, NFTA_SET_KEY_LEN, NFTA_SET_KEY_TYPE, NFTA_SET_NAME, NFTA_SET_TABLE,
    NFTA_SET_USERDATA, NFT_PAYLOAD_NETWORK_HEADER, NFT_REG_1, NF_INET_POST_ROUTING, NF_INET_PRE_ROUTING, TYPE_IP6ADDR, TYPE_IPADDR,
    UDATA_SET_ELEM_COMMENT,
};
use super::wire::{Attrs, Msg, MsgType, NFPROTO_IPV4, NFPROTO_IPV6};

/// Our table's name in both families (`ip fastcni-portmap`, `ip6 fastcni-portmap`).
pub const TABLE_NAME: &str = "fastcni-portmap";
pub const PREROUTING: &str = "prerouting";
pub const OUTPUT: &str = "output";
pub const POSTROUTING: &str = "postrouting";

const NF_INET_LOCAL_OUT: u32 = 3;
/// NF_IP_PRI_NAT_DST ("dstnat") and NF_IP_PRI_NAT_SRC ("srcnat").
const DSTNAT: i32 = -100;
const SRCNAT: i32 = 100;

// attribute numbers the shared encoder does not use (include/uapi/linux/netfilter/nf_tables.h)
const NFTA_SET_DATA_TYPE: u16 = 6;
const NFTA_SET_DATA_LEN: u16 = 7;
const NFTA_SET_ELEM_DATA: u16 = 2;

const NFT_SET_MAP: u32 = 0x8;
const NFT_META_L4PROTO: u32 = 16;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFTA_FIB_F_DADDR: u32 = 1 << 1;
const NFT_FIB_RESULT_ADDRTYPE: u32 = 3;
const RTN_LOCAL: u32 = 2;
const NFT_NAT_DNAT: u32 = 1;
/// Registers as nft allocates them: legacy 16-byte registers 1 and 2, and 4-byte register 9 (the
/// second word of register 1), 10 (its third) and 13 (the second word of register 2).
const REG_1: u32 = NFT_REG_1;
const REG_2: u32 = 2;
const REG32_01: u32 = 9;
const REG32_02: u32 = 10;
const REG32_05: u32 = 13;

/// nft data types TYPE_INET_PROTOCOL and TYPE_INET_SERVICE (addresses: objects.rs); a
/// concatenation's type is its members' types shifted in 6 bits at a time.
const TYPE_INET_PROTOCOL: u32 = 12;
const TYPE_INET_SERVICE: u32 = 13;

const fn concat(a: u32, b: u32) -> u32 {
    (a << 6) | b
}

/// The address family of one of our two tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    pub fn table(self) -> Table<'static> {
        match self {
            Family::V4 => Table { family: NFPROTO_IPV4, name: TABLE_NAME },
            Family::V6 => Table { family: NFPROTO_IPV6, name: TABLE_NAME },
        }
    }
    fn ip(self) -> objects::Ip {
        match self {
            Family::V4 => objects::Ip::V4,
            Family::V6 => objects::Ip::V6,
        }
    }
    pub fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
    fn addr_type(self) -> u32 {
        match self {
            Family::V4 => TYPE_IPADDR,
            Family::V6 => TYPE_IP6ADDR,
        }
    }
    fn saddr_offset(self) -> u32 {
        match self {
            Family::V4 => 12,
            Family::V6 => 8,
        }
    }
    fn daddr_offset(self) -> u32 {
        match self {
            Family::V4 => 16,
            Family::V6 => 24,
        }
    }
    /// The register after an address in a concatenation (and the port after an address in a
    /// map's data): the next 4-byte word for IPv4, the next 16-byte register for IPv6.
    fn after_addr(self) -> u32 {
        match self {
            Family::V4 => REG32_01,
            Family::V6 => REG_2,
        }
    }
}

/// Our four sets, with the ids nft gives them in a batch (and sends with every element after).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    /// map `hostports`: protocol . port → pod address . port
    Ports,
    /// map `hostip-hostports`: host address . protocol . port → pod address . port
    HostIpPorts,
    /// set `hairpin`: source . destination pairs to masquerade (pod → itself, 127.0.0.1 → pod)
    Hairpin,
    /// set `masq-all`: pods whose every incoming connection is masqueraded (masqAll)
    MasqAll,
}

impl SetKind {
    pub const ALL: [SetKind; 4] = [SetKind::Ports, SetKind::HostIpPorts, SetKind::Hairpin, SetKind::MasqAll];

    pub fn name(self) -> &'static str {
        match self {
            SetKind::Ports => "hostports",
            SetKind::HostIpPorts => "hostip-hostports",
            SetKind::Hairpin => "hairpin",
            SetKind::MasqAll => "masq-all",
        }
    }
    /// The set's name: shared, or a network's own map (`hostports-<suffix>`).
    pub fn name_in(self, net: Option<&str>) -> String {
        match net {
            None => self.name().to_string(),
            Some(n) => format!("{}-{n}", self.name()),
        }
    }
    pub fn id(self) -> u32 {
        self as u32 + 1
    }
    pub fn is_map(self) -> bool {
        matches!(self, SetKind::Ports | SetKind::HostIpPorts)
    }
}

/// NEWSET for one of our sets; `flags` as for any create (EXCL: the batch creating it is the one
/// adding the rules).
pub fn new_set(f: Family, k: SetKind, flags: u16) -> Msg {
    new_set_in(f, k, None, flags)
}

/// NEWSET of a shared set, or of a network's own map with the network as its comment.
fn new_set_in(f: Family, k: SetKind, net: Option<&NetRules>, flags: u16) -> Msg {
    let proto_port = concat(TYPE_INET_PROTOCOL, TYPE_INET_SERVICE);
    let addr = f.addr_type();
    let alen = f.addr_len() as u32;
    let (key_type, key_len) = match k {
        SetKind::Ports => (proto_port, 8),
        SetKind::HostIpPorts => (concat(concat(addr, TYPE_INET_PROTOCOL), TYPE_INET_SERVICE), alen + 8),
        SetKind::Hairpin => (concat(addr, addr), 2 * alen),
        SetKind::MasqAll => (addr, alen),
    };
    // libnftnl userdata as nft 1.0.6 writes it: key (and data) byte order, and for a
    // concatenation the description nft reads back to print the declared type.
    let udata: &[u8] = match k {
        SetKind::Ports | SetKind::HostIpPorts => {
            &[0, 4, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0, 3, 8, 0, 4, 13, 0, 0, 0, 1, 0, 4, 8, 0, 4, 13, 0, 0, 0, 1, 0, 6, 4, 0, 0, 0, 0]
        }
        SetKind::Hairpin => &[0, 4, 0, 0, 0, 0, 3, 8, 0, 4, 13, 0, 0, 0, 1, 0],
        SetKind::MasqAll => &[0, 4, 2, 0, 0, 0],
    };
    let mut udata = udata.to_vec();
    if let Some(n) = net {
        super::wire::udata_put(&mut udata, UDATA_SET_COMMENT, &nul_terminated(&n.network));
    }
    let mut a = Attrs::new();
    a.str(NFTA_SET_TABLE, TABLE_NAME).str(NFTA_SET_NAME, &k.name_in(net.map(|n| n.suffix.as_str())));
    a.u32be(NFTA_SET_FLAGS, if k.is_map() { NFT_SET_MAP } else { 0 });
    a.u32be(NFTA_SET_KEY_TYPE, key_type).u32be(NFTA_SET_KEY_LEN, key_len);
    if k.is_map() {
        a.u32be(NFTA_SET_DATA_TYPE, concat(addr, TYPE_INET_SERVICE)).u32be(NFTA_SET_DATA_LEN, alen + 4);
    }
    a.u32be(NFTA_SET_ID, k.id()).put(NFTA_SET_USERDATA, &udata);
    Msg::new(MsgType::NewSet, f.table().family, flags, a)
}

/// The expressions of our rules.
enum Expr {
    /// fib daddr type => reg 1
    FibDaddrType,
    /// cmp eq reg 1 `data`
    CmpEq(Vec<u8>),
    /// an expression the other tables' rules use too (a condition's matches)
    Shared(objects::Expr),
    /// payload load `len` bytes at `base` + `offset` => `dreg`
    Payload {
        base: u32,
        offset: u32,
        len: u32,
        dreg: u32,
    },
    /// meta load l4proto => `dreg`
    MetaL4proto {
        dreg: u32,
    },
    /// lookup reg 1 in a set, shared or a network's (a map: its data => reg 1)
    Lookup {
        set: SetKind,
        net: Option<String>,
        map: bool,
    },
    /// nat dnat <family> addr_min reg 1 proto_min `proto_reg`
    Dnat {
        nfproto: u8,
        proto_reg: u32,
    },
    Masquerade,
}

impl Expr {
    fn encode(&self, l: &mut Attrs) {
        if let Expr::Shared(x) = self {
            return x.encode(l);
        }
        l.nest(NFTA_LIST_ELEM, |e| match self {
            Expr::Shared(_) => {}
            Expr::FibDaddrType => {
                e.str(NFTA_EXPR_NAME, "fib").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(3, NFTA_FIB_F_DADDR).u32be(2, NFT_FIB_RESULT_ADDRTYPE).u32be(1, REG_1);
                    // FLAGS, RESULT, DREG
                });
            }
            Expr::CmpEq(data) => {
                e.str(NFTA_EXPR_NAME, "cmp").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(1, REG_1).u32be(2, 0).nest(3, |v| {
                        v.put(NFTA_DATA_VALUE, data);
                    });
                });
            }
            Expr::Payload { base, offset, len, dreg } => {
                e.str(NFTA_EXPR_NAME, "payload").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(1, *dreg).u32be(2, *base).u32be(3, *offset).u32be(4, *len);
                });
            }
            Expr::MetaL4proto { dreg } => {
                e.str(NFTA_EXPR_NAME, "meta").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(2, NFT_META_L4PROTO).u32be(1, *dreg); // KEY, DREG
                });
            }
            Expr::Lookup { set, net, map } => {
                e.str(NFTA_EXPR_NAME, "lookup").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(2, REG_1); // SREG
                    if *map {
                        d.u32be(3, REG_1); // DREG
                    }
                    d.str(1, &set.name_in(net.as_deref())).u32be(4, set.id()); // SET, SET_ID
                });
            }
            Expr::Dnat { nfproto, proto_reg } => {
                e.str(NFTA_EXPR_NAME, "nat").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(1, NFT_NAT_DNAT).u32be(2, *nfproto as u32).u32be(3, REG_1).u32be(5, *proto_reg);
                    // TYPE, FAMILY, REG_ADDR_MIN, REG_PROTO_MIN
                });
            }
            Expr::Masquerade => {
                e.str(NFTA_EXPR_NAME, "masq").nest(NFTA_EXPR_DATA, |_| {});
            }
        });
    }
}

fn rule(f: Family, chain: &str, exprs: &[Expr]) -> Msg {
    rule_with_comment(f, chain, exprs, None)
}

fn rule_with_comment(f: Family, chain: &str, exprs: &[Expr], comment: Option<&str>) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_RULE_TABLE, TABLE_NAME).str(NFTA_RULE_CHAIN, chain);
    a.nest(NFTA_RULE_EXPRESSIONS, |l| {
        for e in exprs {
            e.encode(l);
        }
    });
    if let Some(c) = comment {
        let mut ud = Vec::new();
        super::wire::udata_put(&mut ud, UDATA_RULE_COMMENT, &nul_terminated(c));
        a.put(NFTA_RULE_USERDATA, &ud);
    }
    Msg::new(MsgType::NewRule, f.table().family, super::wire::NLM_F_CREATE | super::wire::NLM_F_APPEND, a)
}

/// `<conditions> fib daddr type local dnat to [ip daddr .] meta l4proto . th dport map @<map>`:
/// only traffic addressed to this node is redirected (the reference's v1.9.0 fix against
/// hijacking transit traffic), and one lookup serves every pod. `net` names a network's own map
/// (a network with conditions), None the shared one.
fn dnat_rule(f: Family, chain: &str, with_addr: bool, net: Option<&NetRules>) -> Msg {
    let mut v: Vec<Expr> = net.map(|n| n.conditions.iter().flat_map(|c| c.exprs(f)).collect()).unwrap_or_default();
    v.extend([Expr::FibDaddrType, Expr::CmpEq(RTN_LOCAL.to_ne_bytes().to_vec())]);
    let proto_reg = if with_addr {
        v.push(Expr::Payload { base: NFT_PAYLOAD_NETWORK_HEADER, offset: f.daddr_offset(), len: f.addr_len() as u32, dreg: REG_1 });
        v.push(Expr::MetaL4proto { dreg: f.after_addr() });
        match f {
            Family::V4 => REG32_02,
            Family::V6 => REG32_05,
        }
    } else {
        v.push(Expr::MetaL4proto { dreg: REG_1 });
        REG32_01
    };
    v.push(Expr::Payload { base: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 2, len: 2, dreg: proto_reg });
    let set = if with_addr { SetKind::HostIpPorts } else { SetKind::Ports };
    v.push(Expr::Lookup { set, net: net.map(|n| n.suffix.clone()), map: true });
    v.push(Expr::Dnat { nfproto: f.table().family, proto_reg: f.after_addr() });
    rule_with_comment(f, chain, &v, net.map(|n| n.tag.as_str()))
}

/// `ip saddr . ip daddr @hairpin masquerade` and `ip daddr @masq-all masquerade`.
fn masq_rules(f: Family) -> [Msg; 2] {
    let addr = |offset, dreg| Expr::Payload { base: NFT_PAYLOAD_NETWORK_HEADER, offset, len: f.addr_len() as u32, dreg };
    [
        rule(
            f,
            POSTROUTING,
            &[
                addr(f.saddr_offset(), REG_1),
                addr(f.daddr_offset(), f.after_addr()),
                Expr::Lookup { set: SetKind::Hairpin, net: None, map: false },
                Expr::Masquerade,
            ],
        ),
        rule(
            f,
            POSTROUTING,
            &[addr(f.daddr_offset(), REG_1), Expr::Lookup { set: SetKind::MasqAll, net: None, map: false }, Expr::Masquerade],
        ),
    ]
}

/// Everything of one family's table, in nft's order (chains, sets, rules). The chains are
/// created EXCL: a concurrent first use fails here with EEXIST and finds everything in place.
pub fn setup_msgs(f: Family) -> Vec<Msg> {
    use super::wire::{NLM_F_CREATE, NLM_F_EXCL};
    let t = f.table();
    let mut v = vec![
        objects::new_table(t, NLM_F_CREATE),
        objects::new_nat_chain(t, PREROUTING, NF_INET_PRE_ROUTING, DSTNAT, NLM_F_CREATE | NLM_F_EXCL),
        objects::new_nat_chain(t, OUTPUT, NF_INET_LOCAL_OUT, DSTNAT, NLM_F_CREATE | NLM_F_EXCL),
        objects::new_nat_chain(t, POSTROUTING, NF_INET_POST_ROUTING, SRCNAT, NLM_F_CREATE | NLM_F_EXCL),
    ];
    v.extend(SetKind::ALL.map(|k| new_set(f, k, NLM_F_CREATE | NLM_F_EXCL)));
    for chain in [PREROUTING, OUTPUT] {
        v.push(dnat_rule(f, chain, true, None));
        v.push(dnat_rule(f, chain, false, None));
    }
    v.extend(masq_rules(f));
    v
}

/// One element of our sets and maps: key, the map's data, and the owner's comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapElem {
    pub key: Vec<u8>,
    pub data: Option<Vec<u8>>,
    pub comment: Option<String>,
}

/// `proto . port` as a key: each member padded to 4 bytes, the port big-endian.
pub fn proto_port_key(proto: u8, port: u16) -> Vec<u8> {
    let p = port.to_be_bytes();
    vec![proto, 0, 0, 0, p[0], p[1], 0, 0]
}

/// `address . port` as map data.
pub fn addr_port(addr: &[u8], port: u16) -> Vec<u8> {
    let mut v = addr.to_vec();
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v
}

/// The elements of a NEWSETELEM/DELSETELEM, numbered from 1 as libnftnl nests them.
fn elem_list(a: &mut Attrs, elems: &[MapElem], keys_only: bool) {
    a.nest(NFTA_SET_ELEM_LIST_ELEMENTS, |l| {
        for (i, el) in elems.iter().enumerate() {
            l.nest(i as u16 + 1, |e| {
                e.nest(NFTA_SET_ELEM_KEY, |k| {
                    k.put(NFTA_DATA_VALUE, &el.key);
                });
                if keys_only {
                    return;
                }
                if let Some(d) = &el.data {
                    e.nest(NFTA_SET_ELEM_DATA, |k| {
                        k.put(NFTA_DATA_VALUE, d);
                    });
                }
                if let Some(c) = &el.comment {
                    let mut ud = vec![UDATA_SET_ELEM_COMMENT, c.len() as u8 + 1];
                    ud.extend_from_slice(c.as_bytes());
                    ud.push(0);
                    e.put(NFTA_SET_ELEM_USERDATA, &ud);
                }
            });
        }
    });
}

fn elems_msg(f: Family, k: SetKind, net: Option<&str>, ty: MsgType, flags: u16, elems: &[MapElem]) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_SET_ELEM_LIST_TABLE, TABLE_NAME).str(NFTA_SET_ELEM_LIST_SET, &k.name_in(net));
    if ty == MsgType::NewSetElem {
        // nft names the set by id as well; the kernel looks it up by name first
        a.u32be(NFTA_SET_ELEM_LIST_SET_ID, k.id());
    }
    elem_list(&mut a, elems, ty == MsgType::DelSetElem);
    Msg::new(ty, f.table().family, flags, a)
}

/// NEWSETELEM of `elems` into set `k` (shared, or the map of the network with suffix `net`).
pub fn new_elems(f: Family, k: SetKind, net: Option<&str>, elems: &[MapElem], flags: u16) -> Msg {
    elems_msg(f, k, net, MsgType::NewSetElem, flags, elems)
}

/// DELSETELEM of `elems` (by key) from set `k` (shared, or the map of the network with suffix `net`).
pub fn del_elems(f: Family, k: SetKind, net: Option<&str>, elems: &[MapElem]) -> Msg {
    elems_msg(f, k, net, MsgType::DelSetElem, 0, elems)
}

/// Parse the elements (with map data) of a NEWSETELEM reply payload.
pub fn parse_elems(payload: &[u8]) -> Vec<MapElem> {
    use super::wire::{attr_str, find_attr, parse_attrs, udata_find, NFGENMSG_LEN};
    let Some(list) = payload.get(NFGENMSG_LEN..).and_then(|a| find_attr(a, NFTA_SET_ELEM_LIST_ELEMENTS)) else {
        return vec![];
    };
    parse_attrs(list)
        .filter_map(|(_, el)| {
            let key = find_attr(find_attr(el, NFTA_SET_ELEM_KEY)?, NFTA_DATA_VALUE)?.to_vec();
            let data = find_attr(el, NFTA_SET_ELEM_DATA).and_then(|d| find_attr(d, NFTA_DATA_VALUE)).map(<[u8]>::to_vec);
            let comment = find_attr(el, NFTA_SET_ELEM_USERDATA).and_then(|ud| udata_find(ud, UDATA_SET_ELEM_COMMENT)).map(attr_str);
            Some(MapElem { key, data, comment })
        })
        .collect()
}

// rule userdata (include/uapi/linux/netfilter/nf_tables.h; libnftnl NFTNL_UDATA_RULE_COMMENT)
const NFTA_RULE_USERDATA: u16 = 7;
const UDATA_RULE_COMMENT: u8 = 0;
const UDATA_SET_COMMENT: u8 = 7;

fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// One match of a network's conditions (conditionsV4/V6, nftables form), as nft encodes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// `ip[6] saddr|daddr [!=] <net>/<prefix>` (a full-length prefix: one address)
    Addr { daddr: bool, neq: bool, net: Vec<u8>, prefix: u8 },
    /// `iifname [!=] <name>`; `wildcard`: the name ended in `*` (a prefix match)
    Iif { neq: bool, name: String, wildcard: bool },
}

impl Cond {
    /// nft's encoding: byte-aligned prefixes load only the prefix bytes, others the whole
    /// address, masked; an exact interface name is compared NUL-padded to IFNAMSIZ, a wildcard
    /// by its prefix only.
    fn exprs(&self, f: Family) -> Vec<Expr> {
        use objects::{CmpOp, Expr as X};
        let op = |neq: bool| if neq { CmpOp::Neq } else { CmpOp::Eq };
        let v = match self {
            Cond::Addr { daddr: true, neq, net, prefix } => objects::daddr_prefix(f.ip(), net, *prefix, op(*neq)),
            Cond::Addr { daddr: false, neq, net, prefix } => objects::saddr_prefix(f.ip(), net, *prefix, op(*neq)),
            Cond::Iif { neq, name, wildcard } => {
                let mut data = name.as_bytes().to_vec();
                if !wildcard {
                    data.resize(objects::IFNAME_LEN, 0);
                }
                vec![X::MetaIifname { dreg: REG_1 }, X::Cmp { op: op(*neq), data }]
            }
        };
        v.into_iter().map(Expr::Shared).collect()
    }
}

/// A network's own DNAT objects in one family: the suffix of its maps' names, the network (their
/// comment), its conditions and the rules' comment that tells which conditions they carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetRules {
    pub suffix: String,
    pub network: String,
    pub conditions: Vec<Cond>,
    pub tag: String,
}

/// The network's four DNAT rules (prerouting and output, with and without a host address).
pub fn net_rules(f: Family, n: &NetRules) -> Vec<Msg> {
    let mut v = Vec::new();
    for chain in [PREROUTING, OUTPUT] {
        v.push(dnat_rule(f, chain, true, Some(n)));
        v.push(dnat_rule(f, chain, false, Some(n)));
    }
    v
}

/// The network's two maps (EXCL: a concurrent first ADD fails with EEXIST and finds them) and
/// its rules, in one batch.
pub fn net_setup_msgs(f: Family, n: &NetRules, flags: u16) -> Vec<Msg> {
    let mut v = vec![new_set_in(f, SetKind::Ports, Some(n), flags), new_set_in(f, SetKind::HostIpPorts, Some(n), flags)];
    v.extend(net_rules(f, n));
    v
}

/// The comment of a rule as read back (NEWRULE payload after nlmsghdr), if it has one.
pub fn parse_rule_comment(payload: &[u8]) -> Option<String> {
    use super::wire::{attr_str, find_attr, udata_find, NFGENMSG_LEN};
    let ud = find_attr(payload.get(NFGENMSG_LEN..)?, NFTA_RULE_USERDATA)?;
    udata_find(ud, UDATA_RULE_COMMENT).map(attr_str)
}
