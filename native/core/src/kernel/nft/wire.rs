//! nfnetlink / nf_tables wire format: attribute builder, messages, batches, and attribute parsing.
//! Only the subset fastcni uses; constants mirror include/uapi/linux/netfilter{,/nf_tables}.h.

pub const NFNL_SUBSYS_NFTABLES: u16 = 10;
pub const NFNL_MSG_BATCH_BEGIN: u16 = 16;
pub const NFNL_MSG_BATCH_END: u16 = 17;
/// The batch-begin attribute carrying the ruleset generation the batch was computed against.
const NFNL_BATCH_GENID: u16 = 1;

pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLM_F_APPEND: u16 = 0x800;

const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;
pub const NLMSG_HDRLEN: usize = 16;
pub const NFGENMSG_LEN: usize = 4;

/// nf_tables message types (NFT_MSG_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum MsgType {
    NewTable = 0,
    GetTable = 1,
    NewChain = 3,
    GetChain = 4,
    DelChain = 5,
    NewRule = 6,
    GetRule = 7,
    DelRule = 8,
    NewSet = 9,
    GetSet = 10,
    DelSet = 11,
    NewSetElem = 12,
    GetSetElem = 13,
    DelSetElem = 14,
    GetGen = 16,
}

/// Protocol families (NFPROTO_*).
pub const NFPROTO_INET: u8 = 1;
pub const NFPROTO_BRIDGE: u8 = 7;
pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_IPV6: u8 = 10;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends netlink attributes (TLVs, 4-byte aligned, zero padding) to a buffer.
#[derive(Default, Debug, Clone)]
pub struct Attrs {
    buf: Vec<u8>,
}

impl Attrs {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn put(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_le_bytes());
        self.buf.extend_from_slice(&ty.to_le_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    /// A NUL-terminated string, as the kernel's NLA_STRING policy expects.
    pub fn str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.put(ty, &v)
    }

    /// nf_tables integers are big-endian on the wire.
    pub fn u32be(&mut self, ty: u16, v: u32) -> &mut Self {
        self.put(ty, &v.to_be_bytes())
    }

    pub fn u64be(&mut self, ty: u16, v: u64) -> &mut Self {
        self.put(ty, &v.to_be_bytes())
    }

    pub fn nest(&mut self, ty: u16, f: impl FnOnce(&mut Attrs)) -> &mut Self {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
        let mut inner = Attrs { buf: std::mem::take(&mut self.buf) };
        f(&mut inner);
        self.buf = inner.buf;
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_le_bytes());
        self.buf[start + 2..start + 4].copy_from_slice(&(ty | NLA_F_NESTED).to_le_bytes());
        self
    }
}

/// One nf_tables message before framing: type, flags (NLM_F_REQUEST is implied), family, attributes.
#[derive(Debug, Clone)]
pub struct Msg {
    pub ty: MsgType,
    pub flags: u16,
    pub family: u8,
    pub attrs: Attrs,
}

impl Msg {
    pub fn new(ty: MsgType, family: u8, flags: u16, attrs: Attrs) -> Self {
        Msg { ty, flags, family, attrs }
    }
}

/// The headers of one message: nlmsghdr (type, flags, sequence number) and nfgenmsg (family,
/// resource id).
struct Header {
    ty: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
}

fn frame(out: &mut Vec<u8>, h: Header, attrs: &[u8]) {
    let len = NLMSG_HDRLEN + NFGENMSG_LEN + attrs.len();
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&h.ty.to_le_bytes());
    out.extend_from_slice(&h.flags.to_le_bytes());
    out.extend_from_slice(&h.seq.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // portid: the kernel fills in ours
    out.push(h.family);
    out.push(0); // NFNETLINK_V0
    out.extend_from_slice(&h.res_id.to_be_bytes());
    out.extend_from_slice(attrs);
}

/// A single (non-batched) request such as a GET or a dump.
pub fn encode_request(msg: &Msg, seq: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(NLMSG_HDRLEN + NFGENMSG_LEN + msg.attrs.bytes().len());
    let ty = (NFNL_SUBSYS_NFTABLES << 8) | msg.ty as u16;
    frame(&mut out, Header { ty, flags: NLM_F_REQUEST | msg.flags, seq, family: msg.family, res_id: 0 }, msg.attrs.bytes());
    out
}

/// A transaction: BATCH_BEGIN, the messages with consecutive sequence numbers, BATCH_END.
/// With `genid`, the kernel refuses the whole batch (ERESTART, acked on BATCH_BEGIN) unless the
/// ruleset is still at that generation, checked and committed under the same mutex
/// (nfnetlink_rcv_batch, nf_tables_valid_genid); iptables-nft sends it the same way.
/// Returns the bytes and the sequence number given to each message (in order).
pub fn encode_batch(msgs: &[Msg], first_seq: u32, ack: bool, genid: Option<u32>) -> (Vec<u8>, Vec<u32>) {
    let mut out = Vec::with_capacity(256 * (msgs.len() + 2));
    let mut seq = first_seq;
    let batch = |ty, seq| Header { ty, flags: NLM_F_REQUEST, seq, family: 0, res_id: NFNL_SUBSYS_NFTABLES };
    let mut begin = Attrs::new();
    if let Some(g) = genid {
        begin.u32be(NFNL_BATCH_GENID, g);
    }
    frame(&mut out, batch(NFNL_MSG_BATCH_BEGIN, seq), begin.bytes());
    let mut seqs = Vec::with_capacity(msgs.len());
    for m in msgs {
        seq = seq.wrapping_add(1);
        seqs.push(seq);
        let ty = (NFNL_SUBSYS_NFTABLES << 8) | m.ty as u16;
        let flags = NLM_F_REQUEST | m.flags | if ack { NLM_F_ACK } else { 0 };
        frame(&mut out, Header { ty, flags, seq, family: m.family, res_id: 0 }, m.attrs.bytes());
    }
    seq = seq.wrapping_add(1);
    frame(&mut out, batch(NFNL_MSG_BATCH_END, seq), &[]);
    (out, seqs)
}

/// A received netlink message: header fields and the payload after the nlmsghdr.
#[derive(Debug)]
pub struct RawMsg<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

/// Split a datagram into netlink messages; stops at the first malformed header.
pub fn split_messages(buf: &[u8]) -> Vec<RawMsg<'_>> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let len = u32::from_le_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            break;
        }
        out.push(RawMsg {
            ty: u16::from_le_bytes([buf[off + 4], buf[off + 5]]),
            flags: u16::from_le_bytes([buf[off + 6], buf[off + 7]]),
            seq: u32::from_le_bytes(buf[off + 8..off + 12].try_into().unwrap()),
            payload: &buf[off + NLMSG_HDRLEN..off + len],
        });
        off += align4(len);
    }
    out
}

/// Iterate the attributes of a buffer as (type without flag bits, value).
pub fn parse_attrs(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut off = 0;
    std::iter::from_fn(move || {
        if off + 4 > buf.len() {
            return None;
        }
        let len = u16::from_le_bytes([buf[off], buf[off + 1]]) as usize;
        let ty = u16::from_le_bytes([buf[off + 2], buf[off + 3]]) & NLA_TYPE_MASK;
        if len < 4 || off + len > buf.len() {
            return None;
        }
        let v = &buf[off + 4..off + len];
        off += align4(len);
        Some((ty, v))
    })
}

pub fn find_attr(buf: &[u8], ty: u16) -> Option<&[u8]> {
    parse_attrs(buf).find(|(t, _)| *t == ty).map(|(_, v)| v)
}

/// A NUL-terminated string attribute value.
pub fn attr_str(v: &[u8]) -> String {
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// The longest comment (without its NUL) on a set, element or rule of ours: the kernel's userdata
/// limit (NFT_USERDATA_MAXLEN, 256 bytes for the whole TLV list) less the other TLVs and overhead.
/// Every builder refuses a longer comment before it makes a message.
pub const MAX_COMMENT: usize = 240;

/// libnftnl "udata": a TLV list of (u8 type, u8 len, value); used for set and element comments.
/// The length is one byte: a value over 255 bytes is cut there, so the length written is always
/// that of the bytes that follow (the builders keep comments under [`MAX_COMMENT`] anyway).
pub fn udata_put(out: &mut Vec<u8>, ty: u8, v: &[u8]) {
    let v = &v[..v.len().min(usize::from(u8::MAX))];
    out.push(ty);
    out.push(v.len() as u8);
    out.extend_from_slice(v);
}

pub fn udata_find(buf: &[u8], ty: u8) -> Option<&[u8]> {
    let mut off = 0;
    while off + 2 <= buf.len() {
        let (t, l) = (buf[off], buf[off + 1] as usize);
        if off + 2 + l > buf.len() {
            return None;
        }
        if t == ty {
            return Some(&buf[off + 2..off + 2 + l]);
        }
        off += 2 + l;
    }
    None
}
