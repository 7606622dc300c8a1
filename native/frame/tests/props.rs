//! Property tests of the agent protocol's frame parser: whatever bytes a peer sends, the parser
//! answers with a value or a FrameError, never a panic; and every frame the encoders make decodes
//! to what was encoded. Case counts are small so the whole file runs in well under a second.

use fastcni_frame::{
    decode_request, decode_response, is_whole, kind, parse_header, read_response, remaining, Invoke, Request, Response,
    DEFAULT_MAX_REQUEST, HEADER_SIZE, MAX_RESPONSE,
};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 512, ..ProptestConfig::default() }
}

/// Bytes that begin with a valid header half the time, so the payload decoders are reached too.
fn frame_like() -> impl Strategy<Value = Vec<u8>> {
    let raw = proptest::collection::vec(any::<u8>(), 0..64);
    let headed = (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..64), any::<bool>()).prop_map(|(k, payload, honest)| {
        let len = if honest { payload.len() as u32 } else { u32::MAX - payload.len() as u32 };
        let mut f = b"fcni\x02".to_vec();
        f.push(k);
        f.extend_from_slice(&len.to_be_bytes());
        f.extend_from_slice(&payload);
        f
    });
    prop_oneof![raw, headed]
}

fn invoke() -> impl Strategy<Value = Invoke> {
    let name = "[a-z0-9.-]{1,20}";
    let var = ("[A-Z_][A-Z0-9_]{0,15}", "\\PC{0,30}");
    (name, proptest::collection::vec(var, 0..6), proptest::collection::vec(any::<u8>(), 0..200)).prop_map(|(plugin, env, stdin)| Invoke {
        plugin,
        env,
        stdin,
    })
}

fn response() -> impl Strategy<Value = Response> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..100);
    prop_oneof![
        (any::<i32>(), bytes(), bytes()).prop_map(|(exit_code, stdout, stderr)| Response::Result { exit_code, stdout, stderr }),
        bytes().prop_map(Response::Status),
        "\\PC{0,40}".prop_map(Response::Refused),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(buf in frame_like(), k in any::<u8>(), max in any::<u32>()) {
        let _ = parse_header(&buf, max);
        let _ = remaining(&buf, max);
        let _ = is_whole(&buf, max);
        let _ = decode_request(k, &buf);
        let _ = decode_request(kind::INVOKE, &buf);
        if buf.len() >= HEADER_SIZE {
            let _ = decode_request(buf[5], &buf[HEADER_SIZE..]);
        }
        let _ = decode_response(&buf);
        let _ = read_response(&mut &buf[..]);
    }

    #[test]
    fn a_header_over_the_limit_is_refused(buf in frame_like(), max in 0u32..128) {
        if let Ok(h) = parse_header(&buf, max) {
            prop_assert!(h.length <= max);
        }
        if is_whole(&buf, max) {
            prop_assert_eq!(remaining(&buf, max), None);
            prop_assert_eq!(parse_header(&buf, max).map(|h| h.length as usize + HEADER_SIZE), Ok(buf.len()));
        }
    }

    #[test]
    fn requests_round_trip(i in invoke()) {
        let req = Request::Invoke(i);
        let f = req.encode().unwrap();
        prop_assert!(is_whole(&f, DEFAULT_MAX_REQUEST));
        let h = parse_header(&f, DEFAULT_MAX_REQUEST).unwrap();
        prop_assert_eq!(decode_request(h.kind, &f[HEADER_SIZE..]), Ok(req));
    }

    #[test]
    fn every_prefix_of_a_frame_asks_for_the_rest(i in invoke(), cut in any::<prop::sample::Index>()) {
        let f = Request::Invoke(i).encode().unwrap();
        let n = cut.index(f.len());
        prop_assert_eq!(remaining(&f[..n], DEFAULT_MAX_REQUEST), Some(if n < HEADER_SIZE { HEADER_SIZE - n } else { f.len() - n }));
        prop_assert!(!is_whole(&f[..n], DEFAULT_MAX_REQUEST));
        let h = parse_header(&f, DEFAULT_MAX_REQUEST).unwrap();
        prop_assert!(decode_request(h.kind, &f[HEADER_SIZE..n.max(HEADER_SIZE)]).is_err());
    }

    #[test]
    fn responses_round_trip(r in response()) {
        let f = r.encode();
        prop_assert!(is_whole(&f, MAX_RESPONSE));
        prop_assert_eq!(decode_response(&f), Ok(r.clone()));
        prop_assert_eq!(read_response(&mut &f[..]).unwrap(), r);
    }
}
