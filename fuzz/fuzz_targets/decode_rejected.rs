#![no_main]

use libfuzzer_sys::fuzz_target;

// The Rejected decoder (template 101); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::Rejected::TEMPLATE_ID, data));
