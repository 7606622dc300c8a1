use super::*;
use crate::kernel::rtnl::payload_bytes as bytes;
use netlink_packet_route::route::RouteAddress;

#[test]
fn table_pick_is_the_lowest_free_from_one() {
    assert_eq!(pick_table(&[]).unwrap(), 1);
    assert_eq!(pick_table(&[1, 2, 4]).unwrap(), 3);
    assert_eq!(pick_table(&[2, 3]).unwrap(), 1);
    // tables of other kinds of use do not count: only VRFs' are passed in
    assert_eq!(pick_table(&[1, 254]).unwrap(), 2);
}

#[test]
fn create_message_bytes() {
    let b = bytes(create_msg("vrf0", 1000));
    // ifinfomsg: index 0, flags IFF_UP, change IFF_UP
    assert_eq!(&b[..16], &[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    #[rustfmt::skip]
    let attrs: &[u8] = &[
        9, 0, 3, 0, b'v', b'r', b'f', b'0', 0, 0, 0, 0, // IFLA_IFNAME "vrf0"
        24, 0, 18, 0, // IFLA_LINKINFO
        8, 0, 1, 0, b'v', b'r', b'f', 0, // IFLA_INFO_KIND "vrf"
        12, 0, 2, 0, // IFLA_INFO_DATA
        8, 0, 1, 0, 0xe8, 0x03, 0, 0, // IFLA_VRF_TABLE 1000
    ];
    assert_eq!(&b[16..], attrs);
}

#[test]
fn master_message_bytes() {
    let b = bytes(master_msg(5, 9));
    assert_eq!(&b[4..8], &5i32.to_ne_bytes());
    assert_eq!(&b[16..], &[8, 0, 10, 0, 9, 0, 0, 0]);
    assert_eq!(&bytes(master_msg(5, 0))[16..], &[8, 0, 10, 0, 0, 0, 0, 0]);
}

#[test]
fn a_vrf_link_is_seen_with_its_table() {
    let RouteNetlinkMessage::NewLink(mut m) = create_msg("blue", 7) else { unreachable!() };
    m.header.index = 12;
    m.attributes.push(LinkAttribute::Controller(3));
    assert_eq!(seen(&m), Seen { index: 12, name: "blue".into(), master: Some(3), vrf_table: Some(7), is_vrf: true });
}

fn route(table: u32, oif: u32, scope: RouteScope, protocol: RouteProtocol) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = AddressFamily::Inet;
    m.header.destination_prefix_length = 24;
    m.header.table = if table < 256 { table as u8 } else { 0 };
    m.header.scope = scope;
    m.header.protocol = protocol;
    m.attributes.push(RouteAttribute::Destination(RouteAddress::Inet("10.9.0.0".parse().unwrap())));
    m.attributes.push(RouteAttribute::Gateway(RouteAddress::Inet("10.1.0.1".parse().unwrap())));
    m.attributes.push(RouteAttribute::Oif(oif));
    m.attributes.push(RouteAttribute::Table(table));
    m
}

#[test]
fn which_routes_follow_the_interface() {
    assert!(follows_interface(&route(254, 4, RouteScope::Universe, RouteProtocol::Boot), 4));
    assert!(follows_interface(&route(254, 4, RouteScope::Universe, RouteProtocol::Static), 4));
    // another link, another table, a connected (link-scope) route, a route the kernel made
    assert!(!follows_interface(&route(254, 5, RouteScope::Universe, RouteProtocol::Boot), 4));
    assert!(!follows_interface(&route(100, 4, RouteScope::Universe, RouteProtocol::Boot), 4));
    assert!(!follows_interface(&route(254, 4, RouteScope::Link, RouteProtocol::Boot), 4));
    assert!(!follows_interface(&route(254, 4, RouteScope::Universe, RouteProtocol::Kernel), 4));
}

#[test]
fn a_copied_route_goes_to_the_vrf_table() {
    let f = Found::of(&route(254, 4, RouteScope::Universe, RouteProtocol::Boot)).unwrap();
    let copy = f.in_table(1000);
    assert_eq!(route_table(&copy), 1000);
    assert_eq!(copy.header.table, 0);
    assert_eq!(route_oif(&copy), Some(4));
    assert!(copy.attributes.contains(&RouteAttribute::Gateway(RouteAddress::Inet("10.1.0.1".parse().unwrap()))));
    assert_eq!(route_table(&f.in_table(10)), 10);
    assert_eq!(f.in_table(10).header.table, 10);
}
