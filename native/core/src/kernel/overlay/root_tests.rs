//! Two (or more) simulated nodes, each a named namespace of its own joined to the others by a veth
//! underlay on 192.0.2.0/24, each with its pod subnet's first address on a portless bridge; real
//! pings between those addresses prove the overlay carries traffic. Every namespace is deleted by
//! the fixture, whatever the test's outcome.

use std::process::Command;

use super::*;

fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd).args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn ok(cmd: &str, args: &[&str]) -> String {
    let (ok, out) = run(cmd, args);
    assert!(ok, "{cmd} {args:?}: {out}");
    out
}

/// Nodes n = 1, 2, …: underlay 192.0.2.n/24 on `u0`, pod subnet 10.244.n.0/24 with 10.244.n.1 on
/// the bridge `pods`. Node 1's u0 is the bridge port `under` joins the others on.
struct Nodes {
    names: Vec<String>,
}

impl Nodes {
    fn new(tag: &str, count: usize) -> Nodes {
        let hub = format!("ov{}{tag}h", std::process::id());
        let mut nodes = Nodes { names: vec![hub.clone()] };
        ok("ip", &["netns", "add", &hub]);
        ok("ip", &["-n", &hub, "link", "add", "under", "up", "type", "bridge"]);
        for n in 1..=count {
            let name = format!("ov{}{tag}{n}", std::process::id());
            ok("ip", &["netns", "add", &name]);
            nodes.names.push(name.clone());
            let port = format!("p{n}");
            ok("ip", &["-n", &hub, "link", "add", &port, "master", "under", "up", "type", "veth", "peer", "name", "u0", "netns", &name]);
            ok("ip", &["-n", &name, "addr", "add", &format!("192.0.2.{n}/24"), "dev", "u0"]);
            ok("ip", &["-n", &name, "link", "set", "u0", "up"]);
            ok("ip", &["-n", &name, "link", "set", "lo", "up"]);
            ok("ip", &["-n", &name, "link", "add", "pods", "up", "type", "bridge"]);
            ok("ip", &["-n", &name, "addr", "add", &format!("10.244.{n}.1/24"), "dev", "pods"]);
        }
        nodes
    }

    fn name(&self, n: usize) -> &str {
        &self.names[n]
    }

    fn path(&self, n: usize) -> String {
        format!("/var/run/netns/{}", self.names[n])
    }

    /// Node n's view of the overlay: node n's request with the given peers (by node number).
    fn request(&self, backend: &str, n: usize, peers: &[usize]) -> OverlayRequest {
        OverlayRequest {
            host_netns: Some(self.path(n)),
            backend: backend.into(),
            local_subnets: vec![format!("10.244.{n}.0/24")],
            public_ip: format!("192.0.2.{n}"),
            peers: peers
                .iter()
                .map(|p| OverlayPeer {
                    subnets: vec![format!("10.244.{p}.0/24")],
                    public_ip: format!("192.0.2.{p}"),
                    vtep_mac: Some(format_mac(&stable_mac(format!("192.0.2.{p}").parse().unwrap()))),
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Whether a ping from node `from`'s pod address reaches node `to`'s.
    fn ping(&self, from: usize, to: usize) -> bool {
        let (src, dst) = (format!("10.244.{from}.1"), format!("10.244.{to}.1"));
        run("ip", &["netns", "exec", self.name(from), "ping", "-c1", "-W1", "-I", &src, &dst]).0
    }

    fn ip(&self, n: usize, args: &[&str]) -> String {
        let mut a = vec!["-n", self.name(n)];
        a.extend_from_slice(args);
        ok("ip", &a)
    }

    /// Everything a failed call must leave as it was: links, addresses, routes, neighbours, FDB
    /// (brief forms: no timers or DAD states that change by themselves).
    fn snapshot(&self, n: usize) -> String {
        let fdb = ok("bridge", &["-n", self.name(n), "fdb", "show"]);
        let links = self.ip(n, &["-br", "link"]);
        let addrs = self.ip(n, &["-br", "addr"]);
        [links, addrs, self.ip(n, &["route"]), self.ip(n, &["neigh", "show", "nud", "permanent"]), fdb].join("\n")
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = run("ip", &["netns", "del", n]);
        }
    }
}

fn sync(r: &OverlayRequest) -> Result<OverlayState> {
    netns::on_thread(|| overlay_sync_here(r))
}

fn teardown(r: &OverlayRequest) -> Result<OverlayState> {
    netns::on_thread(|| overlay_teardown_here(r))
}

#[test]
#[ignore = "needs root: make test runs it with --include-ignored"]
fn host_gw_routes_carry_pings_and_a_second_sync_changes_nothing() {
    let nodes = Nodes::new("g", 2);
    assert!(!nodes.ping(1, 2), "no overlay yet, yet the ping went through");
    let s1 = sync(&nodes.request("host-gw", 1, &[2])).unwrap();
    assert_eq!(s1, OverlayState { vtep_mac: None, mtu: 1500, routes: 1, added: 1, removed: 0 });
    sync(&nodes.request("host-gw", 2, &[1])).unwrap();
    assert!(nodes.ping(1, 2) && nodes.ping(2, 1));
    assert!(nodes.ip(1, &["route", "show", "10.244.2.0/24"]).contains("10.244.2.0/24 via 192.0.2.2 dev u0 proto 102"));
    let again = sync(&nodes.request("host-gw", 1, &[2])).unwrap();
    assert_eq!((again.routes, again.added, again.removed), (1, 0, 0));
    let t = teardown(&nodes.request("host-gw", 1, &[])).unwrap();
    assert_eq!((t.routes, t.removed), (0, 1));
    assert!(nodes.ip(1, &["route", "show", "proto", "102"]).is_empty());
    assert!(!nodes.ping(1, 2));
}

#[test]
#[ignore = "needs root: make test runs it with --include-ignored"]
fn vxlan_carries_pings_and_a_sync_removes_exactly_a_departed_peer() {
    let nodes = Nodes::new("v", 3);
    // node 1 knows 2 and 3; a foreign route of another protocol must survive every sync
    nodes.ip(1, &["route", "add", "10.99.0.0/24", "via", "192.0.2.2", "proto", "static"]);
    let s = sync(&nodes.request("vxlan", 1, &[2, 3])).unwrap();
    let mac1 = format_mac(&stable_mac("192.0.2.1".parse().unwrap()));
    // routes, neighbours and FDB entries: two of each
    assert_eq!(s, OverlayState { vtep_mac: Some(mac1.clone()), mtu: 1450, routes: 2, added: 6, removed: 0 });
    for n in [2, 3] {
        sync(&nodes.request("vxlan", n, &[1])).unwrap();
    }
    assert!(nodes.ping(1, 2) && nodes.ping(2, 1) && nodes.ping(1, 3));
    let dev = nodes.ip(1, &["-d", "link", "show", "fastcni.1"]);
    assert!(dev.contains("vxlan id 1 local 192.0.2.1 dev u0") && dev.contains("dstport 8472 nolearning"), "{dev}");
    assert!(nodes.ip(1, &["addr", "show", "fastcni.1"]).contains("inet 10.244.1.0/32"));
    let again = sync(&nodes.request("vxlan", 1, &[2, 3])).unwrap();
    assert_eq!((again.routes, again.added, again.removed), (2, 0, 0));

    // node 3 leaves
    let s = sync(&nodes.request("vxlan", 1, &[2])).unwrap();
    assert_eq!((s.routes, s.added, s.removed), (1, 0, 3));
    let routes = nodes.ip(1, &["route"]);
    assert!(routes.contains("10.244.2.0/24 via 10.244.2.0 dev fastcni.1 proto 102 onlink"), "{routes}");
    assert!(!routes.contains("10.244.3.0") && routes.contains("10.99.0.0/24 via 192.0.2.2 dev u0 proto static"), "{routes}");
    let neigh = nodes.ip(1, &["neigh", "show", "dev", "fastcni.1"]);
    assert!(neigh.contains("10.244.2.0 lladdr 0e:04:c0:00:02:02 PERMANENT") && !neigh.contains("10.244.3.0"), "{neigh}");
    let fdb = ok("bridge", &["-n", nodes.name(1), "fdb", "show", "dev", "fastcni.1"]);
    assert!(fdb.contains("0e:04:c0:00:02:02 dst 192.0.2.2 self permanent") && !fdb.contains("192.0.2.3"), "{fdb}");
    assert!(nodes.ping(1, 2) && !nodes.ping(1, 3));

    // teardown: device and routes gone, the foreign route stays; a new device keeps the MAC
    let t = teardown(&nodes.request("vxlan", 1, &[])).unwrap();
    assert_eq!(t.removed, 1);
    assert!(run("ip", &["-n", nodes.name(1), "link", "show", "fastcni.1"]).1.contains("does not exist"));
    assert!(nodes.ip(1, &["route", "show", "proto", "102"]).is_empty());
    assert!(nodes.ip(1, &["route"]).contains("10.99.0.0/24"));
    assert!(!nodes.ping(1, 2));
    let back = sync(&nodes.request("vxlan", 1, &[2])).unwrap();
    assert_eq!(back.vtep_mac, Some(mac1));
    assert!(nodes.ping(1, 2));
}

#[test]
#[ignore = "needs root: make test runs it with --include-ignored"]
fn bad_input_fails_naming_the_field_and_changes_nothing() {
    let nodes = Nodes::new("b", 1);
    sync(&nodes.request("vxlan", 1, &[2, 3])).unwrap();
    let before = nodes.snapshot(1);
    let mut cases: Vec<(OverlayRequest, &str)> = Vec::new();
    let mut r = nodes.request("vxlan", 1, &[2]);
    r.peers[0].subnets[0] = "10.244.2.0/99".into();
    cases.push((r, "peers[0].subnets[0]"));
    let mut r = nodes.request("vxlan", 1, &[2]);
    r.peers[0].vtep_mac = Some("0e:zz:00:00:00:01".into());
    cases.push((r, "peers[0].vtepMac"));
    let mut r = nodes.request("vxlan", 1, &[2]);
    r.peers[0].vtep_mac = None;
    cases.push((r, "peers[0].vtepMac"));
    cases.push((nodes.request("udp", 1, &[2]), "backend"));
    for (r, field) in cases {
        let e = sync(&r).unwrap_err();
        assert_eq!(e.kind, FailureKind::Invalid, "{e:?}");
        assert!(e.message.starts_with(&format!("{field}: ")), "{}", e.message);
        assert_eq!(nodes.snapshot(1), before);
    }
}

#[test]
#[ignore = "needs root: make test runs it with --include-ignored"]
fn a_sync_that_fails_partway_leaves_no_half_made_peer() {
    let nodes = Nodes::new("u", 1);
    // somebody else's route to peer 3's subnet: our route to it cannot go in
    nodes.ip(1, &["route", "add", "10.244.3.0/24", "via", "192.0.2.3", "proto", "static"]);
    let before = nodes.snapshot(1);
    let e = sync(&nodes.request("vxlan", 1, &[2, 3])).unwrap_err();
    assert_eq!(e.kind, FailureKind::Exists, "{e:?}");
    // the device this call made went with everything on it
    assert_eq!(nodes.snapshot(1), before);

    // with the device already there, the undo takes back the entries one by one
    sync(&nodes.request("vxlan", 1, &[])).unwrap();
    let before = nodes.snapshot(1);
    assert!(sync(&nodes.request("vxlan", 1, &[2, 3])).is_err());
    assert_eq!(nodes.snapshot(1), before);
}
