//! sysctls under /proc/sys/net, read and written by the calling thread: /proc/sys/net shows the
//! namespace of the thread that opens it, so call these from a thread inside the target netns.

use std::io::Write;

use crate::error::{Failure, FailureKind, Result};

/// Normalise "net.ipv4.ip_forward" or "net/ipv4/ip_forward" to a /proc/sys path; only net/ keys.
pub fn path_of(key: &str) -> Result<String> {
    let rel = if key.contains('/') { key.trim_start_matches('/').to_string() } else { key.replace('.', "/") };
    let rel = rel.strip_prefix("proc/sys/").unwrap_or(&rel).to_string();
    if !rel.starts_with("net/") || rel.split('/').any(|p| p.is_empty() || p == "." || p == "..") {
        return Err(Failure::invalid("sysctl", format!("not a per-namespace sysctl key: {key:?}")));
    }
    Ok(format!("/proc/sys/{rel}"))
}

pub fn read(key: &str) -> Result<String> {
    let path = path_of(key)?;
    std::fs::read_to_string(&path).map(|s| s.trim_end().to_string()).map_err(|e| Failure::io("sysctl read", &e).with_msg_suffix(&path))
}

pub fn write(key: &str, value: &str) -> Result<()> {
    let path = path_of(key)?;
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| Failure::io("sysctl write", &e).with_msg_suffix(&path))?;
    f.write_all(value.as_bytes()).map_err(|e| Failure::io("sysctl write", &e).with_msg_suffix(&path))
}

/// Write, ignoring a key that does not exist (IPv6 disabled, interface without that knob).
pub fn write_if_present(key: &str, value: &str) -> Result<()> {
    match write(key, value) {
        Err(e) if e.kind == FailureKind::NotFound => Ok(()),
        r => r,
    }
}

/// Directory fds of /proc/sys/net/<family> ("net/ipv4", "net/ipv6"), opened once by a thread in
/// one namespace and reused for that namespace's keys. Why: /proc/sys/net is one dentry shared by
/// every namespace, and each namespace adds its own "ipv4"/"ipv6" child of the same name, all on
/// one dcache hash chain that a lookup walks (proc_sys_compare per entry); the oldest namespace's
/// (the host's) sits at the end, so a full-path open in the host gets slower with every pod
/// namespace (figure: benchmarks/README.md). A lookup relative to the cached dirfd starts below
/// that chain. The dirfd names the directory of the namespace that was current when it was opened
/// (later lookups under it stay in that namespace's table), so keep one `Dirs` per namespace and
/// open it from inside it.
#[derive(Default)]
pub struct Dirs {
    fds: Vec<(String, std::os::fd::OwnedFd)>,
}

impl Dirs {
    /// The cached dirfd for the first two components of `rel` (None: not cacheable or not there,
    /// e.g. net/ipv6 with IPv6 disabled; the caller then opens the full path).
    fn dir_for<'a>(&mut self, rel: &'a str) -> Option<(std::os::fd::RawFd, &'a str)> {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let mut it = rel.splitn(3, '/');
        let (a, b, rest) = (it.next()?, it.next()?, it.next()?);
        let top = &rel[..a.len() + 1 + b.len()];
        if let Some((_, fd)) = self.fds.iter().find(|(k, _)| k == top) {
            return Some((fd.as_raw_fd(), rest));
        }
        let c = std::ffi::CString::new(format!("/proc/sys/{top}")).ok()?;
        // SAFETY: open with a valid C string; the fd is owned below.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        // SAFETY: fd was just opened by us.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        self.fds.push((top.to_string(), fd));
        Some((raw, rest))
    }

    fn open(&mut self, key: &str, flags: i32) -> Result<(std::fs::File, String)> {
        use std::os::fd::FromRawFd;
        let path = path_of(key)?;
        let rel = &path["/proc/sys/".len()..];
        let Some((dir, rest)) = self.dir_for(rel) else {
            let f = std::fs::OpenOptions::new().read(flags == libc::O_RDONLY).write(flags == libc::O_WRONLY).open(&path);
            return f
                .map(|f| (f, path.clone()))
                .map_err(|e| Failure::io(if flags == libc::O_RDONLY { "sysctl read" } else { "sysctl write" }, &e).with_msg_suffix(&path));
        };
        let c = std::ffi::CString::new(rest).map_err(|_| Failure::invalid("sysctl", format!("bad key {key:?}")))?;
        // SAFETY: openat on our dirfd with a valid relative C string; the fd is owned below.
        let fd = unsafe { libc::openat(dir, c.as_ptr(), flags | libc::O_CLOEXEC) };
        if fd < 0 {
            let op = if flags == libc::O_RDONLY { "sysctl read" } else { "sysctl write" };
            return Err(Failure::last_os(op).with_msg_suffix(&path));
        }
        // SAFETY: fd was just opened by us.
        Ok((unsafe { std::fs::File::from_raw_fd(fd) }, path))
    }

    /// [`write`] through the cached directory.
    pub fn write(&mut self, key: &str, value: &str) -> Result<()> {
        let (mut f, path) = self.open(key, libc::O_WRONLY)?;
        f.write_all(value.as_bytes()).map_err(|e| Failure::io("sysctl write", &e).with_msg_suffix(&path))
    }

    /// [`read`] through the cached directory.
    pub fn read(&mut self, key: &str) -> Result<String> {
        use std::io::Read;
        let (mut f, path) = self.open(key, libc::O_RDONLY)?;
        let mut s = String::new();
        f.read_to_string(&mut s).map_err(|e| Failure::io("sysctl read", &e).with_msg_suffix(&path))?;
        Ok(s.trim_end().to_string())
    }

    /// [`ensure`] through the cached directory.
    pub fn ensure(&mut self, key: &str, value: &str) -> Result<()> {
        match self.read(key) {
            Ok(v) if v == value => Ok(()),
            _ => self.write(key, value),
        }
    }

    /// [`write_if_present`] through the cached directory.
    pub fn write_if_present(&mut self, key: &str, value: &str) -> Result<()> {
        match self.write(key, value) {
            Err(e) if e.kind == FailureKind::NotFound => Ok(()),
            r => r,
        }
    }
}

trait Suffix {
    fn with_msg_suffix(self, s: &str) -> Self;
}
impl Suffix for Failure {
    fn with_msg_suffix(mut self, s: &str) -> Self {
        self.message = format!("{} ({s})", self.message);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_forms() {
        assert_eq!(path_of("net.ipv4.ip_forward").unwrap(), "/proc/sys/net/ipv4/ip_forward");
        assert_eq!(path_of("net/ipv6/conf/br0.100/accept_ra").unwrap(), "/proc/sys/net/ipv6/conf/br0.100/accept_ra");
        assert_eq!(path_of("/proc/sys/net/ipv4/conf/all/forwarding").unwrap(), "/proc/sys/net/ipv4/conf/all/forwarding");
        assert!(path_of("kernel.hostname").is_err());
        assert!(path_of("net/ipv4/../../kernel/x").is_err());
    }

    #[test]
    fn dirs_match_paths() {
        let mut d = Dirs::default();
        for k in ["net.ipv4.ip_forward", "net/ipv4/conf/lo/forwarding", "net.ipv4.ip_forward"] {
            assert_eq!(d.read(k).unwrap(), read(k).unwrap());
        }
        assert_eq!(d.fds.len(), 1);
        assert_eq!(d.read("net/ipv4/conf/nonexistent-xyz/forwarding").unwrap_err().kind, FailureKind::NotFound);
        assert!(d.write_if_present("net/ipv6/conf/nonexistent-xyz/accept_ra", "0").is_ok());
        assert!(d.read("kernel.hostname").is_err());
    }

    #[test]
    fn read_own_namespace() {
        let v = read("net.ipv4.ip_forward").unwrap();
        assert!(v == "0" || v == "1");
    }
}
