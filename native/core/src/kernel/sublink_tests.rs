use super::*;
use crate::kernel::link::tests::bytes;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};

/// (type, value) of each attribute in `buf`, nested ones unparsed.
/// Attributes as (type, value).
type Attrs = Vec<(u16, Vec<u8>)>;

fn attrs(mut buf: &[u8]) -> Attrs {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
        out.push((kind, buf[4..len].to_vec()));
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
    out
}

fn attr(list: &[(u16, Vec<u8>)], kind: u16) -> Option<Vec<u8>> {
    list.iter().find(|(k, _)| *k == kind).map(|(_, v)| v.clone())
}

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;

/// The top-level attributes, and IFLA_INFO_KIND and the attributes of IFLA_INFO_DATA.
fn decode(spec: &SublinkSpec, fd: Option<RawFd>) -> (Attrs, String, Attrs) {
    let b = bytes(RouteNetlinkMessage::NewLink(create_msg(&prepare(spec, 7, fd).unwrap(), "veth0a0b0c0d")));
    assert_eq!(u16::from_ne_bytes([b[4], b[5]]), 16, "RTM_NEWLINK");
    let top = attrs(&b[32..]);
    let info = attrs(&attr(&top, IFLA_LINKINFO).expect("IFLA_LINKINFO"));
    let kind = attr(&info, IFLA_INFO_KIND).unwrap();
    let kind = String::from_utf8(kind.into_iter().take_while(|b| *b != 0).collect()).unwrap();
    let data = attrs(&attr(&info, IFLA_INFO_DATA).expect("IFLA_INFO_DATA"));
    (top, kind, data)
}

fn u32v(v: &[u8]) -> u32 {
    u32::from_ne_bytes(v[..4].try_into().unwrap())
}

fn u16v(v: &[u8]) -> u16 {
    u16::from_ne_bytes(v[..2].try_into().unwrap())
}

#[test]
fn macvlan_message_carries_master_namespace_mtu_mac_mode_and_queue() {
    let spec = SublinkSpec {
        kind: Some(SublinkKind::Macvlan),
        mode: Some("vepa".into()),
        mtu: Some(1400),
        mac: Some("02:11:22:33:44:55".into()),
        bc_queue_len: Some(2000),
        ..Default::default()
    };
    let (top, kind, data) = decode(&spec, Some(9));
    assert_eq!(attr(&top, IFLA_IFNAME).unwrap(), b"veth0a0b0c0d\0");
    assert_eq!(u32v(&attr(&top, IFLA_LINK).unwrap()), 7);
    assert_eq!(u32v(&attr(&top, IFLA_NET_NS_FD).unwrap()), 9);
    assert_eq!(u32v(&attr(&top, IFLA_MTU).unwrap()), 1400);
    assert_eq!(attr(&top, IFLA_ADDRESS).unwrap(), vec![2, 0x11, 0x22, 0x33, 0x44, 0x55]);
    assert_eq!(kind, "macvlan");
    // IFLA_MACVLAN_MODE (1) = MACVLAN_MODE_VEPA (2); IFLA_MACVLAN_BC_QUEUE_LEN (7)
    assert_eq!(u32v(&attr(&data, 1).unwrap()), 2);
    assert_eq!(u32v(&attr(&data, 7).unwrap()), 2000);
}

#[test]
fn macvlan_modes_have_the_kernel_values() {
    for (name, value) in [("", 4), ("bridge", 4), ("private", 1), ("vepa", 2), ("passthru", 8)] {
        let spec = SublinkSpec { mode: Some(name.into()), ..Default::default() };
        let (top, kind, data) = decode(&spec, None);
        assert_eq!(kind, "macvlan");
        assert_eq!(u32v(&attr(&data, 1).unwrap()), value, "{name}");
        // defaults add nothing: no namespace fd, MTU, MAC or queue length
        assert!(attr(&top, IFLA_NET_NS_FD).is_none() && attr(&top, IFLA_MTU).is_none() && attr(&top, IFLA_ADDRESS).is_none());
        assert!(attr(&data, 7).is_none());
    }
    let bad = prepare(&SublinkSpec { mode: Some("bridged".into()), ..Default::default() }, 1, None).err().unwrap();
    assert_eq!((bad.kind, bad.message.as_str()), (FailureKind::Invalid, "mode: unknown macvlan mode: \"bridged\""));
}

#[test]
fn ipvlan_message_has_its_mode() {
    for (name, value) in [("", 0u16), ("l2", 0), ("l3", 1), ("l3s", 2)] {
        let spec = SublinkSpec { kind: Some(SublinkKind::Ipvlan), mode: Some(name.into()), ..Default::default() };
        let (top, kind, data) = decode(&spec, Some(4));
        assert_eq!(kind, "ipvlan");
        // IFLA_IPVLAN_MODE (1), a u16
        assert_eq!(u16v(&attr(&data, 1).unwrap()), value, "{name}");
        assert_eq!(u32v(&attr(&top, IFLA_LINK).unwrap()), 7);
    }
    let spec = SublinkSpec { kind: Some(SublinkKind::Ipvlan), mode: Some("bridge".into()), ..Default::default() };
    assert!(prepare(&spec, 1, None).err().unwrap().message.starts_with("mode: unknown ipvlan mode"));
}

#[test]
fn vlan_message_has_its_id() {
    let spec = SublinkSpec { kind: Some(SublinkKind::Vlan), vlan_id: Some(4094), mtu: Some(1496), ..Default::default() };
    let (top, kind, data) = decode(&spec, Some(5));
    assert_eq!(kind, "vlan");
    // IFLA_VLAN_ID (1), a u16
    assert_eq!(u16v(&attr(&data, 1).unwrap()), 4094);
    assert_eq!(u32v(&attr(&top, IFLA_MTU).unwrap()), 1496);
    let bad = prepare(&SublinkSpec { vlan_id: Some(4095), ..spec }, 1, None).err().unwrap();
    assert!(bad.message.starts_with("vlanId: invalid VLAN ID 4095"), "{}", bad.message);
}

#[test]
fn mtu_rule() {
    assert!(check_mtu(None, 1500).is_ok());
    assert!(check_mtu(Some(0), 1500).is_ok());
    assert!(check_mtu(Some(1500), 1500).is_ok());
    let e = check_mtu(Some(1501), 1500).unwrap_err();
    assert_eq!((e.kind, e.message.as_str()), (FailureKind::Invalid, "mtu: invalid MTU 1501, must be [0, master MTU(1500)]"));
}

#[test]
fn parsed_kind_facts() {
    let spec = SublinkSpec { kind: Some(SublinkKind::Macvlan), mode: Some("private".into()), ..Default::default() };
    let b = bytes(RouteNetlinkMessage::NewLink(create_msg(&prepare(&spec, 1, None).unwrap(), "x")));
    let m = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&b).unwrap().payload {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => m,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(kind_facts(&m), ("macvlan".to_string(), Some("private".to_string()), None));
}

/// A macvlan on a veth end, made from a private "host" namespace into a private "pod" namespace.
#[test]
#[ignore = "needs root: make test runs it with --include-ignored"]
fn macvlan_into_a_pod_and_back() {
    netns::on_thread(|| {
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let host = netns::open("/proc/thread-self/ns/net")?;
        let mut nl = Rtnl::open()?;
        let veth = link::VethSpec {
            host_name: "m0",
            peer_name: "m1",
            peer_netns_fd: None,
            mtu: Some(1400),
            peer_mac: None,
            master: None,
            host_up: true,
        };
        nl.ack("veth", link::veth_create_msg(&veth), netlink_packet_core::NLM_F_CREATE | netlink_packet_core::NLM_F_EXCL)?;
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let pod = netns::open("/proc/thread-self/ns/net")?;
        let (host_path, pod_path) = (format!("/proc/self/fd/{}", host.as_raw_fd()), format!("/proc/self/fd/{}", pod.as_raw_fd()));
        let mut req = SublinkAddRequest {
            host_netns: Some(host_path.clone()),
            pod_netns: pod_path.clone(),
            ifname: "m0".into(),
            spec: SublinkSpec { master: Some("m0".into()), mode: Some("private".into()), mtu: Some(1401), ..Default::default() },
        };
        let too_big = sublink_add_here(&req).unwrap_err();
        assert_eq!(too_big.kind, FailureKind::Invalid, "{}", too_big.message);
        req.spec.mtu = Some(1300);
        // the pod's link may take a name its master has in the host namespace
        let made = sublink_add_here(&req)?;
        assert_eq!((made.link.name.as_str(), made.link.mtu, made.master.as_str(), made.link.up), ("m0", 1300, "m0", false));
        let iface = iface::PodIface { addresses: vec!["10.5.0.2/24".into()], notify: true, ..Default::default() };
        let conf = iface::PodIfaceConfigureRequest { pod_netns: pod_path.clone(), ifname: "m0".into(), iface: Some(iface) };
        assert!(iface::configure_here(&conf)?.up);
        let seen = sublink_inspect_here(&SublinkInspectRequest {
            host_netns: Some(host_path.clone()),
            pod_netns: pod_path.clone(),
            ifname: "m0".into(),
            master: Some("m0".into()),
            link_in_container: false,
        })?;
        let state = seen.state.expect("link in the pod");
        assert_eq!((seen.master.as_deref(), state.kind_name.as_str(), state.mode.as_deref()), (Some("m0"), "macvlan", Some("private")));
        assert_eq!(state.addresses, vec!["10.5.0.2/24".to_string()]);
        assert!(state.routes.iter().any(|r| r.dst == "10.5.0.0/24"), "{:?}", state.routes);
        // a second link of the same name in the pod: refused, and its temporary link deleted again
        let again = sublink_add_here(&req).unwrap_err();
        assert_eq!(again.kind, FailureKind::Exists, "{}", again.message);
        let missing = SublinkAddRequest { spec: SublinkSpec { master: Some("nope".into()), ..Default::default() }, ..req.clone() };
        assert!(sublink_add_here(&missing).unwrap_err().message.contains("failed to lookup master \"nope\""));
        assert!(sublink_del_here(&pod_path, "m0")?);
        assert!(!sublink_del_here(&pod_path, "m0")?);
        Ok(())
    })
    .unwrap();
}
