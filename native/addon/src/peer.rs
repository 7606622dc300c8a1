//! napi export of SO_PEERCRED, for the agent (Node cannot read a socket's peer credentials).

use fastcni_core::peer;
use napi_derive::napi;

use crate::outcome::NativeFailure;

/// pid, uid and gid of the process at the other end of a unix socket.
#[napi(object)]
pub struct PeerCred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// Outcome of peerCred: `value` on success, `error` on failure.
#[napi(object)]
pub struct PeerCredOutcome {
    pub error: Option<NativeFailure>,
    pub value: Option<PeerCred>,
}

/// Credentials of a connected unix socket's peer (SO_PEERCRED), by file descriptor; synchronous.
#[napi]
pub fn peer_cred(fd: i32) -> PeerCredOutcome {
    match peer::peer_cred(fd) {
        Ok(c) => PeerCredOutcome { error: None, value: Some(PeerCred { pid: c.pid, uid: c.uid, gid: c.gid }) },
        Err(f) => PeerCredOutcome { error: Some(f.into()), value: None },
    }
}
