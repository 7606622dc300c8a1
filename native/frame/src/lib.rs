//! The agent protocol's frames: one request frame per connection to the agent, one response frame
//! back. Both Rust sides use this crate: the launcher (it encodes an invocation, sends it with its
//! descriptors and reads the answer) and the agent's listener in fastcni-core (it reads one request
//! frame, and the descriptors that came with it, off the socket). The agent's TypeScript side,
//! src/agent/protocol.ts, is checked against this crate by test/unit/agent-protocol.test.ts through
//! the `fastcni-frame-check` binary. std and libc only: the launcher starts in well under a
//! millisecond.
//!
//! ```text
//! Frame     = "fcni" | u8 version (2) | u8 kind | u32 BE payload length | payload   (10-byte header)
//! Requests
//!   0x01 invoke   u16 BE name length, plugin name (UTF-8)
//!                 u32 BE variable count, then per variable u32 BE length + "KEY=VALUE" bytes
//!                 u32 BE stdin length, stdin bytes
//!                 + 4 descriptors (SCM_RIGHTS, with the frame's first bytes), see [`caller_fd`]
//!   0x02 status   empty (no descriptors)
//! Responses
//!   0x81 result   i32 BE exit code | u32 BE length + stdout | u32 BE length + stderr
//!   0x82 status   the agent's status as UTF-8 JSON
//!   0x83 refused  UTF-8 reason (peer not root, frame too large, malformed, shutting down)
//! ```
//!
//! The launcher sends the CNI_* variables and PATH (so that a foreign delegate is exec'd as in the
//! fallback). A binary layout: no escaping, no base64, and the launcher needs no JSON library.
//!
//! Every path in a request (CNI_NETNS, CNI_PATH, a config's dataDir, …) means what it means to the
//! caller, which may run in a mount namespace or under a root of its own (a runtime in a container,
//! containerd's private mounts). So an invoke frame carries the caller's network namespace, mount
//! namespace, root and working directory as open descriptors: the agent opens the caller's paths
//! through them and execs foreign delegates inside them, and no /proc/<pid> lookup can name another
//! process once the caller's pid is reused. Version 1 frames had no descriptors; an agent and a
//! launcher of different versions refuse each other's frames rather than serve a request in the
//! wrong place.

use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

pub const MAGIC: [u8; 4] = *b"fcni";
pub const VERSION: u8 = 2;
pub const HEADER_SIZE: usize = 10;
/// The agent's default limit on a request's payload.
pub const DEFAULT_MAX_REQUEST: u32 = 1 << 20;
/// The largest response payload a client reads; a larger one is not one of ours.
pub const MAX_RESPONSE: u32 = 64 << 20;

/// Frame kinds: requests below 0x80, responses above.
pub mod kind {
    pub const INVOKE: u8 = 0x01;
    pub const STATUS: u8 = 0x02;
    pub const RESULT: u8 = 0x81;
    pub const STATUS_REPLY: u8 = 0x82;
    pub const REFUSED: u8 = 0x83;
}

/// The descriptors an invoke frame carries, in this order: where the caller runs.
pub mod caller_fd {
    /// its network namespace (/proc/self/ns/net): the request's host side
    pub const NETNS: usize = 0;
    /// its mount namespace (/proc/self/ns/mnt): where a foreign delegate is exec'd
    pub const MNTNS: usize = 1;
    /// its root directory ("/", O_PATH): where its absolute paths start
    pub const ROOT: usize = 2;
    /// its working directory (".", O_PATH): where its relative paths start
    pub const CWD: usize = 3;
    pub const COUNT: usize = 4;
    /// What each one is, for messages.
    pub const NAMES: [&str; COUNT] = ["network namespace", "mount namespace", "root directory", "working directory"];
    /// What the caller opens for each, and how.
    pub(crate) const SOURCES: [(&std::ffi::CStr, libc::c_int); COUNT] = [
        (c"/proc/self/ns/net", libc::O_RDONLY),
        (c"/proc/self/ns/mnt", libc::O_RDONLY),
        (c"/", libc::O_PATH | libc::O_DIRECTORY),
        (c".", libc::O_PATH | libc::O_DIRECTORY),
    ];
}

/// This process's own [`caller_fd`] descriptors, in order, to send with an invoke frame.
pub fn caller_fds() -> io::Result<Vec<OwnedFd>> {
    caller_fd::SOURCES
        .iter()
        .map(|(path, flags)| {
            // SAFETY: a NUL-terminated literal; the descriptor is owned from here on.
            let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
            if fd < 0 {
                let e = io::Error::last_os_error();
                return Err(io::Error::new(e.kind(), format!("open {}: {e}", path.to_string_lossy())));
            }
            // SAFETY: just opened, owned by nobody else.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        })
        .collect()
}

/// Why some bytes are not a frame of ours. The message is the reason the agent gives when it
/// refuses a request, worded alike on both sides of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(pub String);

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FrameError {}

impl From<FrameError> for io::Error {
    fn from(e: FrameError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e.0)
    }
}

fn bad<T>(msg: impl Into<String>) -> Result<T, FrameError> {
    Err(FrameError(msg.into()))
}

/// A frame's header, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: u8,
    pub length: u32,
}

/// Check the header that `h` starts with: magic, version, and a payload of at most `max_payload`.
pub fn parse_header(h: &[u8], max_payload: u32) -> Result<Header, FrameError> {
    if h.len() < MAGIC.len() || h[..MAGIC.len()] != MAGIC {
        return bad("bad magic: not a fastcni frame");
    }
    if h.len() < HEADER_SIZE {
        return bad("truncated header");
    }
    if h[4] != VERSION {
        return bad(format!("unsupported protocol version {}", h[4]));
    }
    let length = u32::from_be_bytes([h[6], h[7], h[8], h[9]]);
    if length > max_payload {
        return bad(format!("frame of {length} bytes exceeds the limit of {max_payload}"));
    }
    Ok(Header { kind: h[5], length })
}

/// How many more bytes the frame that `buf` begins needs; None when reading should stop: the frame
/// is there (whole when [`is_whole`]), or its first bytes already tell that it is not ours or that
/// it is over `max_payload`.
pub fn remaining(buf: &[u8], max_payload: u32) -> Option<usize> {
    let have = buf.len();
    let n = have.min(MAGIC.len());
    if buf[..n] != MAGIC[..n] {
        return None;
    }
    if have < HEADER_SIZE {
        return Some(HEADER_SIZE - have);
    }
    let length = u32::from_be_bytes([buf[6], buf[7], buf[8], buf[9]]);
    if length > max_payload {
        return None;
    }
    let total = HEADER_SIZE + length as usize;
    (have < total).then(|| total - have)
}

/// `buf` is exactly one frame of ours with a payload of at most `max_payload`.
pub fn is_whole(buf: &[u8], max_payload: u32) -> bool {
    if buf.len() < HEADER_SIZE || buf[..MAGIC.len()] != MAGIC {
        return false;
    }
    let length = u32::from_be_bytes([buf[6], buf[7], buf[8], buf[9]]);
    length <= max_payload && buf.len() == HEADER_SIZE + length as usize
}

/// A frame of `kind` with room for `payload_len` bytes of payload, its header written.
fn start(kind: u8, payload_len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(HEADER_SIZE + payload_len);
    f.extend_from_slice(&MAGIC);
    f.push(VERSION);
    f.push(kind);
    f.extend_from_slice(&(payload_len as u32).to_be_bytes());
    f
}

fn put_bytes(f: &mut Vec<u8>, b: &[u8]) {
    f.extend_from_slice(&(b.len() as u32).to_be_bytes());
    f.extend_from_slice(b);
}

/// One whole invoke frame; `env` holds "KEY=VALUE" entries (bytes, as the launcher has them).
/// Refused, rather than sent with a length field that wrapped, when a part is longer than its field
/// can say (a plugin name over 65535 bytes, a count or length over 4 GiB).
pub fn encode_invoke(plugin: &[u8], env: &[Vec<u8>], stdin: &[u8]) -> Result<Vec<u8>, FrameError> {
    let plugin_len = u16::try_from(plugin.len()).map_err(|_| FrameError(format!("plugin name of {} bytes is too long", plugin.len())))?;
    let u32_of = |n: usize, what: &str| u32::try_from(n).map_err(|_| FrameError(format!("{what} of {n} is too long for a frame")));
    let len = 2 + plugin.len() + 4 + env.iter().map(|e| 4 + e.len()).sum::<usize>() + 4 + stdin.len();
    u32_of(len, "a request")?;
    let mut f = start(kind::INVOKE, len);
    f.extend_from_slice(&plugin_len.to_be_bytes());
    f.extend_from_slice(plugin);
    f.extend_from_slice(&u32_of(env.len(), "an environment")?.to_be_bytes());
    for e in env {
        put_bytes(&mut f, e);
    }
    put_bytes(&mut f, stdin);
    Ok(f)
}

/// One plugin invocation as the agent reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoke {
    pub plugin: String,
    /// name and value, in the order sent
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
}

/// A request as the agent reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Invoke(Invoke),
    Status,
}

impl Request {
    /// The whole frame; an error when a part does not fit (see [`encode_invoke`]).
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        match self {
            Request::Invoke(i) => {
                let env: Vec<Vec<u8>> = i.env.iter().map(|(k, v)| format!("{k}={v}").into_bytes()).collect();
                encode_invoke(i.plugin.as_bytes(), &env, &i.stdin)
            }
            Request::Status => Ok(start(kind::STATUS, 0)),
        }
    }
}

/// A payload read front to back; running out is the error `truncated`.
struct Cursor<'a> {
    rest: &'a [u8],
    truncated: &'static str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.rest.len() < n {
            return bad(self.truncated);
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, FrameError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, FrameError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self) -> Result<&'a [u8], FrameError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Decode a request's payload of the given kind.
pub fn decode_request(kind: u8, payload: &[u8]) -> Result<Request, FrameError> {
    if kind == kind::STATUS {
        return if payload.is_empty() { Ok(Request::Status) } else { bad("status request with a payload") };
    }
    if kind != kind::INVOKE {
        return bad(format!("unknown request kind 0x{kind:x}"));
    }
    let mut p = Cursor { rest: payload, truncated: "truncated invoke payload" };
    let n = p.u16()? as usize;
    let plugin = text(p.take(n)?);
    let count = p.u32()?;
    let mut env = Vec::new();
    for _ in 0..count {
        let kv = text(p.bytes()?);
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => env.push((k.to_string(), v.to_string())),
            _ => return bad("environment entry without a name"),
        }
    }
    let stdin = p.bytes()?.to_vec();
    if !p.rest.is_empty() {
        return bad("trailing bytes after the invoke payload");
    }
    if plugin.is_empty() || plugin.contains('/') {
        return bad(format!("invalid plugin name \"{plugin}\""));
    }
    Ok(Request::Invoke(Invoke { plugin, env, stdin }))
}

/// What the agent answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// the plugin's exit code and output
    Result {
        exit_code: i32,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
    },
    /// the agent's status, UTF-8 JSON
    Status(Vec<u8>),
    Refused(String),
}

impl Response {
    /// The whole frame.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Response::Result { exit_code, stdout, stderr } => {
                let mut f = start(kind::RESULT, 12 + stdout.len() + stderr.len());
                f.extend_from_slice(&exit_code.to_be_bytes());
                put_bytes(&mut f, stdout);
                put_bytes(&mut f, stderr);
                f
            }
            Response::Status(json) => [start(kind::STATUS_REPLY, json.len()), json.clone()].concat(),
            Response::Refused(reason) => [start(kind::REFUSED, reason.len()), reason.as_bytes().to_vec()].concat(),
        }
    }
}

fn decode_response_payload(kind: u8, payload: &[u8]) -> Result<Response, FrameError> {
    match kind {
        kind::RESULT => {
            let mut p = Cursor { rest: payload, truncated: "truncated result payload" };
            let exit_code = p.u32()? as i32;
            let stdout = p.bytes()?.to_vec();
            let stderr = p.bytes()?.to_vec();
            if !p.rest.is_empty() {
                return bad("trailing bytes after the result payload");
            }
            Ok(Response::Result { exit_code, stdout, stderr })
        }
        kind::STATUS_REPLY => Ok(Response::Status(payload.to_vec())),
        kind::REFUSED => Ok(Response::Refused(text(payload))),
        _ => bad(format!("unknown response kind 0x{kind:x}")),
    }
}

/// Decode one whole response frame (header included, nothing after it).
pub fn decode_response(frame: &[u8]) -> Result<Response, FrameError> {
    let h = parse_header(frame, MAX_RESPONSE)?;
    let end = HEADER_SIZE + h.length as usize;
    if frame.len() < end {
        return bad("truncated response");
    }
    if frame.len() > end {
        return bad("bytes after the response frame");
    }
    decode_response_payload(h.kind, &frame[HEADER_SIZE..])
}

/// Read one response frame from a stream; an early end is UnexpectedEof, bytes that are not a
/// response of ours are InvalidData.
pub fn read_response(r: &mut impl Read) -> io::Result<Response> {
    let mut head = [0u8; HEADER_SIZE];
    r.read_exact(&mut head)?;
    let h = parse_header(&head, MAX_RESPONSE)?;
    let mut payload = vec![0u8; h.length as usize];
    r.read_exact(&mut payload)?;
    Ok(decode_response_payload(h.kind, &payload)?)
}

/// The most descriptors [`recv`] takes from one read; more are closed by the kernel (MSG_CTRUNC),
/// and the frame then fails the agent's count check.
pub const MAX_FDS: usize = 8;

fn cmsg_space(fds: usize) -> usize {
    // SAFETY: a pure size computation.
    unsafe { libc::CMSG_SPACE((fds * std::mem::size_of::<RawFd>()) as u32) as usize }
}

/// Write a whole frame to a connected unix stream socket, with `fds` passed along with its first
/// bytes (SCM_RIGHTS): the receiver gets them on the read that returns those bytes.
pub fn send(sock: BorrowedFd<'_>, frame: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    // u64 words keep the control buffer aligned for cmsghdr
    let mut control = vec![0u64; cmsg_space(fds.len()).div_ceil(8)];
    let mut off = 0;
    while off < frame.len() {
        let mut iov = libc::iovec { iov_base: frame[off..].as_ptr() as *mut libc::c_void, iov_len: frame.len() - off };
        // SAFETY: a zeroed msghdr is valid; every pointer set below outlives the sendmsg call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if off == 0 && !fds.is_empty() {
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = cmsg_space(fds.len()) as _;
            // SAFETY: the control buffer has room for one header and fds.len() descriptors.
            unsafe {
                let c = libc::CMSG_FIRSTHDR(&msg);
                (*c).cmsg_level = libc::SOL_SOCKET;
                (*c).cmsg_type = libc::SCM_RIGHTS;
                (*c).cmsg_len = libc::CMSG_LEN((fds.len() * std::mem::size_of::<RawFd>()) as u32) as _;
                let data = libc::CMSG_DATA(c).cast::<RawFd>();
                for (i, fd) in fds.iter().enumerate() {
                    data.add(i).write_unaligned(fd.as_raw_fd());
                }
            }
        }
        // SAFETY: msg describes valid buffers; MSG_NOSIGNAL: a closed peer is EPIPE, not a signal.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        off += n as usize;
    }
    Ok(())
}

/// Read at most `buf.len()` bytes from a unix stream socket, appending the descriptors that came
/// with them (close-on-exec) to `fds`. 0 is the end of input; the socket's read time-out applies.
pub fn recv(sock: BorrowedFd<'_>, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let mut control = vec![0u64; cmsg_space(MAX_FDS).div_ceil(8)];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: a zeroed msghdr is valid; the pointers set below outlive the recvmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = cmsg_space(MAX_FDS) as _;
    // SAFETY: msg describes buffers we own.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: walking the control messages the kernel wrote into our buffer; each SCM_RIGHTS
    // descriptor is new in this process and owned from here on.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<RawFd>();
                let data = libc::CMSG_DATA(c).cast::<RawFd>();
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_layout_and_round_trip() {
        let f = encode_invoke(b"bridge", &[b"CNI_COMMAND=ADD".to_vec(), b"A=b=c".to_vec()], b"{}").unwrap();
        assert_eq!(&f[0..6], b"fcni\x02\x01");
        assert_eq!(u32::from_be_bytes([f[6], f[7], f[8], f[9]]) as usize, f.len() - HEADER_SIZE);
        assert_eq!(&f[10..12], &[0, 6]);
        assert_eq!(&f[f.len() - 2..], b"{}");
        let h = parse_header(&f, DEFAULT_MAX_REQUEST).unwrap();
        let req = decode_request(h.kind, &f[HEADER_SIZE..]).unwrap();
        let want = Invoke {
            plugin: "bridge".into(),
            env: vec![("CNI_COMMAND".into(), "ADD".into()), ("A".into(), "b=c".into())],
            stdin: b"{}".to_vec(),
        };
        assert_eq!(req, Request::Invoke(want));
        assert_eq!(req.encode().unwrap(), f);
    }

    #[test]
    fn responses_round_trip_and_truncation_is_refused() {
        for r in [
            Response::Result { exit_code: -2, stdout: b"ok".to_vec(), stderr: vec![] },
            Response::Status(b"{}".to_vec()),
            Response::Refused("no".into()),
        ] {
            let f = r.encode();
            assert_eq!(decode_response(&f).unwrap(), r);
            assert_eq!(read_response(&mut &f[..]).unwrap(), r);
            assert_eq!(decode_response(&f[..f.len() - 1]).unwrap_err().0, "truncated response");
            assert_eq!(read_response(&mut &f[..f.len() - 1]).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        }
    }

    #[test]
    fn a_plugin_name_its_length_field_cannot_say_is_refused() {
        let long = vec![b'a'; usize::from(u16::MAX) + 1];
        assert_eq!(encode_invoke(&long, &[], b"").unwrap_err().0, "plugin name of 65536 bytes is too long");
        let longest = encode_invoke(&long[1..], &[], b"").unwrap();
        assert_eq!(&longest[HEADER_SIZE..HEADER_SIZE + 2], &[0xff, 0xff]);
    }

    #[test]
    fn malformed_requests() {
        let err = |kind: u8, p: &[u8]| decode_request(kind, p).unwrap_err().0;
        let good = encode_invoke(b"x", &[b"A=b".to_vec()], b"zz").unwrap();
        let p = &good[HEADER_SIZE..];
        assert_eq!(err(kind::INVOKE, &p[..p.len() - 1]), "truncated invoke payload");
        assert_eq!(err(kind::INVOKE, &[p, &[0]].concat()), "trailing bytes after the invoke payload");
        assert_eq!(err(0x42, p), "unknown request kind 0x42");
        assert_eq!(err(kind::STATUS, p), "status request with a payload");
        assert_eq!(err(kind::INVOKE, &encode_invoke(b"../x", &[], b"").unwrap()[HEADER_SIZE..]), "invalid plugin name \"../x\"");
        assert_eq!(
            err(kind::INVOKE, &encode_invoke(b"x", &[b"=v".to_vec()], b"").unwrap()[HEADER_SIZE..]),
            "environment entry without a name"
        );
        assert_eq!(parse_header(b"POST / HTTP", 9).unwrap_err().0, "bad magic: not a fastcni frame");
        assert_eq!(parse_header(b"fcni\x01\x01\0\0\0\0", 9).unwrap_err().0, "unsupported protocol version 1");
        assert_eq!(parse_header(b"fcni\x02\x01\0\0\0\x0a", 9).unwrap_err().0, "frame of 10 bytes exceeds the limit of 9");
    }

    #[test]
    fn descriptors_travel_with_the_first_bytes() {
        use std::os::fd::AsFd;
        use std::os::unix::net::UnixStream;
        let (a, b) = UnixStream::pair().unwrap();
        let (file, ns) = (std::fs::File::open("/").unwrap(), std::fs::File::open("/proc/self/ns/net").unwrap());
        let frame = encode_invoke(b"bridge", &[], &[7; 300]).unwrap();
        send(a.as_fd(), &frame, &[file.as_fd(), ns.as_fd()]).unwrap();
        let (mut got, mut fds) = (vec![0u8; frame.len()], Vec::new());
        // two reads: the descriptors come with the first
        assert_eq!(recv(b.as_fd(), &mut got[..HEADER_SIZE], &mut fds).unwrap(), HEADER_SIZE);
        assert_eq!(fds.len(), 2);
        assert_eq!(recv(b.as_fd(), &mut got[HEADER_SIZE..], &mut fds).unwrap(), frame.len() - HEADER_SIZE);
        assert_eq!((got, fds.len()), (frame, 2));
        let same = |x: &OwnedFd, y: RawFd| {
            let st = |fd: RawFd| {
                // SAFETY: fstat into a zeroed struct on an open descriptor.
                let mut s: libc::stat = unsafe { std::mem::zeroed() };
                assert_eq!(unsafe { libc::fstat(fd, &mut s) }, 0);
                (s.st_dev, s.st_ino)
            };
            st(x.as_raw_fd()) == st(y)
        };
        assert!(same(&fds[0], file.as_raw_fd()) && same(&fds[1], ns.as_raw_fd()));
        // SAFETY: F_GETFD on an open descriptor.
        assert_ne!(unsafe { libc::fcntl(fds[0].as_raw_fd(), libc::F_GETFD) } & libc::FD_CLOEXEC, 0);
        // none sent, none received; the end of input reads as 0
        send(a.as_fd(), b"x", &[]).unwrap();
        drop(a);
        let mut none = Vec::new();
        assert_eq!(recv(b.as_fd(), &mut [0; 4], &mut none).unwrap(), 1);
        assert_eq!(recv(b.as_fd(), &mut [0; 4], &mut none).unwrap(), 0);
        assert!(none.is_empty());
    }

    #[test]
    fn how_much_a_frame_still_needs() {
        let frame = |payload: &[u8]| [start(kind::INVOKE, payload.len()), payload.to_vec()].concat();
        assert_eq!(remaining(b"", 100), Some(10));
        assert_eq!(remaining(b"fc", 100), Some(8));
        assert_eq!(remaining(b"GET /", 100), None);
        assert_eq!(remaining(&frame(b"abc")[..10], 100), Some(3));
        assert_eq!(remaining(&frame(b"abc"), 100), None);
        assert!(is_whole(&frame(b"abc"), 100));
        assert_eq!(remaining(&frame(&[0; 200])[..10], 100), None);
        assert!(!is_whole(&frame(&[0; 200]), 100));
        assert!(!is_whole(&[frame(b"a"), b"more".to_vec()].concat(), 100));
    }
}
