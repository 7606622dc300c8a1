//! Typed nf_tables objects (table, chain, set, rule expressions, set elements) encoded to messages.
//! Attribute order follows nft 1.0.x / libnftnl so the bytes can be compared with captures.

use super::wire::{Attrs, Msg, MsgType};

// NFTA_TABLE_*, NFTA_CHAIN_*, NFTA_HOOK_*, NFTA_SET_*, NFTA_SET_ELEM_*, NFTA_RULE_*, NFTA_EXPR_*
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_TABLE_FLAGS: u16 = 2;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
pub const NFTA_SET_TABLE: u16 = 1;
pub const NFTA_SET_NAME: u16 = 2;
pub(super) const NFTA_SET_FLAGS: u16 = 3;
pub(super) const NFTA_SET_KEY_TYPE: u16 = 4;
pub(super) const NFTA_SET_KEY_LEN: u16 = 5;
pub(super) const NFTA_SET_ID: u16 = 10;
pub const NFTA_SET_USERDATA: u16 = 13;
pub const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
pub const NFTA_SET_ELEM_LIST_SET: u16 = 2;
pub const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
pub(super) const NFTA_SET_ELEM_LIST_SET_ID: u16 = 4;
pub const NFTA_LIST_ELEM: u16 = 1;
pub const NFTA_SET_ELEM_KEY: u16 = 1;
pub const NFTA_SET_ELEM_USERDATA: u16 = 6;
pub const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;
pub(super) const NFTA_RULE_TABLE: u16 = 1;
pub(super) const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_HANDLE: u16 = 3;
pub(super) const NFTA_RULE_EXPRESSIONS: u16 = 4;
pub(super) const NFTA_EXPR_NAME: u16 = 1;
pub(super) const NFTA_EXPR_DATA: u16 = 2;
const NFTA_LOOKUP_SET: u16 = 1;
const NFTA_GEN_ID: u16 = 1;

/// udata TLV types (libnftnl NFTNL_UDATA_SET_*, NFTNL_UDATA_SET_ELEM_*).
pub const UDATA_SET_KEYBYTEORDER: u8 = 0;
pub const UDATA_SET_COMMENT: u8 = 7;
pub const UDATA_SET_ELEM_COMMENT: u8 = 0;
const BYTEORDER_BIG_ENDIAN: u32 = 2;

pub(super) const NF_INET_PRE_ROUTING: u32 = 0;
const NF_INET_FORWARD: u32 = 2;
pub(super) const NF_INET_POST_ROUTING: u32 = 4;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
const NFT_JUMP: i32 = -3;
const NFT_RETURN: i32 = -5;
const NFT_META_OIFNAME: u32 = 7;
const NFT_CT_STATE: u32 = 0;
/// Legacy 16-byte data register 1, as nft allocates it for these rules.
pub(super) const NFT_REG_1: u32 = 1;
const NFT_REG_VERDICT: u32 = 0;
const NFT_PAYLOAD_LL_HEADER: u32 = 0;
pub(super) const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_META_IIFNAME: u32 = 6;
const NFT_META_NFPROTO: u32 = 15;
const NFT_LOOKUP_F_INV: u32 = 1;

/// nft data type ids of the spoof-check sets: TYPE_IFNAME, and the concatenation
/// `ifname . ether_addr` ((TYPE_IFNAME << 6) | TYPE_ETHERADDR).
pub const TYPE_IFNAME: u32 = 41;
pub const TYPE_IFNAME_ETHER: u32 = (41 << 6) | 9;
/// `ifname . ifname` ((TYPE_IFNAME << 6) | TYPE_IFNAME).
pub const TYPE_IFNAME_PAIR: u32 = (41 << 6) | 41;
/// Width of an interface name in a key (IFNAMSIZ) and of a MAC inside a concatenation (padded to 4).
pub const IFNAME_LEN: usize = 16;
pub const ETHER_KEY_LEN: usize = 8;

/// nft data type ids (TYPE_IPADDR, TYPE_IP6ADDR) stored in NFTA_SET_KEY_TYPE.
pub(super) const TYPE_IPADDR: u32 = 7;
pub(super) const TYPE_IP6ADDR: u32 = 8;

/// The address family of a set, a rule match or an element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ip {
    V4,
    V6,
}

impl Ip {
    pub fn addr_len(self) -> usize {
        match self {
            Ip::V4 => 4,
            Ip::V6 => 16,
        }
    }
    fn nfproto(self) -> u8 {
        match self {
            Ip::V4 => super::wire::NFPROTO_IPV4,
            Ip::V6 => super::wire::NFPROTO_IPV6,
        }
    }
    fn saddr_offset(self) -> u32 {
        match self {
            Ip::V4 => 12,
            Ip::V6 => 8,
        }
    }
    fn daddr_offset(self) -> u32 {
        match self {
            Ip::V4 => 16,
            Ip::V6 => 24,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq = 0,
    Neq = 1,
}

/// The expressions we build rules from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// meta load nfproto => reg 1
    MetaNfproto,
    /// payload load `len` bytes at network header + `offset` => reg 1
    Payload {
        offset: u32,
        len: u32,
    },
    /// bitwise reg 1 = (reg 1 & mask) ^ 0
    Bitwise {
        mask: Vec<u8>,
    },
    /// cmp `op` reg 1 `data`
    Cmp {
        op: CmpOp,
        data: Vec<u8>,
    },
    /// lookup reg 1 in the named set (set_id when the set is created in the same batch);
    /// `inv` matches when the key is absent
    Lookup {
        set: String,
        set_id: Option<u32>,
        inv: bool,
    },
    /// meta load iifname => `dreg` (legacy 16-byte register number)
    MetaIifname {
        dreg: u32,
    },
    /// payload load `len` bytes at link-layer header + `offset` => `dreg`
    LinkPayload {
        offset: u32,
        len: u32,
        dreg: u32,
    },
    /// immediate reg 0 return
    Return,
    /// immediate reg 0 drop
    Drop,
    Masquerade,
    /// meta load oifname => `dreg` (legacy 16-byte register number)
    MetaOifname {
        dreg: u32,
    },
    /// ct load state => reg 1
    CtState,
    /// immediate reg 0 accept
    Accept,
    /// immediate reg 0 jump `chain`
    Jump(String),
}

impl Expr {
    pub(super) fn encode(&self, a: &mut Attrs) {
        a.nest(NFTA_LIST_ELEM, |e| match self {
            Expr::MetaNfproto => {
                e.str(NFTA_EXPR_NAME, "meta").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(2, NFT_META_NFPROTO).u32be(1, NFT_REG_1); // KEY, DREG
                });
            }
            Expr::Payload { offset, len } => {
                e.str(NFTA_EXPR_NAME, "payload").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(1, NFT_REG_1).u32be(2, NFT_PAYLOAD_NETWORK_HEADER).u32be(3, *offset).u32be(4, *len);
                });
            }
            Expr::Bitwise { mask } => {
                e.str(NFTA_EXPR_NAME, "bitwise").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(1, NFT_REG_1).u32be(2, NFT_REG_1).u32be(3, mask.len() as u32);
                    d.nest(4, |m| {
                        m.put(NFTA_DATA_VALUE, mask);
                    });
                    d.nest(5, |x| {
                        x.put(NFTA_DATA_VALUE, &vec![0; mask.len()]);
                    });
                });
            }
            Expr::Cmp { op, data } => {
                e.str(NFTA_EXPR_NAME, "cmp").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(1, NFT_REG_1).u32be(2, *op as u32).nest(3, |v| {
                        v.put(NFTA_DATA_VALUE, data);
                    });
                });
            }
            Expr::Lookup { set, set_id, inv } => {
                e.str(NFTA_EXPR_NAME, "lookup").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(2, NFT_REG_1).str(1, set); // SREG, SET
                    if let Some(id) = set_id {
                        d.u32be(4, *id); // SET_ID
                    }
                    if *inv {
                        d.u32be(5, NFT_LOOKUP_F_INV); // FLAGS
                    }
                });
            }
            Expr::MetaIifname { dreg } => {
                e.str(NFTA_EXPR_NAME, "meta").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(2, NFT_META_IIFNAME).u32be(1, *dreg); // KEY, DREG
                });
            }
            Expr::LinkPayload { offset, len, dreg } => {
                e.str(NFTA_EXPR_NAME, "payload").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(1, *dreg).u32be(2, NFT_PAYLOAD_LL_HEADER).u32be(3, *offset).u32be(4, *len);
                });
            }
            Expr::Return => {
                e.str(NFTA_EXPR_NAME, "immediate").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(1, NFT_REG_VERDICT).nest(2, |data| {
                        data.nest(NFTA_DATA_VERDICT, |v| {
                            v.u32be(NFTA_VERDICT_CODE, NFT_RETURN as u32);
                        });
                    });
                });
            }
            Expr::Drop => {
                e.str(NFTA_EXPR_NAME, "immediate").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(1, NFT_REG_VERDICT).nest(2, |data| {
                        data.nest(NFTA_DATA_VERDICT, |v| {
                            v.u32be(NFTA_VERDICT_CODE, NF_DROP);
                        });
                    });
                });
            }
            Expr::Masquerade => {
                e.str(NFTA_EXPR_NAME, "masq").nest(NFTA_EXPR_DATA, |_| {});
            }
            Expr::MetaOifname { dreg } => {
                e.str(NFTA_EXPR_NAME, "meta").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(2, NFT_META_OIFNAME).u32be(1, *dreg); // KEY, DREG
                });
            }
            Expr::CtState => {
                e.str(NFTA_EXPR_NAME, "ct").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(2, NFT_CT_STATE).u32be(1, NFT_REG_1); // KEY, DREG
                });
            }
            Expr::Accept => {
                e.str(NFTA_EXPR_NAME, "immediate").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(1, NFT_REG_VERDICT).nest(2, |data| {
                        data.nest(NFTA_DATA_VERDICT, |v| {
                            v.u32be(NFTA_VERDICT_CODE, NF_ACCEPT);
                        });
                    });
                });
            }
            Expr::Jump(chain) => {
                e.str(NFTA_EXPR_NAME, "immediate").nest(NFTA_EXPR_DATA, |d| {
                    d.u32be(1, NFT_REG_VERDICT).nest(2, |data| {
                        data.nest(NFTA_DATA_VERDICT, |v| {
                            v.u32be(NFTA_VERDICT_CODE, NFT_JUMP as u32).str(NFTA_VERDICT_CHAIN, chain);
                        });
                    });
                });
            }
        });
    }
}

/// A prefix match on the destination address, as nft encodes it: byte-aligned prefixes load
/// only the prefix bytes; others load the whole address and mask it.
pub fn daddr_prefix(ip: Ip, net: &[u8], prefix: u8, op: CmpOp) -> Vec<Expr> {
    prefix_match(ip, ip.daddr_offset(), net, prefix, op)
}

/// The same on the source address.
pub fn saddr_prefix(ip: Ip, net: &[u8], prefix: u8, op: CmpOp) -> Vec<Expr> {
    prefix_match(ip, ip.saddr_offset(), net, prefix, op)
}

fn prefix_match(ip: Ip, offset: u32, net: &[u8], prefix: u8, op: CmpOp) -> Vec<Expr> {
    let full = ip.addr_len();
    if prefix.is_multiple_of(8) {
        let n = prefix as usize / 8;
        vec![Expr::Payload { offset, len: n as u32 }, Expr::Cmp { op, data: net[..n].to_vec() }]
    } else {
        let mut mask = vec![0u8; full];
        for (i, m) in mask.iter_mut().enumerate() {
            let bits = (prefix as i32 - 8 * i as i32).clamp(0, 8);
            *m = if bits == 0 { 0 } else { 0xffu8 << (8 - bits) };
        }
        let data = net.iter().zip(&mask).map(|(a, m)| a & m).collect();
        vec![Expr::Payload { offset, len: full as u32 }, Expr::Bitwise { mask }, Expr::Cmp { op, data }]
    }
}

/// `meta nfproto <ip>`: the implicit family guard nft puts before ip/ip6 matches in an inet table.
fn nfproto_is(ip: Ip) -> [Expr; 2] {
    [Expr::MetaNfproto, Expr::Cmp { op: CmpOp::Eq, data: vec![ip.nfproto()] }]
}

/// `ip daddr 224.0.0.0/4 return` / `ip6 daddr ff00::/8 return`.
pub fn multicast_return(ip: Ip) -> Vec<Expr> {
    let mut v = nfproto_is(ip).to_vec();
    match ip {
        Ip::V4 => v.extend(daddr_prefix(ip, &[224, 0, 0, 0], 4, CmpOp::Eq)),
        Ip::V6 => v.extend(daddr_prefix(ip, &[0xff; 16], 8, CmpOp::Eq)),
    }
    v.push(Expr::Return);
    v
}

/// `ip saddr @set ip daddr != <net1> ip daddr != <net2> … masquerade` (ip6 likewise), `not_to`
/// being (network address, prefix) pairs: the pod's subnet, then the exemptions.
pub fn masq_rule(ip: Ip, set: &str, set_id: Option<u32>, not_to: &[(&[u8], u8)]) -> Vec<Expr> {
    let mut v = nfproto_is(ip).to_vec();
    v.push(Expr::Payload { offset: ip.saddr_offset(), len: ip.addr_len() as u32 });
    v.push(Expr::Lookup { set: set.to_string(), set_id, inv: false });
    for (net, prefix) in not_to {
        v.extend(daddr_prefix(ip, net, *prefix, CmpOp::Neq));
    }
    v.push(Expr::Masquerade);
    v
}

/// Which side of a forwarded packet a pod-address rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodSide {
    /// `ip daddr @set ct state established,related accept`: replies toward the pod
    ToPodEstablished,
    /// `ip saddr @set accept`: anything from the pod
    FromPod,
}

/// The firewall plugin's per-family accept rules (ip6 likewise).
pub fn pod_accept_rule(ip: Ip, set: &str, set_id: Option<u32>, side: PodSide) -> Vec<Expr> {
    let mut v = nfproto_is(ip).to_vec();
    let offset = match side {
        PodSide::ToPodEstablished => ip.daddr_offset(),
        PodSide::FromPod => ip.saddr_offset(),
    };
    v.push(Expr::Payload { offset, len: ip.addr_len() as u32 });
    v.push(Expr::Lookup { set: set.to_string(), set_id, inv: false });
    if side == PodSide::ToPodEstablished {
        // ct state established,related: (state & (ESTABLISHED | RELATED)) != 0, host byte order
        let mask = ((1u32 << 1) | (1u32 << 2)).to_ne_bytes().to_vec();
        v.extend([Expr::CtState, Expr::Bitwise { mask }, Expr::Cmp { op: CmpOp::Neq, data: vec![0; 4] }]);
    }
    v.push(Expr::Accept);
    v
}

/// `jump <chain>`.
pub fn jump_rule(chain: &str) -> Vec<Expr> {
    vec![Expr::Jump(chain.to_string())]
}

/// `iifname . oifname @<pairs> drop` (`inv`: `!= @<pairs>`), with the interface names in regs 1
/// and 2 as nft allocates them for the concatenation.
fn if_pair_lookup(pairs: &str, pairs_id: Option<u32>, inv: bool) -> [Expr; 3] {
    [
        Expr::MetaIifname { dreg: NFT_REG_1 },
        Expr::MetaOifname { dreg: NFT_REG_1 + 1 },
        Expr::Lookup { set: pairs.to_string(), set_id: pairs_id, inv },
    ]
}

/// `iifname . oifname @<pairs> drop`: traffic between two ports of one isolated bridge.
pub fn same_bridge_drop_rule(pairs: &str, pairs_id: Option<u32>) -> Vec<Expr> {
    let mut v = if_pair_lookup(pairs, pairs_id, false).to_vec();
    v.push(Expr::Drop);
    v
}

/// `iifname @<bridges> oifname @<bridges> iifname . oifname != @<pairs> drop`: traffic from one
/// policed bridge to another (`pairs` holds `b . b` for every bridge `b` of `bridges`).
pub fn cross_bridge_drop_rule(bridges: &str, bridges_id: Option<u32>, pairs: &str, pairs_id: Option<u32>) -> Vec<Expr> {
    let mut v = vec![
        Expr::MetaIifname { dreg: NFT_REG_1 },
        Expr::Lookup { set: bridges.to_string(), set_id: bridges_id, inv: false },
        Expr::MetaOifname { dreg: NFT_REG_1 },
        Expr::Lookup { set: bridges.to_string(), set_id: bridges_id, inv: false },
    ];
    v.extend(if_pair_lookup(pairs, pairs_id, true));
    v.push(Expr::Drop);
    v
}

/// A table: its family and name, which every message about its objects carries.
#[derive(Clone, Copy, Debug)]
pub struct Table<'a> {
    pub family: u8,
    pub name: &'a str,
}

pub fn new_table(t: Table, flags: u16) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_TABLE_NAME, t.name).u32be(NFTA_TABLE_FLAGS, 0);
    Msg::new(MsgType::NewTable, t.family, flags, a)
}

/// Where a base chain hooks in: its type, hook number and priority.
struct Hook<'a> {
    kind: &'a str,
    hooknum: u32,
    priority: i32,
}

/// A nat base chain on postrouting with policy accept.
pub fn new_nat_postrouting_chain(t: Table, name: &str, priority: i32, flags: u16) -> Msg {
    base_chain(t, name, Hook { kind: "nat", hooknum: NF_INET_POST_ROUTING, priority }, flags)
}

/// A filter base chain on forward with policy accept.
pub fn new_filter_forward_chain(t: Table, name: &str, priority: i32, flags: u16) -> Msg {
    base_chain(t, name, Hook { kind: "filter", hooknum: NF_INET_FORWARD, priority }, flags)
}

/// A regular chain (reached only by jumps).
pub fn new_chain(t: Table, name: &str, flags: u16) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_CHAIN_TABLE, t.name).str(NFTA_CHAIN_NAME, name);
    Msg::new(MsgType::NewChain, t.family, flags, a)
}

/// A base chain on `hook` with policy accept (attribute order as nft sends it).
fn base_chain(t: Table, name: &str, hook: Hook, flags: u16) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_CHAIN_TABLE, t.name).str(NFTA_CHAIN_NAME, name).str(NFTA_CHAIN_TYPE, hook.kind);
    a.u32be(NFTA_CHAIN_POLICY, NF_ACCEPT);
    a.nest(NFTA_CHAIN_HOOK, |h| {
        h.u32be(NFTA_HOOK_HOOKNUM, hook.hooknum).u32be(NFTA_HOOK_PRIORITY, hook.priority as u32);
    });
    Msg::new(MsgType::NewChain, t.family, flags, a)
}

/// `iifname @<ifset> iifname . ether saddr != @<macset> drop`: frames from a guarded port whose
/// (port, source MAC) pair is not allowed are dropped. Registers as nft allocates them: the 16-byte
/// ifname in reg 1, the MAC right after it in reg 2, looked up together from reg 1.
pub fn spoof_rule(ifset: &str, ifset_id: Option<u32>, macset: &str, macset_id: Option<u32>) -> Vec<Expr> {
    vec![
        Expr::MetaIifname { dreg: NFT_REG_1 },
        Expr::Lookup { set: ifset.to_string(), set_id: ifset_id, inv: false },
        Expr::MetaIifname { dreg: NFT_REG_1 },
        Expr::LinkPayload { offset: 6, len: 6, dreg: NFT_REG_1 + 1 },
        Expr::Lookup { set: macset.to_string(), set_id: macset_id, inv: true },
        Expr::Drop,
    ]
}

/// A filter base chain on prerouting with policy accept (bridge family: the bridge's own hook).
pub fn new_filter_prerouting_chain(t: Table, name: &str, priority: i32, flags: u16) -> Msg {
    base_chain(t, name, Hook { kind: "filter", hooknum: NF_INET_PRE_ROUTING, priority }, flags)
}

/// A set (no flags): a raw key type and length, its id within a batch, and libnftnl userdata as
/// nft writes it.
pub struct SetSpec<'a> {
    pub name: &'a str,
    pub key_type: u32,
    pub key_len: u32,
    pub id: u32,
    pub udata: Vec<u8>,
}

impl<'a> SetSpec<'a> {
    /// A plain set of addresses carrying a comment in its userdata.
    pub fn addresses(name: &'a str, ip: Ip, id: u32, comment: &str) -> SetSpec<'a> {
        let mut udata = Vec::new();
        super::wire::udata_put(&mut udata, UDATA_SET_KEYBYTEORDER, &BYTEORDER_BIG_ENDIAN.to_le_bytes());
        super::wire::udata_put(&mut udata, UDATA_SET_COMMENT, &nul_terminated(comment));
        let key_type = match ip {
            Ip::V4 => TYPE_IPADDR,
            Ip::V6 => TYPE_IP6ADDR,
        };
        SetSpec { name, key_type, key_len: ip.addr_len() as u32, id, udata }
    }
}

pub fn new_set(t: Table, s: &SetSpec, flags: u16) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_SET_TABLE, t.name).str(NFTA_SET_NAME, s.name).u32be(NFTA_SET_FLAGS, 0);
    a.u32be(NFTA_SET_KEY_TYPE, s.key_type).u32be(NFTA_SET_KEY_LEN, s.key_len);
    a.u32be(NFTA_SET_ID, s.id).put(NFTA_SET_USERDATA, &s.udata);
    Msg::new(MsgType::NewSet, t.family, flags, a)
}

/// Userdata of a set `type ifname` with a comment, as nft 1.0.6 writes it (key byte order host).
pub fn ifname_set_udata(comment: &str) -> Vec<u8> {
    let mut ud = Vec::new();
    super::wire::udata_put(&mut ud, UDATA_SET_KEYBYTEORDER, &1u32.to_le_bytes());
    super::wire::udata_put(&mut ud, UDATA_SET_COMMENT, &nul_terminated(comment));
    ud
}

/// Userdata of a set `type ifname . ether_addr` with a comment, as nft 1.0.6 writes it: key byte
/// order "invalid" (a concatenation) and the concatenation's description (TLV 3), copied verbatim
/// from nft's output so that nft lists the set with its declared type.
pub fn ifname_ether_set_udata(comment: &str) -> Vec<u8> {
    let mut ud = Vec::new();
    super::wire::udata_put(&mut ud, UDATA_SET_KEYBYTEORDER, &0u32.to_le_bytes());
    super::wire::udata_put(&mut ud, 3, &[0x00, 0x04, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00]);
    super::wire::udata_put(&mut ud, UDATA_SET_COMMENT, &nul_terminated(comment));
    ud
}

/// Userdata of a set `type ifname . ifname` without a comment, as nft 1.0.6 writes it (the same
/// concatenation description as [`ifname_ether_set_udata`]'s).
pub fn ifname_pair_set_udata() -> Vec<u8> {
    let mut ud = Vec::new();
    super::wire::udata_put(&mut ud, UDATA_SET_KEYBYTEORDER, &0u32.to_le_bytes());
    super::wire::udata_put(&mut ud, 3, &[0x00, 0x04, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00]);
    ud
}

/// Userdata of a set `type ifname` without a comment (key byte order host).
pub fn ifname_plain_set_udata() -> Vec<u8> {
    let mut ud = Vec::new();
    super::wire::udata_put(&mut ud, UDATA_SET_KEYBYTEORDER, &1u32.to_le_bytes());
    ud
}

/// The key `ifname . ifname`.
pub fn ifname_pair_key(a: &str, b: &str) -> Vec<u8> {
    let mut k = ifname_key(a);
    k.extend(ifname_key(b));
    k
}

/// The chain a rule's `jump` names, if it has one.
pub fn parse_rule_jump(payload: &[u8]) -> Option<String> {
    use super::wire::{attr_str, find_attr, parse_attrs};
    let attrs = payload.get(super::wire::NFGENMSG_LEN..)?;
    let exprs = find_attr(attrs, NFTA_RULE_EXPRESSIONS)?;
    parse_attrs(exprs)
        .filter(|(t, _)| *t == NFTA_LIST_ELEM)
        .filter(|(_, e)| find_attr(e, NFTA_EXPR_NAME).map(attr_str).as_deref() == Some("immediate"))
        .find_map(|(_, e)| {
            let verdict = find_attr(find_attr(find_attr(e, NFTA_EXPR_DATA)?, 2)?, NFTA_DATA_VERDICT)?;
            find_attr(verdict, NFTA_VERDICT_CHAIN).map(attr_str)
        })
}

pub fn new_rule(t: Table, chain: &str, exprs: &[Expr], flags: u16) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_RULE_TABLE, t.name).str(NFTA_RULE_CHAIN, chain);
    a.nest(NFTA_RULE_EXPRESSIONS, |l| {
        for e in exprs {
            e.encode(l);
        }
    });
    Msg::new(MsgType::NewRule, t.family, flags, a)
}

/// One element: its key and an optional comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Elem {
    pub key: Vec<u8>,
    pub comment: Option<String>,
}

/// The table and set attributes that open a set-element message (except a dump's, which nft sends
/// set first).
fn elem_list_head(table: &str, set: &str) -> Attrs {
    let mut a = Attrs::new();
    a.str(NFTA_SET_ELEM_LIST_TABLE, table).str(NFTA_SET_ELEM_LIST_SET, set);
    a
}

fn elem_list(a: &mut Attrs, elems: &[Elem]) {
    a.nest(NFTA_SET_ELEM_LIST_ELEMENTS, |l| {
        for el in elems {
            l.nest(NFTA_LIST_ELEM, |e| {
                e.nest(NFTA_SET_ELEM_KEY, |k| {
                    k.put(NFTA_DATA_VALUE, &el.key);
                });
                if let Some(c) = &el.comment {
                    let mut ud = Vec::new();
                    super::wire::udata_put(&mut ud, UDATA_SET_ELEM_COMMENT, &nul_terminated(c));
                    e.put(NFTA_SET_ELEM_USERDATA, &ud);
                }
            });
        }
    });
}

/// NEWSETELEM; `set_id` names a set created earlier in the same batch (nft always sends one).
pub fn new_set_elems(t: Table, set: &str, set_id: Option<u32>, elems: &[Elem], flags: u16) -> Msg {
    let mut a = elem_list_head(t.name, set);
    if let Some(id) = set_id {
        a.u32be(NFTA_SET_ELEM_LIST_SET_ID, id);
    }
    elem_list(&mut a, elems);
    Msg::new(MsgType::NewSetElem, t.family, flags, a)
}

pub fn del_set_elems(t: Table, set: &str, elems: &[Elem]) -> Msg {
    let mut a = elem_list_head(t.name, set);
    let keys: Vec<Elem> = elems.iter().map(|e| Elem { key: e.key.clone(), comment: None }).collect();
    elem_list(&mut a, &keys);
    Msg::new(MsgType::DelSetElem, t.family, 0, a)
}

/// GETSET dump of one table's sets.
pub fn dump_sets(t: Table) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_SET_TABLE, t.name);
    Msg::new(MsgType::GetSet, t.family, super::wire::NLM_F_DUMP, a)
}

/// GETSETELEM dump of one set (attribute order as nft sends it).
pub fn dump_set_elems(t: Table, set: &str) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_SET_ELEM_LIST_SET, set).str(NFTA_SET_ELEM_LIST_TABLE, t.name);
    Msg::new(MsgType::GetSetElem, t.family, super::wire::NLM_F_DUMP, a)
}

/// GETSETELEM of one element by key (not a dump).
pub fn get_set_elem(t: Table, set: &str, key: &[u8]) -> Msg {
    let mut a = elem_list_head(t.name, set);
    elem_list(&mut a, &[Elem { key: key.to_vec(), comment: None }]);
    Msg::new(MsgType::GetSetElem, t.family, 0, a)
}

/// DELSET of one set (by name, as nft sends it; no NLM_F_NONREC: the caller decides
/// emptiness itself, under a generation check).
pub fn del_set(t: Table, name: &str) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_SET_TABLE, t.name).str(NFTA_SET_NAME, name);
    Msg::new(MsgType::DelSet, t.family, 0, a)
}

/// GETRULE dump of one chain's rules.
pub fn dump_rules(t: Table, chain: &str) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_RULE_TABLE, t.name).str(NFTA_RULE_CHAIN, chain);
    Msg::new(MsgType::GetRule, t.family, super::wire::NLM_F_DUMP, a)
}

/// GETTABLE dump of every table of every family (AF_UNSPEC).
pub fn dump_tables() -> Msg {
    Msg::new(MsgType::GetTable, 0, super::wire::NLM_F_DUMP, Attrs::new())
}

/// A table as read back (NEWTABLE payload after nlmsghdr): its family and name.
pub fn parse_table(payload: &[u8]) -> Option<(u8, String)> {
    let family = *payload.first()?;
    let name = super::wire::find_attr(payload.get(super::wire::NFGENMSG_LEN..)?, NFTA_TABLE_NAME)?;
    Some((family, super::wire::attr_str(name)))
}

/// GETCHAIN dump of one table's chains.
#[cfg(test)]
pub fn dump_chains(t: Table) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_CHAIN_TABLE, t.name);
    Msg::new(MsgType::GetChain, t.family, super::wire::NLM_F_DUMP, a)
}

/// GETCHAIN of one chain by name (not a dump): ENOENT when it does not exist.
pub fn get_chain(t: Table, name: &str) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_CHAIN_TABLE, t.name).str(NFTA_CHAIN_NAME, name);
    Msg::new(MsgType::GetChain, t.family, 0, a)
}

/// The name of a chain as read back (NEWCHAIN payload after nlmsghdr).
#[cfg(any(test, feature = "fuzzing"))]
pub fn parse_chain_name(payload: &[u8]) -> Option<String> {
    let name = super::wire::find_attr(payload.get(super::wire::NFGENMSG_LEN..)?, NFTA_CHAIN_NAME)?;
    Some(super::wire::attr_str(name))
}

/// The comment of an iptables-nft rule (`-m comment --comment`): an xtables `comment` match
/// carried as is (nft_compat: NFTA_MATCH_NAME 1, NFTA_MATCH_INFO 3 = struct xt_comment_info).
pub fn parse_rule_xt_comment(payload: &[u8]) -> Option<String> {
    use super::wire::{attr_str, find_attr, parse_attrs};
    let exprs = find_attr(payload.get(super::wire::NFGENMSG_LEN..)?, NFTA_RULE_EXPRESSIONS)?;
    parse_attrs(exprs)
        .filter(|(t, e)| *t == NFTA_LIST_ELEM && find_attr(e, NFTA_EXPR_NAME).map(attr_str).as_deref() == Some("match"))
        .find_map(|(_, e)| {
            let data = find_attr(e, NFTA_EXPR_DATA)?;
            (attr_str(find_attr(data, 1)?) == "comment").then(|| attr_str(find_attr(data, 3).unwrap_or_default()))
        })
}

/// The chain a rule as read back is in.
pub fn parse_rule_chain(payload: &[u8]) -> Option<String> {
    let name = super::wire::find_attr(payload.get(super::wire::NFGENMSG_LEN..)?, NFTA_RULE_CHAIN)?;
    Some(super::wire::attr_str(name))
}

/// DELCHAIN of one chain by name (its rules go with it; refused while a rule jumps to it).
pub fn del_chain(t: Table, name: &str) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_CHAIN_TABLE, t.name).str(NFTA_CHAIN_NAME, name);
    Msg::new(MsgType::DelChain, t.family, 0, a)
}

/// DELRULE of one rule by its handle.
pub fn del_rule(t: Table, chain: &str, handle: u64) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_RULE_TABLE, t.name).str(NFTA_RULE_CHAIN, chain).u64be(NFTA_RULE_HANDLE, handle);
    Msg::new(MsgType::DelRule, t.family, 0, a)
}

/// GETGEN: the ruleset generation of the namespace (AF_UNSPEC, no attributes).
pub fn get_gen() -> Msg {
    Msg::new(MsgType::GetGen, 0, 0, Attrs::new())
}

/// The generation in a NEWGEN reply payload.
pub fn parse_gen(payload: &[u8]) -> Option<u32> {
    let v = super::wire::find_attr(payload.get(super::wire::NFGENMSG_LEN..)?, NFTA_GEN_ID)?;
    Some(u32::from_be_bytes(v.try_into().ok()?))
}

/// A rule as read back: its handle and the sets its lookups use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    pub handle: u64,
    pub sets: Vec<String>,
}

/// Parse a NEWRULE message payload (after nlmsghdr).
pub fn parse_rule(payload: &[u8]) -> Option<RuleInfo> {
    use super::wire::{attr_str, find_attr, parse_attrs};
    let attrs = payload.get(super::wire::NFGENMSG_LEN..)?;
    let handle = u64::from_be_bytes(find_attr(attrs, NFTA_RULE_HANDLE)?.try_into().ok()?);
    let exprs = find_attr(attrs, NFTA_RULE_EXPRESSIONS).unwrap_or_default();
    let sets = parse_attrs(exprs)
        .filter(|(t, _)| *t == NFTA_LIST_ELEM)
        .filter(|(_, e)| find_attr(e, NFTA_EXPR_NAME).map(attr_str).as_deref() == Some("lookup"))
        .filter_map(|(_, e)| find_attr(find_attr(e, NFTA_EXPR_DATA)?, NFTA_LOOKUP_SET).map(attr_str))
        .collect();
    Some(RuleInfo { handle, sets })
}

fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// An interface name as a set key: NUL-padded to IFNAMSIZ.
pub fn ifname_key(name: &str) -> Vec<u8> {
    let mut k = name.as_bytes().to_vec();
    k.resize(IFNAME_LEN, 0);
    k
}

/// The key `ifname . ether_addr`: the padded name, then the MAC padded to 8 bytes.
pub fn ifname_ether_key(name: &str, mac: &[u8; 6]) -> Vec<u8> {
    let mut k = ifname_key(name);
    k.extend_from_slice(mac);
    k.resize(IFNAME_LEN + ETHER_KEY_LEN, 0);
    k
}

/// A set as read back from the kernel.
#[derive(Debug, Clone)]
pub struct SetInfo {
    pub name: String,
    pub comment: Option<String>,
}

/// Parse a NEWSET message payload (after nlmsghdr).
pub fn parse_set(payload: &[u8]) -> Option<SetInfo> {
    let attrs = payload.get(super::wire::NFGENMSG_LEN..)?;
    let name = super::wire::attr_str(super::wire::find_attr(attrs, NFTA_SET_NAME)?);
    let comment = super::wire::find_attr(attrs, NFTA_SET_USERDATA)
        .and_then(|ud| super::wire::udata_find(ud, UDATA_SET_COMMENT))
        .map(super::wire::attr_str);
    Some(SetInfo { name, comment })
}

/// Parse the elements of a NEWSETELEM message payload.
pub fn parse_set_elems(payload: &[u8]) -> Vec<Elem> {
    use super::wire::{attr_str, find_attr, parse_attrs, udata_find};
    let Some(attrs) = payload.get(super::wire::NFGENMSG_LEN..) else {
        return vec![];
    };
    let Some(list) = find_attr(attrs, NFTA_SET_ELEM_LIST_ELEMENTS) else {
        return vec![];
    };
    parse_attrs(list)
        .filter(|(t, _)| *t == NFTA_LIST_ELEM)
        .filter_map(|(_, el)| {
            let key = find_attr(find_attr(el, NFTA_SET_ELEM_KEY)?, NFTA_DATA_VALUE)?.to_vec();
            let comment = find_attr(el, NFTA_SET_ELEM_USERDATA).and_then(|ud| udata_find(ud, UDATA_SET_ELEM_COMMENT)).map(attr_str);
            Some(Elem { key, comment })
        })
        .collect()
}

/// A nat base chain on any hook (hook number as in NF_INET_*) with policy accept.
pub fn new_nat_chain(t: Table, name: &str, hooknum: u32, priority: i32, flags: u16) -> Msg {
    base_chain(t, name, Hook { kind: "nat", hooknum, priority }, flags)
}
