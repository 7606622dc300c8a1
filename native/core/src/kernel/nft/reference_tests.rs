//! The reference plugins' names (values from an independent SHA-512, as pkg/utils formats them),
//! then a live removal in a private namespace: only the attachment's chain and the rule that
//! jumps to it go, another pod's stay. The removal of objects the reference binaries made is
//! tested end to end in test/integration/migration.test.ts.

use super::objects::{self, Table};
use super::reference::{masq_chain, masq_comment_prefix, portmap_chains, reference_del, spoof_chains, ReferenceDelRequest};
use super::wire::{NFPROTO_IPV4, NLM_F_APPEND, NLM_F_CREATE};

#[test]
fn names_as_the_reference_formats_them() {
    assert_eq!(masq_chain("net", "pod1"), "CNI-18e4b887dc77d232b165ca95");
    assert_eq!(portmap_chains("net", "pod1")[0], "CNI-DN-18e4b887dc77d232b165c");
    assert_eq!(masq_comment_prefix("net", "eth0", "pod1"), "a4861f4ae9f7d238-6355d90ba0c2d0cc");
    assert_eq!(spoof_chains("c1", "eth0"), ["cni-br-iface-c1-eth0", "cni-br-iface-c1-eth0-mac"]);
}

#[test]
#[ignore = "needs root (CAP_SYS_ADMIN) and nf_tables: make test runs it with --include-ignored"]
fn live_removes_only_the_attachments_chain() {
    const NAT: Table<'static> = Table { family: NFPROTO_IPV4, name: "nat" };
    let res = std::thread::spawn(|| {
        // SAFETY: unshare affects only this thread, which ends with the test.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare: {}", std::io::Error::last_os_error());
        let ns = format!("/proc/self/task/{}/ns/net", unsafe { libc::gettid() });
        let (mine, other) = (masq_chain("net", "pod1"), masq_chain("net", "pod2"));
        let mut sock = super::socket::NftSocket::open(None).unwrap();
        let mut msgs =
            vec![objects::new_table(NAT, NLM_F_CREATE), objects::new_nat_postrouting_chain(NAT, "POSTROUTING", 100, NLM_F_CREATE)];
        for chain in [&mine, &other] {
            msgs.push(objects::new_chain(NAT, chain, NLM_F_CREATE));
            msgs.push(objects::new_rule(NAT, "POSTROUTING", &objects::jump_rule(chain), NLM_F_CREATE | NLM_F_APPEND));
        }
        sock.transact("set up", &msgs).unwrap().unwrap();
        let req = ReferenceDelRequest {
            host_netns: Some(ns.clone()),
            network: "net".into(),
            container_id: "pod1".into(),
            ifname: "eth0".into(),
            masquerade: true,
            ..Default::default()
        };
        let done = reference_del(&req).unwrap();
        assert_eq!(done.removed, ["rule ip nat POSTROUTING".to_string(), format!("chain ip nat {mine}")]);
        assert!(done.legacy_tables.is_empty());
        let left: Vec<String> =
            sock.dump("list", &objects::dump_chains(NAT)).unwrap().iter().filter_map(|p| objects::parse_chain_name(p)).collect();
        assert_eq!(left, ["POSTROUTING", other.as_str()]);
        let jumps: Vec<String> = sock
            .dump("list", &objects::dump_rules(NAT, "POSTROUTING"))
            .unwrap()
            .iter()
            .filter_map(|p| objects::parse_rule_jump(p))
            .collect();
        assert_eq!(jumps, [other.as_str()]);
        assert!(reference_del(&req).unwrap().removed.is_empty(), "a second DEL finds nothing");
    })
    .join();
    res.expect("live test thread panicked");
}
