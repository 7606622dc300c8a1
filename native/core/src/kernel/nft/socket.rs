//! A NETLINK_NETFILTER socket speaking nf_tables: batched transactions with per-message acks,
//! single requests, and dumps (retried when the kernel flags them as interrupted).

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

use super::error::{nl_errno, Failure, FailureKind};
use super::objects;
use super::wire::{self, Msg, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP_INTR};

const RECV_BUF: usize = 256 * 1024;
const RECV_TIMEOUT_SECS: libc::time_t = 5;
const DUMP_RETRIES: usize = 5;

/// The kernel's verdict on one message of a failed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsgError {
    /// index into the messages given to `transact`
    pub index: usize,
    pub errno: i32,
}

/// How a transaction guarded by a ruleset generation ended.
#[derive(Debug)]
pub enum Guarded {
    Committed,
    /// some message failed (the batch was aborted): the kernel's verdicts
    Refused(Vec<MsgError>),
    /// the ruleset moved on since the generation was read: nothing was done
    Stale,
}

pub struct NftSocket {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
    /// set when a call failed: replies may be left queued, so the socket is not reused
    pub(super) poisoned: bool,
}

impl NftSocket {
    /// Open a socket in the namespace at `netns` (None = the caller's own).
    pub fn open(netns: Option<&str>) -> Result<Self, Failure> {
        let sock = match netns {
            None => open_socket()?,
            Some(p) => crate::kernel::netns::run_in(Some(p), open_socket)?,
        };
        Ok(NftSocket { sock, seq: 0, buf: Vec::with_capacity(RECV_BUF), poisoned: false })
    }

    fn next_seq(&mut self, n: u32) -> u32 {
        let s = self.seq.wrapping_add(1);
        self.seq = self.seq.wrapping_add(n);
        s
    }

    /// Send one transaction. Ok(()) when every message was accepted and committed; otherwise the
    /// per-message errors (the kernel aborts the whole batch when any message fails).
    pub fn transact(&mut self, op: &str, msgs: &[Msg]) -> Result<Result<(), Vec<MsgError>>, Failure> {
        self.send_batch(op, msgs, None)
    }

    /// A transaction that commits only if the ruleset is still at generation `genid` (from
    /// [`NftSocket::generation`], read before whatever the batch was computed from).
    pub fn transact_at(&mut self, op: &str, msgs: &[Msg], genid: u32) -> Result<Guarded, Failure> {
        match self.send_batch(op, msgs, Some(genid)) {
            Ok(Ok(())) => Ok(Guarded::Committed),
            Ok(Err(errs)) => Ok(Guarded::Refused(errs)),
            Err(e) if e.errno == libc::ERESTART => Ok(Guarded::Stale),
            Err(e) => Err(e),
        }
    }

    /// The namespace's current ruleset generation (bumped by every commit).
    pub fn generation(&mut self) -> Result<u32, Failure> {
        const OP: &str = "nft generation";
        let replies = self.request(OP, &objects::get_gen())?;
        replies
            .iter()
            .find_map(|r| objects::parse_gen(r))
            .ok_or_else(|| Failure::new(FailureKind::Internal, OP, "the kernel sent no ruleset generation"))
    }

    fn send_batch(&mut self, op: &str, msgs: &[Msg], genid: Option<u32>) -> Result<Result<(), Vec<MsgError>>, Failure> {
        let first = self.next_seq(msgs.len() as u32 + 2);
        let (bytes, seqs) = wire::encode_batch(msgs, first, true, genid);
        let end_seq = first.wrapping_add(msgs.len() as u32 + 1);
        self.send(op, &bytes)?;
        let mut pending = msgs.len();
        let mut errors = Vec::new();
        // The kernel processes a batch inside our send call, so every reply is queued by now: the
        // first read blocks (bounded by SO_RCVTIMEO), the rest only drain what is there.
        let mut first_read = true;
        while pending > 0 {
            if !self.recv_some(op, !first_read)? {
                if errors.is_empty() {
                    return Err(Failure::new(
                        FailureKind::Kernel,
                        op,
                        format!("{op}: {pending} message(s) of the batch were not acknowledged"),
                    ));
                }
                break;
            }
            first_read = false;
            for m in wire::split_messages(&self.buf) {
                if m.ty != NLMSG_ERROR {
                    continue;
                }
                let errno = ack_errno(m.payload);
                if let Some(index) = seqs.iter().position(|s| *s == m.seq) {
                    pending = pending.saturating_sub(1);
                    if errno != 0 {
                        errors.push(MsgError { index, errno });
                    }
                } else if (m.seq == first || m.seq == end_seq) && errno != 0 {
                    // The batch itself was refused (its framing, or ERESTART for a stale
                    // generation): no per-message replies follow.
                    self.poisoned = false;
                    return Err(nl_errno(op, errno));
                }
            }
        }
        self.poisoned = false;
        Ok(if errors.is_empty() { Ok(()) } else { Err(errors) })
    }

    /// A single request with an ack (e.g. GETSETELEM of one key): the reply payloads.
    pub fn request(&mut self, op: &str, msg: &Msg) -> Result<Vec<Vec<u8>>, Failure> {
        let seq = self.next_seq(1);
        let mut m = msg.clone();
        m.flags |= NLM_F_ACK;
        self.send(op, &wire::encode_request(&m, seq))?;
        let mut out = Vec::new();
        loop {
            self.recv(op)?;
            for r in wire::split_messages(&self.buf) {
                if r.seq != seq {
                    continue;
                }
                if r.ty == NLMSG_ERROR {
                    let errno = ack_errno(r.payload);
                    self.poisoned = false;
                    return if errno == 0 { Ok(out) } else { Err(nl_errno(op, errno)) };
                }
                out.push(r.payload.to_vec());
            }
        }
    }

    /// A dump: payloads of every reply message. Retried when interrupted by a concurrent change;
    /// after the last retry the possibly inconsistent data is used (as netlinksafe does).
    pub fn dump(&mut self, op: &str, msg: &Msg) -> Result<Vec<Vec<u8>>, Failure> {
        for attempt in 0..DUMP_RETRIES {
            let (out, interrupted) = self.dump_once(op, msg)?;
            if !interrupted || attempt + 1 == DUMP_RETRIES {
                return Ok(out);
            }
        }
        unreachable!()
    }

    /// A dump of objects that may not exist: None when the kernel says ENOENT (no such table,
    /// chain or set), which for our callers means "nothing there".
    pub fn dump_existing(&mut self, op: &str, msg: &Msg) -> Result<Option<Vec<Vec<u8>>>, Failure> {
        match self.dump(op, msg) {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.errno == libc::ENOENT => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn dump_once(&mut self, op: &str, msg: &Msg) -> Result<(Vec<Vec<u8>>, bool), Failure> {
        let seq = self.next_seq(1);
        self.send(op, &wire::encode_request(msg, seq))?;
        let mut out = Vec::new();
        let mut interrupted = false;
        loop {
            self.recv(op)?;
            for r in wire::split_messages(&self.buf) {
                if r.seq != seq {
                    continue;
                }
                interrupted |= r.flags & NLM_F_DUMP_INTR != 0;
                if r.ty == NLMSG_DONE || r.ty == NLMSG_ERROR {
                    self.poisoned = false;
                }
                match r.ty {
                    NLMSG_DONE => return Ok((out, interrupted)),
                    NLMSG_ERROR => {
                        let errno = ack_errno(r.payload);
                        if errno == 0 {
                            return Ok((out, interrupted));
                        }
                        return Err(nl_errno(op, errno));
                    }
                    _ => out.push(r.payload.to_vec()),
                }
            }
        }
    }

    fn send(&mut self, op: &str, bytes: &[u8]) -> Result<(), Failure> {
        // Until the replies are read in full, a failure leaves the socket unusable for others.
        self.poisoned = true;
        let n = self.sock.send(bytes, 0).map_err(|e| Failure::io(format!("{op} send"), &e))?;
        if n != bytes.len() {
            return Err(Failure::new(FailureKind::Kernel, op, format!("short netlink send ({n} of {})", bytes.len())));
        }
        Ok(())
    }

    fn recv(&mut self, op: &str) -> Result<(), Failure> {
        self.recv_some(op, false).map(|_| ())
    }

    /// Read one datagram into `buf`; with `dontwait`, Ok(false) when nothing is queued.
    fn recv_some(&mut self, op: &str, dontwait: bool) -> Result<bool, Failure> {
        self.buf.clear();
        let flags = if dontwait { libc::MSG_DONTWAIT } else { 0 };
        match self.sock.recv(&mut self.buf, flags) {
            Ok(n) if n > self.buf.len() => Err(Failure::new(FailureKind::Internal, op, format!("netlink reply truncated ({n} bytes)"))),
            Ok(_) => Ok(true),
            Err(e) if dontwait && e.raw_os_error() == Some(libc::EAGAIN) => Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                let mut err = Failure::new(FailureKind::Timeout, op, format!("{op}: no netlink reply within {RECV_TIMEOUT_SECS}s"));
                err.errno = libc::EAGAIN;
                Err(err)
            }
            Err(e) => Err(Failure::io(format!("{op} recv"), &e)),
        }
    }
}

/// The errno of an NLMSG_ERROR payload (the kernel sends it negated; 0 = ack).
fn ack_errno(payload: &[u8]) -> i32 {
    payload.get(..4).map(|b| -i32::from_le_bytes(b.try_into().unwrap())).unwrap_or(libc::EIO)
}

fn open_socket() -> Result<Socket, Failure> {
    let mut sock = Socket::new(NETLINK_NETFILTER).map_err(|e| Failure::io("netlink socket", &e))?;
    sock.bind_auto().map_err(|e| Failure::io("netlink bind", &e))?;
    sock.connect(&SocketAddr::new(0, 0)).map_err(|e| Failure::io("netlink connect", &e))?;
    // Errors then carry only the failing header, not our whole request back.
    let _ = sock.set_cap_ack(true);
    let tv = libc::timeval { tv_sec: RECV_TIMEOUT_SECS, tv_usec: 0 };
    // SAFETY: setsockopt with a valid fd and a correctly sized timeval.
    let rc = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&sock),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(Failure::io("netlink setsockopt", &std::io::Error::last_os_error()));
    }
    Ok(sock)
}
