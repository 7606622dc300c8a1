//! Resident worker threads: long-lived threads of ours, each parked inside one host network
//! namespace (identified by the dev + inode of its namespace file) with its kernel state, a
//! [`Resident`] (netlink socket open, bridges seen cached). A call checks out an idle worker of the
//! right namespace (or starts one), runs there, and the worker parks itself again; so concurrent
//! calls still run in parallel, while sequential ones pay no thread start, no setns into the host
//! and no socket open. Only these threads of ours ever sit in a foreign namespace, never Node's or
//! libuv's (which they reuse). At most [`MAX_IDLE`] workers are parked (least recently used ones
//! leave first); a parked worker exits when its namespace file no longer names its namespace, or
//! after [`IDLE_EXIT`] without work.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Failure, Result};
use crate::kernel::netns;
use crate::kernel::Resident;

/// Parked workers kept at most (over all namespaces).
pub const MAX_IDLE: usize = 8;
/// A parked worker exits after this long without work.
pub const IDLE_EXIT: Duration = Duration::from_secs(60);
/// How often a parked worker checks that its namespace still exists.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// A namespace's identity: st_dev and st_ino of its namespace file.
pub type NsKey = (u64, u64);

type Job = Box<dyn FnOnce(Result<&mut Resident>) + Send>;

enum Msg {
    Run(Job),
    /// evicted from the parked list: exit
    Exit,
}

struct Parked {
    id: u64,
    key: NsKey,
    tx: Sender<Msg>,
}

/// Most recently parked last.
static PARKED: Mutex<Vec<Parked>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn key_of(fd: &OwnedFd) -> Result<NsKey> {
    // SAFETY: fstat into a zeroed struct on a valid fd.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(Failure::last_os("netns stat"));
    }
    Ok((st.st_dev as u64, st.st_ino as u64))
}

fn key_of_path(path: &str) -> Option<NsKey> {
    let md = std::fs::metadata(path).ok()?;
    use std::os::unix::fs::MetadataExt;
    Some((md.dev(), md.ino()))
}

/// Run `job` on a resident worker inside `host_netns` (None = the calling thread's namespace).
/// Errors opening the namespace are handed to `job` as `Err` (so it answers the same way as
/// before); Err from this function only when no thread can be started (the job is dropped).
pub fn run_resident<F>(host_netns: Option<&str>, job: F) -> std::io::Result<()>
where
    F: FnOnce(Result<&mut Resident>) + Send + 'static,
{
    // the request's fault injection follows its work onto the worker (crate::fault)
    let armed = crate::fault::carry();
    let job = move |res: Result<&mut Resident>| crate::fault::with_armed(armed, || job(res));
    let path = host_netns.unwrap_or("/proc/thread-self/ns/net");
    let fd = match netns::open(path) {
        Ok(fd) => fd,
        Err(e) => return fallback(job, e),
    };
    let key = match key_of(&fd) {
        Ok(k) => k,
        Err(e) => return fallback(job, e),
    };
    let job: Job = Box::new(job);
    let tx = {
        let mut parked = PARKED.lock().unwrap_or_else(|p| p.into_inner());
        parked.iter().rposition(|p| p.key == key).map(|i| parked.remove(i).tx)
    };
    let job = match tx {
        Some(tx) => match tx.send(Msg::Run(job)) {
            Ok(()) => return Ok(()),
            Err(e) => match e.0 {
                Msg::Run(j) => j, // the worker exited meanwhile: start a fresh one
                Msg::Exit => unreachable!(),
            },
        },
        None => job,
    };
    spawn(key, host_netns.map(str::to_string), fd, job)
}

/// Report a failure that happened before any worker was involved, from a thread of ours (the
/// caller expects `job` to run off its own thread).
fn fallback<F>(job: F, e: Failure) -> std::io::Result<()>
where
    F: FnOnce(Result<&mut Resident>) + Send + 'static,
{
    std::thread::Builder::new().name("fastcni-resident".into()).stack_size(64 * 1024).spawn(move || job(Err(e)))?;
    Ok(())
}

fn spawn(key: NsKey, path: Option<String>, fd: OwnedFd, first: Job) -> std::io::Result<()> {
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::thread::Builder::new().name("fastcni-resident".into()).stack_size(256 * 1024).spawn(move || {
        // A fresh thread starts in the spawning thread's namespace; move into the host one.
        if let Err(e) = netns::enter(&fd, path.as_deref().unwrap_or("host")) {
            first(Err(e));
            return;
        }
        // Short sleeps (oper-state polling) should be short on this thread.
        // SAFETY: prctl on the calling thread only.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
        let mut res = Resident::new(fd);
        let (tx, rx) = channel::<Msg>();
        let mut job = first;
        loop {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Ok(&mut res)))).is_ok();
            // never park outside the host namespace, nor after a panic
            if !ok || res.back().is_err() {
                return;
            }
            {
                let mut parked = PARKED.lock().unwrap_or_else(|p| p.into_inner());
                parked.push(Parked { id, key, tx: tx.clone() });
                if parked.len() > MAX_IDLE {
                    let _ = parked.remove(0).tx.send(Msg::Exit);
                }
            }
            let idle_since = Instant::now();
            job = loop {
                match rx.recv_timeout(CHECK_EVERY) {
                    Ok(Msg::Run(j)) => break j,
                    Ok(Msg::Exit) | Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => {}
                }
                let gone = path.as_deref().is_some_and(|p| key_of_path(p) != Some(key));
                let mut parked = PARKED.lock().unwrap_or_else(|p| p.into_inner());
                // not parked any more: taken (its job is on the way) or evicted (Exit is)
                if let Some(i) = parked.iter().position(|p| p.id == id) {
                    if gone || idle_since.elapsed() >= IDLE_EXIT {
                        parked.remove(i);
                        return;
                    }
                }
            };
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn parked() -> usize {
        PARKED.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn on_worker<T: Send + 'static>(ns: Option<&str>, f: impl FnOnce(Result<&mut Resident>) -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        run_resident(ns, move |r| tx.send(f(r)).unwrap()).unwrap();
        rx.recv().unwrap()
    }

    #[test]
    fn sequential_calls_reuse_one_thread_and_missing_netns_fails() {
        let a = on_worker(None, |r| {
            r.unwrap().bridges.insert("x".into(), Default::default());
            std::thread::current().id()
        });
        // the worker parks right after the job: wait for it
        let t0 = Instant::now();
        while parked() == 0 && t0.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let (b, cached) = on_worker(None, |r| {
            let r = r.unwrap();
            (std::thread::current().id(), r.bridges.contains_key("x"))
        });
        assert_eq!(a, b);
        assert!(cached);
        assert_ne!(a, std::thread::current().id());
        let e = on_worker(Some("/nonexistent/fcni-ns"), |r| r.err().map(|e| e.kind));
        assert_eq!(e, Some(crate::FailureKind::NetnsGone));
        assert!(parked() <= MAX_IDLE);
    }
}
