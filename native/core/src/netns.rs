//! Network namespaces, only ever entered from short-lived threads we spawn ourselves, so no thread
//! that Node or libuv owns is left in a foreign namespace. Sockets opened there keep that netns.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::error::{Failure, Kind, Result};

/// Open a namespace file (/var/run/netns/x, /proc/PID/ns/net). Missing → kind netnsGone.
pub fn open(path: &str) -> Result<OwnedFd> {
    match File::open(path) {
        Ok(f) => Ok(OwnedFd::from(f)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH)) => Err(Failure {
            kind: Kind::NetnsGone,
            op: "netns open".into(),
            errno: e.raw_os_error().unwrap_or(0),
            message: format!("network namespace {path} does not exist"),
        }),
        Err(e) => Err(Failure::io("netns open", &e).with_prefix(path)),
    }
}

/// Move the calling thread into the namespace. Only call this on a thread from [`on_thread`].
pub fn enter(fd: &OwnedFd, path: &str) -> Result<()> {
    // SAFETY: plain syscall on a valid fd.
    if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        let f = Failure::last_os("netns enter");
        let msg = format!("cannot enter network namespace {path}: {}", f.message);
        return Err(f.with_message(msg));
    }
    Ok(())
}

/// Run `f` on a fresh thread that is discarded afterwards; it may switch namespaces freely.
pub fn on_thread<T, F>(f: F) -> Result<T>
where
    T: Send,
    F: FnOnce() -> Result<T> + Send,
{
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("fastcni-netns".into())
            .stack_size(256 * 1024)
            .spawn_scoped(s, f)
            .map_err(|e| Failure::io("thread spawn", &e))?;
        handle.join().unwrap_or_else(|_| Err(Failure::internal("thread", "namespace worker panicked")))
    })
}

/// Run `f` on a fresh thread inside `netns` (None = the caller's own namespace).
pub fn run_in<T, F>(netns: Option<&str>, f: F) -> Result<T>
where
    T: Send,
    F: FnOnce() -> Result<T> + Send,
{
    on_thread(move || {
        if let Some(path) = netns {
            let fd = open(path)?;
            enter(&fd, path)?;
        }
        f()
    })
}

trait WithPrefix {
    fn with_prefix(self, what: &str) -> Self;
}
impl WithPrefix for Failure {
    fn with_prefix(mut self, what: &str) -> Self {
        self.message = format!("{}: {what}", self.message);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_netns_is_gone() {
        let e = open("/nonexistent/fcni-netns").unwrap_err();
        assert_eq!(e.kind, Kind::NetnsGone);
        assert!(e.message.contains("/nonexistent/fcni-netns"));
    }

    #[test]
    fn own_namespace_runs_on_another_thread() {
        let me = std::thread::current().id();
        let other = run_in(None, || Ok(std::thread::current().id())).unwrap();
        assert_ne!(me, other);
    }

    #[test]
    fn non_netns_file_is_rejected() {
        // /proc/self/ns/uts is a namespace file, but not a network one: setns(CLONE_NEWNET) fails.
        let r = run_in(Some("/proc/self/ns/uts"), || Ok(()));
        assert!(r.is_err());
    }
}
