//! Decodes the one frame on stdin with this crate and prints what it found, so that a test can
//! hold src/agent/protocol.ts against the Rust side (test/unit/agent-protocol.test.ts):
//!
//!   fastcni-frame-check request   a whole request frame (the agent's default size limit)
//!   fastcni-frame-check response  a whole response frame
//!
//! Prints one JSON line: the decoded fields and `frame`, the frame encoded again by this crate; or
//! `error`, the reason the frame is refused. Every byte string is hex, so nothing needs escaping.

use std::io::{Read, Write};

use fastcni_frame::{decode_request, decode_response, parse_header, FrameError, Request, Response, DEFAULT_MAX_REQUEST, HEADER_SIZE};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn request(frame: &[u8]) -> Result<String, FrameError> {
    let h = parse_header(frame, DEFAULT_MAX_REQUEST)?;
    if frame.len() != HEADER_SIZE + h.length as usize {
        return Err(FrameError("not one whole frame".into()));
    }
    let req = decode_request(h.kind, &frame[HEADER_SIZE..])?;
    let fields = match &req {
        Request::Invoke(i) => {
            let env: Vec<String> = i.env.iter().map(|(k, v)| format!("[\"{}\",\"{}\"]", hex(k.as_bytes()), hex(v.as_bytes()))).collect();
            format!(
                "\"kind\":\"invoke\",\"plugin\":\"{}\",\"env\":[{}],\"stdin\":\"{}\"",
                hex(i.plugin.as_bytes()),
                env.join(","),
                hex(&i.stdin)
            )
        }
        Request::Status => "\"kind\":\"status\"".to_string(),
    };
    Ok(format!("{{{fields},\"frame\":\"{}\"}}", hex(&req.encode()?)))
}

fn response(frame: &[u8]) -> Result<String, FrameError> {
    let r = decode_response(frame)?;
    let fields = match &r {
        Response::Result { exit_code, stdout, stderr } => {
            format!("\"kind\":\"result\",\"exitCode\":{exit_code},\"stdout\":\"{}\",\"stderr\":\"{}\"", hex(stdout), hex(stderr))
        }
        Response::Status(json) => format!("\"kind\":\"status\",\"status\":\"{}\"", hex(json)),
        Response::Refused(reason) => format!("\"kind\":\"refused\",\"reason\":\"{}\"", hex(reason.as_bytes())),
    };
    Ok(format!("{{{fields},\"frame\":\"{}\"}}", hex(&r.encode())))
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let mut frame = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut frame) {
        eprintln!("fastcni-frame-check: reading stdin: {e}");
        std::process::exit(2);
    }
    let out = match mode.as_str() {
        "request" => request(&frame),
        "response" => response(&frame),
        _ => {
            eprintln!("usage: fastcni-frame-check request|response < frame");
            std::process::exit(2);
        }
    };
    let line = out.unwrap_or_else(|e| format!("{{\"error\":\"{}\"}}", hex(e.0.as_bytes())));
    let _ = writeln!(std::io::stdout(), "{line}");
}
