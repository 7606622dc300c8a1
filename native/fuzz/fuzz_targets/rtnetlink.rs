//! The rtnetlink decoders the core runs on the kernel's replies (the link parser, the datagram
//! splitter, the extended-ack reader): any bytes give a value or an error, never a panic. The first
//! two bytes are the message flags the extended-ack reader is given; the rest is the datagram.
#![no_main]

use fastcni_core::kernel::decode_any::rtnetlink;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let [a, b, datagram @ ..] = data {
        rtnetlink(datagram, u16::from_ne_bytes([*a, *b]));
    }
});
