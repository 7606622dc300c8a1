//! Property tests of the nf_tables decoders the core runs on the kernel's replies (wire.rs's
//! message and attribute splitters, objects.rs's and portmap_objects.rs's parsers of sets, rules,
//! elements and the generation): any bytes give a value or nothing, never a panic; and elements our
//! encoders put in a message are read back as they were. Small case counts: well under a second.

use proptest::prelude::*;

use super::super::decode_props::attr;
use super::objects::{self, Elem, Table};
use super::portmap_objects::{self as po, Family, MapElem, SetKind};
use super::wire::{self, NFPROTO_INET};

const T: Table<'static> = Table { family: NFPROTO_INET, name: "fastcni" };

fn config() -> ProptestConfig {
    ProptestConfig { cases: 512, ..ProptestConfig::default() }
}

/// A message payload as the parsers get it: nfgenmsg, then attributes; sometimes cut short.
fn payload_like() -> impl Strategy<Value = Vec<u8>> {
    let structured = (
        proptest::collection::vec(any::<u8>(), 4),
        proptest::collection::vec(attr(4, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]), 0..5),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(head, attrs, cut, whole)| {
            let mut p = [head, attrs.concat()].concat();
            if !whole {
                p.truncate(cut.index(p.len() + 1));
            }
            p
        });
    prop_oneof![proptest::collection::vec(any::<u8>(), 0..64), structured]
}

fn parse_all(p: &[u8]) {
    let _ = objects::parse_rule_jump(p);
    let _ = objects::parse_gen(p);
    let _ = objects::parse_rule(p);
    let _ = objects::parse_set(p);
    let _ = objects::parse_set_elems(p);
    let _ = po::parse_elems(p);
    let _ = po::parse_rule_comment(p);
    let _ = objects::parse_rule_xt_comment(p);
    let _ = objects::parse_rule_chain(p);
    let _ = objects::parse_chain_name(p);
    let _ = objects::parse_table(p);
    for (_, v) in wire::parse_attrs(p) {
        let _ = wire::attr_str(v);
        let _ = wire::udata_find(v, 0);
    }
}

fn comment() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[^\u{0}]{0,60}")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn payload_parsers_never_panic(p in payload_like()) {
        parse_all(&p);
    }

    #[test]
    fn message_splitter_never_panics(p in payload_like(), lens in proptest::collection::vec(any::<u32>(), 1..3)) {
        // a datagram: netlink headers with arbitrary lengths in front of the payload bytes
        let mut buf = Vec::new();
        for len in lens {
            buf.extend_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(&[0; 12]);
            buf.extend_from_slice(&p);
        }
        for m in wire::split_messages(&buf) {
            parse_all(m.payload);
        }
    }

    #[test]
    fn set_elements_round_trip(elems in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 1..40), comment()), 0..6)) {
        let elems: Vec<Elem> = elems.into_iter().map(|(key, comment)| Elem { key, comment }).collect();
        let bytes = wire::encode_request(&objects::new_set_elems(T, "s", Some(1), &elems, 0), 7);
        let msgs = wire::split_messages(&bytes);
        prop_assert_eq!(msgs.len(), 1);
        prop_assert_eq!(msgs[0].seq, 7);
        prop_assert_eq!(objects::parse_set_elems(msgs[0].payload), elems);
    }

    #[test]
    fn map_elements_round_trip(
        v6 in any::<bool>(),
        elems in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 1..40), proptest::option::of(proptest::collection::vec(any::<u8>(), 1..40)), comment()), 0..6),
    ) {
        let elems: Vec<MapElem> = elems.into_iter().map(|(key, data, comment)| MapElem { key, data, comment }).collect();
        let f = if v6 { Family::V6 } else { Family::V4 };
        let bytes = wire::encode_request(&po::new_elems(f, SetKind::Ports, None, &elems, 0), 1);
        let msgs = wire::split_messages(&bytes);
        prop_assert_eq!(msgs.len(), 1);
        prop_assert_eq!(po::parse_elems(msgs[0].payload), elems);
    }
}
