//! Byte-exact encoding tests against captures of nft 1.0.6 (`strace -e write=all nft -f FILE`,
//! taken in a throwaway namespace; the nft input of each capture is quoted above its test).
//! Each testdata/*.hex line is one netlink message of the batch nft sent, in order.

use super::masq::{elem_comment, exemptions, set_comment, set_name, Plan, PodCidr};
use super::objects::{self, CmpOp, Elem, Expr, Ip, SetSpec, Table};
use super::wire::{self, Msg, NFPROTO_INET, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL};

const V4: &str = "masq-0123456789abcdef";
const V6: &str = "masq-fedcba9876543210";
const T: Table<'static> = Table { family: NFPROTO_INET, name: "fastcni" };

pub(super) fn fixture(text: &str) -> Vec<Vec<u8>> {
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| hex(l.trim())).collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

pub(super) fn batch_messages(msgs: &[Msg]) -> Vec<Vec<u8>> {
    let (bytes, _) = wire::encode_batch(msgs, 0, false, None);
    wire::split_messages(&bytes)
        .iter()
        .map(|m| {
            let len = wire::NLMSG_HDRLEN + m.payload.len();
            let start = m.payload.as_ptr() as usize - bytes.as_ptr() as usize - wire::NLMSG_HDRLEN;
            bytes[start..start + len].to_vec()
        })
        .collect()
}

pub(super) fn assert_msgs_eq(ours: &[Vec<u8>], nft: &[Vec<u8>]) {
    assert_eq!(ours.len(), nft.len(), "message count");
    for (i, (a, b)) in ours.iter().zip(nft).enumerate() {
        assert_eq!(to_hex(a), to_hex(b), "message {i} differs");
    }
}

pub(super) fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn v4_net() -> [u8; 4] {
    [10, 1, 0, 0]
}
fn v6_net() -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0xfd;
    a[3] = 1;
    a
}

/* table inet fastcni {
  set masq-0123456789abcdef { type ipv4_addr; comment "net1 10.1.0.0/24"; }
  set masq-fedcba9876543210 { type ipv6_addr; comment "net1 fd00:1::/64"; }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    ip daddr 224.0.0.0/4 return
    ip6 daddr ff00::/8 return
    ip saddr @masq-0123456789abcdef ip daddr != 10.1.0.0/24 masquerade
    ip6 saddr @masq-fedcba9876543210 ip6 daddr != fd00:1::/64 masquerade } }
add element inet fastcni masq-0123456789abcdef { 10.1.0.5 comment "cid1/eth0" }
add element inet fastcni masq-fedcba9876543210 { fd00:1::5 comment "cid1/eth0" } */
fn full_setup_msgs() -> Vec<Msg> {
    let rule = NLM_F_CREATE | NLM_F_APPEND;
    let mut e6 = v6_net().to_vec();
    e6[15] = 5;
    vec![
        objects::new_table(T, 0),
        objects::new_nat_postrouting_chain(T, "postrouting", 100, NLM_F_CREATE),
        objects::new_set(T, &SetSpec::addresses(V4, Ip::V4, 1, "net1 10.1.0.0/24"), NLM_F_CREATE),
        objects::new_set(T, &SetSpec::addresses(V6, Ip::V6, 2, "net1 fd00:1::/64"), NLM_F_CREATE),
        objects::new_rule(T, "postrouting", &objects::multicast_return(Ip::V4), rule),
        objects::new_rule(T, "postrouting", &objects::multicast_return(Ip::V6), rule),
        objects::new_rule(T, "postrouting", &objects::masq_rule(Ip::V4, V4, Some(1), &[(&v4_net(), 24)]), rule),
        objects::new_rule(T, "postrouting", &objects::masq_rule(Ip::V6, V6, Some(2), &[(&v6_net(), 64)]), rule),
        objects::new_set_elems(T, V4, Some(1), &[Elem { key: vec![10, 1, 0, 5], comment: Some("cid1/eth0".into()) }], NLM_F_CREATE),
        objects::new_set_elems(T, V6, Some(2), &[Elem { key: e6, comment: Some("cid1/eth0".into()) }], NLM_F_CREATE),
    ]
}

#[test]
fn full_setup_batch_matches_nft() {
    let nft = fixture(include_str!("testdata/all.hex"));
    assert_msgs_eq(&batch_messages(&full_setup_msgs()), &nft);
    // and as one buffer, framing and padding included
    let (bytes, seqs) = wire::encode_batch(&full_setup_msgs(), 0, false, None);
    assert_eq!(bytes, nft.concat());
    assert_eq!(seqs, (1..=10).collect::<Vec<u32>>());
}

/* add element inet fastcni masq-0123456789abcdef { 10.1.0.6 comment "cid2/eth0" }  (set exists) */
#[test]
fn element_batch_matches_nft() {
    let nft = fixture(include_str!("testdata/elem.hex"));
    let el = Elem { key: vec![10, 1, 0, 6], comment: Some("cid2/eth0".into()) };
    let ours = batch_messages(&[objects::new_set_elems(T, V4, Some(1), &[el], NLM_F_CREATE)]);
    assert_msgs_eq(&ours, &nft);
}

/* delete element inet fastcni masq-0123456789abcdef { 10.1.0.5 }
delete element inet fastcni masq-fedcba9876543210 { fd00:1::5 } */
#[test]
fn delete_batch_matches_nft() {
    let nft = fixture(include_str!("testdata/del.hex"));
    let mut e6 = v6_net().to_vec();
    e6[15] = 5;
    let ours = batch_messages(&[
        objects::del_set_elems(T, V4, &[Elem { key: vec![10, 1, 0, 5], comment: None }]),
        objects::del_set_elems(T, V6, &[Elem { key: e6, comment: None }]),
    ]);
    assert_msgs_eq(&ours, &nft);
}

/* add rule inet fastcni postrouting ip saddr @masq-0123456789abcdef ip daddr != 10.1.0.0/20 masquerade
add rule inet fastcni postrouting ip6 saddr @masq-fedcba9876543210 ip6 daddr != fd00:1::/60 masquerade */
#[test]
fn unaligned_prefix_rules_match_nft() {
    let nft = fixture(include_str!("testdata/odd.hex"));
    let rule = NLM_F_CREATE | NLM_F_APPEND;
    let ours = batch_messages(&[
        objects::new_rule(T, "postrouting", &objects::masq_rule(Ip::V4, V4, Some(1), &[(&v4_net(), 20)]), rule),
        objects::new_rule(T, "postrouting", &objects::masq_rule(Ip::V6, V6, Some(2), &[(&v6_net(), 60)]), rule),
    ]);
    assert_msgs_eq(&ours, &nft);
}

/* add rule inet fastcni postrouting ip saddr @masq-0123456789abcdef ip daddr != 10.1.0.0/24 ip daddr != 10.244.0.0/16 ip daddr != 192.168.16.0/20 masquerade
add rule inet fastcni postrouting ip6 saddr @masq-fedcba9876543210 ip6 daddr != fd00:1::/64 ip6 daddr != fd00:ab::/48 ip6 daddr != fd01::/60 masquerade */
#[test]
fn exemption_rules_match_nft() {
    let nft = fixture(include_str!("testdata/exempt.hex"));
    let rule = NLM_F_CREATE | NLM_F_APPEND;
    let mut ab = [0u8; 16];
    ab[..4].copy_from_slice(&[0xfd, 0, 0, 0xab]);
    let mut fd01 = [0u8; 16];
    fd01[..2].copy_from_slice(&[0xfd, 0x01]);
    let ours = batch_messages(&[
        objects::new_rule(
            T,
            "postrouting",
            &objects::masq_rule(Ip::V4, V4, Some(1), &[(&v4_net(), 24), (&[10, 244, 0, 0], 16), (&[192, 168, 16, 0], 20)]),
            rule,
        ),
        objects::new_rule(T, "postrouting", &objects::masq_rule(Ip::V6, V6, Some(2), &[(&v6_net(), 64), (&ab, 48), (&fd01, 60)]), rule),
    ]);
    assert_msgs_eq(&ours, &nft);
}

/// The production plan with exemptions of both families, given unsorted, repeated and with host
/// bits: each family's rule carries only its own, sorted, as nft encodes that rule.
#[test]
fn production_plan_with_exemptions_matches_nft_rule() {
    let nft = fixture(include_str!("testdata/exempt.hex"));
    let list: Vec<String> = ["192.168.17.1/20", "fd01::/60", "10.244.0.0/16", "fd00:ab::/48", "10.244.3.4/16"].map(String::from).to_vec();
    let exempt = exemptions(&list).unwrap();
    assert_eq!(exempt.len(), 4);
    for (cidr, set, at) in [("10.1.0.5/24", V4, 1), ("fd00:1::5/64", V6, 2)] {
        let plan = Plan::new("net1", "cid1", "eth0", PodCidr::parse(cidr).unwrap(), &exempt).unwrap();
        assert!(plan.exempt.iter().all(|e| e.ip == plan.cidr.ip));
        let rule = &plan.set_msgs()[1];
        let mut ours = normalise(batch_messages(std::slice::from_ref(rule)).remove(1), &plan.set, set);
        let mut want = nft[at].clone();
        ours[8..12].copy_from_slice(&(at as u32).to_le_bytes()); // seq
                                                                 // NFTA_LOOKUP_SET_ID: the plan's batch makes one set (id 1), nft's capture refers to two
        if at == 2 {
            let name = set.as_bytes();
            let pos = want.windows(name.len()).position(|w| w == name).unwrap();
            let id = pos + name.len() + 3 + 4; // name, its padding (3), the id attribute's header
            assert_eq!(want[id..id + 4], [0, 0, 0, 2]);
            want[id..id + 4].copy_from_slice(&[0, 0, 0, 1]);
        }
        assert_eq!(to_hex(&ours), to_hex(&want), "{cidr}");
    }
    // the list names the set only when there is one; reordering or respelling it does not matter
    let bare = Plan::new("net1", "c", "eth0", PodCidr::parse("10.1.0.5/24").unwrap(), &[]).unwrap();
    assert_eq!(bare.set, set_name("net1", "10.1.0.0/24", &[]));
    let v6_only = exemptions(&["fd01::/60".to_string()]).unwrap();
    let v4_with_v6_only = Plan::new("net1", "c", "eth0", PodCidr::parse("10.1.0.5/24").unwrap(), &v6_only).unwrap();
    assert_eq!(v4_with_v6_only.set, bare.set, "an exemption of the other family changes neither rule nor name");
    let a = Plan::new("net1", "c", "eth0", PodCidr::parse("10.1.0.5/24").unwrap(), &exempt).unwrap();
    let respelled = exemptions(&["10.244.9.9/16".to_string(), "192.168.16.0/20".to_string()]).unwrap();
    let b = Plan::new("net1", "c", "eth0", PodCidr::parse("10.1.0.7/24").unwrap(), &respelled).unwrap();
    assert_eq!(a.set, b.set);
    assert_ne!(a.set, bare.set);
    assert_eq!(a.set, set_name("net1", "10.1.0.0/24", &["10.244.0.0/16".into(), "192.168.16.0/20".into()]));
    assert_eq!(a.set_comment, bare.set_comment, "DEL and GC find both by the same comment");
    let err = exemptions(&["10.0.0.0/8".into(), "0.0.0.0/0".into()]).unwrap_err();
    assert!(err.message.contains("nonMasqueradeCIDRs") && err.message.contains("0.0.0.0/0"), "{}", err.message);
}

/// Clear the flags we deliberately set differently from nft (EXCL for race-free creation,
/// ACK to read every message's verdict) and substitute a set name of the same length.
pub(super) fn normalise(mut m: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    let flags = u16::from_le_bytes([m[6], m[7]]) & !(NLM_F_EXCL | NLM_F_ACK);
    m[6..8].copy_from_slice(&flags.to_le_bytes());
    assert_eq!(from.len(), to.len());
    let (f, t) = (from.as_bytes(), to.as_bytes());
    let mut i = 0;
    while i + f.len() <= m.len() {
        if &m[i..i + f.len()] == f {
            m[i..i + f.len()].copy_from_slice(t);
        }
        i += 1;
    }
    m
}

/// The production plan (network "net1", pod 10.1.0.5/24) sends what nft sends for the same objects.
#[test]
fn production_plan_matches_nft_objects() {
    let nft = fixture(include_str!("testdata/all.hex"));
    let plan = Plan::new("net1", "cid1", "eth0", PodCidr::parse("10.1.0.5/24").unwrap(), &[]).unwrap();
    let mut msgs = plan.chain_msgs();
    msgs.extend(plan.set_msgs());
    msgs.push(plan.add_elem_msg(Some(1)));
    let (bytes, _) = wire::encode_batch(&msgs, 0, true, None);
    let ours: Vec<Vec<u8>> = split_owned(&bytes);
    // ours: begin, table, chain, mcast4, mcast6, set4, rule4, elem4, end
    // nft:  begin, table, chain, set4, set6, mcast4, mcast6, rule4, rule6, elem4, elem6, end
    let pick = [0, 1, 2, 5, 6, 3, 7, 9, 11];
    let norm = |i: usize, m: &Vec<u8>| {
        let mut m = normalise(m.clone(), &plan.set, V4);
        m[8..12].copy_from_slice(&(pick[i] as u32).to_le_bytes()); // seq
        m
    };
    for (i, m) in ours.iter().enumerate() {
        let mut want = nft[pick[i]].clone();
        // nft sends NEWTABLE without CREATE (the kernel treats both alike); we ask for it explicitly.
        if i == 1 {
            want[7] |= (NLM_F_CREATE >> 8) as u8;
        }
        assert_eq!(to_hex(&norm(i, m)), to_hex(&want), "message {i}");
    }
    assert_eq!(plan.set, set_name("net1", "10.1.0.0/24", &[]));
}

pub(super) fn split_owned(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < bytes.len() {
        let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        out.push(bytes[off..off + len].to_vec());
        off += (len + 3) & !3;
    }
    out
}

#[test]
fn dump_requests_match_nft() {
    // GETSETELEM dump as nft sends it (its stale padding byte 0x69 after the set name zeroed).
    let want = hex("3c0000000d0a0103000000000000000001000000\
                    1a0002006d6173712d30313233343536373839616263646566000000\
                    0c00010066617374636e6900");
    assert_eq!(to_hex(&wire::encode_request(&objects::dump_set_elems(T, V4), 0)), to_hex(&want));
}

#[test]
fn parses_kernel_replies() {
    let replies = fixture(include_str!("testdata/list-replies.hex"));
    let set = objects::parse_set(wire::split_messages(&replies[0])[0].payload).unwrap();
    assert_eq!(set.name, V4);
    assert_eq!(set.comment.as_deref(), Some("net1 10.1.0.0/24"));
    let elems = objects::parse_set_elems(wire::split_messages(&replies[1])[0].payload);
    assert_eq!(elems, vec![Elem { key: vec![10, 1, 0, 5], comment: Some("cid1/eth0".into()) }]);
}

#[test]
fn names_and_cidrs() {
    let c = PodCidr::parse("10.1.2.3/20").unwrap();
    assert_eq!(c.subnet_string(), "10.1.0.0/20");
    assert_eq!(PodCidr::parse("fd00:1::5/64").unwrap().subnet_string(), "fd00:1::/64");
    assert!(PodCidr::parse("10.1.2.3").is_err());
    assert!(PodCidr::parse("10.1.2.3/33").is_err());
    assert!(PodCidr::parse("10.1.2.3/0").is_err());
    let n = set_name("net1", "10.1.0.0/24", &[]);
    assert!(n.starts_with("masq-") && n.len() == 21);
    assert_ne!(n, set_name("net1", "10.2.0.0/24", &[]));
    assert_eq!(set_comment("net1", "10.1.0.0/24"), "net1 10.1.0.0/24");
    assert_eq!(elem_comment("abc", "eth0"), "abc/eth0");
}

#[test]
fn prefix_match_shapes() {
    assert_eq!(
        objects::daddr_prefix(Ip::V4, &[224, 0, 0, 0], 4, CmpOp::Eq),
        vec![
            Expr::Payload { offset: 16, len: 4 },
            Expr::Bitwise { mask: vec![0xf0, 0, 0, 0] },
            Expr::Cmp { op: CmpOp::Eq, data: vec![224, 0, 0, 0] }
        ]
    );
    assert_eq!(
        objects::daddr_prefix(Ip::V4, &[10, 1, 0, 0], 16, CmpOp::Neq),
        vec![Expr::Payload { offset: 16, len: 2 }, Expr::Cmp { op: CmpOp::Neq, data: vec![10, 1] }]
    );
}

#[test]
fn nested_attrs_roundtrip() {
    let mut a = wire::Attrs::new();
    a.str(1, "abc").nest(2, |n| {
        n.u32be(1, 7);
    });
    let parsed: Vec<(u16, Vec<u8>)> = wire::parse_attrs(a.bytes()).map(|(t, v)| (t, v.to_vec())).collect();
    assert_eq!(parsed[0], (1, b"abc\0".to_vec()));
    assert_eq!(parsed[1].0, 2);
    assert_eq!(wire::find_attr(&parsed[1].1, 1), Some(&[0, 0, 0, 7][..]));
}

/// Live round trip in a private network namespace made by unshare on a throwaway thread. The
/// namespace dies with the test process.
#[test]
#[ignore = "needs root (CAP_SYS_ADMIN) and nf_tables: make test runs it with --include-ignored"]
fn live_masq_in_private_netns() {
    use super::masq::{masq_add, masq_del, masq_list, MasqRequest};
    let res = std::thread::spawn(|| {
        // SAFETY: unshare affects only this thread, which ends with the test.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare: {}", std::io::Error::last_os_error());
        let ns = format!("/proc/self/task/{}/ns/net", unsafe { libc::gettid() });
        let req = |cid: &str, addrs: &[&str]| MasqRequest {
            host_netns: Some(ns.clone()),
            network: "live".into(),
            container_id: cid.into(),
            ifname: "eth0".into(),
            addresses: addrs.iter().map(|s| s.to_string()).collect(),
            non_masquerade_cidrs: None,
        };
        masq_add(&req("c1", &["10.77.0.2/24", "fd77::2/64"])).unwrap();
        masq_add(&req("c2", &["10.77.0.3/24"])).unwrap();
        masq_add(&req("c2", &["10.77.0.3/24"])).unwrap(); // idempotent re-ADD
        let mut got: Vec<String> = masq_list(Some(&ns), Some("live"))
            .unwrap()
            .into_iter()
            .map(|e| format!("{}/{} {}", e.container_id, e.ifname, e.address))
            .collect();
        got.sort();
        assert_eq!(got, ["c1/eth0 10.77.0.2/24", "c1/eth0 fd77::2/64", "c2/eth0 10.77.0.3/24"]);
        masq_del(&req("c1", &[])).unwrap(); // found by comment
        masq_del(&req("c2", &["10.77.0.3/24"])).unwrap();
        masq_del(&req("c2", &["10.77.0.3/24"])).unwrap(); // idempotent
        assert!(masq_list(Some(&ns), None).unwrap().is_empty());
    })
    .join();
    res.expect("live test thread panicked");
}
