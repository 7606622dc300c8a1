//! nf_tables failures are the crate's `Failure`; this adds the errno table for netlink replies.

pub use crate::error::{Failure, FailureKind};

/// A failure from a netlink reply's errno. As elsewhere in the crate, except that EOPNOTSUPP
/// (an expression or flag this kernel lacks) counts as invalid rather than a kernel failure.
pub fn nl_errno(op: impl Into<String>, errno: i32) -> Failure {
    let mut f = Failure::errno(op, errno, None);
    if errno == libc::EOPNOTSUPP {
        f.kind = FailureKind::Invalid;
    }
    f
}
