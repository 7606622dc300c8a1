//! Exec a plugin binary where a caller runs: inside its network namespace, and with its mount
//! namespace, root and working directory. Namespaces, root and working directory belong to a task,
//! and a child starts with those of the thread that forked it: so a throwaway thread takes them on
//! and spawns the child there. The agent uses this for delegates it cannot run in-process, which
//! must run where the launcher ran, exactly as if the runtime had exec'd them itself.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use crate::error::{Failure, Result};
use crate::kernel::netns;

pub struct ExecRequest {
    /// network namespace to run the child in (a path); None = the caller's own
    pub netns: Option<String>,
    /// mount namespace and root directory to run the child in (paths, such as the /proc/self/fd/N
    /// of descriptors a launcher sent); None = the caller's own
    pub mntns: Option<String>,
    pub root: Option<String>,
    /// the child's working directory (a path, opened before entering `mntns`); None = the caller's
    pub cwd: Option<String>,
    /// the binary, as seen from `mntns` and `root`
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
    // Everything is opened first: once in another mount namespace, these paths may name nothing.
    let net = req.netns.as_deref().map(|p| Ok::<_, Failure>((netns::open(p)?, p))).transpose()?;
    let open = |p: &Option<String>, what: &str| p.as_deref().map(|p| open_dir_or_ns(p, what)).transpose();
    let (mnt, root, cwd) = (open(&req.mntns, "mount namespace")?, open(&req.root, "root")?, open(&req.cwd, "working directory")?);
    if mnt.is_some() || root.is_some() || cwd.is_some() {
        take_on_files(FsView { mnt: mnt.as_ref(), root: root.as_ref(), cwd: cwd.as_ref() })?;
    }
    if let Some((fd, p)) = net {
        netns::enter(&fd, p)?;
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

fn open_dir_or_ns(path: &str, what: &str) -> Result<OwnedFd> {
    std::fs::File::open(path).map(OwnedFd::from).map_err(|e| Failure::io(format!("exec: open the caller's {what} {path}"), &e))
}

/// A caller's view of the file system, as open descriptors.
struct FsView<'a> {
    mnt: Option<&'a OwnedFd>,
    root: Option<&'a OwnedFd>,
    cwd: Option<&'a OwnedFd>,
}

/// Give the calling (throwaway) thread the caller's mount namespace, root and working directory.
fn take_on_files(v: FsView<'_>) -> Result<()> {
    let sys = |op: &str, rc: libc::c_int| if rc == 0 { Ok(()) } else { Err(Failure::last_os(op)) };
    // SAFETY: these change only the calling thread, which stops sharing its root and working
    // directory with the process first (setns into a mount namespace requires that too).
    unsafe {
        sys("exec: unshare(CLONE_FS)", libc::unshare(libc::CLONE_FS))?;
        if let Some(m) = v.mnt {
            sys("exec: enter the caller's mount namespace", libc::setns(m.as_raw_fd(), libc::CLONE_NEWNS))?;
        }
        if let Some(r) = v.root {
            sys("exec: enter the caller's root", libc::fchdir(r.as_raw_fd()))?;
            sys("exec: chroot to the caller's root", libc::chroot(c".".as_ptr()))?;
        }
        if let Some(c) = v.cwd {
            sys("exec: enter the caller's working directory", libc::fchdir(c.as_raw_fd()))?;
        }
    }
    Ok(())
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

    fn request(path: &str, stdin: &[u8]) -> ExecRequest {
        let env = vec![("X".into(), "y".into())];
        ExecRequest { netns: None, mntns: None, root: None, cwd: None, path: path.into(), env, stdin: stdin.to_vec() }
    }

    fn run(path: &str, stdin: &[u8]) -> Result<ExecOutput> {
        let req = request(path, stdin);
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
    fn the_child_gets_the_given_working_directory_and_root() {
        let dir = std::env::temp_dir().join(format!("fcni-t-exec-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let req = ExecRequest { cwd: Some(dir.to_string_lossy().into_owned()), ..request("/bin/sh", b"pwd") };
        let out = netns::on_thread(|| exec_here(&req)).unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), dir.to_string_lossy());
        // under another root the binary's path is taken from there: no /bin/sh in an empty root
        let req = ExecRequest { root: Some(dir.to_string_lossy().into_owned()), ..request("/bin/sh", b"") };
        let e = netns::on_thread(|| exec_here(&req)).err().unwrap();
        assert_eq!(e.errno, libc::ENOENT);
        let req = ExecRequest { mntns: Some("/nonexistent/fcni-mnt".into()), ..request("/bin/sh", b"") };
        assert!(netns::on_thread(|| exec_here(&req)).err().unwrap().message.contains("/nonexistent/fcni-mnt"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_binary_that_cannot_start_is_a_failure_with_its_errno() {
        let e = run("/nonexistent/plugin", b"").err().unwrap();
        assert_eq!(e.errno, libc::ENOENT);
    }
}
