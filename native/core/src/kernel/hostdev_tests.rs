use super::*;
use netlink_packet_core::{Emitable, Parseable};
use netlink_packet_route::link::LinkMessageBuffer;

fn decoded(msg: RouteNetlinkMessage) -> LinkMessage {
    let RouteNetlinkMessage::NewLink(m) = msg else { panic!("not RTM_NEWLINK") };
    let mut buf = vec![0u8; m.buffer_len()];
    m.emit(&mut buf);
    LinkMessage::parse(&LinkMessageBuffer::new(&buf)).unwrap()
}

#[test]
fn move_and_alias_messages() {
    let m = decoded(set_netns_msg(7, 12));
    assert_eq!(m.header.index, 7);
    assert_eq!(m.attributes, vec![LinkAttribute::NetNsFd(12)]);
    // no flag change rides along: a move must not bring the link up or down by itself
    assert!(m.header.change_mask.is_empty());

    let m = decoded(alias_msg(7, "dev0"));
    assert_eq!(m.attributes, vec![LinkAttribute::IfAlias("dev0".into())]);
}

#[test]
fn clearing_the_alias_sends_an_empty_attribute() {
    let RouteNetlinkMessage::NewLink(m) = alias_msg(3, "") else { panic!() };
    let mut buf = vec![0u8; m.buffer_len()];
    m.emit(&mut buf);
    // ifinfomsg (16 bytes), then one attribute of header only: length 4, type IFLA_IFALIAS (20)
    assert_eq!(&buf[16..], &[4, 0, 20, 0]);
}

/// A named namespace (fcni-t-…) deleted when dropped, also when the test fails.
struct Named(String);
impl Named {
    fn new(label: &str) -> Named {
        let name = format!("fcni-t-core-hd-{label}-{}", std::process::id());
        netns::on_thread(|| netns::create_named_here(&name)).unwrap();
        Named(name)
    }
    fn path(&self) -> String {
        format!("/var/run/netns/{}", self.0)
    }
    /// `ip -n <ns> ARGS` output
    fn ip(&self, args: &str) -> String {
        let mut a = vec!["-n", &self.0];
        a.extend(args.split(' '));
        let out = std::process::Command::new("ip").args(&a).output().unwrap();
        assert!(out.status.success(), "ip {a:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
impl Drop for Named {
    fn drop(&mut self) {
        let _ = netns::delete_named(&self.0);
    }
}

fn add(node: &Named, pod: &Named, device: HostDeviceSelector) -> Result<LinkInfo> {
    let req = HostDeviceAddRequest { host_netns: Some(node.path()), pod_netns: pod.path(), device, ifname: "eth0".into(), pin: None };
    netns::on_thread(|| host_device_add_here(&req)).map(|r| r.link)
}

fn del(node: &Named, pod_path: String) -> Result<Option<String>> {
    let req = HostDeviceDelRequest { host_netns: Some(node.path()), pod_netns: pod_path, ifname: "eth0".into(), up: false, pin: None };
    netns::on_thread(|| host_device_del_here(&req)).map(|r| r.restored)
}

fn by_name(name: &str) -> HostDeviceSelector {
    HostDeviceSelector { name: Some(name.into()), hwaddr: None }
}

/// ADD by name and by MAC, a second ADD of a device already moved, DEL twice; checked with iproute2.
#[test]
#[ignore = "needs root: make test runs it with --include-ignored"]
fn device_moves_in_and_back() {
    let (node, pod) = (Named::new("node"), Named::new("pod"));
    node.ip("link add dev0 type veth peer name peer0");
    node.ip("link set dev0 address 02:00:00:00:0d:01 up");

    let l = add(&node, &pod, by_name("dev0")).unwrap();
    assert_eq!((l.name.as_str(), l.mac.as_str(), l.up), ("eth0", "02:00:00:00:0d:01", true));
    let shown = pod.ip("-d link show eth0");
    assert!(shown.contains("alias dev0") && shown.contains(",UP"), "{shown}");
    assert!(!node.ip("link show").contains("dev0"));
    let again = add(&node, &pod, by_name("dev0")).unwrap_err();
    assert_eq!((again.kind, again.op.as_str()), (FailureKind::NotFound, LOOKUP_OP));

    assert_eq!(del(&node, pod.path()).unwrap().as_deref(), Some("dev0"));
    let shown = node.ip("-d link show dev0");
    assert!(!shown.contains("alias") && !shown.contains(",UP"), "{shown}");
    assert!(!pod.ip("link show").contains("eth0"));
    assert_eq!(del(&node, pod.path()).unwrap(), None);

    let mac = HostDeviceSelector { name: None, hwaddr: Some("02:00:00:00:0d:01".into()) };
    assert_eq!(add(&node, &pod, mac).unwrap().name, "eth0");
    assert!(pod.ip("-d link show eth0").contains("alias dev0"));
    del(&node, pod.path()).unwrap();
    let gone = del(&node, format!("/var/run/netns/fcni-t-core-hd-none-{}", std::process::id())).unwrap_err();
    assert_eq!(gone.kind, FailureKind::NetnsGone);
}

/// The pod already has the name: the device comes back to the node as it was (name, up, no alias).
#[test]
#[ignore = "needs root: make test runs it with --include-ignored"]
fn failed_move_puts_the_device_back() {
    let (node, pod) = (Named::new("node2"), Named::new("pod2"));
    node.ip("link add dev0 type veth peer name peer0");
    node.ip("link set dev0 up");
    pod.ip("link add eth0 type veth peer name other0");
    let before = node.ip("-d link show dev0");
    let e = add(&node, &pod, by_name("dev0")).unwrap_err();
    assert_eq!(e.kind, FailureKind::Exists, "{e:?}");
    assert!(e.message.contains("failed to move \"dev0\" into the pod"), "{}", e.message);
    let after = node.ip("-d link show dev0");
    assert!(after.contains(",UP") && !after.contains("alias"), "{after}");
    // same link (the index may differ only if the node reused it meanwhile)
    assert_eq!(before.split(':').next(), after.split(':').next());
    // a link without alias in the pod is not one of ours
    let e = netns::on_thread(|| {
        host_device_del_here(&HostDeviceDelRequest {
            host_netns: Some(node.path()),
            pod_netns: pod.path(),
            ifname: "eth0".into(),
            up: false,
            pin: None,
        })
    })
    .unwrap_err();
    assert_eq!(e.kind, FailureKind::Invalid);
    assert!(pod.ip("link show").contains("eth0"));
}
