//! The agent's plumbing around the kernel work: its socket (one request frame per connection,
//! with the caller's credentials and the descriptors of where it runs), the resident worker threads
//! that kernel work runs on, exec of plugins that are not ours where the caller runs, and file locks.

mod exec;
mod lock;
mod peer;
mod socket;
mod workers;

pub use exec::{exec_here, ExecOutput, ExecRequest};
pub use lock::{acquire as lock_acquire, release as lock_release, try_acquire as lock_try};
pub use peer::CallerPlace;
pub use socket::{Incoming, Listener, ReadEnd};
pub use workers::run_resident;
