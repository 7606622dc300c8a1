//! The nf_tables decoders the core runs on the kernel's replies (message and attribute splitters,
//! the parsers of sets, rules, elements, portmap's map elements and the generation): any bytes give
//! a value or nothing, never a panic.
#![no_main]

use fastcni_core::kernel::decode_any::nf_tables;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| nf_tables(data));
