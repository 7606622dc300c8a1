//! The tc messages against what the reference bandwidth plugin (Debian's v1.1.1) sends for
//! ingressRate 8000000 / ingressBurst 800000 / egressRate 16000000 / egressBurst 1600000 on a
//! host veth of index 2 and an IFB of index 4 (captured with strace), and the parameter
//! conversion against the values it computes.

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;

use super::wire::{self, Psched, TbfParams};

/// A message's bytes after the 16-byte netlink header.
fn body(msg: RouteNetlinkMessage) -> Vec<u8> {
    let mut m = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(msg));
    m.finalize();
    let mut buf = vec![0u8; m.buffer_len()];
    m.serialize(&mut buf);
    buf[16..].to_vec()
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The kernel's tc clock on current kernels (1 tick = 64 ns).
const CLOCK: &str = "000003e8 00000040 000f4240 3b9aca00\n";

fn clock() -> Psched {
    Psched::parse(CLOCK).unwrap()
}

#[test]
fn psched_tick_rate() {
    assert_eq!(clock().tick_in_usec, 15.625);
    // an old kernel's clock (resolution 1 GHz: the first field is taken from the second)
    assert_eq!(Psched::parse("00000001 00000001 3b9aca00 00000064").unwrap().tick_in_usec, 1000.0);
    assert_eq!(Psched::parse("garbage"), None);
}

#[test]
fn conversion_as_the_reference() {
    let ingress = TbfParams::from_bits(8_000_000, 800_000, clock());
    assert_eq!(ingress, TbfParams { rate: 1_000_000, limit: 125_000, buffer: 1_562_500 });
    let egress = TbfParams::from_bits(16_000_000, 1_600_000, clock());
    assert_eq!(egress, TbfParams { rate: 2_000_000, limit: 250_000, buffer: 1_562_500 });
    // bits that do not make whole bytes are dropped, the time truncated to microseconds
    assert_eq!(TbfParams::from_bits(1_000_007, 12_345, clock()), TbfParams { rate: 125_000, limit: 4_668, buffer: 192_875 });
}

#[test]
fn tbf_bytes_as_the_reference() {
    let p = TbfParams::from_bits(8_000_000, 800_000, clock());
    let want = hex("00000000 02000000 00000100 ffffffff 00000000
         08000100 74626600
         2c000200 28000100 000000000000000040420f00 000000000000000000000000 48e80100 84d71700 00000000");
    assert_eq!(body(wire::tbf_add_msg(2, &p)), want);
}

#[test]
fn tbf_rate_beyond_32_bits_goes_in_rate64() {
    let p = TbfParams { rate: 5_000_000_000, limit: 1, buffer: 2 };
    let opts = body(wire::tbf_add_msg(2, &p));
    // the struct's rate saturates; TCA_TBF_RATE64 carries the real one
    assert_eq!(&opts[28 + 4 + 4 + 8..28 + 4 + 4 + 12], &u32::MAX.to_ne_bytes());
    assert!(opts.ends_with(&[&[12, 0, 4, 0][..], &5_000_000_000u64.to_ne_bytes()].concat()));
}

#[test]
fn ingress_bytes_as_the_reference() {
    let want = hex("00000000 02000000 0000ffff f1ffffff 00000000 0c000100 696e6772 65737300 04000200");
    assert_eq!(body(wire::ingress_add_msg(2)), want);
}

/// One difference from the reference: netlink-packet-route marks the action's options
/// NLA_F_NESTED (`24000280`), which the kernel accepts either way.
#[test]
fn redirect_filter_bytes_as_the_reference() {
    let want = hex("00000000 02000000 00000000 0000ffff 00030100
         08000100 75333200
         9c000200
         24000500 01000100 00000000 00000000 00000000 00000000 00000000 00000000 00000000
         08000100 01000100
         6c000700
           34000100 0b000100 6d697272 65640000 24000280 20000200
             00000000 00000000 04000000 00000000 00000000 01000000 04000000
           34000200 0b000100 6d697272 65640000 24000280 20000200
             00000000 00000000 00000000 00000000 00000000 01000000 04000000");
    assert_eq!(body(wire::redirect_filter_msg(2, 4)), want);
}

#[test]
fn ifb_link_as_the_reference() {
    let b = body(wire::ifb_add_msg("bwp5145007e2a84", 1500));
    // ifinfomsg: up, change mask up
    assert_eq!(&b[8..16], &[1, 0, 0, 0, 1, 0, 0, 0]);
    let attrs = &b[16..];
    assert!(attrs.starts_with(&hex("14000300 62777035 31343530 30376532 61383400")));
    assert!(attrs.windows(8).any(|w| w == hex("08000400 dc050000")), "mtu 1500");
    assert!(attrs.windows(8).any(|w| w == hex("08000d00 00000000")), "txqueuelen 0");
}

#[test]
fn parse_tbf_dump() {
    let p = TbfParams { rate: 1_000_000, limit: 125_000, buffer: 1_562_500 };
    let mut msg = vec![0u8; 16];
    msg.extend(body(wire::tbf_add_msg(7, &p)));
    let len = msg.len() as u32;
    msg[0..4].copy_from_slice(&len.to_ne_bytes());
    msg[4..6].copy_from_slice(&36u16.to_ne_bytes());
    let q = wire::parse_qdisc(&msg).unwrap();
    assert_eq!((q.index, q.parent, q.kind.as_str(), q.tbf), (7, wire::ROOT, "tbf", Some(p)));
    // and with the 64-bit rate
    let big = TbfParams { rate: 5_000_000_000, ..p };
    let mut msg = vec![0u8; 16];
    msg.extend(body(wire::tbf_add_msg(7, &big)));
    msg[4..6].copy_from_slice(&36u16.to_ne_bytes());
    assert_eq!(wire::parse_qdisc(&msg).unwrap().tbf, Some(big));
}
