//! Removal of empty sets and their rules: the messages against captures (nft 1.0.6 for the
//! deletions, the generation request and the rule dumps with the kernel's replies; iptables-nft
//! 1.8.9 for a batch that carries a generation, which nft does not send), taken as for tests.rs
//! in throwaway namespaces; then live runs in private namespaces, concurrent ones included.

use super::objects::{self, Table};
use super::tests::{assert_msgs_eq, batch_messages, fixture, to_hex};
use super::wire::{self, NFPROTO_BRIDGE, NFPROTO_INET};

const T: Table<'static> = Table { family: NFPROTO_INET, name: "fastcni" };
const BT: Table<'static> = Table { family: NFPROTO_BRIDGE, name: "fastcni" };
const V4: &str = "masq-0123456789abcdef";
const IFS: &str = "spoof-if-0123456789abcdef";
const MACS: &str = "spoof-mac-0123456789abcdef";

/* (the ruleset of tests.rs with only the IPv4 set; its masquerade rule got handle 5)
delete rule inet fastcni postrouting handle 5
delete set inet fastcni masq-0123456789abcdef */
#[test]
fn masq_reap_batch_matches_nft() {
    let nft = fixture(include_str!("testdata/reap.hex"));
    let ours = batch_messages(&[objects::del_rule(T, "postrouting", 5), objects::del_set(T, V4)]);
    assert_msgs_eq(&ours, &nft);
}

/* (the ruleset of spoof_tests.rs; its rule got handle 4)
delete rule bridge fastcni prerouting handle 4
delete set bridge fastcni spoof-if-0123456789abcdef
delete set bridge fastcni spoof-mac-0123456789abcdef */
#[test]
fn spoof_reap_batch_matches_nft() {
    let nft = fixture(include_str!("testdata/spoof-reap.hex"));
    let ours = batch_messages(&[objects::del_rule(BT, "prerouting", 4), objects::del_set(BT, IFS), objects::del_set(BT, MACS)]);
    assert_msgs_eq(&ours, &nft);
}

/* reap-requests.hex: the GETGEN nft sends before any command; the GETRULE dumps of
`nft -a list chain inet fastcni postrouting` and `… bridge fastcni prerouting`; the BATCH_BEGIN of
`iptables-nft -t nat -A POSTROUTING -j ACCEPT` on a fresh namespace (generation 1, sequence 1). */
#[test]
fn read_requests_and_guarded_batch_match_captures() {
    let want = fixture(include_str!("testdata/reap-requests.hex"));
    // nft asks without NLM_F_ACK; NftSocket::request adds it to every request to read the verdict.
    assert_eq!(to_hex(&wire::encode_request(&objects::get_gen(), 0)), to_hex(&want[0]));
    assert_eq!(to_hex(&wire::encode_request(&objects::dump_rules(T, "postrouting"), 0)), to_hex(&want[1]));
    assert_eq!(to_hex(&wire::encode_request(&objects::dump_rules(BT, "prerouting"), 0)), to_hex(&want[2]));
    let (bytes, _) = wire::encode_batch(&[], 1, false, Some(1));
    let begin = &bytes[..want[3].len()];
    assert_eq!(to_hex(begin), to_hex(&want[3]));
    // without a generation, BATCH_BEGIN carries no attribute (as nft sends it)
    let (plain, _) = wire::encode_batch(&[], 1, false, None);
    assert_eq!(u32::from_le_bytes(plain[..4].try_into().unwrap()), 20);
}

/* reap-replies.hex: the kernel's NEWGEN (generation 2) and its NEWRULE replies to the dumps above:
the two multicast returns and the masquerade rule (handles 3, 4, 5), then the spoof-check rule. */
#[test]
fn parses_generation_and_rules() {
    let replies = fixture(include_str!("testdata/reap-replies.hex"));
    let payload = |i: usize| wire::split_messages(&replies[i])[0].payload.to_vec();
    assert_eq!(objects::parse_gen(&payload(0)), Some(2));
    let rule = |i: usize| objects::parse_rule(&payload(i)).unwrap();
    assert_eq!(rule(1), objects::RuleInfo { handle: 3, sets: vec![] });
    assert_eq!(rule(2), objects::RuleInfo { handle: 4, sets: vec![] });
    assert_eq!(rule(3), objects::RuleInfo { handle: 5, sets: vec![V4.to_string()] });
    assert_eq!(rule(4), objects::RuleInfo { handle: 4, sets: vec![IFS.to_string(), MACS.to_string()] });
}

/// The live runs, each in a private network namespace.
mod live {
    use super::super::masq::{masq_add, masq_del, masq_gc, masq_list, set_name, MasqRequest};
    use super::super::reap::{commit_reap, plan_reap, GcAttachment, NftGcRequest, Reaped, Scope};
    use super::super::socket::NftSocket;
    use super::super::spoof::{set_names, spoof_add, spoof_del, spoof_gc, spoof_list, SpoofCheckAddRequest, SpoofCheckDelRequest};
    use super::*;

    /// Run `f` with the path of a new network namespace that dies with the test.
    fn in_private_netns(f: impl FnOnce(String) + Send + 'static) {
        std::thread::spawn(move || {
            // SAFETY: unshare affects only this thread, which ends with the test.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare: {}", std::io::Error::last_os_error());
            f(format!("/proc/self/task/{}/ns/net", unsafe { libc::gettid() }));
        })
        .join()
        .expect("live test thread panicked");
    }

    /// The set names of a table and, per rule of `chain`, the sets it looks up (sorted).
    fn objects_of(ns: &str, t: Table, chain: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut sock = NftSocket::open(Some(ns)).unwrap();
        let mut sets: Vec<String> = sock
            .dump_existing("test", &objects::dump_sets(t))
            .unwrap()
            .unwrap_or_default()
            .iter()
            .filter_map(|p| objects::parse_set(p))
            .map(|s| s.name)
            .collect();
        let rules = sock.dump_existing("test", &objects::dump_rules(t, chain)).unwrap().unwrap_or_default();
        let rules = rules.iter().filter_map(|p| objects::parse_rule(p)).map(|r| r.sets).collect();
        sets.sort();
        (sets, rules)
    }

    fn masq(ns: &str, net: &str, cid: &str, addrs: &[&str]) -> MasqRequest {
        MasqRequest {
            host_netns: Some(ns.into()),
            network: net.into(),
            container_id: cid.into(),
            ifname: "eth0".into(),
            addresses: addrs.iter().map(|s| s.to_string()).collect(),
            non_masquerade_cidrs: None,
        }
    }

    fn spoof(ns: &str, net: &str, cid: &str, port: &str, mac: &str) -> SpoofCheckAddRequest {
        SpoofCheckAddRequest {
            host_netns: Some(ns.into()),
            network: net.into(),
            host_ifname: port.into(),
            mac: mac.into(),
            container_id: cid.into(),
            ifname: "eth0".into(),
        }
    }

    fn spoof_del_req(ns: &str, net: &str, cid: &str) -> SpoofCheckDelRequest {
        SpoofCheckDelRequest {
            host_netns: Some(ns.into()),
            network: net.into(),
            container_id: cid.into(),
            ifname: "eth0".into(),
            ..Default::default()
        }
    }

    fn gc(ns: &str, net: &str, valid: &[&str]) -> NftGcRequest {
        NftGcRequest {
            host_netns: Some(ns.into()),
            network: net.into(),
            valid: valid.iter().map(|c| GcAttachment { container_id: c.to_string(), ifname: "eth0".into() }).collect(),
        }
    }

    /// The names of masquerade sets, by (network, subnet), sorted.
    fn masq_sets(sets: &[(&str, &str)]) -> Vec<String> {
        let mut v: Vec<String> = sets.iter().map(|(net, subnet)| set_name(net, subnet, &[])).collect();
        v.sort();
        v
    }

    #[test]
    #[ignore = "needs root (CAP_SYS_ADMIN) and nf_tables: make test runs it with --include-ignored"]
    fn last_del_and_gc_remove_a_networks_sets_and_rules() {
        in_private_netns(|ns| {
            masq_add(&masq(&ns, "a", "c1", &["10.77.0.2/24", "fd77::2/64"])).unwrap();
            masq_add(&masq(&ns, "a", "c2", &["10.77.0.3/24"])).unwrap();
            masq_add(&masq(&ns, "b", "c9", &["10.78.0.2/24"])).unwrap();
            spoof_add(&spoof(&ns, "a", "c1", "vetha1", "0a:00:00:00:00:01")).unwrap();
            spoof_add(&spoof(&ns, "a", "c2", "vetha2", "0a:00:00:00:00:02")).unwrap();
            spoof_add(&spoof(&ns, "b", "c9", "vethb9", "0a:00:00:00:00:09")).unwrap();
            let all = masq_sets(&[("a", "10.77.0.0/24"), ("a", "fd77::/64"), ("b", "10.78.0.0/24")]);
            assert_eq!(objects_of(&ns, T, "postrouting").0, all);

            // not the last pod of 10.77.0.0/24: its set stays; the last of fd77::/64: its set goes
            masq_del(&masq(&ns, "a", "c1", &["10.77.0.2/24", "fd77::2/64"])).unwrap();
            let (sets, rules) = objects_of(&ns, T, "postrouting");
            assert_eq!(sets, masq_sets(&[("a", "10.77.0.0/24"), ("b", "10.78.0.0/24")]));
            assert_eq!(rules.len(), 2 + 2, "two multicast returns and one rule per remaining set: {rules:?}");
            // the last one, found by comment (no addresses)
            masq_del(&masq(&ns, "a", "c2", &[])).unwrap();
            let (sets, rules) = objects_of(&ns, T, "postrouting");
            assert_eq!(sets, masq_sets(&[("b", "10.78.0.0/24")]));
            assert_eq!(rules.iter().filter(|r| !r.is_empty()).cloned().collect::<Vec<_>>(), [masq_sets(&[("b", "10.78.0.0/24")])]);
            assert_eq!(rules.len(), 3, "the chain and its multicast returns stay");
            masq_del(&masq(&ns, "a", "c2", &[])).unwrap(); // idempotent

            spoof_del(&spoof_del_req(&ns, "a", "c1")).unwrap();
            assert_eq!(objects_of(&ns, BT, "prerouting").0.len(), 4);
            spoof_del(&SpoofCheckDelRequest {
                host_ifname: Some("vetha2".into()),
                mac: Some("0a:00:00:00:00:02".into()),
                ..spoof_del_req(&ns, "a", "c2")
            })
            .unwrap();
            let (b_if, b_mac) = set_names("b");
            let (sets, rules) = objects_of(&ns, BT, "prerouting");
            assert_eq!(sets, [b_if.clone(), b_mac.clone()]);
            assert_eq!(rules, [vec![b_if, b_mac]]);

            // GC: the invalid attachment's elements, then the network's empty sets and rules
            masq_gc(&gc(&ns, "b", &["c9"])).unwrap();
            spoof_gc(&gc(&ns, "b", &["c9"])).unwrap();
            assert_eq!(masq_list(Some(&ns), None).unwrap().len(), 1);
            assert_eq!(spoof_list(Some(&ns), None).unwrap().len(), 1);
            masq_gc(&gc(&ns, "b", &[])).unwrap();
            spoof_gc(&gc(&ns, "b", &[])).unwrap();
            assert_eq!(objects_of(&ns, T, "postrouting"), (vec![], vec![vec![], vec![]]));
            assert_eq!(objects_of(&ns, BT, "prerouting"), (vec![], vec![]));
            // and ADD after all that sets everything up again
            masq_add(&masq(&ns, "b", "c9", &["10.78.0.2/24"])).unwrap();
            spoof_add(&spoof(&ns, "b", "c9", "vethb9", "0a:00:00:00:00:09")).unwrap();
            assert_eq!(masq_list(Some(&ns), Some("b")).unwrap().len(), 1);
            assert_eq!(spoof_list(Some(&ns), Some("b")).unwrap().len(), 1);
        });
    }

    #[test]
    #[ignore = "needs root (CAP_SYS_ADMIN) and nf_tables: make test runs it with --include-ignored"]
    fn gc_removes_sets_that_were_left_empty() {
        in_private_netns(|ns| {
            masq_add(&masq(&ns, "a", "c1", &["10.77.0.2/24"])).unwrap();
            // the element removed behind our back (say, by hand): an empty set no DEL will look at
            let set = set_name("a", "10.77.0.0/24", &[]);
            let mut sock = NftSocket::open(Some(&ns)).unwrap();
            let elem = objects::Elem { key: vec![10, 77, 0, 2], comment: None };
            sock.transact("test", &[objects::del_set_elems(T, &set, &[elem])]).unwrap().unwrap();
            assert_eq!(objects_of(&ns, T, "postrouting").0, [set]);
            masq_gc(&gc(&ns, "a", &["c1"])).unwrap();
            assert_eq!(objects_of(&ns, T, "postrouting").0, Vec::<String>::new());
        });
    }

    /// A network whose nonMasqueradeCIDRs changed while pods ran: pods of the old and the new list
    /// sit in two sets of the same subnet, and DEL (by address, with the other list) and GC find
    /// each pod's element wherever its ADD put it.
    #[test]
    #[ignore = "needs root (CAP_SYS_ADMIN) and nf_tables: make test runs it with --include-ignored"]
    fn del_and_gc_find_elements_of_another_exemption_list() {
        in_private_netns(|ns| {
            let with = |cid: &str, addr: &str, list: &[&str]| MasqRequest {
                non_masquerade_cidrs: Some(list.iter().map(|s| s.to_string()).collect()),
                ..masq(&ns, "a", cid, &[addr])
            };
            let cluster = ["10.244.0.0/16", "fd44::/48"];
            masq_add(&with("c1", "10.244.1.2/24", &cluster)).unwrap();
            masq_add(&with("c2", "10.244.1.3/24", &[])).unwrap();
            masq_add(&with("c3", "10.244.1.4/24", &cluster)).unwrap();
            let exempt = set_name("a", "10.244.1.0/24", &["10.244.0.0/16".into()]);
            let bare = set_name("a", "10.244.1.0/24", &[]);
            let mut both = vec![exempt.clone(), bare.clone()];
            both.sort();
            let (sets, rules) = objects_of(&ns, T, "postrouting");
            assert_eq!(sets, both);
            assert_eq!(rules.len(), 2 + 2);
            // the list changed (dropped) since c1's ADD: its element is found in the other set
            masq_del(&with("c1", "10.244.1.2/24", &[])).unwrap();
            // and c2's, added without a list, by a DEL that has one
            masq_del(&with("c2", "10.244.1.3/24", &cluster)).unwrap();
            let left: Vec<String> = masq_list(Some(&ns), Some("a")).unwrap().into_iter().map(|e| e.container_id).collect();
            assert_eq!(left, ["c3"]);
            assert_eq!(objects_of(&ns, T, "postrouting").0, [exempt]);
            masq_gc(&gc(&ns, "a", &[])).unwrap();
            assert_eq!(objects_of(&ns, T, "postrouting"), (vec![], vec![vec![], vec![]]));
        });
    }

    /// The interleaving the generation guards against, step by step: a DEL found the set empty and
    /// planned its removal; then an ADD elsewhere put an element in; the plan must not commit.
    #[test]
    #[ignore = "needs root (CAP_SYS_ADMIN) and nf_tables: make test runs it with --include-ignored"]
    fn a_removal_planned_before_an_add_does_not_commit() {
        in_private_netns(|ns| {
            let scope = Scope { table: T, chain: "postrouting", op: "test" };
            let set = set_name("a", "10.77.0.0/24", &[]);
            masq_add(&masq(&ns, "a", "c1", &["10.77.0.2/24"])).unwrap();
            let mut sock = NftSocket::open(Some(&ns)).unwrap();
            let elem = objects::Elem { key: vec![10, 77, 0, 2], comment: None };
            sock.transact("test", &[objects::del_set_elems(T, &set, &[elem])]).unwrap().unwrap();
            let plan = plan_reap(&mut sock, scope, &[&set]).unwrap().expect("an empty set: a plan to remove it");
            masq_add(&masq(&ns, "a", "c2", &["10.77.0.3/24"])).unwrap(); // another socket
            assert_eq!(commit_reap(&mut sock, scope, &plan).unwrap(), Reaped::Stale);
            assert_eq!(masq_list(Some(&ns), Some("a")).unwrap().len(), 1);
            // read again, the set is in use: nothing to remove
            assert!(plan_reap(&mut sock, scope, &[&set]).unwrap().is_none());
            // and with nothing in between, a plan commits
            sock.transact("test", &[objects::del_set_elems(T, &set, &[objects::Elem { key: vec![10, 77, 0, 3], comment: None }])])
                .unwrap()
                .unwrap();
            let plan = plan_reap(&mut sock, scope, &[&set]).unwrap().unwrap();
            assert_eq!(commit_reap(&mut sock, scope, &plan).unwrap(), Reaped::Removed);
            assert_eq!(objects_of(&ns, T, "postrouting"), (vec![], vec![vec![], vec![]]));
        });
    }

    /// Pods of one network added and deleted from many threads at once (each thread its own
    /// nf_tables socket, as separate processes have): every ADD succeeds, and at the end the sets
    /// hold exactly the pods left alive, or are gone when none is.
    #[test]
    #[ignore = "needs root (CAP_SYS_ADMIN) and nf_tables: make test runs it with --include-ignored"]
    fn concurrent_adds_and_dels_lose_nothing() {
        in_private_netns(|ns| {
            const THREADS: u8 = 8;
            const ROUNDS: u8 = 60;
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let ns = ns.clone();
                    std::thread::spawn(move || {
                        for r in 0..ROUNDS {
                            let cid = format!("t{t}r{r}");
                            let addr = format!("10.77.{t}.{}/16", r + 2);
                            let port = format!("veth{t}x{r}");
                            let mac = format!("0a:00:00:00:{t:02x}:{r:02x}");
                            masq_add(&masq(&ns, "n", &cid, &[&addr])).unwrap();
                            spoof_add(&spoof(&ns, "n", &cid, &port, &mac)).unwrap();
                            // Nobody else deletes this pod's elements: a DEL that took its set
                            // for empty while they went in would show here (or at the end).
                            let listed = |cids: Vec<String>| cids.contains(&cid);
                            assert!(listed(masq_list(Some(&ns), Some("n")).unwrap().into_iter().map(|e| e.container_id).collect()));
                            assert!(listed(spoof_list(Some(&ns), Some("n")).unwrap().into_iter().map(|e| e.container_id).collect()));
                            // odd threads keep their last pod
                            if t % 2 == 0 || r + 1 < ROUNDS {
                                masq_del(&masq(&ns, "n", &cid, &[&addr])).unwrap();
                                spoof_del(&SpoofCheckDelRequest {
                                    host_ifname: Some(port),
                                    mac: Some(mac),
                                    ..spoof_del_req(&ns, "n", &cid)
                                })
                                .unwrap();
                            }
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().expect("worker panicked");
            }
            let mut alive: Vec<String> = masq_list(Some(&ns), Some("n")).unwrap().into_iter().map(|e| e.container_id).collect();
            alive.sort();
            let want: Vec<String> = (0..THREADS).filter(|t| t % 2 == 1).map(|t| format!("t{t}r{}", ROUNDS - 1)).collect();
            assert_eq!(alive, want);
            let mut guarded: Vec<String> = spoof_list(Some(&ns), Some("n")).unwrap().into_iter().map(|e| e.container_id).collect();
            guarded.sort();
            assert_eq!(guarded, want);
            // one set and one rule each, however the races went
            assert_eq!(objects_of(&ns, T, "postrouting").1.len(), 3);
            assert_eq!(objects_of(&ns, BT, "prerouting").1.len(), 1);
            for cid in &want {
                masq_del(&masq(&ns, "n", cid, &[])).unwrap();
                spoof_del(&spoof_del_req(&ns, "n", cid)).unwrap();
            }
            assert_eq!(objects_of(&ns, T, "postrouting"), (vec![], vec![vec![], vec![]]));
            assert_eq!(objects_of(&ns, BT, "prerouting"), (vec![], vec![]));
        });
    }
}
