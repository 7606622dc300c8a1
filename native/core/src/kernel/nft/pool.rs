//! Reuse of nf_tables sockets across calls. Closing a NETLINK_NETFILTER socket makes the kernel
//! flush nf_tables' deferred-destroy work under the commit mutex, which waits for an RCU grace
//! period after any element deletion; keeping sockets open avoids that wait on every call.
//! A socket is keyed by the identity (dev, inode) of the namespace it was opened in, never by
//! path, so a path that now names a different namespace never gets a stale socket.

use std::ops::{Deref, DerefMut};
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;

use super::error::Failure;
use super::socket::NftSocket;

/// Idle sockets kept at most (each one keeps its namespace alive while pooled).
const MAX_IDLE: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NsKey {
    Own,
    Ns { dev: u64, ino: u64 },
}

static IDLE: Mutex<Vec<(NsKey, NftSocket)>> = Mutex::new(Vec::new());

/// A socket borrowed from the pool; returned on drop unless a call on it failed.
pub struct Lease {
    key: NsKey,
    sock: Option<NftSocket>,
}

/// A socket in the namespace at `netns` (None = the caller's own).
pub fn lease(netns: Option<&str>) -> Result<Lease, Failure> {
    let key = match netns {
        None => NsKey::Own,
        Some(p) => {
            // Same errors as every other namespace entry point (missing → netnsGone).
            let m = std::fs::File::from(crate::kernel::netns::open(p)?).metadata().map_err(|e| Failure::io("netns stat", &e))?;
            NsKey::Ns { dev: m.dev(), ino: m.ino() }
        }
    };
    let pooled = {
        let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
        idle.iter().position(|(k, _)| *k == key).map(|i| idle.swap_remove(i).1)
    };
    let sock = match pooled {
        Some(s) => s,
        None => NftSocket::open(netns)?,
    };
    Ok(Lease { key, sock: Some(sock) })
}

impl Deref for Lease {
    type Target = NftSocket;
    fn deref(&self) -> &NftSocket {
        self.sock.as_ref().expect("leased socket")
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut NftSocket {
        self.sock.as_mut().expect("leased socket")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(sock) = self.sock.take() else { return };
        if sock.poisoned {
            return;
        }
        let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push((self.key, sock));
            return;
        }
        // Pool full: evict the oldest foreign-namespace socket first so dead namespaces are released.
        if let Some(i) = idle.iter().position(|(k, _)| *k != NsKey::Own) {
            let old = idle.swap_remove(i);
            idle.push((self.key, sock));
            drop(idle);
            drop(old);
        }
    }
}
