//! Failures as data: a stable kind, the operation that failed, the errno and a readable message.
//! JavaScript gets them unchanged (napi-rs async tasks cannot carry a custom error); src/spec/errors.ts
//! maps kinds to CNI codes.

use std::fmt;

/// Stable failure classes: src/spec/errors.ts maps each to a CNI error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(string_enum = "camelCase"))]
pub enum FailureKind {
    /// a link, address, file or element that is not there
    NotFound,
    Exists,
    /// the network namespace file is gone (on DEL: nothing left to do)
    NetnsGone,
    /// the bridge already has a different address
    AddressConflict,
    /// a link of that name exists but is not a bridge
    NotBridge,
    /// a request the kernel or the core refuses as malformed
    Invalid,
    /// EBUSY, EAGAIN: try again later
    Busy,
    Permission,
    Timeout,
    /// any other errno
    Kernel,
    Internal,
}

impl FailureKind {
    /// The class of a kernel errno (positive value).
    pub fn from_errno(errno: i32) -> FailureKind {
        match errno {
            libc::ENOENT | libc::ENODEV => FailureKind::NotFound,
            libc::EEXIST => FailureKind::Exists,
            libc::EBUSY | libc::EAGAIN => FailureKind::Busy,
            libc::EPERM | libc::EACCES => FailureKind::Permission,
            libc::EINVAL => FailureKind::Invalid,
            _ => FailureKind::Kernel,
        }
    }
}

/// One failed native operation, as data: what a native call resolves to as its `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct Failure {
    pub kind: FailureKind,
    /// what was being done, e.g. "veth create"
    pub op: String,
    /// positive errno, 0 when the failure is not a kernel error
    pub errno: i32,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Failure>;

impl Failure {
    pub fn new(kind: FailureKind, op: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure { kind, op: op.into(), errno: 0, message: message.into() }
    }

    /// A kernel error: kind from the errno, message "<op>: <strerror>[: <kernel extack>]".
    pub fn errno(op: impl Into<String>, errno: i32, detail: Option<&str>) -> Failure {
        let op = op.into();
        let mut message = format!("{op}: {}", strerror(errno));
        if let Some(d) = detail.filter(|d| !d.is_empty()) {
            message.push_str(" (");
            message.push_str(d);
            message.push(')');
        }
        Failure { kind: FailureKind::from_errno(errno), op, errno, message }
    }

    /// From a std::io::Error (syscalls outside netlink).
    pub fn io(op: impl Into<String>, e: &std::io::Error) -> Failure {
        Failure::errno(op, e.raw_os_error().unwrap_or(0), None)
    }

    /// The last errno of the calling thread.
    pub fn last_os(op: impl Into<String>) -> Failure {
        Failure::io(op, &std::io::Error::last_os_error())
    }

    pub fn internal(op: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure::new(FailureKind::Internal, op, message)
    }

    pub fn invalid(op: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure::new(FailureKind::Invalid, op, message)
    }

    pub fn is(&self, kind: FailureKind) -> bool {
        self.kind == kind
    }

    /// Same failure with another message (kind and errno kept).
    pub fn with_message(mut self, message: impl Into<String>) -> Failure {
        self.message = message.into();
        self
    }

    /// Same failure with a different kind and message (the errno is kept).
    pub fn with(mut self, kind: FailureKind, message: impl Into<String>) -> Failure {
        self.kind = kind;
        self.message = message.into();
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// strerror without the "(os error N)" suffix std adds.
pub fn strerror(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_kinds() {
        assert_eq!(FailureKind::from_errno(libc::ENOENT), FailureKind::NotFound);
        assert_eq!(FailureKind::from_errno(libc::ENODEV), FailureKind::NotFound);
        assert_eq!(FailureKind::from_errno(libc::EEXIST), FailureKind::Exists);
        assert_eq!(FailureKind::from_errno(libc::EBUSY), FailureKind::Busy);
        assert_eq!(FailureKind::from_errno(libc::EAGAIN), FailureKind::Busy);
        assert_eq!(FailureKind::from_errno(libc::EPERM), FailureKind::Permission);
        assert_eq!(FailureKind::from_errno(libc::EACCES), FailureKind::Permission);
        assert_eq!(FailureKind::from_errno(libc::EINVAL), FailureKind::Invalid);
        assert_eq!(FailureKind::from_errno(libc::EOPNOTSUPP), FailureKind::Kernel);
    }

    #[test]
    fn errno_message() {
        let f = Failure::errno("veth create", libc::EEXIST, Some("peer exists"));
        assert_eq!(f.kind, FailureKind::Exists);
        assert_eq!(f.errno, libc::EEXIST);
        assert_eq!(f.message, "veth create: File exists (peer exists)");
        let g = Failure::errno("link get", libc::ENODEV, None);
        assert_eq!(g.message, "link get: No such device");
    }
}
