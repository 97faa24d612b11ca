#![no_main]

use libfuzzer_sys::fuzz_target;

// A byte stream through the frame decoder, fed in chunks; see `cex_fuzz::frames`.
fuzz_target!(|data: &[u8]| cex_fuzz::frames(data));
