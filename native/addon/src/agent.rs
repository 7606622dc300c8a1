//! napi export of the agent's socket (fastcni_core::agent::Listener), accepted and read on a thread
//! of ours; JavaScript takes one request at a time with `next()` and answers it with `reply()`.

use std::sync::Arc;
use std::time::Duration;

use fastcni_core::agent::{Incoming, Listener, ReadEnd};
use napi::bindgen_prelude::{Buffer, Object};
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::settled_by;

/// One request as read from a caller.
#[napi(object)]
pub struct AgentRequest {
    /// what reply() answers
    pub id: u32,
    /// the caller's pid and uid (SO_PEERCRED)
    pub pid: i32,
    pub uid: u32,
    /// the frame (header and payload) when `end` is "complete", else as much as was read
    pub bytes: Buffer,
    /// why reading stopped
    pub end: ReadEnd,
    /// Where the caller runs, as descriptors it sent, open until reply(). Its network namespace;
    /// absent when it is the agent's own.
    pub netns_fd: Option<i32>,
    /// its mount namespace and root directory; absent when both are the agent's own (then its
    /// absolute paths name the agent's files)
    pub mntns_fd: Option<i32>,
    pub root_fd: Option<i32>,
    /// its working directory
    pub cwd_fd: Option<i32>,
    /// why the descriptors do not say where the caller runs (an invoke request must then be refused)
    pub caller_error: Option<String>,
    /// from the accept to the hand-over, in microseconds
    pub read_us: u32,
}

fn to_js(i: Incoming) -> AgentRequest {
    let place = i.caller.as_ref().ok();
    AgentRequest {
        id: i.id as u32,
        pid: i.pid,
        uid: i.uid,
        bytes: i.bytes.into(),
        end: i.end,
        netns_fd: place.and_then(|p| p.netns),
        mntns_fd: place.and_then(|p| p.mntns_root).map(|(m, _)| m),
        root_fd: place.and_then(|p| p.mntns_root).map(|(_, r)| r),
        cwd_fd: place.map(|p| p.cwd),
        caller_error: i.caller.err(),
        read_us: i.read_time.as_micros().min(u32::MAX as u128) as u32,
    }
}

/// The agent's listening socket.
#[napi]
pub struct AgentListener {
    inner: Arc<Listener>,
}

/// Listen at `path` (the caller sets the umask first) and start accepting: requests of at most
/// `maxPayload` bytes, each read within `readTimeoutMs`.
#[napi]
pub fn agent_listen(path: String, max_payload: u32, read_timeout_ms: u32) -> Result<AgentListener> {
    let inner = Listener::bind(&path).map_err(|e| napi::Error::from_reason(format!("listen on {path}: {e}")))?;
    inner
        .start(max_payload, Duration::from_millis(read_timeout_ms as u64))
        .map_err(|e| napi::Error::from_reason(format!("accept thread: {e}")))?;
    Ok(AgentListener { inner })
}

#[napi]
impl AgentListener {
    /// The next request, when it comes; null once stopped and every request read is handed over.
    #[napi(ts_return_type = "Promise<AgentRequest | null>")]
    pub fn next<'e>(&self, env: &'e Env) -> Result<Object<'e>> {
        let inner = Arc::clone(&self.inner);
        settled_by(env, move |settle| inner.next(Box::new(move |i: Option<Incoming>| settle.resolve(i.map(to_js)))))
    }

    /// Answer request `id` and close its connection; false when the caller has gone.
    #[napi]
    pub fn reply(&self, id: u32, bytes: Buffer) -> bool {
        self.inner.reply(id as u64, &bytes)
    }

    /// Stop accepting and remove the socket file; answers to requests already taken still go out.
    #[napi]
    pub fn stop(&self) {
        self.inner.stop();
    }
}
