//! Property tests of the rtnetlink decoders the core runs on the kernel's replies (decode_any.rs:
//! link::parse_raw, rtnl::split, rtnl::extack_message): any bytes give a value or an error, never a panic; and a
//! message netlink-packet-route encodes decodes to what was encoded. Small case counts: the file
//! runs in well under a second.

use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use proptest::prelude::*;

use super::decode_any::rtnetlink;
use super::link::{self, parse_raw};
use super::rtnl::split;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 512, ..ProptestConfig::default() }
}

/// One netlink attribute (header in host order, as both rtnetlink and nfnetlink send it): a length
/// that is right most of the time, a type among `types` (with or without the NESTED bit) or any, and
/// a value that may be bytes, libnftnl udata (u8 type, u8 length, value) or attributes again. The
/// nf_tables tests use it too.
pub(super) fn attr(depth: u32, types: &'static [u16]) -> BoxedStrategy<Vec<u8>> {
    let ty = prop_oneof![3 => prop::sample::select(types), 1 => any::<u16>()];
    let udata = (0u8..10, proptest::collection::vec(any::<u8>(), 0..12)).prop_map(|(t, v)| [vec![t, v.len() as u8], v].concat());
    let leaf = prop_oneof![proptest::collection::vec(any::<u8>(), 0..24), udata];
    let value = if depth == 0 {
        leaf.boxed()
    } else {
        prop_oneof![leaf, proptest::collection::vec(attr(depth - 1, types), 0..4).prop_map(|v| v.concat())].boxed()
    };
    (ty, any::<bool>(), value, prop_oneof![3 => Just(None), 1 => any::<u16>().prop_map(Some)])
        .prop_map(|(ty, nested, v, len)| {
            let ty = ty | if nested { 0x8000 } else { 0 };
            let mut a = len.unwrap_or(4 + v.len() as u16).to_ne_bytes().to_vec();
            a.extend_from_slice(&ty.to_ne_bytes());
            a.extend_from_slice(&v);
            a.resize((a.len() + 3) & !3, 0);
            a
        })
        .boxed()
}

/// An RTM_NEWLINK message: netlink header, ifinfomsg, then attributes; sometimes cut short.
fn newlink_like() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(any::<u8>(), 32),
        proptest::collection::vec(attr(3, &[1, 2, 3, 4, 5, 10, 16, 18, 39]), 0..6),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(mut head, attrs, cut, whole)| {
            head[4..6].copy_from_slice(&16u16.to_ne_bytes());
            let mut m = [head, attrs.concat()].concat();
            let len = m.len() as u32;
            m[0..4].copy_from_slice(&len.to_ne_bytes());
            if !whole {
                m.truncate(cut.index(m.len() + 1));
            }
            m
        })
}

/// A datagram of netlink messages: (type, flags, seq, payload) each, lengths and padding right.
fn messages() -> impl Strategy<Value = Vec<(u16, u16, u32, Vec<u8>)>> {
    proptest::collection::vec((any::<u16>(), any::<u16>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..40)), 0..5)
}

fn datagram(msgs: &[(u16, u16, u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (ty, flags, seq, payload) in msgs {
        out.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
        out.extend_from_slice(&ty.to_ne_bytes());
        out.extend_from_slice(&flags.to_ne_bytes());
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.extend_from_slice(payload);
        out.resize((out.len() + 3) & !3, 0);
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn link_parser_never_panics(buf in prop_oneof![proptest::collection::vec(any::<u8>(), 0..80), newlink_like()], flags in any::<u16>()) {
        rtnetlink(&buf, flags);
    }

    #[test]
    fn split_and_extack_never_panic(buf in prop_oneof![proptest::collection::vec(any::<u8>(), 0..80), messages().prop_map(|m| datagram(&m))], cut in any::<prop::sample::Index>(), flags in any::<u16>()) {
        rtnetlink(&buf[..cut.index(buf.len() + 1)], flags);
    }

    #[test]
    fn split_gives_back_the_messages(msgs in messages()) {
        let got = split(&datagram(&msgs), "test").unwrap();
        let got: Vec<_> = got.iter().map(|r| (r.ty, r.flags, r.seq, r.payload().to_vec())).collect();
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn link_round_trips(
        index in any::<u32>(), name in "[a-zA-Z0-9._-]{1,15}", mtu in any::<u32>(), mac in proptest::collection::vec(any::<u8>(), 0..20),
        up in any::<bool>(), promisc in any::<bool>(), master in proptest::option::of(any::<u32>()),
    ) {
        let mut m = LinkMessage::default();
        m.header.index = index;
        if up {
            m.header.flags |= LinkFlags::Up;
        }
        if promisc {
            m.header.flags |= LinkFlags::Promisc;
        }
        m.attributes.push(LinkAttribute::IfName(name.clone()));
        m.attributes.push(LinkAttribute::Mtu(mtu));
        m.attributes.push(LinkAttribute::Address(mac.clone()));
        if let Some(i) = master {
            m.attributes.push(LinkAttribute::Controller(i));
        }
        let l = parse_raw(&link::tests::bytes(RouteNetlinkMessage::NewLink(m))).unwrap();
        prop_assert_eq!((l.info.index, l.info.name, l.info.mtu, l.info.up, l.info.promisc), (index, name, mtu, up, promisc));
        prop_assert_eq!(l.info.mac, link::format_mac(&mac));
        prop_assert_eq!((l.mac_bytes, l.master_index), (mac, master));
    }
}
