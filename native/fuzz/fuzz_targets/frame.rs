//! The agent's frame parser on what a peer sends: the bytes are a request frame as the agent reads
//! it and a response frame as the launcher reads it. Any input gives a value or a FrameError, never
//! a panic, and whatever decodes encodes to a frame that decodes to the same value.
#![no_main]

use fastcni_frame::{decode_request, decode_response, is_whole, parse_header, read_response, remaining, DEFAULT_MAX_REQUEST, HEADER_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = remaining(data, DEFAULT_MAX_REQUEST);
    if let Ok(h) = parse_header(data, DEFAULT_MAX_REQUEST) {
        assert!(h.length <= DEFAULT_MAX_REQUEST);
        if is_whole(data, DEFAULT_MAX_REQUEST) {
            if let Ok(req) = decode_request(h.kind, &data[HEADER_SIZE..]) {
                // a request that decoded fits a frame, so it encodes
                let again = req.encode().expect("a decoded request encodes");
                let h2 = parse_header(&again, u32::MAX).expect("an encoded request has a valid header");
                assert_eq!(decode_request(h2.kind, &again[HEADER_SIZE..]).as_ref(), Ok(&req));
            }
        }
    }
    if let Ok(resp) = decode_response(data) {
        assert_eq!(decode_response(&resp.encode()).as_ref(), Ok(&resp));
    }
    let _ = read_response(&mut &data[..]);
});
