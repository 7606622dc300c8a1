use super::*;
use crate::kernel::rtnl::payload_bytes as bytes;

fn peer(subnet: &str, public: &str, mac: Option<&str>) -> OverlayPeer {
    OverlayPeer { subnets: vec![subnet.into()], public_ip: public.into(), vtep_mac: mac.map(String::from) }
}

fn request(backend: &str) -> OverlayRequest {
    OverlayRequest {
        backend: backend.into(),
        local_subnets: vec!["10.244.1.0/24".into()],
        public_ip: "192.0.2.1".into(),
        peers: vec![peer("10.244.2.0/24", "192.0.2.2", Some("0e:04:c0:00:02:02"))],
        ..Default::default()
    }
}

#[test]
fn vxlan_create_bytes_are_those_of_ip() {
    // `ip link add fastcni.1 address 0e:04:c0:00:02:01 mtu 1450 up type vxlan id 1 local 192.0.2.1
    // dev <3> dstport 8472 nolearning`, captured with strace; the one difference: our
    // IFLA_INFO_KIND "vxlan" ends with a NUL (the kernel takes both).
    let mac = [0x0e, 0x04, 0xc0, 0, 2, 1];
    let spec = VxlanSpec { name: "fastcni.1", vni: 1, port: 8472, local: "192.0.2.1".parse().unwrap(), underlay: 3, mtu: 1450, mac: &mac };
    let b = bytes(vxlan::create_msg(&spec));
    assert_eq!(&b[..16], &[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    #[rustfmt::skip]
    let want: Vec<u8> = [
        &[10u8, 0, 1, 0, 0x0e, 0x04, 0xc0, 0, 2, 1, 0, 0][..], // IFLA_ADDRESS
        &[8, 0, 4, 0], &1450u32.to_ne_bytes(), // IFLA_MTU
        &[14, 0, 3, 0], b"fastcni.1\0", &[0, 0], // IFLA_IFNAME
        &[60, 0, 18, 0], // IFLA_LINKINFO
        &[10, 0, 1, 0], b"vxlan\0", &[0, 0], // IFLA_INFO_KIND
        &[44, 0, 2, 0], // IFLA_INFO_DATA
        &[8, 0, 3, 0], &3u32.to_ne_bytes(), // IFLA_VXLAN_LINK
        &[8, 0, 1, 0], &1u32.to_ne_bytes(), // IFLA_VXLAN_ID
        &[8, 0, 4, 0, 192, 0, 2, 1], // IFLA_VXLAN_LOCAL
        &[5, 0, 7, 0, 0, 0, 0, 0], // IFLA_VXLAN_LEARNING 0
        &[6, 0, 15, 0, 0x21, 0x18, 0, 0], // IFLA_VXLAN_PORT 8472, big endian
    ].concat();
    assert_eq!(&b[16..], &want[..]);

    let v6 = VxlanSpec { local: "2001:db8::1".parse().unwrap(), ..spec };
    let b = bytes(vxlan::create_msg(&v6));
    // IFLA_VXLAN_LOCAL6 (17): 16 bytes
    let local6: Vec<u8> = [&[20u8, 0, 17, 0][..], &"2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().octets()].concat();
    assert!(b.windows(local6.len()).any(|w| w == &local6[..]));
}

#[test]
fn our_route_bytes_are_those_of_ip() {
    // `ip route add 10.244.2.0/24 via 10.244.2.0 dev <4> onlink proto 102`, captured with strace
    let r = Route { dst: "10.244.2.0/24".into(), gw: Some("10.244.2.0".into()), ..Default::default() };
    let b = bytes(RouteNetlinkMessage::NewRoute(route::ours_msg(4, &r, true).unwrap()));
    #[rustfmt::skip]
    let want: Vec<u8> = [
        // AF_INET, dst_len 24, src_len, tos, main table, protocol 0x66, universe, unicast; RTNH_F_ONLINK
        &[2u8, 24, 0, 0, 254, 0x66, 0, 1][..], &4u32.to_ne_bytes(),
        &[8, 0, 1, 0, 10, 244, 2, 0], // RTA_DST
        &[8, 0, 5, 0, 10, 244, 2, 0], // RTA_GATEWAY
        &[8, 0, 4, 0], &4u32.to_ne_bytes(), // RTA_OIF
    ].concat();
    assert_eq!(b, want);
    // host-gw: no onlink
    let m = route::ours_msg(2, &Route { gw: Some("192.0.2.2".into()), ..r }, false).unwrap();
    assert!(m.header.flags.is_empty() && route::is_ours(&m));
}

#[test]
fn the_plan_reads_defaults_and_peers() {
    let p = validate(&request("vxlan")).unwrap();
    assert_eq!((p.backend, p.device.as_str(), p.vni, p.port, p.mtu), (Backend::Vxlan, "fastcni.1", 1, 8472, None));
    assert_eq!(p.mac, stable_mac("192.0.2.1".parse().unwrap()));
    let w = want(&p, 2, Some(9));
    assert_eq!(w.routes, vec![(Route { dst: "10.244.2.0/24".into(), gw: Some("10.244.2.0".into()), ..Default::default() }, 9)]);
    let mac = vec![0x0e, 0x04, 0xc0, 0, 2, 2];
    assert_eq!(w.neighbours, vec![Neigh { index: 9, ip: "10.244.2.0".parse().unwrap(), mac: mac.clone(), permanent: true }]);
    assert_eq!(w.fdb, vec![Neigh { index: 9, ip: "192.0.2.2".parse().unwrap(), mac, permanent: true }]);

    let hg = validate(&request("host-gw")).unwrap();
    let w = want(&hg, 2, None);
    assert_eq!(w.routes, vec![(Route { dst: "10.244.2.0/24".into(), gw: Some("192.0.2.2".into()), ..Default::default() }, 2)]);
    assert!(w.neighbours.is_empty() && w.fdb.is_empty());
}

#[test]
fn bad_input_names_its_field() {
    type Change = Box<dyn Fn(&mut OverlayRequest)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|r| r.backend = "udp".into()), "backend: unknown backend \"udp\""),
        (Box::new(|r| r.public_ip = "192.0.2".into()), "publicIp: invalid IP address"),
        (Box::new(|r| r.local_subnets = vec!["10.244.1.0/33".into()]), "localSubnets[0]: invalid CIDR"),
        (Box::new(|r| r.peers[0].subnets = vec!["10.244.2.1/24".into()]), "peers[0].subnets[0]: 10.244.2.1/24 is not a network address"),
        (Box::new(|r| r.peers[0].vtep_mac = Some("0e:04:c0:00:02".into())), "peers[0].vtepMac: invalid MAC address"),
        (Box::new(|r| r.peers[0].vtep_mac = Some("01:00:5e:00:00:01".into())), "peers[0].vtepMac: 01:00:5e:00:00:01 is not a unicast"),
        (Box::new(|r| r.peers[0].vtep_mac = None), "peers[0].vtepMac: required by the vxlan backend"),
        (Box::new(|r| r.peers[0].public_ip = "2001:db8::2".into()), "peers[0].publicIp: 2001:db8::2 is not of the family"),
        (Box::new(|r| r.peers[0].subnets = vec!["10.244.1.0/24".into()]), "peers[0].subnets[0]: 10.244.1.0/24 is also in localSubnets"),
        (Box::new(|r| r.mac = Some("zz:00:00:00:00:01".into())), "mac: invalid MAC address"),
        (Box::new(|r| r.vni = Some(1 << 24)), "vni: "),
        (Box::new(|r| r.port = Some(70000)), "port: "),
        (Box::new(|r| r.device = Some("a-name-far-too-long".into())), "device: invalid interface name"),
    ];
    for (change, want) in cases {
        let mut r = request("vxlan");
        change(&mut r);
        let e = validate(&r).unwrap_err();
        assert_eq!(e.kind, FailureKind::Invalid);
        assert!(e.message.starts_with(want), "{} does not start with {want}", e.message);
    }
    let mut two = request("vxlan");
    two.peers.push(peer("10.244.2.0/24", "192.0.2.3", Some("0e:04:c0:00:02:03")));
    assert!(validate(&two).unwrap_err().message.starts_with("peers[1].subnets[0]: 10.244.2.0/24 is also in peers[0]"));
    let mut hg = request("host-gw");
    hg.peers[0].subnets.push("fd00:2::/64".into());
    assert!(validate(&hg).unwrap_err().message.starts_with("peers[0].subnets[1]: host-gw cannot route fd00:2::/64"));
    // host-gw needs no VTEP MAC
    hg.peers[0].subnets.pop();
    hg.peers[0].vtep_mac = None;
    assert!(validate(&hg).is_ok());
}

#[test]
fn the_mac_depends_only_on_the_public_ip() {
    let a = stable_mac("192.0.2.1".parse().unwrap());
    assert_eq!(a, [0x0e, 0x04, 192, 0, 2, 1]);
    let v6 = stable_mac("2001:db8::1".parse().unwrap());
    assert_eq!(v6, stable_mac("2001:db8::1".parse().unwrap()));
    assert_ne!(v6, stable_mac("2001:db8::2".parse().unwrap()));
    for m in [a, v6] {
        // locally administered unicast
        assert_eq!(m[0] & 0b11, 0b10);
    }
}
