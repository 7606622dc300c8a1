//! Credentials of the process at the other end of a connected unix socket (SO_PEERCRED): the agent
//! uses them to find the launcher's namespace and to refuse non-root callers.

use crate::error::{Failure, Result};

/// pid, uid and gid of a unix socket's peer, as the kernel recorded them at connect time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// SO_PEERCRED of a connected unix socket file descriptor (borrowed, not closed).
pub fn peer_cred(fd: i32) -> Result<PeerCred> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are valid for writes of the sizes given; a bad fd only yields an errno.
    let rc = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_PEERCRED, (&mut cred as *mut libc::ucred).cast(), &mut len) };
    if rc != 0 {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return Err(Failure::errno("peer credentials", errno, None));
    }
    Ok(PeerCred { pid: cred.pid, uid: cred.uid, gid: cred.gid })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn socketpair_peer_is_self() {
        let (a, _b) = UnixStream::pair().unwrap();
        let c = peer_cred(a.as_raw_fd()).unwrap();
        assert_eq!(c.pid as u32, std::process::id());
        assert_eq!(c.uid, unsafe { libc::geteuid() });
    }

    #[test]
    fn bad_fd_is_an_error() {
        assert!(peer_cred(-1).is_err());
    }
}
