use super::*;

#[test]
fn first_free_table() {
    let used: BTreeSet<u32> = [100, 101, 103, 254, 255].into();
    assert_eq!(next_free(&used, FIRST_TABLE), 102);
    assert_eq!(next_free(&used, 103), 104);
    assert_eq!(next_free(&BTreeSet::new(), FIRST_TABLE), 100);
}

fn found(dst: &str, gw: Option<&str>, prefsrc: Option<&str>) -> Found {
    let c = Cidr::parse(dst).unwrap();
    Found { msg: RouteMessage::default(), dst: c, gw: gw.map(|g| g.parse().unwrap()), prefsrc: prefsrc.map(|s| s.parse().unwrap()) }
}

#[test]
fn which_routes_follow_an_address() {
    let a = Cidr::parse("10.1.0.5/24").unwrap();
    assert!(found("0.0.0.0/0", Some("10.1.0.1"), None).belongs_to(&a));
    assert!(found("10.1.0.0/24", None, Some("10.1.0.5")).belongs_to(&a));
    // neither gateway nor source: the reference copies it into every address's table
    assert!(found("fe80::/64", None, None).belongs_to(&a));
    assert!(!found("0.0.0.0/0", Some("10.2.0.1"), None).belongs_to(&a));
    assert!(!found("10.2.0.0/24", None, Some("10.2.0.5")).belongs_to(&a));
}

#[test]
fn rule_and_copy_messages() {
    let r = rule_msg("fd00::5".parse().unwrap(), 1000);
    assert_eq!((r.header.family, r.header.src_len, r.header.table), (AddressFamily::Inet6, 128, 0));
    assert_eq!(rule_table(&r), 1000);
    assert_eq!(rule_source(&r), Some("fd00::5".parse().unwrap()));
    let r = rule_msg("10.1.0.5".parse().unwrap(), 100);
    assert_eq!((r.header.src_len, r.header.table, r.header.action), (32, 100, RuleAction::ToTable));

    let mut m = RouteMessage::default();
    m.header.address_family = AddressFamily::Inet;
    m.header.destination_prefix_length = 24;
    m.header.table = 254;
    m.header.flags = RouteFlags::Linkdown;
    m.attributes = vec![
        RouteAttribute::Destination(route_address("10.1.0.0".parse().unwrap())),
        RouteAttribute::Table(254),
        RouteAttribute::Oif(3),
        RouteAttribute::PrefSource(route_address("10.1.0.5".parse().unwrap())),
        RouteAttribute::Expires(5),
    ];
    let f = Found::of(&m).unwrap();
    assert_eq!(f.dst.to_string(), "10.1.0.0/24");
    assert_eq!(f.prefsrc, Some("10.1.0.5".parse().unwrap()));
    assert!(!f.msg.attributes.iter().any(|a| matches!(a, RouteAttribute::Expires(_))));
    let c = f.in_table(100);
    assert_eq!((c.header.table, route_table(&c), oif(&c)), (100, 100, Some(3)));
    assert!(c.header.flags.is_empty());
    assert_eq!(c.attributes.iter().filter(|a| matches!(a, RouteAttribute::Table(_))).count(), 1);
    let big = f.in_table(70000);
    assert_eq!((big.header.table, route_table(&big)), (0, 70000));
}

/// `ip` run on this thread (a child inherits the thread's namespace).
fn ip(args: &str) -> String {
    let out = std::process::Command::new("ip").args(args.split(' ')).output().unwrap();
    assert!(out.status.success(), "ip {args}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pod_like() -> SbrAddRequest {
    // no dummy module in every kernel: a veth pair, both ends up, has a carrier
    ip("link add eth0 type veth peer name peer0");
    ip("link set peer0 up");
    ip("link set eth0 up");
    ip("addr add 10.1.0.5/24 dev eth0");
    ip("addr add 10.2.0.5/24 dev eth0");
    ip("route add default via 10.1.0.1 dev eth0");
    ip("route add 10.9.0.0/16 via 10.2.0.1 dev eth0");
    // a table already in use: the first address gets 101
    ip("route add 192.0.2.0/24 dev eth0 table 100");
    SbrAddRequest {
        netns: "/proc/thread-self/ns/net".into(),
        ifname: "eth0".into(),
        addresses: vec![
            SbrAddress { address: "10.1.0.5/24".into(), gateway: Some("10.1.0.1".into()) },
            SbrAddress { address: "10.2.0.5/24".into(), gateway: None },
        ],
        ..Default::default()
    }
}

/// ADD then DEL in a private throwaway namespace, checked with iproute2.
#[test]
#[ignore = "needs root: make test runs it with --include-ignored"]
fn add_then_del_in_a_namespace() {
    netns::on_thread(|| {
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let req = pod_like();
        let rules = sbr_add_here(&req)?;
        assert_eq!(rules, vec![SbrRule { source: "10.1.0.5".into(), table: 101 }, SbrRule { source: "10.2.0.5".into(), table: 102 }]);
        let shown = ip("rule show");
        assert!(shown.contains("from 10.1.0.5 lookup 101") && shown.contains("from 10.2.0.5 lookup 102"), "{shown}");
        let t101 = ip("route show table 101");
        assert!(t101.contains("default via 10.1.0.1 dev eth0") && t101.contains("10.1.0.0/24 dev eth0"), "{t101}");
        assert!(!t101.contains("10.9.0.0/16"), "{t101}");
        let t102 = ip("route show table 102");
        assert!(t102.contains("10.9.0.0/16 via 10.2.0.1") && !t102.contains("default"), "{t102}");
        assert_eq!(ip("-4 route show dev eth0"), "");
        let seen = sbr_inspect_here(&SbrInspectRequest { netns: req.netns.clone(), ifname: "eth0".into() })?;
        let t101 = seen.iter().find(|r| r.source == "10.1.0.5").unwrap();
        assert_eq!(t101.table, 101);
        assert!(t101.routes.iter().any(|r| r.dst == "0.0.0.0/0" && r.gw.as_deref() == Some("10.1.0.1")), "{t101:?}");
        assert_eq!(seen.iter().find(|r| r.source == "10.2.0.5").map(|r| r.table), Some(102));

        let removed =
            sbr_del_here(&SbrDelRequest { netns: req.netns.clone(), ifname: "eth0".into(), addresses: vec![], flush_tables: true })?;
        assert_eq!(removed.len(), 2);
        assert!(!ip("rule show").contains("lookup 10"));
        assert_eq!(ip("route show table 101"), "");
        assert!(ip("route show table 100").contains("192.0.2.0/24"), "a table of someone else's stays");
        Ok(())
    })
    .unwrap();
}

/// A step that fails (a gateway the interface cannot reach) undoes the whole ADD.
#[test]
#[ignore = "needs root: make test runs it with --include-ignored"]
fn failed_add_leaves_nothing() {
    netns::on_thread(|| {
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let mut req = pod_like();
        let (rules0, main0) = (ip("rule show"), ip("route show"));
        req.addresses[1].gateway = Some("10.200.0.1".into());
        assert!(sbr_add_here(&req).is_err());
        assert_eq!(ip("rule show"), rules0);
        assert_eq!(ip("route show"), main0);
        assert_eq!(ip("route show table 101"), "");
        req.source_hints = true;
        req.addresses[1].gateway = None;
        sbr_add_here(&req)?;
        let main = ip("-4 route show dev eth0");
        assert!(main.contains("10.1.0.0/24 proto kernel scope link src 10.1.0.5"), "{main}");
        assert!(!main.contains("default"), "{main}");
        Ok(())
    })
    .unwrap();
}

#[test]
#[ignore = "needs root: make test runs it with --include-ignored"]
fn del_of_a_missing_namespace_creates_nothing() {
    let path = format!("/tmp/fcni-sbr-gone-{}", std::process::id());
    let e = netns::on_thread(|| {
        sbr_del_here(&SbrDelRequest { netns: path.clone(), ifname: "eth0".into(), addresses: vec![], flush_tables: true })
    })
    .unwrap_err();
    assert_eq!(e.kind, FailureKind::NetnsGone);
    assert!(!std::path::Path::new(&path).exists());
}
