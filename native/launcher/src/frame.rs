//! The agent protocol, launcher side (the TypeScript side is src/agent/protocol.ts, which documents it).
//! Frame: "fcni" | u8 version (1) | u8 kind | u32 BE payload length | payload.
//! Invoke request payload: u16 BE name length, name | u32 BE env count, then per variable
//! u32 BE length + "KEY=VALUE" bytes | u32 BE stdin length, stdin bytes.
//! Result payload: i32 BE exit code | u32 BE length + stdout | u32 BE length + stderr.
//! Refused payload: a UTF-8 reason.

use std::io::{self, Read};

pub const MAGIC: &[u8; 4] = b"fcni";
pub const VERSION: u8 = 1;
pub const KIND_INVOKE: u8 = 1;
pub const KIND_RESULT: u8 = 0x81;
pub const KIND_REFUSED: u8 = 0x83;
/// The agent's default limit; a larger response is not one of ours.
pub const MAX_PAYLOAD: u32 = 64 << 20;

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_be_bytes());
}

/// One whole invoke frame, header included.
pub fn invoke_frame(name: &[u8], env: &[Vec<u8>], stdin: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(16 + name.len() + stdin.len() + env.iter().map(|e| e.len() + 4).sum::<usize>());
    p.extend_from_slice(MAGIC);
    p.push(VERSION);
    p.push(KIND_INVOKE);
    put_u32(&mut p, 0); // patched below
    p.extend_from_slice(&(name.len() as u16).to_be_bytes());
    p.extend_from_slice(name);
    put_u32(&mut p, env.len() as u32);
    for e in env {
        put_u32(&mut p, e.len() as u32);
        p.extend_from_slice(e);
    }
    put_u32(&mut p, stdin.len() as u32);
    p.extend_from_slice(stdin);
    let len = (p.len() - 10) as u32;
    p[6..10].copy_from_slice(&len.to_be_bytes());
    p
}

/// What the agent answered.
pub enum Response {
    Result { exit_code: i32, stdout: Vec<u8>, stderr: Vec<u8> },
    Refused(String),
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn take<'a>(p: &mut &'a [u8], n: usize) -> io::Result<&'a [u8]> {
    if p.len() < n {
        return Err(bad("truncated response"));
    }
    let (head, rest) = p.split_at(n);
    *p = rest;
    Ok(head)
}

fn take_u32(p: &mut &[u8]) -> io::Result<u32> {
    let b = take(p, 4)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Read one response frame; an early EOF is an error (UnexpectedEof).
pub fn read_response(r: &mut impl Read) -> io::Result<Response> {
    let mut head = [0u8; 10];
    r.read_exact(&mut head)?;
    if &head[0..4] != MAGIC || head[4] != VERSION {
        return Err(bad("not a fastcni agent response"));
    }
    let len = u32::from_be_bytes([head[6], head[7], head[8], head[9]]);
    if len > MAX_PAYLOAD {
        return Err(bad("response too large"));
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    let mut p = &payload[..];
    match head[5] {
        KIND_RESULT => {
            let exit_code = take_u32(&mut p)? as i32;
            let n = take_u32(&mut p)? as usize;
            let stdout = take(&mut p, n)?.to_vec();
            let n = take_u32(&mut p)? as usize;
            let stderr = take(&mut p, n)?.to_vec();
            Ok(Response::Result { exit_code, stdout, stderr })
        }
        KIND_REFUSED => Ok(Response::Refused(String::from_utf8_lossy(p).into_owned())),
        _ => Err(bad("unknown response kind")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_layout() {
        let f = invoke_frame(b"bridge", &[b"CNI_COMMAND=ADD".to_vec()], b"{}");
        assert_eq!(&f[0..6], b"fcni\x01\x01");
        assert_eq!(u32::from_be_bytes([f[6], f[7], f[8], f[9]]) as usize, f.len() - 10);
        assert_eq!(&f[10..12], &[0, 6]);
        assert_eq!(&f[f.len() - 2..], b"{}");
    }

    #[test]
    fn result_roundtrip() {
        let mut f = b"fcni\x01\x81".to_vec();
        let mut p = Vec::new();
        p.extend_from_slice(&(-2i32).to_be_bytes());
        put_u32(&mut p, 2);
        p.extend_from_slice(b"ok");
        put_u32(&mut p, 0);
        put_u32(&mut f, p.len() as u32);
        f.extend_from_slice(&p);
        match read_response(&mut &f[..]).unwrap() {
            Response::Result { exit_code, stdout, stderr } => {
                assert_eq!((exit_code, &stdout[..], &stderr[..]), (-2, &b"ok"[..], &b""[..]))
            }
            _ => panic!("wrong kind"),
        }
        assert!(read_response(&mut &f[..f.len() - 1]).is_err());
    }
}
