//! Exclusive flock on a file, as host-local takes it on its data directory's lock file.

use std::ffi::CString;

use crate::error::{Failure, Result};

/// Open the lock file (creating it if needed, mode 0600).
fn open_lock(path: &str) -> Result<i32> {
    let c = CString::new(path).map_err(|_| Failure::invalid("lock", "path contains a NUL byte"))?;
    // SAFETY: valid C string; the fd is owned by the caller until release().
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CREAT | libc::O_CLOEXEC, 0o600) };
    if fd < 0 {
        let e = Failure::last_os("lock open");
        let m = format!("{}: {path}", e.message);
        return Err(e.with_message(m));
    }
    Ok(fd)
}

/// Open (creating if needed, mode 0600) and flock(LOCK_EX), blocking. Returns the fd as handle.
pub fn acquire(path: &str) -> Result<i32> {
    let fd = open_lock(path)?;
    loop {
        // SAFETY: fd is open.
        if unsafe { libc::flock(fd, libc::LOCK_EX) } == 0 {
            return Ok(fd);
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        unsafe { libc::close(fd) };
        return Err(Failure::io("lock", &err));
    }
}

/// Try to take the lock without waiting: Some(handle) when held, None when another holder has it.
/// Lets callers skip a thread hop in the common uncontended case.
pub fn try_acquire(path: &str) -> Result<Option<i32>> {
    let fd = open_lock(path)?;
    loop {
        // SAFETY: fd is open.
        if unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(Some(fd));
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        unsafe { libc::close(fd) };
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Ok(None);
        }
        return Err(Failure::io("lock", &err));
    }
}

/// Close the handle, which releases the lock.
pub fn release(handle: i32) -> Result<()> {
    if handle < 0 {
        return Err(Failure::invalid("unlock", format!("invalid lock handle {handle}")));
    }
    // SAFETY: the handle came from acquire(); closing drops the flock.
    if unsafe { libc::close(handle) } != 0 {
        return Err(Failure::last_os("unlock"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_excludes_a_second_open_file() {
        let dir = std::env::temp_dir().join(format!("fcni-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("lock");
        let h = acquire(p.to_str().unwrap()).unwrap();
        // a second open file description cannot take it without blocking
        let f = std::fs::File::open(&p).unwrap();
        use std::os::fd::AsRawFd;
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(r, -1);
        release(h).unwrap();
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(r, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn try_acquire_reports_a_held_lock_without_waiting() {
        let dir = std::env::temp_dir().join(format!("fcni-trylock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("lock");
        let path = p.to_str().unwrap();
        let h = try_acquire(path).unwrap().expect("free lock is taken");
        assert_eq!(try_acquire(path).unwrap(), None);
        release(h).unwrap();
        let h2 = try_acquire(path).unwrap().expect("released lock is taken again");
        release(h2).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
