//! Who is at the other end of the agent's socket and where it runs: its credentials (SO_PEERCRED),
//! which the agent uses to refuse non-root callers, and the descriptors its launcher sent with an
//! invoke frame (its namespaces, root and working directory), checked and compared with the
//! agent's own, so that a request runs where its caller runs and means by its paths what the caller
//! means.

use std::os::fd::{AsRawFd, OwnedFd};

use fastcni_frame::caller_fd;

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

/// ioctl(NS_GET_NSTYPE) (linux/nsfs.h, _IO(0xb7, 0x3)): the CLONE_NEW* type of a namespace file.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// A file's identity: its device and inode, and its mount (STATX_MNT_ID) where that matters.
type Identity = (u64, u64, u64);

fn identity(fd: libc::c_int, path: &std::ffi::CStr, mount: bool) -> Option<Identity> {
    // SAFETY: statx into a zeroed struct we own; `path` is NUL-terminated.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    let flags = if path.is_empty() { libc::AT_EMPTY_PATH } else { 0 };
    let rc = unsafe { libc::statx(fd, path.as_ptr(), flags, libc::STATX_INO | libc::STATX_MNT_ID, &mut st) };
    (rc == 0).then(|| {
        let dev = ((st.stx_dev_major as u64) << 32) | st.stx_dev_minor as u64;
        (dev, st.stx_ino, if mount { st.stx_mnt_id } else { 0 })
    })
}

/// Where this process runs, to compare each caller with.
#[derive(Debug, Clone, Copy)]
pub struct OwnPlace {
    netns: Option<Identity>,
    mntns: Option<Identity>,
    root: Option<Identity>,
}

impl OwnPlace {
    /// This process's network and mount namespaces and root directory, now (none of them changes
    /// for the agent: no thread of Node's ever switches).
    pub fn current() -> OwnPlace {
        OwnPlace {
            netns: identity(libc::AT_FDCWD, c"/proc/self/ns/net", false),
            mntns: identity(libc::AT_FDCWD, c"/proc/self/ns/mnt", false),
            root: identity(libc::AT_FDCWD, c"/", true),
        }
    }
}

/// Where a caller runs, as the descriptor numbers it sent (open as long as the descriptors are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerPlace {
    /// its network namespace; None when it is the agent's own
    pub netns: Option<i32>,
    /// its mount namespace and root directory; None when both are the agent's own, so that its
    /// absolute paths name the agent's files
    pub mntns_root: Option<(i32, i32)>,
    /// its working directory, where its relative paths start
    pub cwd: i32,
}

/// Check the descriptors of an invoke frame (in fastcni_frame::caller_fd order) and say where the
/// caller runs; Err: why they do not tell, worded for the refusal.
pub fn caller_place(fds: &[OwnedFd], own: &OwnPlace) -> std::result::Result<CallerPlace, String> {
    if fds.len() != caller_fd::COUNT {
        return Err(format!(
            "an invoke frame carries {} descriptors ({}), this one {}",
            caller_fd::COUNT,
            caller_fd::NAMES.join(", "),
            fds.len()
        ));
    }
    let fd = |i: usize| fds[i].as_raw_fd();
    let not_a = |i: usize, what: &str| Err(format!("descriptor {i} (the caller's {}) is not {what}", caller_fd::NAMES[i]));
    for (i, ns) in [(caller_fd::NETNS, libc::CLONE_NEWNET), (caller_fd::MNTNS, libc::CLONE_NEWNS)] {
        // SAFETY: an ioctl without arguments on a descriptor we own; any other file fails it.
        if unsafe { libc::ioctl(fd(i), NS_GET_NSTYPE) } != ns {
            return not_a(i, if ns == libc::CLONE_NEWNET { "a network namespace" } else { "a mount namespace" });
        }
    }
    for i in [caller_fd::ROOT, caller_fd::CWD] {
        // SAFETY: fstat into a zeroed struct on a descriptor we own.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd(i), &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return not_a(i, "a directory");
        }
    }
    let ours = |i: usize, own: Option<Identity>, mount: bool| own.is_some() && identity(fd(i), c"", mount) == own;
    let same_files = ours(caller_fd::MNTNS, own.mntns, false) && ours(caller_fd::ROOT, own.root, true);
    Ok(CallerPlace {
        netns: (!ours(caller_fd::NETNS, own.netns, false)).then(|| fd(caller_fd::NETNS)),
        mntns_root: (!same_files).then(|| (fd(caller_fd::MNTNS), fd(caller_fd::ROOT))),
        cwd: fd(caller_fd::CWD),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn a_caller_here_is_here() {
        let own = OwnPlace::current();
        let fds = fastcni_frame::caller_fds().unwrap();
        let p = caller_place(&fds, &own).unwrap();
        assert_eq!((p.netns, p.mntns_root, p.cwd), (None, None, fds[caller_fd::CWD].as_raw_fd()));
        // another root in the same namespaces is not ours (a chroot), nor is a missing identity
        let mut other = own;
        other.root = Some((0, 0, 0));
        let p = caller_place(&fds, &other).unwrap();
        assert_eq!(p.mntns_root, Some((fds[caller_fd::MNTNS].as_raw_fd(), fds[caller_fd::ROOT].as_raw_fd())));
        other.netns = None;
        assert_eq!(caller_place(&fds, &other).unwrap().netns, Some(fds[caller_fd::NETNS].as_raw_fd()));
    }

    #[test]
    fn descriptors_of_the_wrong_kind_or_number_are_refused() {
        let own = OwnPlace::current();
        let mut fds = fastcni_frame::caller_fds().unwrap();
        assert_eq!(
            caller_place(&fds[..3], &own).unwrap_err(),
            "an invoke frame carries 4 descriptors (network namespace, mount namespace, root directory, working directory), this one 3"
        );
        assert!(caller_place(&[], &own).unwrap_err().ends_with("this one 0"));
        fds.swap(caller_fd::NETNS, caller_fd::MNTNS);
        assert_eq!(caller_place(&fds, &own).unwrap_err(), "descriptor 0 (the caller's network namespace) is not a network namespace");
        fds.swap(caller_fd::NETNS, caller_fd::MNTNS);
        fds[caller_fd::CWD] = std::fs::File::open("/proc/self/ns/net").unwrap().into();
        assert_eq!(caller_place(&fds, &own).unwrap_err(), "descriptor 3 (the caller's working directory) is not a directory");
    }
}
