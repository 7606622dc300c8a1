//! Portmap encoding against captures of nft 1.0.6 (taken as for tests.rs, in a throwaway
//! namespace; the nft input of each capture is quoted above its test), the element plan, and a
//! live round trip.

use super::portmap::{net_rules, owner, plan, PortMapping, PortmapCondition, PortmapRequest};
use super::portmap_objects::{self as po, Family, MapElem, SetKind};
use super::tests::{assert_msgs_eq, batch_messages, fixture};
use super::wire::{Msg, MsgType, NLM_F_CREATE, NLM_F_EXCL};

fn mapping(proto: &str, host: u32, container: u32, host_ip: Option<&str>) -> PortMapping {
    PortMapping { host_port: host, container_port: container, protocol: proto.into(), host_ip: host_ip.map(str::to_string) }
}

fn request(cid: &str, ips: &[&str], mappings: Vec<PortMapping>) -> PortmapRequest {
    PortmapRequest {
        network: "net1".into(),
        container_id: cid.into(),
        ifname: "eth0".into(),
        container_ips: ips.iter().map(|s| s.to_string()).collect(),
        mappings,
        snat: true,
        ..Default::default()
    }
}

/// nft sends the table without CREATE and creates chains and sets without EXCL (we want the
/// EEXIST that tells a concurrent first use); the rest is identical.
fn as_nft_sends(mut msgs: Vec<Msg>) -> Vec<Msg> {
    for m in &mut msgs {
        m.flags &= !NLM_F_EXCL;
        if m.ty == MsgType::NewTable {
            m.flags = 0;
        }
    }
    msgs
}

fn add_msgs(req: &PortmapRequest) -> Vec<Msg> {
    plan(req).unwrap().iter().map(|g| po::new_elems(g.family, g.set, g.net.as_deref(), &g.elems, NLM_F_CREATE)).collect()
}

/* table ip fastcni-portmap {
  map hostports { type inet_proto . inet_service : ipv4_addr . inet_service; }
  map hostip-hostports { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
  set hairpin { type ipv4_addr . ipv4_addr; }
  set masq-all { type ipv4_addr; }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local dnat to ip daddr . meta l4proto . th dport map @hostip-hostports
    fib daddr type local dnat to meta l4proto . th dport map @hostports
  }
  chain output { type nat hook output priority -100; policy accept; (the same two rules) }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    ip saddr . ip daddr @hairpin masquerade
    ip daddr @masq-all masquerade
  }
}
add element ip fastcni-portmap hostports { tcp . 8080 comment "net1 cid1/eth0" : 10.1.0.5 . 80 }
add element ip fastcni-portmap hostip-hostports { 192.168.1.1 . udp . 53 comment "net1 cid1/eth0" : 10.1.0.5 . 5353 }
add element ip fastcni-portmap hairpin { 10.1.0.5 . 10.1.0.5 comment "net1 cid1/eth0", 127.0.0.1 . 10.1.0.5 comment "net1 cid1/eth0" } */
#[test]
fn v4_setup_and_elements_match_nft() {
    let req = request("cid1", &["10.1.0.5"], vec![mapping("tcp", 8080, 80, None), mapping("udp", 53, 5353, Some("192.168.1.1"))]);
    let mut msgs = as_nft_sends(po::setup_msgs(Family::V4));
    msgs.extend(add_msgs(&req));
    assert_msgs_eq(&batch_messages(&msgs), &fixture(include_str!("testdata/portmap-all4.hex")));
}

/* The same in table ip6 fastcni-portmap (ipv6_addr, ip6 saddr/daddr), then
add element ip6 fastcni-portmap hostports { tcp . 8080 comment "net1 cid1/eth0" : fd00:1::5 . 80 }
add element ip6 fastcni-portmap hostip-hostports { fd00:ff::1 . udp . 53 comment "net1 cid1/eth0" : fd00:1::5 . 5353 }
add element ip6 fastcni-portmap hairpin { fd00:1::5 . fd00:1::5 comment "net1 cid1/eth0" }
add element ip6 fastcni-portmap masq-all { fd00:1::5 comment "net1 cid1/eth0" } */
#[test]
fn v6_setup_and_elements_match_nft() {
    let req = request("cid1", &["fd00:1::5"], vec![mapping("tcp", 8080, 80, None), mapping("udp", 53, 5353, Some("fd00:ff::1"))]);
    let mut msgs = as_nft_sends(po::setup_msgs(Family::V6));
    msgs.extend(add_msgs(&req));
    let pod: std::net::Ipv6Addr = "fd00:1::5".parse().unwrap();
    let c = Some(owner("net1", "cid1", "eth0"));
    msgs.push(po::new_elems(
        Family::V6,
        SetKind::MasqAll,
        None,
        &[MapElem { key: pod.octets().to_vec(), data: None, comment: c }],
        NLM_F_CREATE,
    ));
    assert_msgs_eq(&batch_messages(&msgs), &fixture(include_str!("testdata/portmap-all6.hex")));
}

/* add element ip fastcni-portmap hostports { tcp . 8081 comment "net1 cid2/eth0" : 10.1.0.6 . 80, udp . 5353 comment "net1 cid2/eth0" : 10.1.0.6 . 53 }
add element ip fastcni-portmap hairpin { 10.1.0.6 . 10.1.0.6 comment "net1 cid2/eth0", 127.0.0.1 . 10.1.0.6 comment "net1 cid2/eth0" }
(the table exists: a pod's ADD is this one batch) */
#[test]
fn a_pods_elements_are_one_batch_as_nft_sends_it() {
    let req = request("cid2", &["10.1.0.6"], vec![mapping("tcp", 8081, 80, None), mapping("UDP", 5353, 53, None)]);
    assert_msgs_eq(&batch_messages(&add_msgs(&req)), &fixture(include_str!("testdata/portmap-elem.hex")));
}

fn cond(selector: &str, negate: bool, value: &str) -> PortmapCondition {
    PortmapCondition { selector: selector.into(), negate, value: value.into() }
}

/// A network's own maps and rules, as nft sends them for (`M`: the suffix, 0123456789abcdef):
/// add map ip fastcni-portmap hostports-M { type inet_proto . inet_service : ipv4_addr . inet_service; comment "net1"; }
/// add map ip fastcni-portmap hostip-hostports-M { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; comment "net1"; }
/// add rule ip fastcni-portmap prerouting C fib daddr type local dnat to ip daddr . meta l4proto . th dport map @hostip-hostports-M comment "K"
/// add rule ip fastcni-portmap prerouting C fib daddr type local dnat to meta l4proto . th dport map @hostports-M comment "K"
/// (the same two rules in chain output), with
/// C = ip saddr != 10.0.0.0/8 iifname "eth*" ip daddr 192.168.1.1 meta iifname != "lo" ip saddr 10.1.2.0/23
/// K = ip saddr != 10.0.0.0/8 iifname eth* ip daddr 192.168.1.1 iifname != lo ip saddr 10.1.2.0/23
fn net_msgs(f: Family, conds: Vec<PortmapCondition>) -> Vec<Msg> {
    let mut req = request("c", &[], vec![]);
    match f {
        Family::V4 => req.conditions_v4 = Some(conds),
        Family::V6 => req.conditions_v6 = Some(conds),
    }
    let mut n = net_rules(&req, f).unwrap().unwrap();
    n.suffix = "0123456789abcdef".into();
    as_nft_sends(po::net_setup_msgs(f, &n, NLM_F_CREATE | NLM_F_EXCL))
}

#[test]
fn v4_network_rules_with_conditions_match_nft() {
    let conds = vec![
        cond("ip saddr", true, "10.0.0.0/8"),
        cond("iifname", false, "eth*"),
        cond("ip daddr", false, "192.168.1.1"),
        cond("iifname", true, "lo"),
        cond("ip saddr", false, "10.1.2.0/23"),
    ];
    assert_msgs_eq(&batch_messages(&net_msgs(Family::V4, conds)), &fixture(include_str!("testdata/portmap-net4.hex")));
}

/// As above in table ip6, with C = K = ip6 saddr != fd00::/8 ip6 daddr fd00:1::1 ip6 saddr fd00:1:0:0:8000::/65
#[test]
fn v6_network_rules_with_conditions_match_nft() {
    let conds =
        vec![cond("ip6 saddr", true, "fd00::/8"), cond("ip6 daddr", false, "fd00:1::1"), cond("ip6 saddr", false, "fd00:1:0:0:8000::/65")];
    assert_msgs_eq(&batch_messages(&net_msgs(Family::V6, conds)), &fixture(include_str!("testdata/portmap-net6.hex")));
}

#[test]
fn conditions_route_the_network_to_its_own_maps_and_bad_ones_are_refused() {
    let mut req = request("c", &["10.1.0.5", "fd00::5"], vec![mapping("tcp", 80, 8080, None)]);
    req.conditions_v4 = Some(vec![cond("ip saddr", true, "10.0.0.0/8")]);
    let groups = plan(&req).unwrap();
    let net = |f: Family, s: SetKind| groups.iter().find(|g| g.family == f && g.set == s).map(|g| g.net.clone());
    assert_eq!(net(Family::V4, SetKind::Ports), Some(Some(super::portmap::net_suffix("net1"))));
    assert_eq!(net(Family::V4, SetKind::Hairpin), Some(None)); // masquerade stays shared
    assert_eq!(net(Family::V6, SetKind::Ports), Some(None)); // no conditionsV6
    for bad in [
        cond("tcp dport", false, "80"),
        cond("ip saddr", false, "fd00::1"),
        cond("ip6 saddr", false, "fd00::1"),
        cond("iifname", false, "*"),
    ] {
        req.conditions_v4 = Some(vec![bad.clone()]);
        assert!(plan(&req).is_err(), "{bad:?}");
    }
}

#[test]
fn plan_follows_the_reference_per_family() {
    let m = vec![mapping("tcp", 80, 8080, Some("10.0.0.1")), mapping("tcp", 81, 8081, Some("::")), mapping("sctp", 82, 82, None)];
    let groups = plan(&request("c", &["10.1.0.5", "fd00::5"], m.clone())).unwrap();
    let count = |f: Family, s: SetKind| groups.iter().filter(|g| g.family == f && g.set == s).map(|g| g.elems.len()).sum::<usize>();
    // a hostIP of the other family is skipped there; an unspecified one means any address
    assert_eq!(count(Family::V4, SetKind::HostIpPorts), 1);
    assert_eq!(count(Family::V4, SetKind::Ports), 1);
    assert_eq!(count(Family::V6, SetKind::HostIpPorts), 0);
    assert_eq!(count(Family::V6, SetKind::Ports), 2);
    // hairpin for both, and 127.0.0.1 only for IPv4
    assert_eq!(count(Family::V4, SetKind::Hairpin), 2);
    assert_eq!(count(Family::V6, SetKind::Hairpin), 1);
    // masqAll: one element instead; no snat: none
    let mut all = request("c", &["10.1.0.5"], m.clone());
    all.masq_all = true;
    let g = plan(&all).unwrap();
    assert!(g.iter().any(|g| g.set == SetKind::MasqAll) && !g.iter().any(|g| g.set == SetKind::Hairpin));
    all.snat = false;
    assert!(plan(&all).unwrap().iter().all(|g| g.set.is_map()));
    // no mapping in a family: nothing at all there
    assert!(plan(&request("c", &["fd00::5"], vec![mapping("tcp", 80, 80, Some("10.0.0.1"))])).unwrap().is_empty());
    let bad = |m: PortMapping| plan(&request("c", &["10.1.0.5"], vec![m])).is_err();
    assert!(bad(mapping("tcp", 0, 80, None)) && bad(mapping("tcp", 65536, 80, None)) && bad(mapping("tcp", 80, 0, None)));
    assert!(bad(mapping("icmp", 80, 80, None)) && bad(mapping("tcp", 80, 80, Some("10.0.0.300"))));
}

/// Live round trip in a private network namespace.
#[test]
#[ignore = "needs root (CAP_SYS_ADMIN) and nf_tables: make test runs it with --include-ignored"]
fn live_portmap_in_private_netns() {
    use super::portmap::{portmap_gc, portmap_list, portmap_map, portmap_unmap};
    use super::reap::{GcAttachment, NftGcRequest};
    let res = std::thread::spawn(|| {
        // SAFETY: unshare affects only this thread, which ends with the test.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare: {}", std::io::Error::last_os_error());
        let ns = format!("/proc/self/task/{}/ns/net", unsafe { libc::gettid() });
        let add = |net: &str, cid: &str, ips: &[&str], m: Vec<PortMapping>| {
            let mut r = request(cid, ips, m);
            r.network = net.into();
            r.host_netns = Some(ns.clone());
            portmap_map(&r)
        };
        // DEL as a runtime that sends neither mappings nor prevResult
        let key = |net: &str, cid: &str| PortmapRequest {
            host_netns: Some(ns.clone()),
            network: net.into(),
            container_id: cid.into(),
            ifname: "eth0".into(),
            ..Default::default()
        };
        let list = || {
            let mut v: Vec<String> = portmap_list(Some(&ns), None)
                .unwrap()
                .into_iter()
                .map(|e| {
                    format!(
                        "{} {} {} {:?}/{:?}/{:?} {:?} {}:{:?}",
                        e.network, e.container_id, e.kind, e.protocol, e.host_ip, e.host_port, e.source, e.container_ip, e.container_port
                    )
                })
                .collect();
            v.sort();
            v
        };
        add("n1", "c1", &["10.1.0.5", "fd00::5"], vec![mapping("tcp", 8080, 80, None)]).unwrap();
        add("n1", "c1", &["10.1.0.5", "fd00::5"], vec![mapping("tcp", 8080, 80, None)]).unwrap(); // repeated ADD
        assert_eq!(list().len(), 5, "{:?}", list()); // a dnat and hairpins per family, 127.0.0.1 for v4
                                                     // another attachment on the same host port: refused, and nothing of it is added
        let e = add("n1", "c2", &["10.1.0.6"], vec![mapping("udp", 5353, 53, None), mapping("tcp", 8080, 80, None)]).unwrap_err();
        assert!(e.message.contains("tcp/8080 is already mapped") && e.message.contains("c1/eth0"), "{}", e.message);
        assert_eq!(list().len(), 5);
        // the same port on a given host address is another key
        add("n2", "c3", &["10.2.0.7"], vec![mapping("tcp", 8080, 80, Some("192.168.0.1"))]).unwrap();
        assert!(
            list().contains(&r#"n2 c3 dnat Some("tcp")/Some("192.168.0.1")/Some(8080) None 10.2.0.7:Some(80)"#.to_string()),
            "{:?}",
            list()
        );
        // GC of n1 keeps the valid c1 and never touches n2
        let gc = |net: &str, valid: &[&str]| NftGcRequest {
            host_netns: Some(ns.clone()),
            network: net.into(),
            valid: valid.iter().map(|c| GcAttachment { container_id: c.to_string(), ifname: "eth0".into() }).collect(),
        };
        portmap_gc(&gc("n1", &["c1"])).unwrap();
        assert_eq!(list().len(), 8); // c3: its dnat and two hairpins
        portmap_gc(&gc("n2", &[])).unwrap();
        assert_eq!(list().len(), 5);
        // DEL with addresses and mappings: by key, and only the attachment's own elements
        let full = |cid: &str| PortmapRequest {
            host_netns: Some(ns.clone()),
            ..request(cid, &["10.1.0.5", "fd00::5"], vec![mapping("tcp", 8080, 80, None)])
        };
        portmap_unmap(&PortmapRequest { network: "n1".into(), ..full("c9") }).unwrap();
        assert_eq!(list().len(), 5);
        // with addresses and no mappings, the masquerade element tells whether there is anything:
        // none for this address, so nothing is looked for
        portmap_unmap(&PortmapRequest { network: "n1".into(), mappings: vec![], container_ips: vec!["10.9.9.9".into()], ..full("c1") })
            .unwrap();
        assert_eq!(list().len(), 5);
        portmap_unmap(&PortmapRequest { network: "n1".into(), ..full("c1") }).unwrap();
        assert!(list().is_empty(), "{:?}", list());
        portmap_unmap(&key("n1", "c1")).unwrap(); // idempotent
                                                  // the port is free again
        add("n1", "c2", &["10.1.0.6"], vec![mapping("tcp", 8080, 80, None)]).unwrap();
        portmap_unmap(&key("n1", "c2")).unwrap();
    })
    .join();
    res.expect("live test thread panicked");
}

/// Live round trip of a network with conditions in a private network namespace: its own maps and
/// rules, one host port across every map of the family, rules replaced when the conditions change,
/// and the network's objects gone with its last element (DEL and GC).
#[test]
#[ignore = "needs root (CAP_SYS_ADMIN) and nf_tables: make test runs it with --include-ignored"]
fn live_network_conditions_in_private_netns() {
    use super::pool;
    use super::portmap::{
        net_rules_in_kernel, net_suffix, net_suffixes, portmap_check, portmap_gc, portmap_list, portmap_map, portmap_unmap,
    };
    use super::reap::NftGcRequest;
    let res = std::thread::spawn(|| {
        // SAFETY: unshare affects only this thread, which ends with the test.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare: {}", std::io::Error::last_os_error());
        let ns = format!("/proc/self/task/{}/ns/net", unsafe { libc::gettid() });
        let req = |net: &str, cid: &str, ip: &str, port: u32, conds: Option<Vec<PortmapCondition>>| PortmapRequest {
            host_netns: Some(ns.clone()),
            network: net.into(),
            conditions_v4: conds,
            ..request(cid, &[ip], vec![mapping("tcp", port, 80, None)])
        };
        let a = || Some(vec![cond("ip saddr", true, "10.9.0.1")]);
        let b = || Some(vec![cond("ip saddr", true, "10.9.0.2"), cond("iifname", false, "veth*")]);
        let own = || net_suffixes(&mut pool::lease(Some(&ns)).unwrap(), Family::V4).unwrap();
        let rules =
            || net_rules_in_kernel(&mut pool::lease(Some(&ns)).unwrap(), Family::V4, &net_suffix("n1")).unwrap().unwrap_or_default();
        let owners = || {
            let mut v: Vec<String> = portmap_list(Some(&ns), None)
                .unwrap()
                .into_iter()
                .filter(|e| e.kind == "dnat")
                .map(|e| format!("{} {} {:?}", e.network, e.container_id, e.host_port))
                .collect();
            v.sort();
            v
        };
        portmap_map(&req("n1", "c1", "10.1.0.5", 8080, a())).unwrap();
        assert_eq!(own(), vec![net_suffix("n1")]);
        assert_eq!(rules().len(), 4);
        assert_eq!(owners(), vec!["n1 c1 Some(8080)"]);
        // one host port is one pod's whatever map it is in, both ways
        let e = portmap_map(&req("n2", "c2", "10.2.0.5", 8080, None)).unwrap_err();
        assert!(e.message.contains("tcp/8080 is already mapped") && e.message.contains("c1/eth0 of network n1"), "{}", e.message);
        portmap_map(&req("n2", "c2", "10.2.0.5", 9090, None)).unwrap();
        let e = portmap_map(&req("n1", "c3", "10.1.0.6", 9090, a())).unwrap_err();
        assert!(e.message.contains("c2/eth0 of network n2"), "{}", e.message);
        // a network's first ADD refused: none of its maps or rules stays
        assert!(portmap_map(&req("n3", "c5", "10.3.0.6", 9090, a())).is_err());
        assert_eq!(own(), vec![net_suffix("n1")]);
        // the latest ADD's conditions apply to the network: its rules are replaced, CHECK tells
        assert!(portmap_check(&req("n1", "c1", "10.1.0.5", 8080, a())).unwrap().is_empty());
        portmap_map(&req("n1", "c1", "10.1.0.5", 8080, b())).unwrap();
        assert_eq!(rules().len(), 4);
        assert!(rules().iter().all(|(_, _, c)| c.as_deref() == Some("ip saddr != 10.9.0.2 iifname veth*")), "{:?}", rules());
        let p = portmap_check(&req("n1", "c1", "10.1.0.5", 8080, a())).unwrap();
        assert!(p.len() == 1 && p[0].contains("do not carry its conditions"), "{p:?}");
        // DEL of the network's last pod (without mappings or prevResult) takes its maps and rules
        portmap_unmap(&PortmapRequest {
            host_netns: Some(ns.clone()),
            network: "n1".into(),
            container_id: "c1".into(),
            ifname: "eth0".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(own().is_empty() && rules().is_empty(), "{:?} {:?}", own(), rules());
        assert_eq!(owners(), vec!["n2 c2 Some(9090)"]);
        // DEL by key (mappings and address resent) and GC likewise; n2's shared elements stay
        portmap_map(&req("n1", "c4", "10.1.0.7", 7070, a())).unwrap();
        portmap_unmap(&req("n1", "c4", "10.1.0.7", 7070, None)).unwrap();
        assert!(own().is_empty() && rules().is_empty());
        portmap_map(&req("n1", "c4", "10.1.0.7", 7070, a())).unwrap();
        portmap_gc(&NftGcRequest { host_netns: Some(ns.clone()), network: "n1".into(), valid: vec![] }).unwrap();
        assert!(own().is_empty() && rules().is_empty());
        assert_eq!(owners(), vec!["n2 c2 Some(9090)"]);
    })
    .join();
    res.expect("live test thread panicked");
}

#[test]
fn comments_longer_than_a_udata_tlv_can_say_are_refused_and_never_mis_encoded() {
    // a network name the skel accepts (255 bytes) makes an element comment over 255 bytes
    let mut req = request("c", &["10.1.0.5"], vec![mapping("tcp", 80, 8080, None)]);
    req.network = "n".repeat(255);
    let e = plan(&req).unwrap_err();
    assert!(e.message.contains("too long for an nf_tables comment"), "{}", e.message);
    // the TLV writer itself: the length byte is always that of the bytes that follow
    let mut ud = Vec::new();
    super::wire::udata_put(&mut ud, 2, &[b'x'; 300]);
    assert_eq!((ud[1], ud.len()), (255, 257));
    assert_eq!(super::wire::udata_find(&ud, 2).map(<[u8]>::len), Some(255));
}
