//! Failures as data: a stable kind, the operation that failed, the errno and a readable message.
//! The addon hands these to JavaScript unchanged; src/spec/errors.ts maps kinds to CNI codes.

use std::fmt;

/// Stable failure classes shared with the TypeScript side (NativeFailure.kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NotFound,
    Exists,
    NetnsGone,
    AddressConflict,
    NotBridge,
    Invalid,
    Busy,
    Permission,
    Timeout,
    Kernel,
    Internal,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NotFound => "notFound",
            Kind::Exists => "exists",
            Kind::NetnsGone => "netnsGone",
            Kind::AddressConflict => "addressConflict",
            Kind::NotBridge => "notBridge",
            Kind::Invalid => "invalid",
            Kind::Busy => "busy",
            Kind::Permission => "permission",
            Kind::Timeout => "timeout",
            Kind::Kernel => "kernel",
            Kind::Internal => "internal",
        }
    }

    /// The class of a kernel errno (positive value).
    pub fn from_errno(errno: i32) -> Kind {
        match errno {
            libc::ENOENT | libc::ENODEV => Kind::NotFound,
            libc::EEXIST => Kind::Exists,
            libc::EBUSY | libc::EAGAIN => Kind::Busy,
            libc::EPERM | libc::EACCES => Kind::Permission,
            libc::EINVAL => Kind::Invalid,
            _ => Kind::Kernel,
        }
    }
}

/// One failed native operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: Kind,
    /// what was being done, e.g. "veth create"
    pub op: String,
    /// positive errno, 0 when the failure is not a kernel error
    pub errno: i32,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Failure>;

impl Failure {
    pub fn new(kind: Kind, op: impl Into<String>, message: impl Into<String>) -> Failure {
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
        Failure { kind: Kind::from_errno(errno), op, errno, message }
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
        Failure::new(Kind::Internal, op, message)
    }

    pub fn invalid(op: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure::new(Kind::Invalid, op, message)
    }

    pub fn is(&self, kind: Kind) -> bool {
        self.kind == kind
    }

    /// Same failure with another message (kind and errno kept).
    pub fn with_message(mut self, message: impl Into<String>) -> Failure {
        self.message = message.into();
        self
    }

    /// Same failure with a different kind and message (the errno is kept).
    pub fn with(mut self, kind: Kind, message: impl Into<String>) -> Failure {
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
        assert_eq!(Kind::from_errno(libc::ENOENT), Kind::NotFound);
        assert_eq!(Kind::from_errno(libc::ENODEV), Kind::NotFound);
        assert_eq!(Kind::from_errno(libc::EEXIST), Kind::Exists);
        assert_eq!(Kind::from_errno(libc::EBUSY), Kind::Busy);
        assert_eq!(Kind::from_errno(libc::EAGAIN), Kind::Busy);
        assert_eq!(Kind::from_errno(libc::EPERM), Kind::Permission);
        assert_eq!(Kind::from_errno(libc::EACCES), Kind::Permission);
        assert_eq!(Kind::from_errno(libc::EINVAL), Kind::Invalid);
        assert_eq!(Kind::from_errno(libc::EOPNOTSUPP), Kind::Kernel);
    }

    #[test]
    fn errno_message() {
        let f = Failure::errno("veth create", libc::EEXIST, Some("peer exists"));
        assert_eq!(f.kind.as_str(), "exists");
        assert_eq!(f.errno, libc::EEXIST);
        assert_eq!(f.message, "veth create: File exists (peer exists)");
        let g = Failure::errno("link get", libc::ENODEV, None);
        assert_eq!(g.message, "link get: No such device");
    }
}
