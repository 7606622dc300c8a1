//! The nf_tables decoders on any bytes (see kernel/decode_any.rs): wire.rs's message and attribute
//! splitters and objects.rs's and portmap_objects.rs's parsers of tables, chains, sets, rules (with
//! their jumps and comments), elements and the generation.

use super::objects;
use super::portmap_objects as po;
use super::wire;

/// Every payload parser on one message payload (nfgenmsg, then attributes).
pub fn nf_tables_payload(p: &[u8]) {
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

/// A datagram as the kernel would send it: split into messages, each payload to every parser; and
/// the whole buffer as one payload.
pub fn nf_tables(buf: &[u8]) {
    for m in wire::split_messages(buf) {
        nf_tables_payload(m.payload);
    }
    nf_tables_payload(buf);
}
