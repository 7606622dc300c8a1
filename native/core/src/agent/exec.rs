//! Exec a plugin binary inside a given network namespace. A namespace belongs to a task, and a
//! child starts in the namespaces of the thread that forked it: so a throwaway thread enters the
//! namespace and spawns the child there. The agent uses this for delegates it cannot run in-process,
//! which must run where the launcher ran, exactly as if the runtime had exec'd them itself.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use crate::error::{Failure, Result};
use crate::kernel::netns;

pub struct ExecRequest {
    /// namespace to run the child in (a path); None = the caller's own
    pub netns: Option<String>,
    pub path: String,
    /// the child's whole environment
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
}

pub struct ExecOutput {
    /// the exit status, or 128 + signal number for a child killed by a signal
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Run the child to completion on the calling thread, which must be a throwaway one (it may enter
/// `req.netns` and stays there). A child that cannot be started is a failure with its errno
/// (ETXTBSY included, which the caller may retry); a non-zero exit is not.
pub fn exec_here(req: &ExecRequest) -> Result<ExecOutput> {
    if let Some(path) = req.netns.as_deref() {
        netns::enter(&netns::open(path)?, path)?;
    }
    let mut child = Command::new(&req.path)
        .env_clear()
        .envs(req.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::io(format!("spawn {}", req.path), &e))?;
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    // stdin and stderr on threads of their own: a child that writes a lot before it reads, or
    // fills one pipe while we read the other, must not deadlock us.
    let (stdout, stderr) = std::thread::scope(|s| {
        s.spawn(move || {
            if let Some(mut pipe) = stdin {
                let _ = pipe.write_all(&req.stdin); // a child that exits without reading: EPIPE, ignored
            }
        });
        let err = s.spawn(move || read_all(stderr));
        let out = read_all(stdout);
        (out, err.join().unwrap_or_default())
    });
    let status = child.wait().map_err(|e| Failure::io(format!("wait {}", req.path), &e))?;
    let exit_code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(ExecOutput { exit_code, stdout, stderr })
}

fn read_all(pipe: Option<impl Read>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut p) = pipe {
        let _ = p.read_to_end(&mut buf);
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &str, stdin: &[u8]) -> Result<ExecOutput> {
        let req = ExecRequest { netns: None, path: path.into(), env: vec![("X".into(), "y".into())], stdin: stdin.to_vec() };
        netns::on_thread(|| exec_here(&req))
    }

    #[test]
    fn output_exit_code_and_environment() {
        let out = run("/bin/sh", b"echo \"$X\"; echo err >&2; cat >/dev/null; exit 3").unwrap();
        assert_eq!((out.exit_code, out.stdout.as_slice(), out.stderr.as_slice()), (3, &b"y\n"[..], &b"err\n"[..]));
        let killed = run("/bin/sh", b"kill -9 $$").unwrap();
        assert_eq!(killed.exit_code, 128 + 9);
    }

    #[test]
    fn a_binary_that_cannot_start_is_a_failure_with_its_errno() {
        let e = run("/nonexistent/plugin", b"").err().unwrap();
        assert_eq!(e.errno, libc::ENOENT);
    }
}
