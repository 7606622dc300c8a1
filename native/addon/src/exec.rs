//! napi export of fastcni_core::agent::exec_here: run a plugin binary inside a network namespace,
//! and with a mount namespace, root and working directory (the agent's foreign delegates, which must
//! run where the launcher ran).

use fastcni_core as fc;
use napi::bindgen_prelude::{Buffer, Object};
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;

/// One exec.
#[napi(object)]
pub struct ExecInRequest {
    /// network namespace (path) to run the child in; undefined = the caller's own
    pub netns: Option<String>,
    /// mount namespace and root directory (paths, e.g. /proc/self/fd/N) to run the child in, with
    /// `path` seen from there; undefined = the caller's own
    pub mntns: Option<String>,
    pub root: Option<String>,
    /// the child's working directory (a path); undefined = the caller's own
    pub cwd: Option<String>,
    pub path: String,
    /// the child's whole environment, as [name, value] pairs
    pub env: Vec<Vec<String>>,
    pub stdin: Buffer,
}

/// What the child did: exit code (128 + signal when killed), output as UTF-8 (lossy).
#[napi(object)]
pub struct ExecResult {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

outcome!("Outcome of execIn.", ExecOutcome, ExecResult);

/// Run the binary to completion in `netns`, `mntns`, `root` and `cwd`, from a thread of ours that
/// entered them. Resolves to `{ error }` when it cannot be started (errno kept, ETXTBSY included),
/// else to its result.
#[napi(ts_return_type = "Promise<ExecOutcome>")]
pub fn exec_in(env: &Env, req: ExecInRequest) -> Result<Object<'_>> {
    let req = fc::agent::ExecRequest {
        netns: req.netns,
        mntns: req.mntns,
        root: req.root,
        cwd: req.cwd,
        path: req.path,
        env: req
            .env
            .into_iter()
            .filter_map(|kv| match kv.as_slice() {
                [k, v] => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect(),
        stdin: req.stdin.to_vec(),
    };
    on_own_thread(
        env,
        "fastcni-exec",
        move || fc::agent::exec_here(&req),
        |r| {
            ExecOutcome::from_result(r, |o| ExecResult {
                exit_code: o.exit_code,
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            })
        },
    )
}
