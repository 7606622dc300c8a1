//! sysctls under /proc/sys/net, read and written by the calling thread: /proc/sys/net shows the
//! namespace of the thread that opens it, so call these from a thread inside the target netns.

use std::io::Write;

use crate::error::{Failure, Kind, Result};

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
    std::fs::read_to_string(&path)
        .map(|s| s.trim_end().to_string())
        .map_err(|e| Failure::io("sysctl read", &e).with_msg_suffix(&path))
}

pub fn write(key: &str, value: &str) -> Result<()> {
    let path = path_of(key)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| Failure::io("sysctl write", &e).with_msg_suffix(&path))?;
    f.write_all(value.as_bytes()).map_err(|e| Failure::io("sysctl write", &e).with_msg_suffix(&path))
}

/// Write unless the value is already there (saves a write that may trigger kernel work).
pub fn ensure(key: &str, value: &str) -> Result<()> {
    match read(key) {
        Ok(v) if v == value => Ok(()),
        _ => write(key, value),
    }
}

/// Write, ignoring a key that does not exist (IPv6 disabled, interface without that knob).
pub fn write_if_present(key: &str, value: &str) -> Result<()> {
    match write(key, value) {
        Err(e) if e.kind == Kind::NotFound => Ok(()),
        r => r,
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
    fn read_own_namespace() {
        let v = read("net.ipv4.ip_forward").unwrap();
        assert!(v == "0" || v == "1");
    }
}
