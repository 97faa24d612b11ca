#![no_main]

use libfuzzer_sys::fuzz_target;

// The CancelAll decoder (template 12); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::CancelAll::TEMPLATE_ID, data));
