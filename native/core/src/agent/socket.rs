//! The agent's listening socket, served by a thread of ours: it accepts, reads the caller's
//! credentials (SO_PEERCRED) and one request frame with the descriptors that came with it (where
//! the caller runs), and hands them to the agent (JavaScript), which answers with [`Listener::reply`]. Node's stream machinery would cost the agent a socket object,
//! several event-loop turns and a timer per request; here a request reaches JavaScript once, whole.
//!
//! Only the framing is checked here (magic, announced length against the limit, end of input,
//! time-out, bytes after the frame), so that reading stops early on garbage; what was read goes to
//! the agent with the reason reading ended, and the agent decodes it and words any refusal.

use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::peer::{self, CallerPlace, OwnPlace};

/// How long the accepting thread itself waits for a frame; a slower caller gets a thread of its own.
const INLINE_WAIT: Duration = Duration::from_millis(20);
/// A caller that does not read its answer holds the replying thread at most this long.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why reading a request stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(string_enum = "camelCase"))]
pub enum ReadEnd {
    /// a whole frame, and nothing after it
    Complete,
    /// more bytes followed the frame
    Extra,
    /// not a frame of ours, or one over the limit: the header says so, nothing more was read
    Rejected,
    /// the caller closed before the frame was whole
    Eof,
    /// the frame was not whole within the read time-out
    Timeout,
    /// reading failed
    Error,
}

/// One accepted connection, read.
#[derive(Debug)]
pub struct Incoming {
    pub id: u64,
    pub pid: i32,
    pub uid: u32,
    /// what was read: the header and payload of a whole frame, or as much as reading got
    pub bytes: Vec<u8>,
    pub end: ReadEnd,
    /// where the caller runs, from the descriptors it sent (kept open until the reply); Err: why
    /// they do not tell (none were sent, as with a status request, or not the right ones)
    pub caller: std::result::Result<CallerPlace, String>,
    /// from the accept to the hand-over
    pub read_time: Duration,
}

/// Read into `buf` (and the descriptors that come with it into `fds`) until the frame is whole or
/// must be given up, by `deadline`.
fn read_frame(s: &mut UnixStream, buf: &mut Vec<u8>, fds: &mut Vec<OwnedFd>, max_payload: u32, deadline: Instant) -> ReadEnd {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let Some(want) = fastcni_frame::remaining(buf, max_payload) else {
            if !fastcni_frame::is_whole(buf, max_payload) {
                return ReadEnd::Rejected;
            }
            return if extra_bytes(s) { ReadEnd::Extra } else { ReadEnd::Complete };
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            return ReadEnd::Timeout;
        }
        let n = want.min(chunk.len());
        match fastcni_frame::recv(s.as_fd(), &mut chunk[..n], fds) {
            Ok(0) => return ReadEnd::Eof,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if Instant::now() >= deadline {
                    return ReadEnd::Timeout;
                }
            }
            Err(_) => return ReadEnd::Error,
        }
    }
}

/// Whether the caller sent more than one frame (peeked, not consumed).
fn extra_bytes(s: &UnixStream) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: recv into a 1-byte buffer we own on a valid fd.
    let n = unsafe { libc::recv(s.as_raw_fd(), b.as_mut_ptr().cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    n > 0
}

/// Write what a non-blocking socket takes now; the count written (all of it, or up to EAGAIN).
fn write_some(s: &mut UnixStream, bytes: &[u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < bytes.len() {
        match s.write(&bytes[done..]) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// A connection being read: the caller's credentials, what has come so far, when it was accepted.
struct Reading {
    s: UnixStream,
    pid: i32,
    uid: u32,
    bytes: Vec<u8>,
    fds: Vec<OwnedFd>,
    start: Instant,
}

/// Connections handed over, and the agent waiting for the next one.
struct Queue {
    ready: VecDeque<Incoming>,
    waiter: Option<Box<dyn FnOnce(Option<Incoming>) + Send>>,
}

/// A listening socket served by our accepting thread.
pub struct Listener {
    listener: UnixListener,
    path: String,
    stopped: AtomicBool,
    next_id: AtomicU64,
    /// connections read and not yet answered, with the descriptors their callers sent
    open: Mutex<HashMap<u64, (UnixStream, Vec<OwnedFd>)>>,
    /// where this process runs, to tell the callers that run elsewhere
    own: OwnPlace,
    queue: Mutex<Queue>,
}

impl Listener {
    /// Bind and listen at `path` (the caller sets the umask, so the file never has wider modes).
    pub fn bind(path: &str) -> std::io::Result<Arc<Listener>> {
        let listener = UnixListener::bind(path)?;
        Ok(Arc::new(Listener {
            listener,
            path: path.to_string(),
            stopped: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            open: Mutex::new(HashMap::new()),
            own: OwnPlace::current(),
            queue: Mutex::new(Queue { ready: VecDeque::new(), waiter: None }),
        }))
    }

    /// Start accepting on a thread of ours; each request is read (at most `read_timeout`, frames of
    /// at most `max_payload` bytes) and then queued for [`Listener::next`].
    pub fn start(self: &Arc<Self>, max_payload: u32, read_timeout: Duration) -> std::io::Result<()> {
        let me = Arc::clone(self);
        std::thread::Builder::new()
            .name("fastcni-accept".into())
            .stack_size(256 * 1024)
            .spawn(move || me.accept_loop(max_payload, read_timeout))
            .map(|_| ())
    }

    fn accept_loop(self: Arc<Self>, max_payload: u32, read_timeout: Duration) {
        loop {
            let accepted = self.listener.accept();
            if self.stopped.load(Ordering::SeqCst) {
                break;
            }
            let s = match accepted {
                Ok((s, _)) => s,
                Err(e) if e.kind() == ErrorKind::Interrupted || e.kind() == ErrorKind::ConnectionAborted => continue,
                Err(_) => {
                    // out of file descriptors, say: let some close
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            let start = Instant::now();
            let (pid, uid) = match peer::peer_cred(s.as_raw_fd()) {
                Ok(c) => (c.pid, c.uid),
                Err(_) => continue, // dropped: the caller sees the connection closed
            };
            let mut r = Reading { s, pid, uid, bytes: Vec::with_capacity(4096), fds: Vec::new(), start };
            let end = read_frame(&mut r.s, &mut r.bytes, &mut r.fds, max_payload, start + INLINE_WAIT.min(read_timeout));
            if end == ReadEnd::Timeout && start.elapsed() < read_timeout {
                // a slow caller: finish reading on its own thread, keep accepting
                let me = Arc::clone(&self);
                let spawned = std::thread::Builder::new().name("fastcni-read".into()).stack_size(128 * 1024).spawn(move || {
                    let end = read_frame(&mut r.s, &mut r.bytes, &mut r.fds, max_payload, start + read_timeout);
                    me.hand_over(r, end);
                });
                if spawned.is_err() {
                    continue; // the closure (and the connection) is dropped
                }
            } else {
                self.hand_over(r, end);
            }
        }
    }

    fn hand_over(&self, r: Reading, end: ReadEnd) {
        let Reading { s, pid, uid, bytes, fds, start } = r;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // Where the caller runs comes from the descriptors it sent, not from its pid: they name its
        // namespaces and directories even if it has exited and its pid been reused meanwhile.
        let caller = peer::caller_place(&fds, &self.own);
        self.open.lock().unwrap().insert(id, (s, fds));
        let inc = Incoming { id, pid, uid, bytes, end, caller, read_time: start.elapsed() };
        let mut q = self.queue.lock().unwrap();
        match q.waiter.take() {
            Some(w) => {
                drop(q);
                w(Some(inc));
            }
            None => q.ready.push_back(inc),
        }
    }

    /// Hand the next request to `deliver`, now or when it comes; None once stopped and drained.
    /// One call at a time: the agent asks for the next request when it has taken this one.
    pub fn next(&self, deliver: Box<dyn FnOnce(Option<Incoming>) + Send>) {
        let mut q = self.queue.lock().unwrap();
        if let Some(inc) = q.ready.pop_front() {
            drop(q);
            deliver(Some(inc));
        } else if self.stopped.load(Ordering::SeqCst) {
            drop(q);
            deliver(None);
        } else {
            q.waiter = Some(deliver);
        }
    }

    /// Answer request `id` and close its connection; false when the caller is already gone. Never
    /// waits for the caller (this runs on the agent's JavaScript thread): what the socket does not
    /// take at once is written by a thread of its own, which drops a caller that does not read it
    /// within [`WRITE_TIMEOUT`].
    pub fn reply(&self, id: u64, bytes: &[u8]) -> bool {
        let Some((mut s, fds)) = self.open.lock().unwrap().remove(&id) else { return false };
        let written = match s.set_nonblocking(true).and_then(|()| write_some(&mut s, bytes)) {
            Ok(n) => n,
            Err(_) => return false,
        };
        if written == bytes.len() {
            return true;
        }
        let rest = bytes[written..].to_vec();
        // Without a thread (none to be had) the caller gets a cut answer: the launcher reports the
        // lost connection (try again later).
        std::thread::Builder::new()
            .name("fastcni-reply".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let _held_until_answered = fds;
                let _ = s.set_nonblocking(false).and_then(|()| s.set_write_timeout(Some(WRITE_TIMEOUT)));
                let _ = s.write_all(&rest);
            })
            .is_ok()
    }

    /// Stop accepting and remove the socket file; requests already read are still handed over,
    /// then [`Listener::next`] gets None. Answers to requests in flight still go out.
    pub fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = std::fs::remove_file(&self.path);
        // wakes the accepting thread: accept() fails on a socket shut down
        // SAFETY: shutdown on our own listening fd.
        unsafe { libc::shutdown(self.listener.as_raw_fd(), libc::SHUT_RDWR) };
        let mut q = self.queue.lock().unwrap();
        if q.ready.is_empty() {
            if let Some(w) = q.waiter.take() {
                drop(q);
                w(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::mpsc::channel;

    fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = fastcni_frame::MAGIC.to_vec();
        f.extend_from_slice(&[fastcni_frame::VERSION, kind]);
        f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn next_or_none(l: &Listener) -> Option<Incoming> {
        let (tx, rx) = channel();
        l.next(Box::new(move |i| tx.send(i).unwrap()));
        rx.recv_timeout(Duration::from_secs(5)).unwrap()
    }

    fn next(l: &Listener) -> Incoming {
        next_or_none(l).expect("a request")
    }

    /// A started listener on a fresh socket under the temp dir (`label` tells the tests apart).
    fn listening(label: &str) -> (std::path::PathBuf, std::path::PathBuf, Arc<Listener>) {
        let dir = std::env::temp_dir().join(format!("fcni-t-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.sock");
        let _ = std::fs::remove_file(&path);
        let l = Listener::bind(path.to_str().unwrap()).unwrap();
        l.start(64, Duration::from_millis(300)).unwrap();
        (dir, path, l)
    }

    #[test]
    fn a_caller_that_does_not_read_its_answer_holds_up_nobody() {
        let (dir, path, l) = listening("unread");
        let ask = |payload: &[u8]| {
            let mut c = UnixStream::connect(&path).unwrap();
            c.write_all(&frame(1, payload)).unwrap();
            c
        };
        // far more than a socket buffer holds, to a caller that reads nothing yet: reply returns
        // (it used to wait here for the write time-out, and then cut the answer)
        let big = vec![7u8; 8 << 20];
        let mut stalled = ask(b"a");
        let inc = next(&l);
        assert!(l.reply(inc.id, &big));
        // the next caller is answered meanwhile
        let mut other = ask(b"b");
        let inc = next(&l);
        assert!(l.reply(inc.id, b"ok"));
        let mut got = Vec::new();
        other.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"ok");
        // and the stalled one, once it reads, gets the whole answer
        let mut got = Vec::new();
        stalled.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), big.len());
        // one that never reads is dropped after the write time-out: what it finds is cut short
        let mut never = ask(b"c");
        let inc = next(&l);
        assert!(l.reply(inc.id, &big));
        std::thread::sleep(WRITE_TIMEOUT + Duration::from_millis(500));
        let mut got = Vec::new();
        never.read_to_end(&mut got).unwrap();
        assert!(got.len() < big.len(), "{} bytes", got.len());
        l.stop();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn serves_frames_refuses_garbage_and_stops() {
        let (dir, path, l) = listening("accept");
        let send = |bytes: &[u8], close: bool| {
            let mut c = UnixStream::connect(&path).unwrap();
            c.write_all(bytes).unwrap();
            if close {
                c.shutdown(std::net::Shutdown::Write).unwrap();
            }
            c
        };

        let mut c = send(&frame(1, b"hello"), false);
        let inc = next(&l);
        assert_eq!((inc.end, inc.bytes.clone(), inc.pid as u32), (ReadEnd::Complete, frame(1, b"hello"), std::process::id()));
        assert!(inc.caller.unwrap_err().ends_with("this one 0")); // no descriptors came
        assert!(l.reply(inc.id, b"answer"));
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"answer");
        assert!(!l.reply(inc.id, b"again"));

        // with the caller's descriptors: here, in the agent's own namespaces and root
        let mut c = UnixStream::connect(&path).unwrap();
        let fds = fastcni_frame::caller_fds().unwrap();
        let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
        fastcni_frame::send(c.as_fd(), &frame(1, b"hi"), &borrowed).unwrap();
        let inc = next(&l);
        let place = inc.caller.unwrap();
        assert_eq!((inc.end, place.netns, place.mntns_root), (ReadEnd::Complete, None, None));
        // the received copy of the working directory, open until the reply
        let cwd = |fd: i32| std::fs::read_link(format!("/proc/self/fd/{fd}")).ok();
        assert_eq!(cwd(place.cwd), Some(std::env::current_dir().unwrap()));
        assert!(l.reply(inc.id, b"ok"));
        assert_ne!(cwd(place.cwd), Some(std::env::current_dir().unwrap()));
        c.read_to_end(&mut Vec::new()).unwrap();

        let _c = send(b"GET / HTTP/1.1\r\n", false);
        assert_eq!(next(&l).end, ReadEnd::Rejected);
        let _c = send(&frame(1, &[7; 100])[..40], false); // announces more than the limit
        assert_eq!(next(&l).end, ReadEnd::Rejected);
        let _c = send(&frame(1, b"abc")[..8], true);
        let inc = next(&l);
        assert_eq!((inc.end, inc.bytes.len()), (ReadEnd::Eof, 8));
        let _c = send(&[frame(1, b"a"), b"more".to_vec()].concat(), false);
        assert_eq!(next(&l).end, ReadEnd::Extra);
        // silent past the inline wait and the time-out: its own thread gives up
        let _slow = send(b"fcni", false);
        let _c = send(&frame(2, b""), false); // served meanwhile
        assert_eq!(next(&l).end, ReadEnd::Complete);
        let inc = next(&l);
        assert_eq!((inc.end, inc.bytes), (ReadEnd::Timeout, b"fcni".to_vec()));

        l.stop();
        assert!(!path.exists());
        assert!(next_or_none(&l).is_none());
        assert!(UnixStream::connect(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
