//! Firewall encoding against captures of nft 1.0.6 (taken as for tests.rs, in a throwaway
//! namespace; the nft input of each capture is quoted above its test), plus a live round trip.

use super::firewall::{firewall_add, firewall_del, firewall_gc, firewall_inspect, FirewallDelRequest, FirewallRequest, Need, Plan, SetIds};
use super::objects::{self, Elem, Table};
use super::reap::{GcAttachment, NftGcRequest};
use super::tests::{assert_msgs_eq, batch_messages, fixture};
use super::wire::NFPROTO_INET;

const T: Table<'static> = Table { family: NFPROTO_INET, name: "fastcni-firewall" };

/// A request under `policy` on `bridge`, given as "policy" or "policy bridge".
fn request(network: &str, admin: &str, cid: &str, addresses: &[&str], policy: &str) -> FirewallRequest {
    let (policy, bridge) = policy.split_once(' ').map_or((policy, None), |(p, b)| (p, Some(b)));
    FirewallRequest {
        host_netns: None,
        network: network.into(),
        container_id: cid.into(),
        ifname: "eth0".into(),
        admin_chain: admin.into(),
        addresses: addresses.iter().map(|a| a.to_string()).collect(),
        ingress_policy: policy.into(),
        bridge: bridge.map(str::to_string),
    }
}

fn plan(req: &FirewallRequest, hex: &str) -> Plan {
    let mut p = Plan::new(req).unwrap();
    p.sets = [format!("pods4-{hex}"), format!("pods6-{hex}")];
    p
}

/* table inet fastcni-firewall {
  set policy-bridges { type ifname; }
  set bridge-pairs { type ifname . ifname; }
  set isolated-pairs { type ifname . ifname; }
  set pods4-0123456789abcdef { type ipv4_addr; comment "net1 CNI-ADMIN"; }
  set pods6-0123456789abcdef { type ipv6_addr; comment "net1 CNI-ADMIN"; }
  chain forward { type filter hook forward priority filter; policy accept;
    jump isolation
    jump admin
    ip daddr @pods4-0123456789abcdef ct state established,related accept
    ip saddr @pods4-0123456789abcdef accept
    ip6 daddr @pods6-0123456789abcdef ct state established,related accept
    ip6 saddr @pods6-0123456789abcdef accept
  }
  chain isolation {
    iifname . oifname @isolated-pairs drop
    iifname @policy-bridges oifname @policy-bridges iifname . oifname != @bridge-pairs drop
  }
  chain admin {
    jump CNI-ADMIN
  }
  chain CNI-ADMIN {
  }
}
create element inet fastcni-firewall pods4-0123456789abcdef { 10.1.0.5 comment "cid1/eth0" }
create element inet fastcni-firewall pods6-0123456789abcdef { fd00:1::5 comment "cid1/eth0" }
add element inet fastcni-firewall policy-bridges { "cni0" }
add element inet fastcni-firewall bridge-pairs { "cni0" . "cni0" }
add element inet fastcni-firewall isolated-pairs { "cni0" . "cni0" } */
#[test]
fn firewall_setup_batch_matches_nft() {
    let req = request("net1", "CNI-ADMIN", "cid1", &["10.1.0.5", "fd00:1::5"], "isolated cni0");
    let p = plan(&req, "0123456789abcdef");
    let (mut msgs, ids) = p.setup_msgs(Need { core: true, admin: true, sets: true });
    msgs.extend(p.elem_msgs(&ids, &[]));
    assert_msgs_eq(&batch_messages(&msgs), &fixture(include_str!("testdata/firewall-all.hex")));
}

/* create element inet fastcni-firewall pods4-0123456789abcdef { 10.1.0.6 comment "cid2/eth0" }
create element inet fastcni-firewall pods6-0123456789abcdef { fd00:1::6 comment "cid2/eth0" }
add element inet fastcni-firewall policy-bridges { "cni1" }
add element inet fastcni-firewall bridge-pairs { "cni1" . "cni1" }
(the sets exist; nft still names them by id as well, which our ADD does not) */
#[test]
fn firewall_element_batch_matches_nft() {
    let req = request("net1", "CNI-ADMIN", "cid2", &["10.1.0.6", "fd00:1::6"], "same-bridge cni1");
    let p = plan(&req, "0123456789abcdef");
    let ids = SetIds { policy: Some(1), pairs: Some(2), isolated: Some(3), pods: [Some(4), Some(5)] };
    assert_msgs_eq(&batch_messages(&p.elem_msgs(&ids, &[])), &fixture(include_str!("testdata/firewall-elem.hex")));
}

/* delete element inet fastcni-firewall pods4-0123456789abcdef { 10.1.0.6 }
delete element inet fastcni-firewall pods6-0123456789abcdef { fd00:1::6 } */
#[test]
fn firewall_delete_batch_matches_nft() {
    let mut six = vec![0u8; 16];
    (six[0], six[3], six[15]) = (0xfd, 1, 6);
    let msgs = [
        objects::del_set_elems(T, "pods4-0123456789abcdef", &[Elem { key: vec![10, 1, 0, 6], comment: None }]),
        objects::del_set_elems(T, "pods6-0123456789abcdef", &[Elem { key: six, comment: None }]),
    ];
    assert_msgs_eq(&batch_messages(&msgs), &fixture(include_str!("testdata/firewall-del.hex")));
}

/* add chain inet fastcni-firewall MY-ADMIN
add set inet fastcni-firewall pods4-fedcba9876543210 { type ipv4_addr; comment "net2 MY-ADMIN"; }
add set inet fastcni-firewall pods6-fedcba9876543210 { type ipv6_addr; comment "net2 MY-ADMIN"; }
add rule inet fastcni-firewall forward ip daddr @pods4-fedcba9876543210 ct state established,related accept
add rule inet fastcni-firewall forward ip saddr @pods4-fedcba9876543210 accept
add rule inet fastcni-firewall forward ip6 daddr @pods6-fedcba9876543210 ct state established,related accept
add rule inet fastcni-firewall forward ip6 saddr @pods6-fedcba9876543210 accept
add rule inet fastcni-firewall admin jump MY-ADMIN
create element inet fastcni-firewall pods4-fedcba9876543210 { 10.2.0.5 comment "cid3/eth0" }
(the table exists: a second network with an admin chain of its own) */
#[test]
fn firewall_network_setup_batch_matches_nft() {
    let req = request("net2", "MY-ADMIN", "cid3", &["10.2.0.5"], "open");
    let p = plan(&req, "fedcba9876543210");
    let (mut msgs, ids) = p.setup_msgs(Need { core: false, admin: true, sets: true });
    msgs.extend(p.elem_msgs(&ids, &[]));
    assert_msgs_eq(&batch_messages(&msgs), &fixture(include_str!("testdata/firewall-net.hex")));
}

#[test]
fn firewall_refuses_bad_requests() {
    let bad = |r: FirewallRequest| Plan::new(&r).is_err();
    assert!(bad(request("n", "CNI-ADMIN", "c", &[], "strict br0")));
    assert!(bad(request("n", "forward", "c", &[], "open")));
    assert!(bad(request("n", "", "c", &[], "open")));
    assert!(bad(request("n", "CNI-ADMIN", "c", &[], "isolated")));
    assert!(bad(request("n", "CNI-ADMIN", "c", &["10.0.0.300"], "open")));
    assert!(!bad(request("n", "CNI-ADMIN", "c", &["10.0.0.3", "fd00::3"], "isolated br0")));
}

/// Live round trip in a private network namespace.
#[test]
#[ignore = "needs root (CAP_SYS_ADMIN) and nf_tables: make test runs it with --include-ignored"]
fn live_firewall_in_private_netns() {
    let res = std::thread::spawn(|| {
        // SAFETY: unshare affects only this thread, which ends with the test.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare: {}", std::io::Error::last_os_error());
        let ns = format!("/proc/self/task/{}/ns/net", unsafe { libc::gettid() });
        let add = |net: &str, admin: &str, cid: &str, addrs: &[&str]| {
            let mut r = request(net, admin, cid, addrs, "isolated br0");
            r.host_netns = Some(ns.clone());
            r
        };
        let del = |net: &str, cid: &str| FirewallDelRequest {
            host_netns: Some(ns.clone()),
            network: net.into(),
            container_id: cid.into(),
            ifname: "eth0".into(),
        };
        // no address and no policy: nothing to set up, as the reference
        let mut bare = add("n0", "CNI-ADMIN", "c0", &[]);
        bare.ingress_policy = "open".into();
        firewall_add(&bare).unwrap();
        assert!(!firewall_inspect(&bare).unwrap().admin_jump);
        firewall_add(&add("n1", "CNI-ADMIN", "c1", &["10.1.0.5", "fd00::5"])).unwrap();
        firewall_add(&add("n1", "CNI-ADMIN", "c1", &["10.1.0.5", "fd00::5"])).unwrap(); // idempotent re-ADD
        firewall_add(&add("n1", "CNI-ADMIN", "c2", &["10.1.0.6"])).unwrap();
        // the address reused by a new pod after a missed DEL: the newest ADD owns it
        firewall_add(&add("n1", "CNI-ADMIN", "c3", &["10.1.0.6"])).unwrap();
        firewall_add(&add("n2", "OTHER-ADMIN", "c9", &["10.2.0.9"])).unwrap();
        let seen = firewall_inspect(&add("n1", "CNI-ADMIN", "c1", &[])).unwrap();
        assert_eq!(seen.addresses, ["10.1.0.5", "fd00::5"]);
        assert!(seen.admin_jump && seen.policy_bridge && seen.isolated_bridge);
        assert!(firewall_inspect(&add("n1", "CNI-ADMIN", "c2", &[])).unwrap().addresses.is_empty());
        assert_eq!(firewall_inspect(&add("n1", "CNI-ADMIN", "c3", &[])).unwrap().addresses, ["10.1.0.6"]);
        assert!(firewall_inspect(&add("n2", "OTHER-ADMIN", "c9", &[])).unwrap().admin_jump);
        firewall_del(&del("n1", "c2")).unwrap(); // stale: c3 owns the address
        assert_eq!(firewall_inspect(&add("n1", "CNI-ADMIN", "c3", &[])).unwrap().addresses, ["10.1.0.6"]);
        firewall_del(&del("n1", "c1")).unwrap();
        firewall_del(&del("n1", "c1")).unwrap(); // idempotent
        assert!(firewall_inspect(&add("n1", "CNI-ADMIN", "c1", &[])).unwrap().addresses.is_empty());
        let gc = |net: &str, valid: &[&str]| NftGcRequest {
            host_netns: Some(ns.clone()),
            network: net.into(),
            valid: valid.iter().map(|c| GcAttachment { container_id: c.to_string(), ifname: "eth0".into() }).collect(),
        };
        firewall_gc(&gc("n1", &[])).unwrap(); // c3 goes; n2's c9 stays
        assert!(firewall_inspect(&add("n1", "CNI-ADMIN", "c3", &[])).unwrap().addresses.is_empty());
        assert_eq!(firewall_inspect(&add("n2", "OTHER-ADMIN", "c9", &[])).unwrap().addresses, ["10.2.0.9"]);
        // n1's sets went with their last element; its next ADD sets them up again
        firewall_add(&add("n1", "CNI-ADMIN", "c4", &["10.1.0.7"])).unwrap();
        assert_eq!(firewall_inspect(&add("n1", "CNI-ADMIN", "c4", &[])).unwrap().addresses, ["10.1.0.7"]);
        firewall_del(&del("n3", "c1")).unwrap(); // network never set up
    })
    .join();
    res.expect("live test thread panicked");
}
