//! fastcni launcher: the file a container runtime execs under a plugin's name (argv[0]). It forwards
//! the invocation — name, CNI_* variables (and PATH), stdin, and descriptors of where it runs (its
//! namespaces, root and working directory) — to the agent over its unix socket and relays stdout,
//! stderr and the exit code; with no agent it execs Node on the plugin entry instead.
//! std + libc (and the dependency-free frame crate) only, so it starts in well under a millisecond.
#![cfg_attr(not(test), no_main)]
mod config;

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

use config::Config;
use fastcni_frame::Response;

/// Plugin lookup (src/runtime/plugin-lookup.ts) recognises our plugins by this string in a file's
/// first 4 KiB. GNU ld places `.note.*` sections right after the program headers, so it lands near
/// the start.
#[used]
#[link_section = ".note.fastcni"]
static MARKER: [u8; 16] = *b"fastcni-plugin\0\0";

const DEFAULT_SOCKET: &str = "/run/fastcni/agent.sock";
/// CNI's "try again later".
const CODE_TRY_AGAIN: u32 = 11;
const CODE_IO: u32 = 5;
const CODE_INTERNAL: u32 = 999;

/// `no_main`: skip std's runtime setup (stack-guard probe reading /proc/self/maps, sigaltstack
/// handlers) — this process lives for a millisecond. std still gets argv and the environment from libc.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // As std's runtime would: a closed stdout is an error to report, not a signal. (Command::exec
    // restores the default disposition for Node.)
    // SAFETY: setting a signal disposition before any other thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    run()
}

#[cfg_attr(test, allow(dead_code))]
fn run() -> ! {
    // Keep the marker alive through LTO even if #[used] were ignored.
    // SAFETY: reading a static byte through a volatile pointer.
    let _ = unsafe { std::ptr::read_volatile(&MARKER[0]) };
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let name = Path::new(&argv0).file_name().unwrap_or(OsStr::new("")).to_os_string();
    // .fastcni.json is read only when it is needed: for the socket when FASTCNI_SOCKET is unset, and
    // for Node's whereabouts when falling back.
    let env_socket = std::env::var_os("FASTCNI_SOCKET").filter(|s| !s.is_empty());
    let mut cfg = if env_socket.is_some() { None } else { Some(load_config()) };
    let socket: OsString =
        env_socket.or_else(|| cfg.as_ref().and_then(|c| c.socket.clone()).map(OsString::from)).unwrap_or_else(|| DEFAULT_SOCKET.into());

    // Connect before touching stdin: when no agent answers, Node gets stdin untouched.
    // The request is built before connecting, so the agent is woken once, with all of it waiting.
    let stdin = read_stdin();
    // A request the agent's frame limit would refuse as a whole (1 MiB of stdin, say) is Node's to
    // answer here: the plugin's own answer, the same as with no agent, not a refused frame.
    let request = match fastcni_frame::encode_invoke(name.as_bytes(), &forwarded_env(), stdin.as_deref().unwrap_or_default()) {
        Ok(f) if f.len() - fastcni_frame::HEADER_SIZE <= fastcni_frame::DEFAULT_MAX_REQUEST as usize => f,
        Ok(f) => fallback(cfg.take(), &name, stdin, &format!("a request of {} bytes is over the agent's frame limit", f.len())),
        Err(e) => fallback(cfg.take(), &name, stdin, &e.to_string()),
    };
    // Where this process runs, for the agent to serve the request there. Without them (no /proc in
    // this mount namespace, say) the agent could not, and Node runs the request here instead.
    let place = match fastcni_frame::caller_fds() {
        Ok(fds) => fds,
        Err(e) => fallback(cfg.take(), &name, stdin, &format!("cannot describe where the launcher runs: {e}")),
    };
    match UnixStream::connect(&socket) {
        Ok(stream) => forward(stream, cfg, &name, stdin, Request { frame: &request, fds: &place }),
        Err(e) => fallback(cfg.take(), &name, stdin, &format!("agent at {} unreachable: {e}", socket.to_string_lossy())),
    }
}

/// The network configuration on stdin; None when the command takes none (VERSION, or no command:
/// the plugin then answers with its own message, reading nothing).
fn read_stdin() -> Option<Vec<u8>> {
    let cmd = std::env::var_os("CNI_COMMAND").unwrap_or_default();
    if cmd.is_empty() || cmd == "VERSION" {
        return None;
    }
    let mut stdin = Vec::new();
    if let Err(e) = io::stdin().lock().read_to_end(&mut stdin) {
        cni_error(CODE_IO, &format!("error reading from stdin: {e}"), "");
    }
    Some(stdin)
}

/// CNI_* and PATH, as `NAME=value`; and FASTCNI_FAULT* (a test's fault injection, which an agent
/// not started for it ignores: docs/RELIABILITY.md).
fn forwarded_env() -> Vec<Vec<u8>> {
    std::env::vars_os()
        .filter(|(k, _)| k.as_bytes().starts_with(b"CNI_") || k == "PATH" || k.as_bytes().starts_with(b"FASTCNI_FAULT"))
        .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
        .collect()
}

/// `.fastcni.json` beside the launcher (the directory of /proc/self/exe); empty when absent or invalid.
/// Relative paths in it are relative to that directory, so a packaged bin directory works wherever
/// the package is installed.
fn load_config() -> Config {
    let Some(dir) = std::fs::read_link("/proc/self/exe").ok().and_then(|p| p.parent().map(PathBuf::from)) else {
        return Config::default();
    };
    std::fs::read(dir.join(".fastcni.json")).ok().and_then(|t| config::parse(&t)).map(|c| c.relative_to(&dir)).unwrap_or_default()
}

/// An invoke frame and the descriptors that go with it.
struct Request<'a> {
    frame: &'a [u8],
    fds: &'a [OwnedFd],
}

/// Send the invocation to the agent and relay its answer; never returns.
fn forward(mut stream: UnixStream, cfg: Option<Config>, name: &OsStr, stdin: Option<Vec<u8>>, request: Request<'_>) -> ! {
    let fds: Vec<BorrowedFd<'_>> = request.fds.iter().map(|f| f.as_fd()).collect();
    if let Err(e) = fastcni_frame::send(stream.as_fd(), request.frame, &fds) {
        if let Ok(Response::Refused(reason)) = fastcni_frame::read_response(&mut stream) {
            refused(&reason);
        }
        fallback(cfg, name, stdin, &format!("agent dropped the request while it was sent: {e}"));
    }
    // The request reached the agent and may have been acted on: whatever the answer, never guess,
    // never run it twice.
    let why = match fastcni_frame::read_response(&mut stream) {
        Ok(Response::Result { exit_code, stdout, stderr }) => {
            let _ = io::stderr().write_all(&stderr);
            let mut out = io::stdout().lock();
            let _ = out.write_all(&stdout).and_then(|_| out.flush());
            exit(exit_code)
        }
        Ok(Response::Refused(reason)) => refused(&reason),
        Ok(Response::Status(_)) => "a status reply to an invocation".to_string(),
        Err(e) => e.to_string(),
    };
    cni_error(
        CODE_TRY_AGAIN,
        "fastcni agent connection lost before it answered; try again later",
        &format!("{}: {why}", name.to_string_lossy()),
    )
}

fn refused(reason: &str) -> ! {
    cni_error(CODE_INTERNAL, "fastcni agent refused the request", reason)
}

/// Exec Node on the plugin entry with the same environment; `stdin` when it was already read.
fn fallback(cfg: Option<Config>, name: &OsStr, stdin: Option<Vec<u8>>, why: &str) -> ! {
    let cfg = cfg.unwrap_or_else(load_config);
    let Some(entry) = cfg.entry.as_deref() else {
        cni_error(CODE_INTERNAL, "fastcni launcher: no agent and no .fastcni.json beside the launcher to run Node", why);
    };
    if let Some(bytes) = stdin {
        if let Err(e) = stdin_from_memory(&bytes) {
            cni_error(CODE_IO, &format!("fastcni launcher: cannot replay stdin: {e}"), why);
        }
    }
    let node = cfg.node.as_deref().unwrap_or("node");
    let err = Command::new(node).arg(entry).arg(name).exec();
    cni_error(CODE_INTERNAL, &format!("fastcni launcher: cannot exec {node}: {err}"), why)
}

/// Make fd 0 a memfd holding `bytes`, positioned at the start.
fn stdin_from_memory(bytes: &[u8]) -> io::Result<()> {
    // SAFETY: plain syscalls on a name literal and descriptors we own.
    unsafe {
        let fd = libc::memfd_create(c"fastcni-stdin".as_ptr(), libc::MFD_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut off = 0;
        while off < bytes.len() {
            let n = libc::write(fd, bytes[off..].as_ptr().cast(), bytes.len() - off);
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            off += n as usize;
        }
        if libc::lseek(fd, 0, libc::SEEK_SET) < 0 || libc::dup2(fd, 0) < 0 {
            return Err(io::Error::last_os_error());
        }
        libc::close(fd);
    }
    Ok(())
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '<' | '>' | '&' => o.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The CNI error object exactly as the skeleton prints it (4-space indent, no newline); exit 1.
fn cni_error(code: u32, msg: &str, details: &str) -> ! {
    let mut s = format!("{{\n    \"code\": {code},\n    \"msg\": {}", json_str(msg));
    if !details.is_empty() {
        s.push_str(",\n    \"details\": ");
        s.push_str(&json_str(details));
    }
    s.push_str("\n}");
    let mut out = io::stdout().lock();
    let _ = out.write_all(s.as_bytes()).and_then(|_| out.flush());
    exit(1)
}
